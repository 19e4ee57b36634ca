//! Signed notifications to the portal's backend, received by the demo portal
//! (scripts/demo-portal.py), which verifies them as the README documents: organization added,
//! health changed, deleted; a tampered, a replayed-late and a repeated delivery; delivery retried
//! while the receiver fails.

use serde_json::{json, Value};
use std::time::Duration;
use system_tests::demo_portal::DemoPortal as Portal;
use system_tests::emulator::Emulator;
use system_tests::portal::Api;
use system_tests::process::wait_for;
use system_tests::stack::Stack;

fn stack_for(emulator: &Emulator, portal: &Portal, secret: &str) -> Stack {
    let mut vars = emulator.worker_vars();
    vars.push(("PORTAL_WEBHOOK_URL".into(), format!("{}/webhooks", portal.base)));
    vars.push(("PORTAL_WEBHOOK_SECRET".into(), secret.into()));
    Stack::start_with(&vars)
}

fn save(emulator: &Emulator, api: &Api) -> String {
    let saved = system_tests::save_generated(api, &system_tests::automatic_registration(emulator, api));
    saved["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_portal_hears_of_changes_by_signed_webhooks_and_refuses_forgeries() {
    let secret = format!("whsec_{}", system_tests::portal::random_secret());
    let portal = Portal::start(&secret, 0);
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = stack_for(&emulator, &portal, &secret);
    let api = Api::new(&stack.base_url, &stack.token("acct-webhooks"));

    let id = save(&emulator, &api);
    let added = portal.wait_for_event("organization.added", &id);
    assert_eq!(added["account"], "acct-webhooks");
    assert_eq!(added["data"]["name"], "Contoso", "{added}");
    assert!(added["id"].as_str().unwrap().starts_with("evt_"));

    let checked = api.post(&format!("/api/organizations/{id}/check"), json!({}));
    assert_eq!(checked.status, 200, "{}", checked.text);
    let changed = portal.wait_for_event("organization.health_changed", &id);
    assert_eq!(
        (changed["data"]["state"].as_str(), changed["data"]["previous_state"].as_str()),
        (Some("healthy"), Some("unchecked"))
    );

    assert_eq!(api.delete_organization(&id, json!({"confirm": true})).status, 204);
    portal.wait_for_event("organization.deleted", &id);

    // No event carries a credential or a token.
    let everything = portal.received().to_string();
    for secret_like in ["BEGIN", "pkcs8", "client_secret", "access_token", "eyJ"] {
        assert!(!everything.contains(secret_like), "{secret_like} in {everything}");
    }

    // The receiver's checks: a forged body, a stale timestamp and an unsigned delivery are refused;
    // a repeat of a handled event is accepted once and not listed twice.
    let body = json!({"id": "evt_forged", "type": "organization.deleted", "created_at": "2026-11-30T00:00:00Z",
                      "account": "acct-webhooks", "organization_id": "o", "data": {}})
    .to_string();
    let now = system_tests::unix_now();
    let good = edge::webhooks::signature_header(secret.as_bytes(), now, body.as_bytes());
    let forged = body.replace("acct-webhooks", "acct-other");
    assert_eq!(portal.deliver(&forged, "evt_forged", &good), 400, "a tampered body");
    let stale = edge::webhooks::signature_header(secret.as_bytes(), now - 3_600, body.as_bytes());
    assert_eq!(portal.deliver(&body, "evt_forged", &stale), 400, "a delivery replayed an hour later");
    let wrong_key = edge::webhooks::signature_header(b"not the portal's secret at all, 32+", now, body.as_bytes());
    assert_eq!(portal.deliver(&body, "evt_forged", &wrong_key), 400, "signed with another key");
    assert_eq!(portal.deliver(&body, "evt_forged", &good), 200);
    assert_eq!(portal.deliver(&body, "evt_forged", &good), 200, "a repeat is acknowledged");
    let got = portal.received();
    assert_eq!(got["refused"], 3, "{got}");
    assert_eq!(got["events"].as_array().unwrap().iter().filter(|e| e["id"] == "evt_forged").count(), 1);
}

#[test]
fn a_delivery_the_portal_refuses_is_retried_until_it_is_taken() {
    let secret = format!("whsec_{}", system_tests::portal::random_secret());
    let portal = Portal::start(&secret, 2);
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = stack_for(&emulator, &portal, &secret);
    let api = Api::new(&stack.base_url, &stack.token("acct-webhook-retries"));
    let id = save(&emulator, &api);
    portal.wait_for_event("organization.added", &id);
    let got = portal.received();
    assert_eq!(got["failed_on_purpose"], 2, "{got}");
    assert_eq!(got["events"].as_array().unwrap().len(), 1, "delivered once it was taken: {got}");
}

#[test]
fn an_uploaded_certificate_that_cannot_rotate_is_announced_at_30_and_14_days() {
    let secret = format!("whsec_{}", system_tests::portal::random_secret());
    let portal = Portal::start(&secret, 0);
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let mut vars = emulator.worker_vars();
    vars.push(("PORTAL_WEBHOOK_URL".into(), format!("{}/webhooks", portal.base)));
    vars.push(("PORTAL_WEBHOOK_SECRET".into(), secret.clone()));
    vars.push(("DEV_CLOCK".into(), "emulator".into()));
    let stack = Stack::start_with(&vars);
    let api = Api::new(&stack.base_url, &stack.token("acct-expiring"));
    // The corpus certificate (one year), uploaded for an application the administrator registered.
    let (dir, manifest) = system_tests::pfx_corpus();
    let case = system_tests::pfx_corpus_case(&manifest, "openssl3-default.pfx");
    let pfx_bytes = std::fs::read(dir.path().join("openssl3-default.pfx")).unwrap();
    let cert = shared::certificate::parse_pfx(&pfx_bytes, case["password"].as_str().unwrap(), system_tests::unix_now())
        .unwrap();
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let (app_id, _, _) = emulator.register_app("Backup cert", Some(&b64(&cert.certificate_der)), true);
    let pfx = b64(&pfx_bytes);
    let created = api.post(
        "/api/organizations",
        json!({"name": "Contoso", "cloud": "global", "tenant_id": system_tests::emulator::fixture::CONTOSO,
               "application_id": app_id, "credential": {"type": "certificate", "pfx_base64": pfx, "password": case["password"]},
               "create_multiple_applications": false}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let expiring = |n: usize| {
        wait_for(&format!("{n} credential.expiring webhook(s)"), Duration::from_secs(60), || {
            let all: Vec<Value> = portal.received()["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "credential.expiring" && e["organization_id"] == id.as_str())
                .cloned()
                .collect();
            (all.len() >= n).then_some(all)
        })
    };

    // 340 days on, about 25 days are left: the 30-day warning, once.
    emulator.advance_days(340);
    assert_eq!(api.post(&format!("/api/organizations/{id}/check"), json!({})).status, 200);
    assert_eq!(api.post(&format!("/api/organizations/{id}/check"), json!({})).status, 200);
    let first = expiring(1);
    assert!(first[0]["data"]["days_left"].as_i64().unwrap() <= 30, "{first:?}");
    assert_eq!(first[0]["data"]["application_id"], app_id.as_str());
    // 12 days later: the 14-day warning.
    emulator.advance_days(12);
    assert_eq!(api.post(&format!("/api/organizations/{id}/check"), json!({})).status, 200);
    let both = expiring(2);
    assert!(both[1]["data"]["days_left"].as_i64().unwrap() <= 14, "{both:?}");
    // A positive control: an event queued after the checks arrives, and by then no third warning has.
    let shown = api.get(&format!("/api/organizations/{id}"));
    let renamed =
        api.patch(&format!("/api/organizations/{id}"), json!({"version": shown.body["version"], "name": "Contoso 2"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    portal.wait_for_event("organization.updated", &id);
    assert_eq!(expiring(2).len(), 2, "each warning once");
}
