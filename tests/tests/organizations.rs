//! Organizations (Step 3 and the manage page) through the real worker under `wrangler dev`, against
//! the Microsoft emulator: credential checks, the sealed store, editing, deleting, isolation.

use base64::Engine as _;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

fn secret_body(name: &str, app_id: &str, secret: &str) -> Value {
    json!({"name": name, "cloud": "global", "tenant_id": fixture::CONTOSO, "application_id": app_id,
           "credential": {"type": "secret", "client_secret": secret}, "create_multiple_applications": false})
}

use system_tests::contains_bytes as contains;
use system_tests::pfx_corpus as corpus;

fn pem_to_der_b64(path: &Path) -> String {
    let pem = std::fs::read_to_string(path).unwrap();
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// Every file of the local D1 database, concatenated (to look for secrets in clear).
fn d1_bytes(stack: &Stack) -> Vec<u8> {
    stack.stored_bytes(|p| {
        p.to_string_lossy().contains("D1") || p.extension().is_some_and(|x| x == "sqlite" || x == "sqlite-wal")
    })
}

#[test]
fn manual_add_with_a_secret_then_manage_it() {
    let (emulator, stack) = start();
    let (app_id, _, secret) = emulator.register_app("Backup manual", None, true);
    let api = Api::new(&stack.base_url, &stack.token("acct-manual"));

    let created = api.post("/api/organizations", secret_body("  <b>Contoso</b> & Co ", &app_id, &secret));
    assert_eq!(created.status, 201, "{}", created.text);
    let org = created.body.clone();
    assert_eq!(org["name"], "<b>Contoso</b> & Co", "HTML is stored and returned as data");
    assert_eq!(org["credential_type"], "secret");
    assert_eq!(org["application_id"], app_id.as_str());
    assert_eq!(org["active_applications"], 1);
    assert!(!created.text.contains(&secret), "the secret is never returned");
    let id = org["id"].as_str().unwrap().to_owned();
    let stored = d1_bytes(&stack);
    assert!(contains(&stored, &app_id), "the scan reads the database the worker wrote");
    assert!(!contains(&stored, &secret), "the D1 database holds no secret in clear");

    let list = api.get("/api/organizations");
    assert_eq!(list.body["organizations"].as_array().unwrap().len(), 1);
    assert!(!list.text.contains(&secret));

    // Another account sees nothing and gets 404 for everything.
    let other = Api::new(&stack.base_url, &stack.token("acct-other"));
    assert_eq!(other.get("/api/organizations").body["organizations"], json!([]));
    assert_eq!(other.get(&format!("/api/organizations/{id}")).status, 404);
    assert_eq!(other.patch(&format!("/api/organizations/{id}"), json!({"version": 1, "name": "Mine"})).status, 404);
    assert_eq!(other.delete_organization(&id, json!({"confirm": true})).status, 404);

    // The same tenant again: 409 naming the existing organization.
    let again = api.post("/api/organizations", secret_body("Again", &app_id, &secret));
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.body["error"]["message"].as_str().unwrap().contains("<b>Contoso</b> & Co"));

    // Rename without any credential; a stale version is a conflict.
    let renamed = api.patch(&format!("/api/organizations/{id}"), json!({"version": 1, "name": "Contoso Ltd"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["version"], 2);
    let stale = api.patch(&format!("/api/organizations/{id}"), json!({"version": 1, "name": "Old"}));
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["error"]["code"], "edit_conflict");

    // A changed credential is checked before saving: a wrong one is refused and nothing changes.
    let wrong = api.patch(
        &format!("/api/organizations/{id}"),
        json!({"version": 2,
        "credential": {"type": "secret", "client_secret": "wrong~secret-value-123"}}),
    );
    assert_eq!(wrong.status, 422, "{}", wrong.text);
    assert_eq!(wrong.body["error"]["code"], "invalid_client_secret");
    assert_eq!(wrong.body["error"]["field"], "client_secret");
    assert_eq!(api.get(&format!("/api/organizations/{id}")).body["version"], 2);

    // Delete needs the confirmation.
    let unconfirmed = api.delete_organization(&id, json!({"confirm": false}));
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(api.delete_organization(&id, json!({"confirm": true})).status, 204);
    assert_eq!(api.get(&format!("/api/organizations/{id}")).status, 404);

    // Nothing secret in clear at rest or in the log.
    assert!(!contains(&d1_bytes(&stack), &secret), "the D1 database holds no secret in clear");
    assert!(!stack.log().contains(&secret));
}

#[test]
fn refusals_name_the_field_and_store_nothing() {
    let (emulator, stack) = start();
    let (app_id, _, secret) = emulator.register_app("Backup refusals", None, false);
    let api = Api::new(&stack.base_url, &stack.token("acct-refuse"));
    let started = Instant::now();
    let a = api.post("/api/organizations", secret_body("Contoso", &app_id, &secret));
    assert_eq!(a.status, 422, "{}", a.text);
    assert_eq!(a.body["error"]["code"], "permissions_not_granted", "no admin consent: {}", a.text);
    assert!(started.elapsed() < Duration::from_secs(30));
    let a = api.post("/api/organizations", secret_body("Contoso", "00000000-0000-4000-8000-000000000000", &secret));
    assert_eq!(a.body["error"]["code"], "application_not_found", "{}", a.text);
    assert_eq!(a.body["error"]["field"], "application_id");
    let a = api.post("/api/organizations", json!({"name": "x", "cloud": "global", "tenant_id": "contoso.onmicrosoft.com",
        "application_id": app_id, "credential": {"type": "secret", "client_secret": "abc"}, "create_multiple_applications": false}));
    assert_eq!(a.body["error"]["field"], "tenant_id");
    assert!(a.body["error"]["message"].as_str().unwrap().contains("not a domain name"));
    let a = api.post(
        "/api/organizations",
        secret_body("x", &app_id, &secret)
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), if k == "create_multiple_applications" { json!(true) } else { v.clone() }))
            .collect(),
    );
    assert_eq!(a.status, 422, "multiple applications without a sign-in: {}", a.text);
    assert_eq!(api.get("/api/organizations").body["organizations"], json!([]));
}

#[test]
fn manual_add_with_a_certificate() {
    let (dir, manifest) = corpus();
    let case = manifest.as_array().unwrap().iter().find(|c| c["file"] == "openssl3-default.pfx").unwrap().clone();
    let (emulator, stack) = start();
    let (app_id, _, _) =
        emulator.register_app("Backup cert", Some(&pem_to_der_b64(&dir.path().join("self.pem"))), true);
    let api = Api::new(&stack.base_url, &stack.token("acct-cert"));
    let pfx = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.path().join("openssl3-default.pfx")).unwrap());
    let body = |password: &str| {
        json!({"name": "Contoso", "cloud": "global", "tenant_id": fixture::CONTOSO, "application_id": app_id,
        "credential": {"type": "certificate", "pfx_base64": pfx, "password": password}, "create_multiple_applications": false})
    };
    let wrong = api.post("/api/organizations", body("not the password"));
    assert_eq!(wrong.body["error"]["code"], "certificate_wrong_password");
    assert_eq!(wrong.body["error"]["field"], "certificate_password");
    let created = api.post("/api/organizations", body(case["password"].as_str().unwrap()));
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["credential_type"], "certificate");
    assert_eq!(created.body["certificate_thumbprint"], case["sha1"]);
    assert!(created.body["credential_expires_at"].is_string());
    let stored = d1_bytes(&stack);
    assert!(contains(&stored, &app_id), "the scan reads the database the worker wrote");
    assert!(!contains(&stored, case["password"].as_str().unwrap()), "no .pfx password in clear");
    let log = requests_with_assertions(&emulator);
    assert!(log > 0, "the check used a client assertion");
}

fn requests_with_assertions(emulator: &Emulator) -> usize {
    emulator.requests().iter().filter(|r| r["grant_type"] == "client_credentials" && r["status"] == 200).count()
}

#[test]
fn twenty_concurrent_saves_of_one_tenant_store_exactly_one() {
    let (emulator, stack) = start();
    let (app_id, _, secret) = emulator.register_app("Backup race", None, true);
    let token = stack.token("acct-race");
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (base, token, app_id, secret) = (stack.base_url.clone(), token.clone(), app_id.clone(), secret.clone());
            std::thread::spawn(move || {
                Api::new(&base, &token)
                    .post("/api/organizations", secret_body(&format!("Contoso {i}"), &app_id, &secret))
                    .status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let list = Api::new(&stack.base_url, &token).get("/api/organizations");
    assert_eq!(list.body["organizations"].as_array().unwrap().len(), 1);
}

use system_tests::automatic_registration;

#[test]
fn save_after_automatic_registration_with_one_and_with_four_applications() {
    let (emulator, stack) = start();
    for (account, multiple, expected) in [("acct-auto-1", false, 1), ("acct-auto-4", true, 4)] {
        let api = Api::new(&stack.base_url, &stack.token(account));
        let status = automatic_registration(&emulator, &api);
        let r = &status["result"];
        let saved = api.post(
            "/api/organizations",
            json!({"name": r["tenant_name"], "cloud": "global",
            "tenant_id": r["tenant_id"], "application_id": r["application_id"],
            "credential": {"type": "generated", "sign_in_id": status["id"]}, "create_multiple_applications": multiple}),
        );
        assert_eq!(saved.status, 201, "{}", saved.text);
        assert_eq!(saved.body["active_applications"], expected);
        assert_eq!(saved.body["multiple_applications"], multiple);
        assert!(saved.body["credential_expires_at"].is_string(), "the generated certificate's end is known");
        assert_eq!(saved.body["credential_type"], "certificate", "{}", saved.text);
        assert_eq!(
            saved.body["certificate_thumbprint"], r["certificates"][0]["info"]["thumbprint_sha1"],
            "the certificate Step 3 showed is the one stored"
        );
        // The sign-in forgot its secrets: saving twice is refused.
        let twice = api.post(
            "/api/organizations",
            json!({"name": "x", "cloud": "global", "tenant_id": r["tenant_id"],
            "application_id": r["application_id"], "credential": {"type": "generated", "sign_in_id": status["id"]},
            "create_multiple_applications": false}),
        );
        assert_eq!(twice.status, 422, "{}", twice.text);
        let org_id = saved.body["id"].as_str().unwrap();
        if multiple {
            // Off, then back on using the existing applications (checked again).
            let off = api
                .patch(&format!("/api/organizations/{org_id}"), json!({"version": 1, "multiple_applications": false}));
            assert_eq!(off.body["active_applications"], 1, "{}", off.text);
            let on = api.patch(
                &format!("/api/organizations/{org_id}"),
                json!({"version": 2, "multiple_applications": true, "reenable": "use_existing"}),
            );
            assert_eq!(on.status, 200, "{}", on.text);
            assert_eq!(on.body["active_applications"], 4);
        }
    }
    assert!(!stack.log().contains("secretText"));
}

#[test]
fn the_openapi_document_is_served_and_lists_every_route() {
    let stack = Stack::start();
    let api = Api::new(&stack.base_url, &stack.token("acct-docs"));
    let doc = api.get("/api/openapi.json");
    assert_eq!(doc.status, 200, "{}", doc.text);
    for e in shared::endpoints::ALL {
        let (method, path) = (e.method.as_str(), e.path);
        assert!(doc.body["paths"][path][method.to_lowercase()].is_object(), "{method} {path} is documented");
    }
    assert_eq!(Api::new(&stack.base_url, "").get("/api/openapi.json").status, 401);
}

#[test]
fn switching_to_a_certificate_after_automatic_registration() {
    let (dir, manifest) = corpus();
    let case = manifest.as_array().unwrap().iter().find(|c| c["file"] == "openssl3-default.pfx").unwrap().clone();
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-switch"));
    let status = automatic_registration(&emulator, &api);
    let r = &status["result"];
    let pfx = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(dir.path().join("openssl3-default.pfx")).unwrap());
    let saved = api.post(
        "/api/organizations",
        json!({"name": r["tenant_name"], "cloud": "global",
        "tenant_id": r["tenant_id"], "application_id": r["application_id"],
        "credential": {"type": "certificate", "pfx_base64": pfx, "password": case["password"]},
        "create_multiple_applications": false, "sign_in_id": status["id"]}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["credential_type"], "certificate");
    assert_eq!(saved.body["certificate_thumbprint"], case["sha1"]);
    let state = emulator.get("state");
    let app = state["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == r["application_id"])
        .unwrap_or_else(|| panic!("{state}"))
        .clone();
    let text = app.to_string();
    assert!(
        text.contains(case["sha1"].as_str().unwrap())
            || text.to_lowercase().contains(&case["sha1"].as_str().unwrap().to_lowercase()),
        "the certificate is registered on the application: {text}"
    );
    assert_eq!(
        app["passwordCredentials"].as_array().map(Vec::len),
        Some(0),
        "the generated secret was removed: {text}"
    );
}

#[test]
fn replication_delay_on_a_new_secret_then_success() {
    let (emulator, stack) = start();
    // From now on a new secret is refused with AADSTS7000215 for 5 s, as right after it was created.
    emulator.control("faults", json!({"kind": "replication_delay", "target": "credential", "ms": 5000}));
    let (app_id, _, secret) = emulator.register_app("Backup replication", None, true);
    let api = Api::new(&stack.base_url, &stack.token("acct-replicating"));
    let started = Instant::now();
    let a = api.post("/api/organizations", secret_body("Contoso", &app_id, &secret));
    assert_eq!(a.status, 201, "{}", a.text);
    assert!(started.elapsed() >= Duration::from_secs(2), "it waited for Microsoft to replicate");
}

#[test]
fn every_accepted_pfx_kind_can_be_saved() {
    let (dir, manifest) = corpus();
    let (emulator, stack) = start();
    // Both corpus certificates are registered on one application.
    let token = emulator.admin_token(fixture::ADMIN);
    let (app_id, oid, _) = emulator.register_app("Backup pfx kinds", None, true);
    let keys: Vec<Value> = ["self.pem", "leaf.pem"]
        .iter()
        .map(|f| {
            json!({"type": "AsymmetricX509Cert", "usage": "Verify",
        "key": pem_to_der_b64(&dir.path().join(f)), "displayName": f})
        })
        .collect();
    emulator.graph(&token, "PATCH", &format!("/applications/{oid}"), Some(json!({"keyCredentials": keys})));
    let api = Api::new(&stack.base_url, &stack.token("acct-kinds"));
    let ok: Vec<&Value> = manifest.as_array().unwrap().iter().filter(|c| c["expect"] == "ok").collect();
    assert!(ok.len() >= 6);
    for case in ok {
        let file = case["file"].as_str().unwrap();
        let pfx = base64::engine::general_purpose::STANDARD.encode(std::fs::read(dir.path().join(file)).unwrap());
        let saved = api.post("/api/organizations", json!({"name": file, "cloud": "global", "tenant_id": fixture::CONTOSO,
            "application_id": app_id, "credential": {"type": "certificate", "pfx_base64": pfx, "password": case["password"]},
            "create_multiple_applications": false}));
        assert_eq!(saved.status, 201, "{file}: {}", saved.text);
        assert_eq!(saved.body["certificate_thumbprint"], case["sha1"], "{file}");
        let id = saved.body["id"].as_str().unwrap();
        assert_eq!(api.delete_organization(id, json!({"confirm": true})).status, 204);
    }
}

#[test]
fn recreating_the_additional_applications_with_a_new_sign_in() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-recreate"));
    let status = automatic_registration(&emulator, &api);
    let r = &status["result"];
    let saved = api.post(
        "/api/organizations",
        json!({"name": "Contoso", "cloud": "global", "tenant_id": r["tenant_id"],
        "application_id": r["application_id"], "credential": {"type": "generated", "sign_in_id": status["id"]},
        "create_multiple_applications": false}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["active_applications"], 1);
    let org_id = saved.body["id"].as_str().unwrap();
    // No stored additional applications: "use existing" explains, "recreate" needs a sign-in.
    let existing = api.patch(
        &format!("/api/organizations/{org_id}"),
        json!({"version": 1, "multiple_applications": true, "reenable": "use_existing"}),
    );
    assert_eq!(existing.status, 422, "{}", existing.text);
    assert!(existing.body["error"]["message"].as_str().unwrap().contains("Recreate"));
    // A new sign-in (approved, not confirmed: no main application) creates 3 new ones.
    let started = api.post("/api/signins", json!({"cloud": "global", "method": "device_code"}));
    let sign_in = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.get(&format!("/api/signins/{sign_in}")).body["state"] != "signed_in" {
        assert!(Instant::now() < deadline, "signed in");
        std::thread::sleep(Duration::from_millis(300));
    }
    let recreated = api.patch(
        &format!("/api/organizations/{org_id}"),
        json!({"version": 1, "multiple_applications": true,
        "reenable": "recreate", "sign_in_id": sign_in}),
    );
    assert_eq!(recreated.status, 200, "{}", recreated.text);
    assert_eq!(recreated.body["active_applications"], 4);
    assert_eq!(emulator.applications().len(), 4);
}
