//! The HTML of the sign-in pages. Plain forms that POST, no JavaScript, and the element IDs Microsoft's
//! pages use (`otc`, `i0116`, `i0118`, `idSIButton9`, `idBtn_Back`) so that a browser test written against
//! the emulator reads like one written against Microsoft.

use crate::util::html_escape;

/// A whole page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: "Segoe UI", sans-serif; background: #f2f2f2; margin: 0; }}
main {{ max-width: 440px; margin: 60px auto; background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }}
h1 {{ font-size: 24px; font-weight: 600; margin: 0 0 16px; }}
input[type=text], input[type=email], input[type=password] {{ width: 100%; padding: 6px 0; font-size: 15px; border: 0; border-bottom: 1px solid #666; margin: 8px 0 16px; }}
button, input[type=submit] {{ min-width: 108px; padding: 6px 12px; font-size: 15px; border: 0; background: #0067b8; color: #fff; cursor: pointer; }}
button.secondary {{ background: #ccc; color: #000; }}
.error {{ color: #e81123; margin: 8px 0; }}
.note {{ font-size: 13px; color: #555; }}
</style>
</head>
<body>
<main>
<div class="note">Microsoft (emulated)</div>
{body}
</main>
</body>
</html>
"#,
        title = html_escape(title)
    )
}

fn error_div(error: Option<&str>) -> String {
    match error {
        Some(e) => format!(r#"<div id="error" class="error" role="alert">{}</div>"#, html_escape(e)),
        None => String::new(),
    }
}

fn hidden_flow(flow: &str) -> String {
    format!(r#"<input type="hidden" name="flow" value="{}">"#, html_escape(flow))
}

/// Step 1 of the device code flow: enter the code.
pub fn code_page(error: Option<&str>) -> String {
    page(
        "Enter code",
        &format!(
            r#"<h1>Enter code</h1>
<p>Enter the code displayed on your app or device.</p>
{err}
<form method="post" action="/devicelogin">
<input type="text" name="otc" id="otc" placeholder="Code" autocomplete="off" maxlength="20" required>
<input type="submit" id="idSIButton9" value="Next">
</form>"#,
            err = error_div(error)
        ),
    )
}

/// Step 2: pick the account.
pub fn account_page(flow: &str, prefill: &str, app_name: &str, error: Option<&str>) -> String {
    page(
        "Sign in to your account",
        &format!(
            r#"<h1>Sign in</h1>
<p>to continue to {app}</p>
{err}
<form method="post" action="/login/account">
{hidden}
<input type="email" name="loginfmt" id="i0116" placeholder="Email, phone, or Skype" value="{prefill}" required>
<input type="submit" id="idSIButton9" value="Next">
</form>"#,
            app = html_escape(app_name),
            err = error_div(error),
            hidden = hidden_flow(flow),
            prefill = html_escape(prefill)
        ),
    )
}

/// Step 3: the password.
pub fn password_page(flow: &str, upn: &str, error: Option<&str>) -> String {
    page(
        "Sign in to your account",
        &format!(
            r#"<div id="displayName">{upn}</div>
<h1>Enter password</h1>
{err}
<form method="post" action="/login/password">
{hidden}
<input type="password" name="passwd" id="i0118" placeholder="Password" required>
<input type="submit" id="idSIButton9" value="Sign in">
</form>"#,
            upn = html_escape(upn),
            err = error_div(error),
            hidden = hidden_flow(flow)
        ),
    )
}

/// Step 4: consent to the permissions.
pub fn consent_page(flow: &str, upn: &str, app_name: &str, permissions: &[String]) -> String {
    let items: String = permissions.iter().map(|p| format!("<li>{}</li>\n", html_escape(p))).collect();
    page(
        "Permissions requested",
        &format!(
            r#"<div id="displayName">{upn}</div>
<h1>Permissions requested</h1>
<p><strong id="appName">{app}</strong></p>
<p>This app would like to:</p>
<ul id="permissions">
{items}</ul>
<p class="note">Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement.</p>
<form method="post" action="/login/consent">
{hidden}
<button type="submit" name="action" value="cancel" id="idBtn_Back" class="secondary">Cancel</button>
<button type="submit" name="action" value="accept" id="idSIButton9">Accept</button>
</form>"#,
            upn = html_escape(upn),
            app = html_escape(app_name),
            hidden = hidden_flow(flow)
        ),
    )
}

/// A final message page (device code flow).
pub fn message_page(title: &str, message: &str) -> String {
    page(title, &format!(r#"<h1>{}</h1><p id="message">{}</p>"#, html_escape(title), html_escape(message)))
}
