//! The identity platform endpoints, driven over HTTP as a client would: device code (every poll
//! answer), client credentials with secrets, discovery, and the cloud and tenant rules.

mod common;

use common::*;
use serde_json::json;

#[test]
fn device_code_pending_then_approved_then_redeemed_once() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES);
    assert_eq!(dc.status, 200, "{}", dc.text);
    let dc = dc.json();
    let user_code = dc["user_code"].as_str().unwrap_or_default();
    assert_eq!(user_code.len(), 9);
    assert!(user_code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(dc["verification_uri"], json!(emu.url("/devicelogin")));
    assert_eq!(dc["expires_in"], json!(900));
    assert_eq!(dc["interval"], json!(0));
    assert_eq!(
        dc["message"],
        json!(format!(
            "To sign in, use a web browser to open the page {} and enter the code {user_code} to authenticate.",
            emu.url("/devicelogin")
        ))
    );
    let device_code = dc["device_code"].as_str().unwrap_or_default();

    let pending = emu.poll(CONTOSO, GLOBAL_CLIENT, device_code);
    assert_eq!(pending.status, 400);
    let body = pending.json();
    assert_eq!(body["error"], "authorization_pending");
    assert_eq!(aadsts(&body), 70016);
    let desc = body["error_description"].as_str().unwrap_or_default();
    assert!(
        desc.starts_with(
            "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.\r\nTrace ID: "
        ),
        "{desc}"
    );
    for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[key].is_string(), "{key} missing in {body}");
    }

    assert_eq!(emu.approve(user_code, ADMIN).status, 200);
    let ok = emu.poll(CONTOSO, GLOBAL_CLIENT, device_code);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let t = ok.json();
    assert_eq!(t["token_type"], "Bearer");
    let lifetime = t["expires_in"].as_u64().unwrap_or_default();
    assert!((3600..=5400).contains(&lifetime), "60 to 90 minutes: {lifetime}");
    assert!(t["ext_expires_in"].is_number() && t["refresh_token"].is_string() && t["id_token"].is_string());
    let at = claims(t["access_token"].as_str().unwrap_or_default());
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["iss"], json!(emu.url(&format!("/{CONTOSO}/v2.0"))));
    assert_eq!(at["tid"], CONTOSO);
    // Graph's tokens are v1-shaped: `appid` and `appidacr`, no `azp`.
    assert_eq!(at["appid"], GLOBAL_CLIENT);
    assert!(at.get("azp").is_none() && at["appidacr"].is_string(), "{at}");
    let scp = at["scp"].as_str().unwrap_or_default();
    for s in ["Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "Organization.Read.All"] {
        assert!(scp.split(' ').any(|x| x == s), "{scp}");
    }
    assert!(at["exp"].as_u64() > at["iat"].as_u64() && at["nbf"].is_number() && at["oid"].is_string());
    let id = claims(t["id_token"].as_str().unwrap_or_default());
    assert_eq!(id["aud"], GLOBAL_CLIENT);
    assert_eq!(id["preferred_username"], ADMIN);

    let again = emu.poll(CONTOSO, GLOBAL_CLIENT, device_code);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
}

#[test]
fn without_openid_and_offline_access_there_is_no_id_token_or_refresh_token() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, "https://graph.microsoft.com/.default").json();
    emu.approve(dc["user_code"].as_str().unwrap_or_default(), ADMIN);
    let t = emu.poll(CONTOSO, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default()).json();
    assert!(t["access_token"].is_string());
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none(), "{t}");
}

#[test]
fn polling_faster_than_the_interval_gets_slow_down() {
    let emu = Emulator::start(&["--device-code-interval", "30"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    let code = dc["device_code"].as_str().unwrap_or_default();
    assert_eq!(emu.poll(CONTOSO, GLOBAL_CLIENT, code).json()["error"], "authorization_pending");
    let fast = emu.poll(CONTOSO, GLOBAL_CLIENT, code);
    assert_eq!(fast.status, 400);
    assert_eq!(fast.json()["error"], "slow_down");
}

#[test]
fn declined_expired_and_unknown_device_codes() {
    let emu = Emulator::start(&["--device-code-interval", "0", "--device-code-expires-in", "1"]);
    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    let r = emu.send_json("POST", "/_emulator/device/decline", None, &json!({"user_code": dc["user_code"]}));
    assert_eq!(r.status, 200);
    assert_eq!(
        emu.poll(CONTOSO, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default()).json()["error"],
        "authorization_declined"
    );

    let dc = emu.devicecode(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES).json();
    emu.send_json("POST", "/_emulator/clock", None, &json!({"advance_seconds": 2}));
    let expired = emu.poll(CONTOSO, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default());
    assert_eq!(expired.json()["error"], "expired_token");
    assert_eq!(emu.approve(dc["user_code"].as_str().unwrap_or_default(), ADMIN).status, 410);

    assert_eq!(emu.poll(CONTOSO, GLOBAL_CLIENT, "not-a-code").json()["error"], "bad_verification_code");
    assert_eq!(emu.approve("ZZZZZZZZZ", ADMIN).status, 404);
}

#[test]
fn conditional_access_blocks_after_sign_in() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    emu.faults(json!({"kind": "conditional_access_block", "tenant": "contoso.onmicrosoft.com"}));
    let dc = emu.devicecode("organizations", GLOBAL_CLIENT, ADMIN_SCOPES).json();
    assert_eq!(emu.approve(dc["user_code"].as_str().unwrap_or_default(), ADMIN).status, 200);
    let r = emu.poll("organizations", GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default());
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(aadsts(&r.json()), 53003);
}

#[test]
fn the_cloud_comes_from_the_scope_and_tenants_stay_in_their_cloud() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    // A GCC High tenant through the Global cloud.
    let r = emu.devicecode(FABRIKAM_GOV, GLOBAL_CLIENT, ADMIN_SCOPES);
    assert_eq!((r.status, aadsts(&r.json())), (400, 90038));
    // A Global user signing in through the GCC High client: refused at sign-in.
    let dc = emu.devicecode("organizations", GCC_HIGH_CLIENT, "https://graph.microsoft.us/.default").json();
    let r = emu.approve(dc["user_code"].as_str().unwrap_or_default(), ADMIN);
    assert_eq!(r.status, 409);
    assert!(r.text.contains("AADSTS90038"), "{}", r.text);
    // The GCC High admin gets a token for graph.microsoft.us.
    let token = emu.user_token(
        "organizations",
        GCC_HIGH_CLIENT,
        "https://graph.microsoft.us/.default",
        "admin@fabrikamgov.onmicrosoft.us",
    );
    assert_eq!(claims(&token)["aud"], "https://graph.microsoft.us");
    assert_eq!(claims(&token)["tid"], FABRIKAM_GOV);
    // The Global client ID is unknown in GCC High.
    let r = emu.devicecode(FABRIKAM_GOV, GLOBAL_CLIENT, "https://graph.microsoft.us/.default");
    assert_eq!((r.status, aadsts(&r.json())), (400, 700016));
    // Unknown tenants and garbage.
    assert_eq!(aadsts(&emu.devicecode("nowhere.example.com", GLOBAL_CLIENT, ADMIN_SCOPES).json()), 90002);
    assert_eq!(aadsts(&emu.devicecode("%3Cscript%3E", GLOBAL_CLIENT, ADMIN_SCOPES).json()), 900023);
    assert_eq!(aadsts(&emu.devicecode(CONTOSO, GLOBAL_CLIENT, "https://evil.example/.default").json()), 500011);
    assert_eq!(aadsts(&emu.form(&format!("/{CONTOSO}/oauth2/v2.0/devicecode"), &[("scope", "openid")]).json()), 900144);
}

#[test]
fn client_credentials_with_secrets() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    let (id, app_id, secret, _) = emu.register_app(&admin, &["Organization.Read.All"]);
    let scope = "https://graph.microsoft.com/.default";

    let ok = emu.client_credentials(CONTOSO, &app_id, &secret, scope);
    assert_eq!(ok.status, 200, "{}", ok.text);
    let t = ok.json();
    let c = claims(t["access_token"].as_str().unwrap_or_default());
    assert_eq!(c["roles"], json!(["Organization.Read.All"]));
    assert_eq!(c["appid"], json!(app_id));
    assert!(c.get("scp").is_none());
    assert_eq!(emu.get("/v1.0/organization", t["access_token"].as_str()).status, 200);

    let wrong = emu.client_credentials(CONTOSO, &app_id, "not-the-secret", scope);
    assert_eq!(
        (wrong.status, wrong.json()["error"].as_str(), aadsts(&wrong.json())),
        (401, Some("invalid_client"), 7000215)
    );
    assert!(wrong.text.contains("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID"));

    let unknown = emu.client_credentials(CONTOSO, "11111111-2222-3333-4444-555555555555", &secret, scope);
    assert_eq!((unknown.status, aadsts(&unknown.json())), (400, 700016));

    let not_default = emu.client_credentials(CONTOSO, &app_id, &secret, "https://graph.microsoft.com/User.Read.All");
    assert_eq!(aadsts(&not_default.json()), 1002012);

    // An expired secret.
    let pw = emu.send_json(
        "POST",
        &format!("/v1.0/applications/{id}/addPassword"),
        Some(&admin),
        &json!({"passwordCredential": {"displayName": "old", "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2021-01-01T00:00:00Z"}}),
    );
    let old = pw.json()["secretText"].as_str().unwrap_or_default().to_string();
    let expired = emu.client_credentials(CONTOSO, &app_id, &old, scope);
    assert_eq!((expired.status, aadsts(&expired.json())), (401, 7000222));

    // The public client has no secrets.
    let public = emu.client_credentials(CONTOSO, GLOBAL_CLIENT, "x", scope);
    assert_eq!((public.status, aadsts(&public.json())), (401, 700025));
}

#[test]
fn new_secrets_and_role_assignments_replicate_slowly_when_asked() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    emu.faults(json!([
        {"kind": "replication_delay", "target": "credential", "ms": 1500},
        {"kind": "replication_delay", "target": "role_assignment", "ms": 3000}
    ]));
    let (_, app_id, secret, _) = emu.register_app(&admin, &["User.Read.All"]);
    let scope = "https://graph.microsoft.com/.default";
    assert_eq!(aadsts(&emu.client_credentials(CONTOSO, &app_id, &secret, scope).json()), 7000215);
    emu.send_json("POST", "/_emulator/clock", None, &json!({"advance_seconds": 2}));
    let t = emu.client_credentials(CONTOSO, &app_id, &secret, scope).json();
    let token = t["access_token"].as_str().unwrap_or_default().to_string();
    assert!(claims(&token).get("roles").is_none(), "role not replicated yet");
    assert_eq!(emu.get("/v1.0/users?$top=1", Some(&token)).status, 403);
    emu.send_json("POST", "/_emulator/clock", None, &json!({"advance_seconds": 2}));
    let t = emu.client_credentials(CONTOSO, &app_id, &secret, scope).json();
    let token = t["access_token"].as_str().unwrap_or_default().to_string();
    assert_eq!(claims(&token)["roles"], json!(["User.Read.All"]));
    let users = emu.get("/v1.0/users?$top=1", Some(&token));
    assert_eq!(users.status, 200);
    assert_eq!(users.json()["value"].as_array().map(Vec::len), Some(1));
}

#[test]
fn discovery_documents_point_at_the_emulator() {
    let emu = Emulator::start(&[]);
    let c = emu.get(&format!("/{CONTOSO}/v2.0/.well-known/openid-configuration"), None).json();
    assert_eq!(c["issuer"], json!(emu.url(&format!("/{CONTOSO}/v2.0"))));
    assert_eq!(c["token_endpoint"], json!(emu.url(&format!("/{CONTOSO}/oauth2/v2.0/token"))));
    assert_eq!(c["device_authorization_endpoint"], json!(emu.url(&format!("/{CONTOSO}/oauth2/v2.0/devicecode"))));
    let org = emu.get("/organizations/v2.0/.well-known/openid-configuration", None).json();
    assert_eq!(org["issuer"], json!(emu.url("/{tenantid}/v2.0")));
    let keys = emu.get(&format!("/{CONTOSO}/discovery/v2.0/keys"), None).json();
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    assert!(keys["keys"][0]["n"].is_string() && keys["keys"][0]["kid"].is_string());
    assert_eq!(emu.get("/nowhere.example.com/v2.0/.well-known/openid-configuration", None).status, 400);
}

#[test]
fn unsupported_grants_and_missing_parameters() {
    let emu = Emulator::start(&[]);
    let path = format!("/{CONTOSO}/oauth2/v2.0/token");
    assert_eq!(
        emu.form(&path, &[("client_id", GLOBAL_CLIENT), ("grant_type", "password")]).json()["error"],
        "unsupported_grant_type"
    );
    assert_eq!(aadsts(&emu.form(&path, &[("client_id", GLOBAL_CLIENT)]).json()), 900144);
    assert_eq!(aadsts(&emu.form(&path, &[("grant_type", "client_credentials")]).json()), 900144);
    // Hostile bodies are answered, not crashed on.
    let r = emu.form(
        &path,
        &[
            ("client_id", "\u{0}%%%"),
            ("grant_type", "client_credentials"),
            ("client_assertion", "a.b.c"),
            ("client_assertion_type", "x"),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    );
    assert_eq!(r.status, 400);
}
