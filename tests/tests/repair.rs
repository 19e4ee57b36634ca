//! Repair in one sign-in against the emulator: a deleted application created again, removed
//! consent granted again and a disabled application enabled again, each with one device-code
//! sign-in, the organization keeping its ID and name; a sign-in in another tenant changes nothing.

use serde_json::{json, Value};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

/// A second Global tenant beside Contoso, with its own Global Administrator.
const FABRIKAM: &str = "5d2e8c41-7a3b-4c9d-8e1f-2a3b4c5d6e7f";
const FABRIKAM_ADMIN: &str = "admin@fabrikam.onmicrosoft.com";

fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let mut directory = emulator.get("fixture");
    directory["tenants"].as_array_mut().unwrap().push(json!({
        "id": FABRIKAM, "cloud": "global", "display_name": "Fabrikam", "domains": ["fabrikam.onmicrosoft.com"],
        "users": [{"upn": FABRIKAM_ADMIN, "display_name": "Fabrikam Admin", "roles": ["Global Administrator"]}]
    }));
    emulator.control("reset", directory);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

fn check(api: &Api, id: &str) -> Value {
    let r = api.post(&format!("/api/organizations/{id}/check"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// A repair sign-in for organization `id`, approved by `user`; its last status.
fn repair_sign_in(emulator: &Emulator, api: &Api, id: &str, user: &str) -> Value {
    let start =
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "repair", "organization_id": id}});
    system_tests::device_code_sign_in(emulator, api, start, user)
}

fn repair(api: &Api, org: &Value, sign_in: &Value) -> system_tests::portal::Answer {
    let id = org["id"].as_str().unwrap();
    api.post(
        &format!("/api/organizations/{id}/repair"),
        json!({"version": org["version"], "sign_in_id": sign_in["id"]}),
    )
}

fn service_principal(emulator: &Emulator, admin: &str, app_id: &str) -> Value {
    emulator.graph(admin, "GET", &format!("/servicePrincipals?$filter=appId eq '{app_id}'"), None)["value"][0].clone()
}

#[test]
fn a_deleted_application_is_created_again_with_one_sign_in() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-repair"));
    let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    let id = org["id"].as_str().unwrap();
    let old_app = org["application_id"].as_str().unwrap().to_owned();

    let admin = emulator.admin_token(fixture::ADMIN);
    let found = emulator.graph(&admin, "GET", &format!("/applications?$filter=appId eq '{old_app}'"), None);
    emulator.graph(&admin, "DELETE", &format!("/applications/{}", found["value"][0]["id"].as_str().unwrap()), None);
    let broken = check(&api, id);
    assert_eq!(broken["health"]["reason"], "application_deleted", "{broken}");

    let sign_in = repair_sign_in(&emulator, &api, id, fixture::ADMIN);
    assert_eq!(sign_in["state"], "completed", "{sign_in}");
    let repaired = repair(&api, &broken, &sign_in);
    assert_eq!(repaired.status, 200, "{}", repaired.text);
    let o = &repaired.body;
    assert_eq!((o["id"].as_str(), o["name"].as_str()), (Some(id), Some("Contoso")), "same organization");
    let new_app = o["application_id"].as_str().unwrap();
    assert_ne!(new_app, old_app, "a new application");
    assert_eq!(o["health"]["state"], "healthy", "checked at once: {o}");
    assert_eq!(o["applications"][0]["credential_type"], "certificate");

    // In the tenant: the new application only, with every permission and the service's certificate.
    let apps = emulator.applications();
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0]["appId"], new_app);
    assert_eq!(apps[0]["keyCredentials"].as_array().unwrap().len(), 1);
    // The organization is listed once, healthy, and the next check still finds it so.
    assert_eq!(api.get("/api/organizations").body["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(check(&api, id)["health"]["state"], "healthy");
}

#[test]
fn removed_consent_and_a_disabled_application_are_repaired_in_place() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-repair-consent"));
    let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    let id = org["id"].as_str().unwrap();
    let app_id = org["application_id"].as_str().unwrap();

    // The administrator takes back every Graph permission and disables the application.
    let admin = emulator.admin_token(fixture::ADMIN);
    let sp = service_principal(&emulator, &admin, app_id);
    let sp_id = sp["id"].as_str().unwrap();
    let assignments = emulator.graph(&admin, "GET", &format!("/servicePrincipals/{sp_id}/appRoleAssignments"), None);
    let assignments = assignments["value"].as_array().unwrap().clone();
    assert!(assignments.len() > 10, "{assignments:?}");
    for a in &assignments[..3] {
        let path = format!(
            "/servicePrincipals/{}/appRoleAssignedTo/{}",
            a["resourceId"].as_str().unwrap(),
            a["id"].as_str().unwrap()
        );
        emulator.graph(&admin, "DELETE", &path, None);
    }
    let missing = check(&api, id);
    assert_eq!(missing["health"]["reason"], "permissions_missing", "{missing}");
    emulator.graph(&admin, "PATCH", &format!("/servicePrincipals/{sp_id}"), Some(json!({"accountEnabled": false})));
    let disabled = check(&api, id);
    assert_eq!(disabled["health"]["reason"], "service_principal_disabled", "{disabled}");
    let key_before = emulator.applications()[0]["keyCredentials"].clone();

    // Repaired by the least-privileged account that can: Privileged Role Administrator with Cloud
    // Application Administrator.
    let sign_in = repair_sign_in(&emulator, &api, id, fixture::LEAST_PRIVILEGED);
    assert_eq!(sign_in["state"], "completed", "{sign_in}");
    let repaired = repair(&api, &disabled, &sign_in);
    assert_eq!(repaired.status, 200, "{}", repaired.text);
    let o = &repaired.body;
    assert_eq!((o["id"].as_str(), o["application_id"].as_str()), (Some(id), Some(app_id)), "the same application");
    assert_eq!(o["health"]["state"], "healthy", "{o}");

    assert_eq!(service_principal(&emulator, &admin, app_id)["accountEnabled"], true);
    let after = emulator.graph(&admin, "GET", &format!("/servicePrincipals/{sp_id}/appRoleAssignments"), None);
    assert_eq!(after["value"].as_array().unwrap().len(), assignments.len(), "every permission again, once");
    assert_eq!(emulator.applications()[0]["keyCredentials"], key_before, "the working certificate was kept");
    assert_eq!(emulator.applications().len(), 1);
}

#[test]
fn a_repair_sign_in_in_another_tenant_changes_nothing_and_is_refused() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-repair-tenant"));
    let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    let id = org["id"].as_str().unwrap();

    let sign_in = repair_sign_in(&emulator, &api, id, FABRIKAM_ADMIN);
    assert_eq!(sign_in["state"], "failed", "{sign_in}");
    assert_eq!(sign_in["error"]["code"], "sign_in_tenant_mismatch", "{sign_in}");
    let apps = emulator.applications();
    assert!(apps.iter().all(|a| a["tenant"] == fixture::CONTOSO), "nothing in Fabrikam: {apps:?}");
    assert_eq!(apps.len(), 1);
    let refused = repair(&api, &org, &sign_in);
    assert!(refused.status == 400 || refused.status == 409 || refused.status == 422, "{}", refused.text);
    assert_eq!(api.get(&format!("/api/organizations/{id}")).body["version"], org["version"]);

    // Another account can neither repair the organization nor start a repair of it.
    let other = Api::new(&stack.base_url, &stack.token("acct-repair-other"));
    let start =
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "repair", "organization_id": id}});
    assert_eq!(other.post("/api/signins", start).status, 404);
    // A repair of an organization in another cloud is refused on the cloud.
    let wrong_cloud = json!({"cloud": "usgov_gcc_high", "method": "device_code", "purpose": {"kind": "repair", "organization_id": id}});
    let r = api.post("/api/signins", wrong_cloud);
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (422, Some("cloud")), "{}", r.text);
}

/// The administrator's path: the edit page of a failing organization offers Repair; one device-code
/// sign-in, the wizard's progress, and the organization is back on the list, healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_from_the_edit_page_with_one_device_code_sign_in() {
    use std::time::Duration;
    use system_tests::browser::{click, click_text, one_time_code};
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let token = stack.token("acct-repair-ui");
    let (emulator, stack, id) = tokio::task::spawn_blocking(move || {
        let api = Api::new(&stack.base_url, &stack.token("acct-repair-ui"));
        let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
        let id = org["id"].as_str().unwrap().to_owned();
        // The administrator deletes the application's consent to one permission, twice checked: failing.
        let admin = emulator.admin_token(fixture::ADMIN);
        let sp = service_principal(&emulator, &admin, org["application_id"].as_str().unwrap());
        let sp_id = sp["id"].as_str().unwrap();
        let a = emulator.graph(&admin, "GET", &format!("/servicePrincipals/{sp_id}/appRoleAssignments"), None)["value"]
            [0]
        .clone();
        let path = format!(
            "/servicePrincipals/{}/appRoleAssignedTo/{}",
            a["resourceId"].as_str().unwrap(),
            a["id"].as_str().unwrap()
        );
        emulator.graph(&admin, "DELETE", &path, None);
        check(&api, &id);
        assert_eq!(check(&api, &id)["health"]["state"], "failing");
        (emulator, stack, id)
    })
    .await
    .unwrap();

    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={token}"))).await.unwrap();
    browser.wait_for_text("[data-testid=organizations]", "Failing", Duration::from_secs(20)).await;
    click_text(c, "Edit").await;
    click(c, "[data-testid=edit-repair]").await;
    click(c, "[data-testid=repair-start]").await;
    let code =
        one_time_code(c, "[data-testid=repair-panel] [data-testid=user-code]", None, Duration::from_secs(20)).await;
    emulator.approve(&code, fixture::ADMIN);
    click(c, "#confirm-authorization").await;
    let table = browser.wait_for_text("[data-testid=organizations]", "Healthy", Duration::from_secs(120)).await;
    assert!(table.contains("Contoso"), "{table}");
    let api = Api::new(&stack.base_url, &token);
    let o = api.get(&format!("/api/organizations/{id}"));
    assert_eq!(
        (o.body["health"]["state"].as_str(), o.body["version"].as_i64()),
        (Some("healthy"), Some(2)),
        "{}",
        o.text
    );
    assert_eq!(emulator.applications().len(), 1, "repaired in place");
    browser.close().await;
}
