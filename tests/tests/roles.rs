//! The admin's directory roles, end to end against the emulator, which enforces them as Microsoft
//! documents: the least-privileged pair (Privileged Role Administrator with Cloud Application
//! Administrator) registers the main and the additional applications and deletes them; an account
//! whose roles cannot do what its sign-in is for is refused before the first write to Microsoft.

use serde_json::{json, Value};
use std::time::Duration;
use system_tests::emulator::Emulator;
use system_tests::portal::Api;
use system_tests::stack::Stack;

use system_tests::emulator::fixture::{APP_ADMIN, LEAST_PRIVILEGED as PAIR, ROLE_ADMIN};

fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

/// The requests to Graph that change something.
fn graph_writes(emulator: &Emulator) -> Vec<Value> {
    emulator
        .requests()
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1.0") || p.starts_with("/beta")))
        .filter(|r| r["method"] != "GET")
        .collect()
}

#[test]
fn an_application_administrator_alone_is_refused_before_anything_is_written() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-app-admin"));
    emulator.delete("requests");
    let s = system_tests::device_code_sign_in(
        &emulator,
        &api,
        json!({"cloud": "global", "method": "device_code"}),
        APP_ADMIN,
    );
    assert_eq!(s["state"], "failed", "{s}");
    assert_eq!(s["error"]["code"], "admin_roles_missing", "{s}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Privileged Role Administrator together with Cloud Application Administrator or Application Administrator; or Global Administrator"),
        "{message}"
    );
    assert_eq!(graph_writes(&emulator), Vec::<Value>::new(), "nothing was written to Microsoft");
    assert!(emulator.applications().is_empty());
}

#[test]
fn the_least_privileged_pair_registers_one_then_four_applications_and_deletes_them() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-pair"));
    let s =
        system_tests::device_code_sign_in(&emulator, &api, json!({"cloud": "global", "method": "device_code"}), PAIR);
    assert_eq!(s["state"], "completed", "{s}");
    let id = s["id"].as_str().unwrap();
    let more = api.post(&format!("/api/signins/{id}/applications"), json!({}));
    assert_eq!(more.status, 200, "{}", more.text);
    let done = api.wait_status(id, Duration::from_secs(60), |s| {
        s["state"] == "completed" && s["result"]["applications"] == 4 || s["state"] == "failed"
    });
    assert_eq!(done["result"]["applications"], 4, "{done}");
    assert_eq!(emulator.applications().len(), 4);
    let saved = api.post(
        "/api/organizations",
        json!({"name": "Contoso", "cloud": "global", "tenant_id": done["result"]["tenant_id"],
               "application_id": done["result"]["application_id"],
               "credential": {"type": "generated", "sign_in_id": id}, "create_multiple_applications": true}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text);
    let org = saved.body["id"].as_str().unwrap().to_owned();

    // Removal: a Privileged Role Administrator alone cannot delete applications, and is refused at
    // once; the pair can.
    let removal =
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "remove", "organization_id": org}});
    let refused = system_tests::signed_in(&emulator, &api, removal.clone(), ROLE_ADMIN);
    assert_eq!(
        (refused["state"].as_str(), refused["error"]["code"].as_str()),
        (Some("failed"), Some("admin_roles_missing")),
        "{refused}"
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Deleting the backup applications needs Cloud Application Administrator"));
    let sign_in = system_tests::signed_in(&emulator, &api, removal, PAIR);
    assert_eq!(sign_in["state"], "signed_in", "{sign_in}");
    let deleted =
        api.delete_organization(&org, json!({"confirm": true, "remove_with_sign_in": sign_in["id"].as_str().unwrap()}));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(emulator.applications().is_empty(), "the four applications are gone from the tenant");
}
