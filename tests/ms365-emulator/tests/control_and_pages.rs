//! The control API, the HTML sign-in pages (device code and authorization code flows) and the
//! authorization code redemption rules.

mod common;

use common::*;
use serde_json::json;

fn hidden_flow(html: &str) -> String {
    let marker = "name=\"flow\" value=\"";
    html.split(marker).nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_string()
}

#[test]
fn state_lists_tenants_public_clients_and_credentials_without_secrets() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let s = emu.get("/_emulator/state", None).json();
    let tenants = s["tenants"].as_array().cloned().unwrap_or_default();
    assert_eq!(tenants.len(), 4);
    let contoso = tenants.iter().find(|t| t["id"] == CONTOSO).cloned().unwrap_or_default();
    assert_eq!(contoso["cloud"], "global");
    assert_eq!(contoso["display_name"], "Contoso");
    assert_eq!(contoso["domains"], json!(["contoso.onmicrosoft.com"]));
    assert!(contoso["users"].to_string().contains("Global Administrator"));
    let clouds: Vec<&str> =
        s["public_clients"].as_array().into_iter().flatten().filter_map(|p| p["cloud"].as_str()).collect();
    assert_eq!(clouds, vec!["global", "usgov_gcc_high", "usgov_dod", "china"]);

    let admin = emu.admin_token();
    let (_, app_id, secret, _) = emu.register_app(&admin, &["User.Read.All"]);
    let s = emu.get("/_emulator/state", None);
    assert!(!s.text.contains(&secret), "secret values never appear");
    let app = s.json()["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["appId"] == json!(app_id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(app["tenant"], CONTOSO);
    assert!(app["passwordCredentials"][0]["keyId"].is_string());
    assert!(s.json()["role_assignments"].to_string().contains("User.Read.All"));

    // Reset restores the fixture; a custom fixture replaces it; a broken one is refused.
    assert_eq!(emu.send_json("POST", "/_emulator/reset", None, &json!({"tenants": [{"id": "11111111-1111-1111-1111-111111111111", "cloud": "china", "display_name": "Only", "domains": ["only.partner.onmschina.cn"]}]})).status, 200);
    assert_eq!(emu.get("/_emulator/state", None).json()["tenants"].as_array().map(Vec::len), Some(1));
    assert_eq!(emu.send_json("POST", "/_emulator/reset", None, &json!({"tenants": [{"id": "nope"}]})).status, 400);
    let r = emu.form("/_emulator/reset", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(emu.get("/_emulator/state", None).json()["tenants"].as_array().map(Vec::len), Some(4));
    assert_eq!(emu.delete("/_emulator/requests", None).status, 204);
    assert_eq!(emu.get("/_emulator/requests", None).json()["requests"], json!([]));
}

#[test]
fn a_person_signs_in_on_the_device_login_page() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let page = emu.get("/devicelogin", None);
    assert!(page.text.contains("name=\"otc\"") && page.text.contains("id=\"idSIButton9\""));
    let wrong = emu.form("/devicelogin", &[("otc", "NOTACODE1")]);
    assert!(wrong.text.contains("That code didn&#39;t work. Check the code and try again."), "{}", wrong.text);

    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    let code = dc["user_code"].as_str().unwrap_or_default().to_ascii_lowercase();
    let account = emu.form("/devicelogin", &[("otc", &code)]);
    assert!(account.text.contains("id=\"i0116\""));
    let flow = hidden_flow(&account.text);
    let unknown = emu.form("/login/account", &[("flow", &flow), ("loginfmt", "nobody@contoso.onmicrosoft.com")]);
    assert!(unknown.text.contains("This username may be incorrect."));
    let password = emu.form("/login/account", &[("flow", &flow), ("loginfmt", ADMIN)]);
    assert!(password.text.contains("id=\"i0118\""));
    let bad = emu.form("/login/password", &[("flow", &flow), ("passwd", "nope")]);
    assert!(bad.text.contains("Your account or password is incorrect."));
    let consent = emu.form("/login/password", &[("flow", &flow), ("passwd", "Passw0rd!")]);
    assert!(consent.text.contains("M365 Backup Onboarding") && consent.text.contains("id=\"idBtn_Back\""));
    assert!(consent.text.contains("Application.ReadWrite.All"));
    let done = emu.form("/login/consent", &[("flow", &flow), ("action", "accept")]);
    assert!(done.text.contains(
        "You have signed in to the M365 Backup Onboarding application on your device. You may now close this window."
    ));
    let t = emu.poll(CONTOSO, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default());
    assert_eq!(t.status, 200);

    // Expired codes get Microsoft's message.
    let emu = Emulator::start(&["--device-code-interval", "0", "--device-code-expires-in", "1"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    emu.send_json("POST", "/_emulator/clock", None, &json!({"advance_seconds": 2}));
    let r = emu.form("/devicelogin", &[("otc", dc["user_code"].as_str().unwrap_or_default())]);
    assert!(r.text.contains("That code has expired. You can go back to the app and request a new code."));
}

#[test]
fn cancel_on_the_consent_page_declines_the_device_code() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    let flow = hidden_flow(&emu.form("/devicelogin", &[("otc", dc["user_code"].as_str().unwrap_or_default())]).text);
    emu.form("/login/account", &[("flow", &flow), ("loginfmt", ADMIN)]);
    emu.form("/login/password", &[("flow", &flow), ("passwd", "Passw0rd!")]);
    emu.form("/login/consent", &[("flow", &flow), ("action", "cancel")]);
    assert_eq!(
        emu.poll(CONTOSO, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default()).json()["error"],
        "authorization_declined"
    );
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:8787/api/signin/callback";

fn authorize(emu: &Emulator, accept: bool) -> String {
    let q = format!(
        "/organizations/oauth2/v2.0/authorize?client_id={GLOBAL_CLIENT}&response_type=code&redirect_uri={}&scope={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&prompt=select_account",
        form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(ADMIN_SCOPES.as_bytes()).collect::<String>()
    );
    let page = emu.get(&q, None);
    assert_eq!(page.status, 200, "{}", page.text);
    let flow = hidden_flow(&page.text);
    emu.form("/login/account", &[("flow", &flow), ("loginfmt", ADMIN)]);
    emu.form("/login/password", &[("flow", &flow), ("passwd", "Passw0rd!")]);
    let r = emu.form("/login/consent", &[("flow", &flow), ("action", if accept { "accept" } else { "cancel" })]);
    assert_eq!(r.status, 302);
    r.header("location").unwrap_or_default().to_string()
}

fn redeem(emu: &Emulator, code: &str, verifier: &str, redirect: &str) -> Resp {
    emu.form(
        "/organizations/oauth2/v2.0/token",
        &[
            ("client_id", GLOBAL_CLIENT),
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("scope", ADMIN_SCOPES),
        ],
    )
}

#[test]
fn the_authorization_code_flow_with_pkce() {
    let emu = Emulator::start(&[]);
    let location = authorize(&emu, true);
    assert!(location.starts_with(&format!("{REDIRECT}?code=")) && location.ends_with("&state=xyz"), "{location}");
    let code: String = location.split("code=").nth(1).and_then(|s| s.split('&').next()).unwrap_or_default().to_string();
    let code =
        form_urlencoded::parse(format!("c={code}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
    assert_eq!(aadsts(&redeem(&emu, &code, "wrong-verifier-wrong-verifier-wrong-verifier", REDIRECT).json()), 501481);
    assert_eq!(aadsts(&redeem(&emu, &code, VERIFIER, "http://127.0.0.1:9999/api/signin/callback").json()), 500112);
    let ok = redeem(&emu, &code, VERIFIER, REDIRECT);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(claims(ok.json()["access_token"].as_str().unwrap_or_default())["tid"], CONTOSO);
    let again = redeem(&emu, &code, VERIFIER, REDIRECT);
    assert_eq!((again.json()["error"].as_str(), aadsts(&again.json())), (Some("invalid_grant"), 54005));

    let declined = authorize(&emu, false);
    assert!(
        declined.contains("error=access_denied") && declined.contains("AADSTS65004") && declined.ends_with("state=xyz"),
        "{declined}"
    );

    // Unregistered redirect URIs and unknown clients are shown as errors, not redirected.
    let bad = emu.get(&format!("/organizations/oauth2/v2.0/authorize?client_id={GLOBAL_CLIENT}&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"), None);
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("AADSTS50011"));
    let unknown = emu.get("/organizations/oauth2/v2.0/authorize?client_id=11111111-2222-3333-4444-555555555555&response_type=code&redirect_uri=x&scope=openid", None);
    assert!(unknown.text.contains("AADSTS700016"));
}

#[test]
fn the_opener_policy_switch_sends_coop_on_every_sign_in_page_only_while_it_is_on() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    assert_eq!(emu.get("/devicelogin", None).header("cross-origin-opener-policy"), None);
    let on = emu.send_json("POST", "/_emulator/faults", None, &serde_json::json!({"kind": "opener_policy"}));
    assert!(on.status < 300, "{}", on.text);
    assert_eq!(emu.get("/devicelogin", None).header("cross-origin-opener-policy"), Some("same-origin"));
    // Not on JSON answers (Graph, the token endpoint): only pages.
    assert_eq!(emu.get("/v1.0/organization", None).header("cross-origin-opener-policy"), None);
    assert!(emu.send_json("DELETE", "/_emulator/faults", None, &serde_json::json!({})).status < 300);
    assert_eq!(emu.get("/devicelogin", None).header("cross-origin-opener-policy"), None);
}
