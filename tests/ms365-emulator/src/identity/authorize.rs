//! `GET /{tenant}/oauth2/v2.0/authorize`: the start of the authorization code flow (with PKCE).
//!
//! Like Microsoft, problems that make the redirect URI untrustworthy (unknown client, unregistered
//! `redirect_uri`, bad tenant) are shown as an error page; the others are sent back to the redirect URI
//! as `error`/`error_description`/`state`. A valid request opens a sign-in flow on the same account,
//! password and consent pages as the device code flow ([`crate::signin`]); consent ends in a redirect with
//! `code` and `state`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State as AxState};
use axum::response::Response;

use super::errors::OAuthError;
use super::{find_client, resolve_tenant, scopes_or_error, Client};
use crate::log::LogInfo;
use crate::signin;
use crate::state::{AuthorizeRequest, Emulator, FlowKind};
use crate::util::{form_get, now_ms, parse_form};

/// The path of the product's sign-in callback; any loopback port is accepted for it.
pub const LOOPBACK_CALLBACK_PATH: &str = "/api/signin/callback";

/// Whether `uri` is registered for `client`.
pub fn redirect_allowed(client: &Client, uri: &str) -> bool {
    match client {
        Client::Public(p) => p.redirect_uris.iter().any(|r| r == uri) || is_loopback_callback(uri),
        Client::App(app) => ["web", "publicClient", "spa"].iter().any(|k| {
            app.properties
                .get(*k)
                .and_then(|v| v.get("redirectUris"))
                .and_then(|v| v.as_array())
                .is_some_and(|list| list.iter().any(|r| r.as_str() == Some(uri)))
        }),
    }
}

/// `http://127.0.0.1:PORT/api/signin/callback` or `http://localhost:PORT/api/signin/callback`.
fn is_loopback_callback(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://127.0.0.1").or_else(|| uri.strip_prefix("http://localhost")) else {
        return false;
    };
    let path = match rest.strip_prefix(':') {
        Some(after) => {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if digits == 0 || digits > 5 {
                return false;
            }
            &after[digits..]
        }
        None => rest,
    };
    path == LOOPBACK_CALLBACK_PATH
}

/// Builds `redirect_uri` with extra query parameters.
pub fn redirect_with(uri: &str, params: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", ser.finish())
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub async fn handle(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let now = now_ms();
    let q = parse_form(query.unwrap_or_default().as_bytes());
    let client_id = form_get(&q, "client_id").map(str::to_string);
    let resp = start(&emu, &segment, &q, now);
    LogInfo { client_id, ..LogInfo::default() }.attach(resp)
}

fn start(emu: &Emulator, segment: &str, q: &[(String, String)], now: u64) -> Response {
    let mut state = emu.lock();
    state.prune(now);
    let Some(client_id) = form_get(q, "client_id").filter(|c| !c.is_empty()) else {
        return signin::error_page(&OAuthError::missing("client_id"));
    };
    let tenant = match resolve_tenant(&state, segment) {
        Ok(t) => t,
        Err(e) => return signin::error_page(&e),
    };
    let scopes = match scopes_or_error(form_get(q, "scope"), segment) {
        Ok(s) => s,
        Err(e) => return signin::error_page(&e),
    };
    if let Err(e) = tenant.check_cloud(scopes.cloud) {
        return signin::error_page(&e);
    }
    let Some(client) = find_client(&state, scopes.cloud, &tenant, client_id) else {
        return signin::error_page(&OAuthError::unknown_client(client_id, &tenant.directory_name(segment)));
    };
    let Some(redirect_uri) = form_get(q, "redirect_uri") else {
        return signin::error_page(&OAuthError::missing("redirect_uri"));
    };
    if !redirect_allowed(&client, redirect_uri) {
        return signin::error_page(&OAuthError::new(
            "invalid_request",
            50_011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs \
                 configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches \
                 one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError \
                 to learn more about how to fix this."
            ),
        ));
    }
    let state_param = form_get(q, "state").map(str::to_string);
    let fail = |error: &str, message: String| {
        let mut params = vec![("error", error), ("error_description", message.as_str())];
        if let Some(s) = &state_param {
            params.push(("state", s.as_str()));
        }
        signin::redirect(&redirect_with(redirect_uri, &params))
    };
    if form_get(q, "response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "AADSTS700054: response_type must be 'code' for this application.".to_string(),
        );
    }
    let plain = match form_get(q, "code_challenge_method") {
        None | Some("S256") => false,
        Some("plain") => true,
        Some(other) => {
            return fail("invalid_request", format!("AADSTS501491: Invalid code_challenge_method '{other}'."));
        }
    };
    let code_challenge = form_get(q, "code_challenge").filter(|c| !c.is_empty()).map(str::to_string);
    if code_challenge.is_none() && matches!(client, Client::Public(_)) {
        return fail(
            "invalid_request",
            "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption."
                .to_string(),
        );
    }
    let request = AuthorizeRequest {
        tenant_segment: segment.to_string(),
        cloud: scopes.cloud,
        client_id: client_id.to_ascii_lowercase(),
        redirect_uri: redirect_uri.to_string(),
        state: state_param.clone(),
        code_challenge,
        code_challenge_plain: plain,
        scope: form_get(q, "scope").unwrap_or_default().to_string(),
        nonce: form_get(q, "nonce").map(str::to_string),
        login_hint: form_get(q, "login_hint").map(str::to_string),
    };
    let hint = request.login_hint.clone();
    let flow = signin::begin(&mut state, FlowKind::Authorize(request), now);
    signin::account_page(&flow, hint.as_deref().unwrap_or(""), client.display_name(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_callbacks_on_any_port_are_accepted() {
        assert!(is_loopback_callback("http://127.0.0.1:8787/api/signin/callback"));
        assert!(is_loopback_callback("http://localhost:1/api/signin/callback"));
        assert!(is_loopback_callback("http://localhost/api/signin/callback"));
        assert!(!is_loopback_callback("http://127.0.0.1:8787/api/signin/callback/x"));
        assert!(!is_loopback_callback("http://127.0.0.1.evil.example/api/signin/callback"));
        assert!(!is_loopback_callback("https://127.0.0.1:8787/api/signin/callback"));
        assert!(!is_loopback_callback("http://127.0.0.1:/api/signin/callback"));
    }

    #[test]
    fn redirect_parameters_are_encoded() {
        assert_eq!(
            redirect_with("http://x/cb", &[("code", "a b"), ("state", "s&t")]),
            "http://x/cb?code=a+b&state=s%26t"
        );
        assert_eq!(redirect_with("http://x/cb?k=v", &[("code", "c")]), "http://x/cb?k=v&code=c");
    }
}
