//! Certificates that renew themselves: the emulator checks `addKey` / `removeKey` proofs of
//! possession as Microsoft documents them, and the product's scheduled check replaces a certificate
//! it created before its end, then removes the old key after the overlap, with no administrator.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use shared::assertion::{AssertionAlg, ClientAssertion};
use shared::certificate::ParsedPfx;
use std::time::{Duration, Instant};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

/// A Graph token of the application itself (client credentials with its secret).
fn app_token(emulator: &Emulator, app_id: &str, secret: &str) -> String {
    let url = format!("{}/{}/oauth2/v2.0/token", emulator.base_url, fixture::CONTOSO);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let t: Value = match ureq::post(&url).send_form(&form) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_json().unwrap(),
        Err(e) => panic!("{e}"),
    };
    t["access_token"].as_str().unwrap_or_else(|| panic!("{t}")).to_owned()
}

/// The documented proof: signed by `key`, `iss` = `issuer`.
fn proof(key: &ParsedPfx, issuer: &str) -> String {
    let p = ClientAssertion::proof_of_possession(
        AssertionAlg::RS256,
        &key.certificate_der,
        issuer,
        system_tests::unix_now(),
    );
    system_tests::sign_rs256(p, key.private_key_pkcs8.expose())
}

/// A proof with hand-made claims, signed by `key`.
fn proof_with(key: &ParsedPfx, claims: Value) -> String {
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &key.certificate_der);
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1.as_ref())});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let sig = system_tests::rs256_signature(key.private_key_pkcs8.expose(), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn add_key_body(new: &ParsedPfx, proof: &str) -> Value {
    json!({"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&new.certificate_der)},
           "passwordCredential": null, "proof": proof})
}

fn keys_of(emulator: &Emulator, app_id: &str) -> Vec<Value> {
    let app = emulator.applications().into_iter().find(|a| a["appId"] == app_id).unwrap();
    app["keyCredentials"].as_array().cloned().unwrap()
}

#[test]
fn the_emulator_checks_proofs_of_possession_as_microsoft_documents() {
    let emulator = Emulator::start();
    let current = system_tests::corpus_certificate("openssl3-default.pfx");
    let new = system_tests::corpus_certificate("powershell-aes256-sha256.pfx");
    let (app_id, object_id, secret) =
        emulator.register_app("Rolling app", Some(&STANDARD.encode(&current.certificate_der)), false);
    let token = app_token(&emulator, &app_id, &secret);
    let add = |token: &str, proof: &str| {
        emulator.graph_status(token, "POST", &format!("/applications/{object_id}/addKey"), add_key_body(&new, proof))
    };
    let now = system_tests::unix_now();

    // Refused: `iss` must be the object ID, `aud` Microsoft Graph, at most 10 minutes, signed by
    // a key the application has.
    // Each refusal is Microsoft's answer to a malformed proof.
    let (status, body) = add(&token, &proof(&current, &app_id));
    assert_eq!(status, 401, "iss = app ID: {body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed", "{body}");
    for aud in ["https://graph.microsoft.com", "00000002-0000-0000-c000-000000000000"] {
        let wrong_aud = proof_with(&current, json!({"aud": aud, "iss": object_id, "nbf": now, "exp": now + 600}));
        assert_eq!(add(&token, &wrong_aud).0, 401, "{aud}: only the audience Learn names now");
    }
    let too_long = proof_with(
        &current,
        json!({"aud": "00000003-0000-0000-c000-000000000000", "iss": object_id, "nbf": now, "exp": now + 3600}),
    );
    assert_eq!(add(&token, &too_long).0, 401);
    assert_eq!(add(&token, &proof(&new, &object_id)).0, 401, "signed by a key the application does not have");
    assert_eq!(keys_of(&emulator, &app_id).len(), 1, "nothing was added");

    // Another application may not roll this one's keys without Application.ReadWrite.All.
    let (other_id, _, other_secret) = emulator.register_app("Other app", None, false);
    let other = app_token(&emulator, &other_id, &other_secret);
    assert_eq!(add(&other, &proof(&current, &object_id)).0, 403);

    // The documented proof adds the key, with no permission.
    let (status, added) = add(&token, &proof(&current, &object_id));
    assert_eq!(status, 200, "{added}");
    let new_key_id = added["keyId"].as_str().unwrap().to_owned();
    let keys = keys_of(&emulator, &app_id);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let old_key_id =
        keys.iter().find(|k| k["keyId"] != new_key_id.as_str()).unwrap()["keyId"].as_str().unwrap().to_owned();

    // removeKey, proven by the new key.
    let remove = |key_id: &str, proof: &str| {
        emulator.graph_status(
            &token,
            "POST",
            &format!("/applications/{object_id}/removeKey"),
            json!({"keyId": key_id, "proof": proof}),
        )
    };
    assert_eq!(remove(&old_key_id, &proof(&new, &object_id)).0, 204);
    assert_eq!(keys_of(&emulator, &app_id).len(), 1);

    // Once every certificate has expired, no proof is accepted (Microsoft: use PATCH instead).
    emulator.advance_days(400);
    let token = app_token(&emulator, &app_id, &secret);
    let (status, body) = emulator.graph_status(
        &token,
        "POST",
        &format!("/applications/{object_id}/removeKey"),
        json!({"keyId": new_key_id, "proof": proof(&new, &object_id)}),
    );
    assert_eq!(status, 401, "{body}");
}

/// The emulator and the product, whose organizations' clock follows the emulator's
/// (`DEV_CLOCK=emulator`).
fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let mut vars = emulator.worker_vars();
    vars.push(("DEV_CLOCK".to_owned(), "emulator".to_owned()));
    let stack = Stack::start_with(&vars);
    (emulator, stack)
}

/// Runs the Cron Trigger (the emulator's clock already moved
/// as far), and waits until `done` holds for the organization.
fn run_scheduled_until(stack: &Stack, api: &Api, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let ran = ureq::get(&stack.url("/__scheduled?cron=*/5+*+*+*+*")).call();
    assert!(ran.is_ok(), "{ran:?}\n{}", stack.log());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let o = api.get(&format!("/api/organizations/{id}"));
        if done(&o.body) {
            return o.body;
        }
        assert!(Instant::now() < deadline, "not done: {}\n{}", o.text, stack.log());
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_generated_certificate_is_replaced_before_its_end_and_the_old_key_removed_after_the_overlap() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-rotation"));
    let saved = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    let id = saved["id"].as_str().unwrap().to_owned();
    let app_id = saved["application_id"].as_str().unwrap().to_owned();
    let first_end = saved["applications"][0]["credential_expires_at"].as_str().unwrap().to_owned();
    let first_keys = keys_of(&emulator, &app_id);
    assert_eq!(first_keys.len(), 1, "{first_keys:?}");

    // 710 days later (20 days before the end), the scheduled check tries to replace it; Microsoft
    // answers 503 to the addKey: the old certificate stays, and the health says why.
    emulator.advance_days(710);
    let object_id = emulator.applications().into_iter().find(|a| a["appId"] == app_id.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    emulator.control(
        "faults",
        json!({"kind": "throttle", "route": format!("/v1.0/applications/{object_id}/addKey"), "status": 503, "times": 1}),
    );
    let failed = run_scheduled_until(&stack, &api, &id, |o| o["health"]["checked_at"].is_string());
    assert_eq!(failed["health"]["reason"], "rotation_failed", "{failed}");
    assert_eq!(failed["health"]["state"], "needs_attention");
    assert_eq!(failed["applications"][0]["credential_expires_at"].as_str(), Some(first_end.as_str()));
    assert_eq!(keys_of(&emulator, &app_id).len(), 1, "nothing added");

    // The next check (here "Check now") replaces it.
    let rotated = api.post(&format!("/api/organizations/{id}/check"), json!({}));
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let rotated = rotated.body;
    assert_ne!(rotated["applications"][0]["credential_expires_at"].as_str(), Some(first_end.as_str()), "{rotated}");
    assert_eq!(rotated["health"]["state"], "healthy", "{rotated}");
    let keys = keys_of(&emulator, &app_id);
    assert_eq!(keys.len(), 2, "the old key stays for the overlap: {keys:?}");
    let new_end = rotated["applications"][0]["credential_expires_at"].as_str().unwrap();
    assert!(new_end > first_end.as_str(), "{new_end} after {first_end}");

    // Two days later the overlap has ended: the old key is removed.
    emulator.advance_days(2);
    let old_key = first_keys[0]["keyId"].clone();
    let deadline = Instant::now() + Duration::from_secs(90);
    ureq::get(&stack.url("/__scheduled?cron=*/5+*+*+*+*")).call().unwrap();
    loop {
        let keys = keys_of(&emulator, &app_id);
        if keys.len() == 1 {
            assert_ne!(keys[0]["keyId"], old_key, "the new key stays");
            break;
        }
        assert!(Instant::now() < deadline, "the old key was not removed: {keys:?}\n{}", stack.log());
        std::thread::sleep(Duration::from_millis(500));
    }

    // Past the first certificate's end, the organization still works (the next daily check).
    emulator.advance_days(30);
    let before = api.get(&format!("/api/organizations/{id}")).body["health"]["checked_at"].clone();
    let later = run_scheduled_until(&stack, &api, &id, |o| o["health"]["checked_at"] != before);
    assert_eq!(later["health"]["state"], "healthy", "{later}");
}
