//! The wizard in headless Chromium against the real worker and the emulator: the device-code path
//! (signing in on the emulator's page in a second tab), the Manual path with a secret, live
//! validation, and the manage page (list, delete with confirmation).

use base64::Engine as _;
use fantoccini::Client;
use std::time::Duration;
use system_tests::browser::{click, click_text, el, one_time_code, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::stack::Stack;
use system_tests::turn_multiple_applications_off;

async fn value(c: &Client, css: &str) -> String {
    el(c, css).await.prop("value").await.unwrap().unwrap_or_default()
}

async fn setup() -> (Emulator, Stack, Browser) {
    system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await
}

/// Registers an application by hand in Contoso (see `Emulator::register_app`) from async code; the
/// emulator is moved into the blocking task and handed back, so that it outlives the test.
async fn register_app(
    emulator: Emulator,
    name: &'static str,
    certificate: Option<String>,
) -> ((String, String, String), Emulator) {
    tokio::task::spawn_blocking(move || {
        let r = emulator.register_app(name, certificate.as_deref(), true);
        (r, emulator)
    })
    .await
    .unwrap()
}

/// Opens the app for `account`, starts Add, chooses Manual and waits for Step 3.
async fn open_manual_step3(browser: &Browser, stack: &Stack, account: &str) {
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token(account)))).await.unwrap();
    click_text(c, "Add Microsoft 365 organization").await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_path_through_the_wizard_with_one_application() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-ui")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365 organization", Duration::from_secs(20)).await;
    click_text(c, "Add your first organization").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    assert!(el(c, "#cloud-global").await.is_selected().await.unwrap(), "Global is the default");
    assert!(el(c, "#method-device-code").await.is_selected().await.unwrap());
    click(c, "button[type=submit]").await;

    browser.wait_for_text("#step-heading", "Step 2", Duration::from_secs(10)).await;
    // The step indicator names the three steps: the first done, the second current.
    browser.wait_for_text("[data-testid=stepper] [aria-current=step]", "Authorization", Duration::from_secs(5)).await;
    let spoken: String = c
        .execute("return document.querySelector('[data-testid=stepper] li.done').textContent", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(spoken.contains("done"), "screen readers hear which steps are done: {spoken}");
    let stepper = el(c, "[data-testid=stepper]").await.text().await.unwrap();
    assert!(stepper.contains("Add method") && stepper.contains("Completion"), "{stepper}");
    assert!(el(c, "[data-testid=stepper] li.done").await.text().await.unwrap().contains("Add method"));
    let code = one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
    let link = el(c, "[data-testid=verification-link]").await;
    assert_eq!(link.attr("target").await.unwrap().as_deref(), Some("_blank"));
    let uri = link.attr("href").await.unwrap().unwrap();

    // The admin signs in on Microsoft's (the emulator's) page in a second tab.
    let main_window = c.window().await.unwrap();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(&uri).await.unwrap();
    type_into(c, "#otc", &code).await;
    click(c, "#idSIButton9").await;
    type_into(c, "#i0116", fixture::ADMIN).await;
    click(c, "#idSIButton9").await;
    type_into(c, "#i0118", fixture::PASSWORD).await;
    click(c, "#idSIButton9").await;
    click(c, "button[value=accept]").await;
    browser.wait_for_text("body", "You may now close this window", Duration::from_secs(10)).await;
    c.close_window().await.unwrap();
    c.switch_to_window(main_window).await.unwrap();

    click(c, "#confirm-authorization").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert_eq!(value(c, "#org-name").await, "Contoso");
    assert_eq!(value(c, "#tenant-id").await, fixture::CONTOSO);
    assert!(el(c, "#tenant-id").await.attr("readonly").await.unwrap().is_some(), "read-only after registration");
    // The service created a certificate for the application: Step 3 shows it and offers the .cer.
    assert!(el(c, "#cred-generated").await.is_selected().await.unwrap(), "the generated certificate by default");
    browser
        .wait_for_text(
            "[data-testid=generated-certificate]",
            "Certificate created by the service",
            Duration::from_secs(5),
        )
        .await;
    let subject = browser.wait_for_text("[data-testid=generated-subject]", "CN=", Duration::from_secs(5)).await;
    let shown_sha1 = browser.wait_for_text("[data-testid=generated-sha1]", "", Duration::from_secs(5)).await;
    let expiry = browser.wait_for_text("[data-testid=generated-expiry]", "20", Duration::from_secs(5)).await;
    let download = el(c, "[data-testid=certificate-download]").await;
    let href = download.attr("href").await.unwrap().unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(href.strip_prefix("data:application/pkix-cert;base64,").expect("a .cer data URL"))
        .unwrap();
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    let sha1: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(sha1, shown_sha1.trim(), "the .cer is the certificate shown");
    assert!(download.attr("download").await.unwrap().unwrap().ends_with(".cer"));
    assert!(subject.contains("M365"), "{subject}");
    assert!(!c.source().await.unwrap().contains("PRIVATE KEY"), "no key in the page");
    // The Global cloud: Graph's mailbox export was granted; EWS needs the tenant's allow list.
    browser.wait_for_text("[data-testid=mailbox-note]", "mailbox import and export", Duration::from_secs(5)).await;
    let command = browser
        .wait_for_text(
            "[data-testid=ews-allow-command]",
            "Set-OrganizationConfig -EwsAllowedAppIDs",
            Duration::from_secs(5),
        )
        .await;
    let app_id = value(c, "#application-id").await;
    assert!(command.contains(&format!("'{app_id}'")), "{command}");
    let multiple = el(c, "#multiple-apps").await;
    assert!(multiple.is_selected().await.unwrap(), "on by default");
    multiple.click().await.unwrap();
    click(c, "button[type=submit]").await;

    let table = browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    assert!(table.contains(fixture::CONTOSO), "{table}");
    assert!(table.contains("Certificate") && !table.contains("Application password"), "{table}");
    let apps = emulator.applications();
    assert_eq!(apps.len(), 1);
    assert!(apps[0]["passwordCredentials"].as_array().unwrap().is_empty(), "no client secret was made: {apps:?}");
    let keys = apps[0]["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{apps:?}");
    assert_eq!(keys[0]["thumbprint"].as_str().unwrap().to_ascii_uppercase(), sha1, "the certificate registered");
    let end = keys[0]["endDateTime"].as_str().unwrap();
    // The page writes times as the browser's Intl does for the language shown, in UTC.
    let written = c
        .execute(
            "return new Intl.DateTimeFormat('en', {dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC'}).format(new Date(arguments[0]))",
            vec![end.into()],
        )
        .await
        .unwrap();
    assert_eq!(written.as_str(), Some(expiry.trim()), "Step 3 showed the registered expiry");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_path_with_live_validation_then_delete() {
    let (emulator, stack, browser) = setup().await;
    let ((app_id, _, secret), emulator) = register_app(emulator, "Backup manual UI", None).await;
    let c = &browser.client;
    open_manual_step3(&browser, &stack, "acct-ui-manual").await;

    type_into(c, "#tenant-id", "contoso.onmicrosoft.com").await;
    let err = browser.wait_for_text("#tenant-id-error", "not a domain name", Duration::from_secs(5)).await;
    assert!(err.contains("Tenant ID") || err.contains("tenant ID"), "{err}");
    // Leaving the field looks the domain's tenant up and fills in its ID. Wait for that answer:
    // typing over the field while it is on its way raced it (the answer could land between the
    // field's clearing and the first keystroke, and the GUID was then typed after the found one).
    type_into(c, "#org-name", "Contoso (manual)").await;
    browser.wait_for_text("[data-testid=tenant-note]", "belongs to tenant", Duration::from_secs(10)).await;
    assert_eq!(value(c, "#tenant-id").await, fixture::CONTOSO);
    assert!(el(c, "#tenant-id-error").await.text().await.unwrap().is_empty(), "the found ID clears the error");
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", &secret).await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso (manual)", Duration::from_secs(60)).await;
    let page = c.source().await.unwrap();
    assert!(!page.contains(&secret), "the secret is not in the page after saving");

    click(c, "button.danger").await;
    // The dialog names the applications that stay in the tenant.
    browser.wait_for_text("[role=alertdialog] .kept", &app_id, Duration::from_secs(5)).await;
    click(c, "[data-testid=confirm-delete]").await;
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365 organization", Duration::from_secs(20)).await;
    // Kept: listed by ID, with the cloud's App registrations page to remove them later.
    let kept = browser.wait_for_text("[data-testid=kept-applications]", &app_id, Duration::from_secs(5)).await;
    assert!(kept.contains("stay registered"), "{kept}");
    let link = el(c, "[data-testid=kept-applications] [data-testid=app-registrations-link]").await;
    assert!(link.attr("href").await.unwrap().unwrap().starts_with("https://portal.azure.com/#view/"));
    assert_eq!(emulator.applications().len(), 1, "the application is still in the tenant");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_removal_deletes_the_organizations_applications_from_the_tenant_and_nothing_else() {
    let (emulator, stack, browser) = setup().await;
    let ((unrelated, _, _), emulator) = register_app(emulator, "Someone else's application", None).await;
    let ((app_id, _, secret), emulator) = register_app(emulator, "Backup manual removal", None).await;
    let c = &browser.client;
    open_manual_step3(&browser, &stack, "acct-ui-removal").await;
    type_into(c, "#org-name", "Contoso (removal)").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", &secret).await;
    click(c, "button[type=submit]").await;
    approve_panel_code(&browser, &emulator).await;
    browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    let ids = |e: &Emulator| -> Vec<String> {
        e.applications().iter().map(|a| a["appId"].as_str().unwrap_or_default().to_owned()).collect()
    };
    let before = ids(&emulator);
    assert_eq!(before.len(), 5, "the unrelated one, the admin's own and the 3 created");
    let ours: Vec<&String> = before.iter().filter(|id| **id != unrelated).collect();

    click(c, "button.danger").await;
    // Every application of the organization is listed by ID before anything is deleted.
    let listed = browser.wait_for_text("[role=alertdialog] .kept", &app_id, Duration::from_secs(5)).await;
    for id in &ours {
        assert!(listed.contains(id.as_str()), "{id} is listed: {listed}");
    }
    assert!(!listed.contains(&unrelated), "{listed}");
    click(c, "#delete-remove").await;
    // Removing needs the sign-in first.
    assert!(!el(c, "[data-testid=confirm-delete]").await.is_enabled().await.unwrap());
    el(c, "[role=alertdialog] [data-testid=panel-credential]").await;
    for theme in ["dark", "light"] {
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        let issues = browser.axe_serious().await;
        assert!(issues.is_empty(), "axe on the delete dialog with removal ({theme}):\n{}", issues.join("\n"));
    }
    click(c, "[role=alertdialog] [data-testid=panel-device-code]").await;
    let code = one_time_code(c, "[role=alertdialog] [data-testid=user-code]", None, Duration::from_secs(20)).await;
    emulator.approve(&code, fixture::ADMIN);
    browser.wait_for_text("[role=alertdialog] [data-testid=signin-status]", "Signed in", Duration::from_secs(20)).await;
    browser
        .wait_for_text("[data-testid=confirm-delete]", "Delete and remove applications", Duration::from_secs(5))
        .await;
    click(c, "[data-testid=confirm-delete]").await;
    let notice = browser
        .wait_for_text("[data-testid=removed-applications]", "deleted from Microsoft 365", Duration::from_secs(30))
        .await;
    assert!(notice.contains("its 4 applications"), "{notice}");
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365 organization", Duration::from_secs(20)).await;
    assert_eq!(ids(&emulator), vec![unrelated], "0 of the organization's applications are left, and only those went");
    browser.close().await;
}

/// Step 1 → Step 2 with the defaults; returns the one-time code shown.
async fn start_device_code(browser: &Browser, stack: &Stack, account: &str) -> String {
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token(account)))).await.unwrap();
    click_text(c, "Add Microsoft 365 organization").await;
    click(c, "button[type=submit]").await;
    one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_path_with_four_applications() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let code = start_device_code(&browser, &stack, "acct-ui-4").await;
    emulator.approve(&code, fixture::ADMIN);
    click(c, "#confirm-authorization").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert!(el(c, "#multiple-apps").await.is_selected().await.unwrap());
    click(c, "button[type=submit]").await;
    let table =
        browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    assert!(table.contains("Contoso"));
    assert!(
        table.contains("Exchange mailboxes · OneDrive and SharePoint · Teams, groups and Planner"),
        "each additional application has one workload: {table}"
    );
    let apps = emulator.applications();
    assert_eq!(apps.len(), 4);
    for app in &apps {
        assert!(app["passwordCredentials"].as_array().unwrap().is_empty(), "no client secret: {app}");
        assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 1, "its own certificate: {app}");
    }
    let thumbprints: std::collections::HashSet<&str> =
        apps.iter().map(|a| a["keyCredentials"][0]["thumbprint"].as_str().unwrap()).collect();
    assert_eq!(thumbprints.len(), 4, "a key pair per application");
    // "Check now": every application's certificate gets a token with its workload's permissions.
    browser.wait_for_text("[data-testid=health]", "Not checked yet", Duration::from_secs(5)).await;
    click_text(c, "Check now").await;
    let health = browser.wait_for_text("[data-testid=health]", "Healthy", Duration::from_secs(30)).await;
    assert!(health.contains("Checked"), "{health}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_then_an_uploaded_certificate_replaces_the_generated_one() {
    let (emulator, stack, browser) = setup().await;
    let (corpus, manifest) = system_tests::pfx_corpus();
    let case = system_tests::pfx_corpus_case(&manifest, "openssl3-default.pfx");

    let c = &browser.client;
    let code = start_device_code(&browser, &stack, "acct-ui-dc-cert").await;
    emulator.approve(&code, fixture::ADMIN);
    click(c, "#confirm-authorization").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert!(el(c, "#cred-generated").await.is_selected().await.unwrap(), "the generated certificate by default");
    // A tenant whose policy trusts only its own authorities: the admin uploads that certificate.
    click(c, "#cred-certificate").await;
    browser
        .wait_for_text(
            "[data-testid=certificate-replaces]",
            "replaces the one the service created",
            Duration::from_secs(5),
        )
        .await;
    el(c, "#pfx-file").await.send_keys(corpus.path().join("openssl3-default.pfx").to_str().unwrap()).await.unwrap();
    browser.wait_for_text(".drop-zone .hint", "openssl3-default.pfx", Duration::from_secs(10)).await;
    type_into(c, "#pfx-password", case["password"].as_str().unwrap()).await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    let table = browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    assert!(table.contains("Certificate") && !table.contains("Application password"), "{table}");

    let apps = emulator.applications();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let keys = apps[0]["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{apps:?}");
    let thumbprint = keys[0]["thumbprint"].as_str().unwrap_or_default().to_ascii_uppercase();
    assert_eq!(thumbprint, case["sha1"].as_str().unwrap().to_ascii_uppercase());
    assert!(apps[0]["passwordCredentials"].as_array().unwrap().is_empty(), "no password");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_access_block_then_switch_to_manual() {
    let (emulator, stack, browser) = setup().await;
    emulator.control("faults", serde_json::json!({"kind": "conditional_access_block", "tenant": fixture::CONTOSO}));
    let c = &browser.client;
    let code = start_device_code(&browser, &stack, "acct-ui-ca").await;
    emulator.approve(&code, fixture::ADMIN);
    let msg = browser.wait_for_text("[data-testid=signin-error]", "Conditional Access", Duration::from_secs(20)).await;
    assert!(msg.contains("Manual method"), "{msg}");
    click_text(c, "Switch to the Manual method").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
    assert_eq!(el(c, "#tenant-id").await.attr("readonly").await.unwrap(), None, "Manual: the admin types the IDs");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_then_expired_then_a_new_code() {
    // Codes live 10 s: long enough for the second one to be declined and that answer polled
    // before it expires (with 4 s, a slow machine could see it expire first).
    let emulator = tokio::task::spawn_blocking(|| {
        Emulator::start_with(&["--device-code-interval", "1", "--device-code-expires-in", "10"])
    })
    .await
    .unwrap();
    let vars = emulator.worker_vars();
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    let first = start_device_code(&browser, &stack, "acct-ui-expire").await;
    browser.wait_for_text("[data-testid=signin-status]", "expired", Duration::from_secs(30)).await;
    click_text(c, "Get a new code").await;
    let second = one_time_code(c, "[data-testid=user-code]", Some(&first), Duration::from_secs(10)).await;
    assert_ne!(second, first, "a new code is shown");
    emulator.decline(&second);
    let msg = browser.wait_for_text("[data-testid=signin-error]", "declined", Duration::from_secs(20)).await;
    assert!(msg.contains("Manual method") || msg.contains("new code"), "{msg}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_and_wrong_pfx_password_show_field_errors() {
    let (emulator, stack, browser) = setup().await;
    let ((app_id, _, _), _emulator) = register_app(emulator, "Backup wrong", None).await;
    let (corpus, _) = system_tests::pfx_corpus();
    let c = &browser.client;
    open_manual_step3(&browser, &stack, "acct-ui-wrong").await;
    type_into(c, "#org-name", "Contoso").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", "wrong~secret-value-123").await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#client-secret-error", "refused the application password", Duration::from_secs(60)).await;

    click(c, "#cred-certificate").await;
    let pfx = corpus.path().join("openssl3-default.pfx");
    el(c, "#pfx-file").await.send_keys(pfx.to_str().unwrap()).await.unwrap();
    browser.wait_for_text(".drop-zone .hint", "openssl3-default.pfx", Duration::from_secs(10)).await;
    type_into(c, "#pfx-password", "not the password").await;
    click_text(c, "Check certificate").await;
    browser.wait_for_text("#pfx-password-error", "password is wrong", Duration::from_secs(20)).await;

    // A file that is not a .pfx: its error sits at the file field, once, after "Check certificate"
    // and again after Save.
    el(c, "#pfx-file").await.send_keys(corpus.path().join("self.pem").to_str().unwrap()).await.unwrap();
    browser.wait_for_text(".drop-zone .hint", "self.pem", Duration::from_secs(10)).await;
    click_text(c, "Check certificate").await;
    browser.wait_for_text("#pfx-file-error", "not a .pfx", Duration::from_secs(20)).await;
    click(c, "button[type=submit]").await;
    // Save's answer is in once its button reads "Save" again (it reads "Checking with Microsoft and
    // saving…" from the click on).
    browser.wait_for_text("form button[type=submit]", "Save", Duration::from_secs(30)).await;
    browser.wait_for_text("#pfx-file-error", "not a .pfx", Duration::from_secs(20)).await;
    let shown: Vec<String> = c
        .execute(
            "return [...document.querySelectorAll('.step *')].filter(e => e.children.length === 0 && e.textContent.includes('not a .pfx')).map(e => e.id || e.tagName)",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, ["pfx-file-error"], "once, at the file field");
    assert_eq!(el(c, "#pfx-password-error").await.text().await.unwrap(), "", "not under the password");
    assert_eq!(el(c, "#pfx-file").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_with_a_certificate_then_edit_with_and_without_a_recheck() {
    let (emulator, stack, browser) = setup().await;
    let (corpus, manifest) = system_tests::pfx_corpus();
    let cert: String = std::fs::read_to_string(corpus.path().join("self.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let ((app_id, _, _), _emulator) = register_app(emulator, "Backup cert UI", Some(cert)).await;
    let case = system_tests::pfx_corpus_case(&manifest, "openssl3-default.pfx");

    let c = &browser.client;
    open_manual_step3(&browser, &stack, "acct-ui-cert").await;
    type_into(c, "#org-name", "Contoso (certificate)").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    click(c, "#cred-certificate").await;
    el(c, "#pfx-file").await.send_keys(corpus.path().join("openssl3-default.pfx").to_str().unwrap()).await.unwrap();
    browser.wait_for_text(".drop-zone .hint", "openssl3-default.pfx", Duration::from_secs(10)).await;
    type_into(c, "#pfx-password", case["password"].as_str().unwrap()).await;
    click_text(c, "Check certificate").await;
    let preview =
        browser.wait_for_text("[data-testid=certificate-preview]", "Thumbprint", Duration::from_secs(20)).await;
    assert!(preview.contains(case["sha1"].as_str().unwrap()), "{preview}");
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    let table =
        browser.wait_for_text("[data-testid=organizations]", "Contoso (certificate)", Duration::from_secs(60)).await;
    assert!(table.contains("Certificate"), "{table}");

    // Rename: no credential involved, no check.
    click_text(c, "Edit").await;
    type_into(c, "#edit-name", "Contoso renamed").await;
    click_text(c, "Save changes").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso renamed", Duration::from_secs(20)).await;

    // A new password is checked with Microsoft first: a wrong one is refused and nothing changes.
    click_text(c, "Edit").await;
    browser
        .wait_for_text("#edit-secret-hint", "checked with Microsoft before it is saved", Duration::from_secs(10))
        .await;
    type_into(c, "#edit-secret", "wrong~secret-value-123").await;
    click_text(c, "Save changes").await;
    // While Microsoft is asked (and asked again, for a secret it may not know yet), the page says so
    // and counts the seconds.
    browser.wait_for_text("[data-testid=waiting]", "Checking with Microsoft", Duration::from_secs(5)).await;
    // The counter goes up every second: any count from 2 on (a busy machine may miss the second
    // it reads "2").
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = browser.wait_for_text("[data-testid=waiting-seconds]", "Waiting for", Duration::from_secs(5)).await;
        let seconds: u32 = text.trim_start_matches("Waiting for ").trim_end_matches(" s").parse().unwrap();
        if seconds >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the seconds waited do not go up: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.wait_for_text("form .error", "refused the application password", Duration::from_secs(60)).await;
    assert!(c.find_all(fantoccini::Locator::Css("[data-testid=waiting]")).await.unwrap().is_empty());
    // The admin can stop waiting: the form is usable again at once.
    click_text(c, "Save changes").await;
    click(c, "[data-testid=stop-waiting]").await;
    browser.wait_for_text("form .error", "Stopped waiting", Duration::from_secs(5)).await;
    assert!(el(c, "form button[type=submit]").await.is_enabled().await.unwrap());
    click_text(c, "Cancel").await;
    let table = browser.wait_for_text("[data-testid=organizations]", "Contoso renamed", Duration::from_secs(20)).await;
    assert!(table.contains("Certificate"), "the certificate stayed: {table}");
    browser.close().await;
}

/// Chooses a device code in the sign-in panel, waits for its one-time code and approves it as the
/// Contoso admin.
async fn approve_panel_code(browser: &Browser, emulator: &Emulator) {
    click(&browser.client, "[data-testid=panel-device-code]").await;
    let css = "[data-testid=signin-panel] [data-testid=user-code]";
    let code = one_time_code(&browser.client, css, None, Duration::from_secs(20)).await;
    emulator.approve(&code, fixture::ADMIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_with_multiple_applications_asks_for_a_sign_in_then_recreate_from_the_edit_page() {
    let (emulator, stack, browser) = setup().await;
    let ((app_id, _, secret), emulator) = register_app(emulator, "Backup manual 4", None).await;
    let c = &browser.client;
    open_manual_step3(&browser, &stack, "acct-ui-m4").await;
    type_into(c, "#org-name", "Contoso (manual, 4)").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    assert!(el(c, "#multiple-apps").await.is_selected().await.unwrap());
    // A typo in the password is found before any sign-in is asked for.
    type_into(c, "#client-secret", "typo~in~the~secret~value~0123456").await;
    emulator.delete("requests");
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#client-secret-error", "refused the application password", Duration::from_secs(60)).await;
    assert!(c.find_all(fantoccini::Locator::Css("[data-testid=signin-panel]")).await.unwrap().is_empty());
    let started =
        emulator.requests().iter().filter(|r| r["path"].as_str().unwrap_or("").ends_with("/devicecode")).count();
    assert_eq!(started, 0, "no sign-in was started: {:?}", emulator.requests());
    type_into(c, "#client-secret", &secret).await;
    click(c, "button[type=submit]").await;
    // Save checks the password, asks for the sign-in, then goes on by itself.
    approve_panel_code(&browser, &emulator).await;
    let table =
        browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    assert!(table.contains("Contoso (manual, 4)"), "{table}");
    assert_eq!(emulator.applications().len(), 4, "the main one and 3 created");

    // Off, then back on with "Recreate multiple applications" and a new sign-in.
    turn_multiple_applications_off(&browser).await;
    click_text(c, "Edit").await;
    click(c, "#edit-multiple").await;
    click(c, "#reenable-recreate").await;
    approve_panel_code(&browser, &emulator).await;
    browser
        .wait_for_text("[data-testid=signin-panel] [data-testid=signin-status]", "Signed in", Duration::from_secs(20))
        .await;
    click_text(c, "Save changes").await;
    browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    assert_eq!(emulator.applications().len(), 7, "3 new applications");

    // Off again, then on with "Use existing applications" (the default choice): checked, not created.
    turn_multiple_applications_off(&browser).await;
    click_text(c, "Edit").await;
    // The edit page lists every application with its workload; the admin's own is told which
    // Graph mailbox permissions to add, and the EWS line names the applications in use.
    let listed = browser.wait_for_text("[data-testid=applications]", "Main application", Duration::from_secs(10)).await;
    // The page is headed with the organization's name; the applications are a table.
    browser.wait_for_text("[data-testid=edit-heading]", "Contoso (manual, 4)", Duration::from_secs(5)).await;
    assert_eq!(c.find_all(fantoccini::Locator::Css("[data-testid=applications] tbody tr")).await.unwrap().len(), 4);
    assert!(
        listed.contains(&app_id) && listed.contains("Exchange mailboxes") && listed.contains("(not in use)"),
        "{listed}"
    );
    browser.wait_for_text("[data-testid=mailbox-note]", "MailboxItem.ImportExport.All", Duration::from_secs(5)).await;
    // Each application's credential and, for the ones the service created, granted against required
    // permissions; "Check now" on the edit page checks them with Microsoft.
    assert!(listed.contains("certificate, ends") && listed.contains("permissions granted"), "{listed}");
    emulator.delete("requests");
    click(c, "[data-testid=edit-check-now]").await;
    browser.wait_for_text("[data-testid=applications]", "Checked", Duration::from_secs(30)).await;
    let tokens =
        emulator.requests().iter().filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/token"))).count();
    assert!(tokens >= 1, "the check asked Microsoft for tokens: {:?}", emulator.requests());
    let command = browser.wait_for_text("[data-testid=ews-allow-command]", &app_id, Duration::from_secs(5)).await;
    assert_eq!(command.matches("', '").count(), 0, "only the main application is in use: {command}");
    click(c, "#edit-multiple").await;
    assert!(el(c, "#reenable-existing").await.is_selected().await.unwrap());
    click_text(c, "Save changes").await;
    browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(60)).await;
    assert_eq!(emulator.applications().len(), 7, "nothing new was created");
    browser.close().await;
}
