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
    authorize_to(emu, accept, REDIRECT)
}

fn authorize_to(emu: &Emulator, accept: bool, redirect: &str) -> String {
    let q = format!(
        "/organizations/oauth2/v2.0/authorize?client_id={GLOBAL_CLIENT}&response_type=code&redirect_uri={}&scope={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&prompt=select_account",
        form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>(),
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

fn code_of(location: &str) -> String {
    let code = location.split("code=").nth(1).and_then(|s| s.split('&').next()).unwrap_or_default();
    form_urlencoded::parse(format!("c={code}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[test]
fn a_redirect_uri_must_be_registered_with_its_host_and_its_platform_decides_the_redemption() {
    let emu = Emulator::start(&[]);
    // The built-in public client has http://127.0.0.1/api/signin/callback under "Mobile and desktop
    // applications": any port of that host, not localhost.
    let localhost = "http://localhost:8787/api/signin/callback";
    let page = emu.get(
        &format!(
            "/organizations/oauth2/v2.0/authorize?client_id={GLOBAL_CLIENT}&response_type=code&redirect_uri={}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256",
            form_urlencoded::byte_serialize(localhost.as_bytes()).collect::<String>()
        ),
        None,
    );
    assert_eq!(page.status, 400);
    assert!(page.text.contains("AADSTS50011"), "{}", page.text);
    let other_port = "http://127.0.0.1:9000/api/signin/callback";
    let code = code_of(&authorize_to(&emu, true, other_port));
    assert_eq!(redeem(&emu, &code, VERIFIER, other_port).status, 200);

    // The same client with the callback also registered as a single-page application and as a web
    // application elsewhere.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ms365-emulator"))
        .arg("--print-default-fixture")
        .output()
        .expect("the default fixture");
    let mut fixture: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let (spa, web) = ("https://spa.example/api/signin/callback", "https://web.example/api/signin/callback");
    fixture["public_clients"][0]["spa_redirect_uris"] = json!([spa]);
    fixture["public_clients"][0]["web_redirect_uris"] = json!([web]);
    let reset = emu.send_json("POST", "/_emulator/reset", None, &fixture);
    assert!(reset.status < 300, "{}", reset.text);

    // A single-page application's code is redeemed only cross-origin.
    let code = code_of(&authorize_to(&emu, true, spa));
    let r = redeem(&emu, &code, VERIFIER, spa);
    assert_eq!((r.status, aadsts(&r.json())), (400, 9002327), "{}", r.text);
    let pairs = [
        ("client_id", GLOBAL_CLIENT),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", spa),
        ("code_verifier", VERIFIER),
        ("scope", ADMIN_SCOPES),
    ];
    let r = emu.form_from("https://spa.example", "/organizations/oauth2/v2.0/token", &pairs);
    assert_eq!(r.status, 200, "{}", r.text);

    // A web application's code needs the client's credential, which a public client has not.
    let code = code_of(&authorize_to(&emu, true, web));
    let r = redeem(&emu, &code, VERIFIER, web);
    assert_eq!(
        (r.status, r.json()["error"].as_str(), aadsts(&r.json())),
        (401, Some("invalid_client"), 7000218),
        "{}",
        r.text
    );
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

#[test]
fn the_device_code_error_switch_sends_the_same_error_with_200() {
    let emu = Emulator::start(&[]);
    let unknown = "11111111-2222-3333-4444-555555555555";
    let before = emu.devicecode(CONTOSO, unknown, ADMIN_SCOPES);
    assert_eq!((before.status, aadsts(&before.json())), (400, 700016), "{}", before.text);
    let on = emu.send_json("POST", "/_emulator/faults", None, &json!({"kind": "device_code_errors_on_200"}));
    assert!(on.status < 300, "{}", on.text);
    let after = emu.devicecode(CONTOSO, unknown, ADMIN_SCOPES);
    assert_eq!((after.status, aadsts(&after.json())), (200, 700016), "{}", after.text);
    assert_eq!(after.json()["error"], before.json()["error"]);
    // A device code itself is unchanged.
    let ok = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES);
    assert_eq!(ok.status, 200);
    assert!(ok.json()["device_code"].is_string(), "{}", ok.text);
}
