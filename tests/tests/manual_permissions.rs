//! The Manual method says what is missing: an application registered by hand is compared with the
//! manifest at save (each missing permission named with its API and reason), "Check again" passes
//! once they are granted, "Save anyway" is stored and shown as needing attention; the Manual
//! screen lists the permissions of the chosen cloud with its portal and admin-consent links.

use serde_json::{json, Value};
use std::time::Duration;
use system_tests::browser::{click, el, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

fn secret_body(app_id: &str, secret: &str) -> Value {
    json!({"name": "Contoso by hand", "cloud": "global", "tenant_id": fixture::CONTOSO, "application_id": app_id,
           "credential": {"type": "secret", "client_secret": secret}, "create_multiple_applications": false})
}

#[test]
fn two_missing_permissions_are_named_then_check_again_passes_after_consent() {
    let (emulator, stack) = start();
    let (app_id, sp, secret) = system_tests::hand_made_without_two(&emulator, "Backup by hand");
    let api = Api::new(&stack.base_url, &stack.token("acct-manual-perms"));

    let refused = api.post("/api/organizations", secret_body(&app_id, &secret));
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["error"]["code"], "permissions_missing");
    assert_eq!(refused.body["error"]["field"], "application_id");
    let missing = refused.body["error"]["missing_permissions"].as_array().unwrap();
    let named: Vec<(&str, &str)> =
        missing.iter().map(|p| (p["value"].as_str().unwrap(), p["api"].as_str().unwrap())).collect();
    assert_eq!(
        named,
        [("Mail.ReadWrite", "Microsoft Graph"), ("Sites.FullControl.All", "Office 365 SharePoint Online")]
    );
    assert!(missing.iter().all(|p| p["type"] == "Application" && p["reason"].as_str().unwrap().len() > 10));
    assert!(!refused.text.contains(&secret));
    assert_eq!(api.get("/api/organizations").body["organizations"].as_array().unwrap().len(), 0, "nothing saved");

    // The administrator grants them, then checks again.
    emulator.grant(&sp, &["Mail.ReadWrite", "Sites.FullControl.All"]);
    let saved = api.post("/api/organizations", secret_body(&app_id, &secret));
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_ne!(saved.body["health"]["state"], "needs_attention", "{}", saved.text);
}

#[test]
fn saved_anyway_is_stored_and_needs_attention() {
    let (emulator, stack) = start();
    let (app_id, _, secret) = system_tests::hand_made_without_two(&emulator, "Backup acknowledged");
    let api = Api::new(&stack.base_url, &stack.token("acct-manual-ack"));
    let mut body = secret_body(&app_id, &secret);
    // Saving without knowing what is missing is refused: the acknowledgement names the permissions.
    body["acknowledged_permissions"] = json!(["Mail.ReadWrite"]);
    let partial = api.post("/api/organizations", body.clone());
    assert_eq!(partial.status, 422, "{}", partial.text);
    assert_eq!(partial.body["error"]["code"], "permissions_missing");
    body["acknowledged_permissions"] = json!(["Mail.ReadWrite", "Sites.FullControl.All"]);
    let saved = api.post("/api/organizations", body);
    assert_eq!(saved.status, 201, "{}", saved.text);
    let health = &saved.body["health"];
    assert_eq!(health["state"], "needs_attention", "{}", saved.text);
    assert_eq!(health["reason"], "permissions_missing");
    assert_eq!(health["acknowledged"], true);
    assert_eq!(health["permissions"], json!(["Mail.ReadWrite", "Sites.FullControl.All"]));
    // A check later: the Graph permission is still missing, and it stays "needs attention", not failing.
    let id = saved.body["id"].as_str().unwrap();
    for _ in 0..2 {
        let checked = api.post(&format!("/api/organizations/{id}/check"), json!({}));
        assert_eq!(checked.status, 200, "{}", checked.text);
        assert_eq!(checked.body["health"]["state"], "needs_attention", "{}", checked.text);
    }
}

#[test]
fn the_permission_list_follows_the_cloud() {
    let (_emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-perm-list"));
    let global = api.get("/api/clouds/global/permissions");
    assert_eq!(global.status, 200, "{}", global.text);
    let values = |v: &Value| -> Vec<String> {
        v["permissions"].as_array().unwrap().iter().map(|p| p["value"].as_str().unwrap().to_owned()).collect()
    };
    assert!(values(&global.body).contains(&"MailboxItem.ImportExport.All".to_owned()));
    let china = api.get("/api/clouds/china/permissions");
    assert_eq!(china.body["cloud"], "china");
    assert!(!values(&china.body).contains(&"MailboxItem.ImportExport.All".to_owned()), "not offered there");
    assert!(values(&china.body).contains(&"Sites.FullControl.All".to_owned()));
    assert_eq!(api.get("/api/clouds/azure/permissions").status, 404);
    assert_eq!(Api::new(&stack.base_url, "").get("/api/clouds/global/permissions").status, 401);
}

async fn open_manual(browser: &Browser, stack: &Stack, account: &str, cloud: &str) {
    let c = &browser.client;
    c.goto("about:blank").await.unwrap();
    c.goto(&stack.url(&format!("/#token={}", stack.token(account)))).await.unwrap();
    system_tests::browser::click_text(c, "Add Microsoft 365 organization").await;
    click(c, &format!("#cloud-{cloud}")).await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manual_screen_lists_what_is_missing_and_checks_again() {
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let (emulator, (app_id, sp, secret)) = tokio::task::spawn_blocking(move || {
        let made = system_tests::hand_made_without_two(&emulator, "Backup by hand UI");
        (emulator, made)
    })
    .await
    .unwrap();
    let c = &browser.client;

    // In GCC High the links go to that cloud's portal and sign-in host.
    open_manual(&browser, &stack, "acct-manual-ui", "usgov_gcc_high").await;
    click(c, "[data-testid=manual-permissions] summary").await;
    browser.wait_for_text("[data-testid=permission-list]", "Sites.FullControl.All", Duration::from_secs(10)).await;
    let portal = el(c, "[data-testid=app-registrations-link]").await.attr("href").await.unwrap().unwrap();
    assert!(portal.starts_with("https://portal.azure.us/"), "{portal}");
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    let consent = el(c, "[data-testid=admin-consent-link]").await.attr("href").await.unwrap().unwrap();
    assert_eq!(
        consent,
        format!("https://login.microsoftonline.us/{}/adminconsent?client_id={app_id}", fixture::CONTOSO)
    );

    // In the Global cloud: save, see both missing permissions, grant them, check again.
    open_manual(&browser, &stack, "acct-manual-ui", "global").await;
    click(c, "[data-testid=manual-permissions] summary").await;
    let list =
        browser.wait_for_text("[data-testid=permission-list]", "Sites.FullControl.All", Duration::from_secs(10)).await;
    assert!(list.contains("MailboxItem.ImportExport.All") && list.contains("Office 365 SharePoint Online"), "{list}");
    type_into(c, "#org-name", "Contoso by hand").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    let consent = el(c, "[data-testid=admin-consent-link]").await.attr("href").await.unwrap().unwrap();
    assert!(consent.starts_with("https://login.microsoftonline.com/"), "{consent}");
    type_into(c, "#client-secret", &secret).await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    let missing =
        browser.wait_for_text("[data-testid=missing-list]", "Sites.FullControl.All", Duration::from_secs(60)).await;
    assert!(missing.contains("Mail.ReadWrite"), "{missing}");
    assert!(!missing.contains("User.Read.All"), "only what is missing: {missing}");
    assert!(!el(c, "[data-testid=save-anyway]").await.is_enabled().await.unwrap(), "not without the acknowledgement");
    for theme in ["light", "dark"] {
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        let issues = browser.axe_serious().await;
        assert!(issues.is_empty(), "axe on the missing permissions ({theme}):\n{}", issues.join("\n"));
    }

    let sp2 = sp.clone();
    let emulator = tokio::task::spawn_blocking(move || {
        emulator.grant(&sp2, &["Mail.ReadWrite", "Sites.FullControl.All"]);
        emulator
    })
    .await
    .unwrap();
    click(c, "[data-testid=check-again]").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso by hand", Duration::from_secs(60)).await;
    drop(emulator);
    browser.close().await;
}
