//! The Credential method in headless Chromium against the real worker and the emulator: the admin
//! signs in with Microsoft (the emulator's pages) in a pop-up opened by the app, the authorization
//! code comes back to the edge, and registration runs as after a device-code sign-in. Also: declined
//! consent, the pop-up closed early, a tampered `state`, a replayed code, and the other clouds.

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};
use system_tests::browser::{click, click_text, el, one_time_code, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;
use system_tests::turn_multiple_applications_off;

async fn setup() -> (Emulator, Stack, Browser) {
    system_tests::emulator_stack_browser(&[]).await
}

/// The emulator's identity requests of one kind.
fn token_requests(emulator: &Emulator, grant: &str) -> usize {
    emulator
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/oauth2/v2.0/token")) && r["grant_type"] == grant)
        .count()
}

/// Waits until the browser has a window other than `main` and returns it.
async fn popup(c: &Client, main: &WindowHandle) -> WindowHandle {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let windows = c.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| w != main) {
            return w;
        }
        if Instant::now() > deadline {
            let page = c.source().await.unwrap_or_default();
            panic!("no sign-in window was opened; the page:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until only `main` is left (the pop-up closed itself).
async fn popup_gone(c: &Client, main: &WindowHandle) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.windows().await.unwrap().iter().any(|w| w != main) {
        assert!(Instant::now() < deadline, "the sign-in window did not close itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the app for `account` (no organization yet) and goes to Step 1.
async fn open_step1(c: &Client, stack: &Stack, account: &str) {
    c.goto(&stack.url(&format!("/#token={}", stack.token(account)))).await.unwrap();
    el(c, "[data-testid=empty-state]").await;
    click_text(c, "Add your first organization").await;
}

/// Opens the app, chooses Global + Credential and Next; returns the main window and the pop-up,
/// with the pop-up current and showing Microsoft's (the emulator's) account page.
async fn start_credential(browser: &Browser, stack: &Stack, account: &str) -> (WindowHandle, WindowHandle) {
    let c = &browser.client;
    open_step1(c, stack, account).await;
    click(c, "#method-credential").await;
    let main = c.window().await.unwrap();
    click(c, "button[type=submit]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win.clone()).await.unwrap();
    el(c, "#i0116").await;
    (main, win)
}

/// In the pop-up (current window): account, password, then the consent page.
async fn sign_in_to_consent(c: &Client) {
    type_into(c, "#i0116", fixture::ADMIN).await;
    click(c, "#idSIButton9").await;
    type_into(c, "#i0118", fixture::PASSWORD).await;
    click(c, "#idSIButton9").await;
    el(c, "button[value=accept]").await;
}

/// Accepts the consent in the pop-up; the pop-up closes itself and the main window is current again.
async fn accept_and_return(c: &Client, main: &WindowHandle) {
    click(c, "button[value=accept]").await;
    c.switch_to_window(main.clone()).await.unwrap();
    popup_gone(c, main).await;
}

/// Clicks `opener` (which opens the sign-in window during the click), signs in and consents in the
/// window; the main window is current again once the window has closed itself.
async fn sign_in_through_window(c: &Client, main: &WindowHandle, opener: &str) {
    click(c, opener).await;
    let win = popup(c, main).await;
    c.switch_to_window(win).await.unwrap();
    el(c, "#i0116").await;
    sign_in_to_consent(c).await;
    accept_and_return(c, main).await;
}

async fn step3_then_save(browser: &Browser, multiple: bool) -> String {
    let c = &browser.client;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert_eq!(el(c, "#tenant-id").await.prop("value").await.unwrap().as_deref(), Some(fixture::CONTOSO));
    browser
        .wait_for_text(
            "[data-testid=generated-certificate]",
            "Certificate created by the service",
            Duration::from_secs(5),
        )
        .await;
    let boxed = el(c, "#multiple-apps").await;
    if boxed.is_selected().await.unwrap() != multiple {
        boxed.click().await.unwrap();
    }
    click(c, "button[type=submit]").await;
    let expect = if multiple { "On (4 applications)" } else { "Contoso" };
    browser.wait_for_text("[data-testid=organizations]", expect, Duration::from_secs(120)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_credential_path_with_one_application() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-1").await;

    // What the pop-up asked Microsoft for: PKCE S256, prompt=select_account, our callback, the
    // same delegated scopes as the device code, and the Global authority.
    let url = c.current_url().await.unwrap();
    assert!(url.path().ends_with("/organizations/oauth2/v2.0/authorize"), "{url}");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["prompt"], "select_account");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(!q.contains_key("code_verifier"));
    assert_eq!(q["redirect_uri"], stack.url("/api/signin/callback"));
    assert_eq!(q["client_id"], fixture::PUBLIC_CLIENTS[0].1);
    for scope in [
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Organization.Read.All",
        "Policy.Read.ApplicationConfiguration",
    ] {
        assert!(q["scope"].contains(&format!("https://graph.microsoft.com/{scope}")), "{}", q["scope"]);
    }
    let (sign_in_id, secret) = q["state"].split_once('.').unwrap();
    assert_eq!(sign_in_id.len(), 36);
    assert!(secret.len() >= 43, "the state carries 256 random bits");

    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    // The same progress display as the device code, then the same Step 3.
    let table = step3_then_save(&browser, false).await;
    assert!(table.contains(fixture::CONTOSO) && table.contains("Certificate"), "{table}");
    assert_eq!(emulator.applications().len(), 1);
    assert_eq!(token_requests(&emulator, "authorization_code"), 1);
    assert_eq!(token_requests(&emulator, "urn:ietf:params:oauth:grant-type:device_code"), 0);
    // No secret, code or token reached the page or the worker's log.
    let log = stack.log();
    assert!(!log.contains(secret), "the state secret is not logged");
    assert!(!c.source().await.unwrap().contains(secret));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_credential_path_with_four_applications() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-4").await;
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    let table = step3_then_save(&browser, true).await;
    assert!(table.contains("Contoso"), "{table}");
    assert_eq!(emulator.applications().len(), 4);
    assert_eq!(token_requests(&emulator, "authorization_code"), 1, "one sign-in served all four");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_save_and_recreate_sign_in_with_microsoft_in_the_panel_instead_of_a_device_code() {
    let (emulator, stack, browser) = setup().await;
    let (app_id, secret) = tokio::task::block_in_place(|| {
        let (id, _, secret) = emulator.register_app("Backup manual panel", None, true);
        (id, secret)
    });
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-panel-credential")))).await.unwrap();
    click_text(c, "Add your first organization").await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
    type_into(c, "#org-name", "Contoso (manual, window)").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", &secret).await;
    assert!(el(c, "#multiple-apps").await.is_selected().await.unwrap());
    emulator.delete("requests");
    click(c, "button[type=submit]").await;

    // The panel offers Microsoft's sign-in page (this cloud allows it) and starts nothing by itself.
    el(c, "[data-testid=panel-credential]").await;
    let devicecode = |e: &Emulator| {
        e.requests().iter().filter(|r| r["path"].as_str().unwrap_or("").ends_with("/devicecode")).count()
    };
    assert_eq!(devicecode(&emulator), 0, "no device code was asked for");
    let main = c.window().await.unwrap();
    sign_in_through_window(c, &main, "[data-testid=panel-credential]").await;
    // The window's answer is claimed by this browser, and Save goes on by itself.
    let table =
        browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    assert!(table.contains("Contoso (manual, window)"), "{table}");
    assert_eq!(emulator.applications().len(), 4, "the admin's own and the 3 created");
    assert_eq!(token_requests(&emulator, "authorization_code"), 1, "one sign-in");

    // Off, then on again with "Recreate multiple applications", signed in with a window again.
    turn_multiple_applications_off(&browser).await;
    click_text(c, "Edit").await;
    click(c, "#edit-multiple").await;
    click(c, "#reenable-recreate").await;
    sign_in_through_window(c, &main, "[data-testid=panel-credential]").await;
    browser
        .wait_for_text("[data-testid=signin-panel] [data-testid=signin-status]", "Signed in", Duration::from_secs(20))
        .await;
    click_text(c, "Save changes").await;
    browser.wait_for_text("[data-testid=organizations]", "On (4 applications)", Duration::from_secs(120)).await;
    assert_eq!(emulator.applications().len(), 7, "3 new applications");
    assert_eq!(devicecode(&emulator), 0, "never a device code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_consent_then_device_code_instead() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-decline").await;
    sign_in_to_consent(c).await;
    click(c, "button[value=cancel]").await;
    // The pop-up says so and stays open for the admin to read; the app says it too.
    browser.wait_for_text("#outcome", "declined", Duration::from_secs(10)).await;
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    let msg = browser.wait_for_text("[data-testid=signin-error]", "declined", Duration::from_secs(10)).await;
    assert!(msg.contains("Try again"), "{msg}");
    assert_eq!(token_requests(&emulator, "authorization_code"), 0, "nothing to redeem");
    click(c, "[data-testid=use-device-code]").await;
    // A device code is shown.
    one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(10)).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_from_microsoft_then_try_again_with_a_new_window() {
    let (emulator, stack, browser) = setup().await;
    // Microsoft's token endpoint is unavailable for the first three requests.
    emulator.control("faults", serde_json::json!({"kind": "throttle", "route": "token", "status": 503, "times": 3}));
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-error").await;
    let first_state = c.current_url().await.unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    sign_in_to_consent(c).await;
    click(c, "button[value=accept]").await;
    browser.wait_for_text("#outcome", "did not answer", Duration::from_secs(20)).await;
    let refused = emulator
        .requests()
        .iter()
        .filter(|r| r["path"] == "/organizations/oauth2/v2.0/token" && r["status"] == 503)
        .count();
    assert_eq!(refused, 3, "retried while the answer was transient");
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let msg = browser.wait_for_text("[data-testid=signin-error]", "did not answer", Duration::from_secs(10)).await;
    assert!(msg.contains("Try again"), "{msg}");
    // Try again: a new window with a new state (the old one was used), and this time it works.
    click(c, "[data-testid=retry-signin]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    el(c, "#i0116").await;
    let second_state = c.current_url().await.unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    assert_ne!(first_state, second_state, "a new state for the new window");
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    step3_then_save(&browser, false).await;
    assert_eq!(token_requests(&emulator, "authorization_code"), 1, "the new window's code, redeemed once");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_popup_closed_early_then_opened_again() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-closed").await;
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let msg = browser.wait_for_text("[data-testid=signin-notice]", "closed before", Duration::from_secs(10)).await;
    assert!(msg.contains("Device Code"), "{msg}");
    el(c, "[data-testid=use-device-code]").await;
    click(c, "[data-testid=retry-signin]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    step3_then_save(&browser, false).await;
    assert_eq!(emulator.applications().len(), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_state_is_refused_and_the_sign_in_can_go_on() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-state").await;
    // An attacker's answer: the same authorization request with another state secret.
    let mut url = c.current_url().await.unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| if k == "state" { (k, format!("{}.forged", v.split('.').next().unwrap())) } else { (k, v) })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    c.goto(url.as_str()).await.unwrap();
    sign_in_to_consent(c).await;
    click(c, "button[value=accept]").await;
    browser.wait_for_text("#outcome", "did not belong to this sign-in", Duration::from_secs(10)).await;
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let msg = browser.wait_for_text("[data-testid=signin-notice]", "did not belong", Duration::from_secs(10)).await;
    assert!(msg.contains("Device Code"), "{msg}");
    assert_eq!(token_requests(&emulator, "authorization_code"), 0, "a forged answer is never redeemed");
    // The admin's own sign-in was not disturbed: try again in the window and finish.
    click(c, "[data-testid=retry-signin]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    step3_then_save(&browser, false).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_is_refused_and_changes_nothing() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    let (main, win) = start_credential(&browser, &stack, "acct-cred-replay").await;
    sign_in_to_consent(c).await;
    // Take Microsoft's answer (the redirect to our callback) off the consent form, as an attacker
    // who saw it would.
    let flow = el(c, "input[name=flow]").await.prop("value").await.unwrap().unwrap();
    let consent = format!("{}/login/consent", emulator.base_url);
    let answer = tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let resp = agent.post(&consent).send_form(&[("flow", flow.as_str()), ("action", "accept")]).unwrap();
        resp.header("location").unwrap().to_owned()
    })
    .await
    .unwrap();
    assert!(answer.contains("code=") && answer.starts_with(&stack.url("/api/signin/callback")), "{answer}");
    // The first use signs in.
    c.switch_to_window(win).await.unwrap();
    c.goto(&answer).await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    popup_gone(c, &main).await;
    // The replay, in another tab: refused, and the sign-in goes on unharmed.
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(&answer).await.unwrap();
    browser.wait_for_text("#outcome", "already used", Duration::from_secs(10)).await;
    let current = c.current_url().await.unwrap();
    assert!(current.query().is_none(), "the page drops the code from the address bar: {current}");
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    step3_then_save(&browser, false).await;
    assert_eq!(token_requests(&emulator, "authorization_code"), 1, "the replay was not redeemed");
    let code = answer.split("code=").nth(1).unwrap().split('&').next().unwrap();
    assert!(!stack.log().contains(code), "the authorization code is not logged");
    assert_eq!(emulator.applications().len(), 1);
    browser.close().await;
}

/// Starts a Credential sign-in for `account`, then, as a phished link would, opens its
/// authorization URL in a tab the app did not open (the app's window closed), signs in and
/// consents there; returns the main window, the URL's `state` and the callback page's outcome
/// text, the link's tab current.
async fn sign_in_from_a_link(browser: &Browser, stack: &Stack, account: &str) -> (WindowHandle, String, String) {
    let c = &browser.client;
    let (main, _) = start_credential(browser, stack, account).await;
    let url = c.current_url().await.unwrap();
    c.close_window().await.unwrap();
    c.switch_to_window(main.clone()).await.unwrap();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto(url.as_str()).await.unwrap();
    sign_in_to_consent(c).await;
    click(c, "button[value=accept]").await;
    let page = browser.wait_for_text("#outcome", "signed in", Duration::from_secs(20)).await;
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap();
    (main, state, page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_in_a_window_the_app_did_not_open_registers_nothing_without_its_code() {
    let (emulator, stack, browser) = setup().await;
    let c = &browser.client;
    // The authorization URL ends up in a window the app did not open (as a phished link would).
    let (main, state, page) = sign_in_from_a_link(&browser, &stack, "acct-cred-claim").await;
    assert!(page.contains("portal confirms"), "{page}");
    let code = el(c, "#confirmation-code").await.text().await.unwrap();
    assert_eq!(code.len(), 9, "XXXX-XXXX: {code}");
    // Signed in at Microsoft, but nothing is registered: no browser of the owning session has
    // presented the window's answer (checked again below against the emulator's log, once the
    // registration has happened after the right code).
    assert_eq!(emulator.applications().len(), 0);
    // The sign-in's owner (who may be the attacker who sent the link) cannot go around the claim:
    // no additional applications, no save that takes them, no detail of the tenant.
    let sign_in = state.split('.').next().unwrap().to_owned();
    let (more, save, status, registered) = tokio::task::block_in_place(|| {
        let api = Api::new(&stack.base_url, &stack.token("acct-cred-claim"));
        let more = api.post(&format!("/api/signins/{sign_in}/applications"), serde_json::json!({}));
        // A working credential typed in Step 3 (here: one the attacker registered by hand) with the
        // sign-in attached and "Create multiple applications" on.
        let (app_id, _, secret) = emulator.register_app("Typed by the attacker", None, true);
        let save = api.post(
            "/api/organizations",
            serde_json::json!({"name": "Mine now", "cloud": "global", "tenant_id": fixture::CONTOSO,
                "application_id": app_id, "credential": {"type": "secret", "client_secret": secret},
                "create_multiple_applications": true, "sign_in_id": sign_in}),
        );
        let status = api.get(&format!("/api/signins/{sign_in}"));
        (more, save, status, emulator.applications().len())
    });
    assert_eq!(more.status, 409, "{}", more.text);
    assert_eq!(more.body["error"]["code"], "sign_in_not_claimed", "{}", more.text);
    assert_eq!(save.status, 409, "{}", save.text);
    assert_eq!(save.body["error"]["code"], "sign_in_not_claimed", "{}", save.text);
    assert_eq!(status.body["state"], "signed_in", "{}", status.text);
    assert!(status.body["result"].is_null() && !status.text.contains("Contoso") && !status.text.contains("contoso"));
    assert_eq!(registered, 1, "only the application registered by hand: {:?}", emulator.applications());
    assert_eq!(api_organizations(&stack, "acct-cred-claim"), 0, "nothing was saved");
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    browser.wait_for_text("[data-testid=signin-status]", "confirmation code", Duration::from_secs(10)).await;
    type_into(c, "input#confirmation-code", "AAAA-AAAA").await;
    click(c, "form.code-row button[type=submit]").await;
    browser.wait_for_text("[data-testid=signin-notice]", "does not match", Duration::from_secs(10)).await;
    assert_eq!(emulator.applications().len(), 1, "still only the one registered by hand");
    // The admin, who has the window, types its code: registration starts.
    let before_the_code = emulator.requests().len();
    type_into(c, "input#confirmation-code", &code.to_lowercase()).await;
    click(c, "form.code-row button[type=submit]").await;
    step3_then_save(&browser, false).await;
    assert_eq!(emulator.applications().len(), 2, "the hand-registered one and the main application");
    // The positive control: the registration's creation is in the log, and only after the code.
    // (The registration creates in a `$batch`; the hand-registered application was a direct call.)
    let creates = |r: &serde_json::Value| {
        r["batch"].as_array().is_some_and(|b| {
            b.iter().any(|i| i["method"] == "POST" && i["url"].as_str().is_some_and(|u| u.starts_with("/applications")))
        })
    };
    let log = emulator.requests();
    let first = log.iter().position(creates).expect("the registration created its application");
    assert!(first >= before_the_code, "an application was created before the code was typed: {:?}", log[first]);
    browser.close().await;
}

/// How many organizations `account` has.
fn api_organizations(stack: &Stack, account: &str) -> usize {
    tokio::task::block_in_place(|| {
        let list = Api::new(&stack.base_url, &stack.token(account)).get("/api/organizations");
        list.body["organizations"].as_array().map_or(usize::MAX, Vec::len)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_is_disabled_on_the_other_clouds() {
    let (_emulator, stack, browser) = setup().await;
    let c = &browser.client;
    open_step1(c, &stack, "acct-cred-clouds").await;
    assert!(el(c, "#method-credential").await.is_enabled().await.unwrap(), "offered on Global");
    for (cloud, reason) in
        [("usgov_gcc_high", "US Government"), ("usgov_dod", "US Government"), ("china", "Azure China")]
    {
        click(c, &format!("#cloud-{cloud}")).await;
        assert!(!el(c, "#method-credential").await.is_enabled().await.unwrap(), "{cloud}");
        let why = el(c, "#method-credential-reason").await.text().await.unwrap();
        assert!(why.contains(reason) && why.contains("Use Device Code or Manual"), "{cloud}: {why}");
    }
    // The edge refuses it too, naming the field.
    let api = Api::new(&stack.base_url, &stack.token("acct-cred-clouds"));
    for cloud in ["usgov_gcc_high", "usgov_dod", "china"] {
        let r = api.post("/api/signins", serde_json::json!({"cloud": cloud, "method": "credential"}));
        assert_eq!(r.status, 422, "{cloud}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "method", "{:?}", r.body);
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_refuses_unknown_and_malformed_answers() {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let vars = emulator.worker_vars();
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    for query in [
        "",
        "code=abc",
        "code=abc&state=not-a-sign-in",
        "code=abc&state=0f8fad5b-d9cb-469f-a165-70867728950e.unknown",
        "error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=%3Cscript%3Ealert(2)",
    ] {
        let url = stack.url(&format!("/api/signin/callback?{query}"));
        let resp = ureq::get(&url).call();
        let resp = match resp {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{query}: {e}"),
        };
        // A well-formed state that names no sign-in of ours: 404; anything else: 400.
        let expected = if query.contains("0f8fad5b-") { 404 } else { 400 };
        assert_eq!(resp.status(), expected, "{query}");
        let csp = resp.header("content-security-policy").unwrap_or_default().to_owned();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'sha256-"), "{csp}");
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        let body = resp.into_string().unwrap();
        assert!(body.contains("did not belong to this sign-in"), "{query}: {body}");
        assert!(!body.contains("<script>alert") && !body.contains("abc"), "{query}");
    }
    assert_eq!(token_requests(&emulator, "authorization_code"), 0);

    // Knowing a sign-in's ID tells nothing: a wrong secret gets the same answer whatever the state
    // (here a cancelled sign-in, which a right secret would hear about).
    let api = Api::new(&stack.base_url, &stack.token("acct-callback"));
    let started = api.post("/api/signins", serde_json::json!({"cloud": "global", "method": "credential"}));
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(api.delete(&format!("/api/signins/{id}")).body["state"], "cancelled");
    let resp = match ureq::get(&stack.url(&format!("/api/signin/callback?code=abc&state={id}.wrong-secret"))).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(resp.status(), 400);
    let body = resp.into_string().unwrap();
    assert!(body.contains("did not belong to this sign-in") && !body.contains("cancelled"), "{body}");
}

/// The raw-protocol portal page (tests/portal/raw-portal.html), whose iframe the portal writes
/// itself, sandboxed as `sandbox`.
fn sandboxed_portal(stack: &Stack, sandbox: &str) -> String {
    system_tests::portal::page("tests/portal/raw-portal.html", stack)
        .replace("<iframe id=\"app\"", &format!("<iframe id=\"app\" sandbox=\"{sandbox}\""))
}

/// Opens the portal, enters the app's iframe and goes to Step 1 with Credential chosen.
async fn credential_in_portal(browser: &Browser, portal: &str) {
    let c = &browser.client;
    c.goto(portal).await.unwrap();
    let frame = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#app")).await.unwrap();
    frame.enter_frame().await.unwrap();
    browser.wait_for_text("[data-testid=session]", "acct-cred-portal", Duration::from_secs(20)).await;
    click_text(c, "Add your first organization").await;
    // The portal resizes the iframe to the app's height a moment after each step appears; a click
    // while it does can land beside its target (a CI run once stayed on Device Code). Wait until
    // the iframe's height holds still, choose Credential, and make sure the choice took.
    iframe_settled(c).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        click(c, "#method-credential").await;
        if el(c, "#method-credential").await.is_selected().await.unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the Credential method could not be chosen");
        iframe_settled(c).await;
    }
    iframe_settled(c).await;
}

/// Waits (from inside the app's frame) until the portal's iframe keeps one height for a second.
async fn iframe_settled(c: &Client) {
    c.enter_parent_frame().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = (String::new(), 0);
    while last.1 < 3 && Instant::now() < deadline {
        let height = el(c, "#app").await.attr("height").await.unwrap().unwrap_or_default();
        last = if height == last.0 { (height, last.1 + 1) } else { (height, 0) };
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    el(c, "#app").await.enter_frame().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_the_portal_iframe_the_popup_needs_allow_popups() {
    let server = system_tests::portal::PortalServer::start();
    let portal = server.origin.clone();
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let mut vars = emulator.worker_vars();
    vars.push(("PORTAL_ORIGINS".to_owned(), portal.clone()));
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    let main = c.window().await.unwrap();

    // Sandboxed without allow-popups: the browser refuses the window; the app says so and stays.
    server.mint(&stack, "acct-cred-portal", 1800);
    server.set_page(sandboxed_portal(&stack, "allow-scripts allow-same-origin allow-forms"));
    credential_in_portal(&browser, &format!("{portal}/")).await;
    click(c, "button[type=submit]").await;
    let msg = browser.wait_for_text("[data-testid=wizard-error]", "blocked", Duration::from_secs(10)).await;
    assert!(msg.contains("Device Code"), "{msg}");
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(5)).await;
    assert_eq!(c.windows().await.unwrap().len(), 1);

    // With what the README asks for, the whole sign-in works from inside the iframe.
    server.set_page(sandboxed_portal(
        &stack,
        "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox",
    ));
    c.enter_parent_frame().await.unwrap();
    credential_in_portal(&browser, &format!("{portal}/?again")).await;
    click(c, "button[type=submit]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    let frame = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#app")).await.unwrap();
    frame.enter_frame().await.unwrap();
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert_eq!(token_requests(&emulator, "authorization_code"), 1);
    browser.close().await;
}

/// With `CREDENTIAL_CLOUDS`, the Credential method is offered and works in a US Government cloud:
/// Microsoft's sign-in page for that cloud's public client, the tenant's own admin, Step 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_in_a_government_cloud_the_operator_set_up() {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let mut vars = emulator.worker_vars();
    vars.push(("CREDENTIAL_CLOUDS".into(), "usgov_gcc_high".into()));
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    open_step1(c, &stack, "acct-cred-gov").await;
    click(c, "#cloud-usgov_dod").await;
    assert!(!el(c, "#method-credential").await.is_enabled().await.unwrap(), "not set up for DoD");
    click(c, "#cloud-usgov_gcc_high").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !el(c, "#method-credential").await.is_enabled().await.unwrap() {
        assert!(Instant::now() < deadline, "Credential is not offered in GCC High");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    click(c, "#method-credential").await;
    let main = c.window().await.unwrap();
    click(c, "button[type=submit]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    type_into(c, "#i0116", "admin@fabrikamgov.onmicrosoft.us").await;
    click(c, "#idSIButton9").await;
    type_into(c, "#i0118", fixture::PASSWORD).await;
    click(c, "#idSIButton9").await;
    el(c, "button[value=accept]").await;
    accept_and_return(c, &main).await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    let tenant = el(c, "#tenant-id").await.prop("value").await.unwrap().unwrap_or_default();
    let redeemed = emulator
        .requests()
        .iter()
        .find(|r| r["grant_type"] == "authorization_code")
        .cloned()
        .expect("the code was redeemed");
    assert_eq!(redeemed["client_id"], fixture::PUBLIC_CLIENTS[1].1, "the GCC High public client: {redeemed}");
    assert!(!tenant.is_empty() && tenant != fixture::CONTOSO, "the Fabrikam tenant: {tenant}");
    browser.close().await;
}

/// A device code blocked by Conditional Access: one click to Microsoft's sign-in page, same cloud.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_device_code_switches_to_microsofts_sign_in_page() {
    let (emulator, stack, browser) = setup().await;
    emulator.control("faults", serde_json::json!({"kind": "conditional_access_block", "tenant": fixture::CONTOSO}));
    let c = &browser.client;
    open_step1(c, &stack, "acct-cred-ca").await;
    click(c, "#method-device-code").await;
    click(c, "button[type=submit]").await;
    let code = one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(10)).await;
    click(c, "#confirm-authorization").await;
    emulator.approve(&code, fixture::ADMIN);
    browser.wait_for_text("[data-testid=signin-error]", "Conditional Access", Duration::from_secs(20)).await;
    let main = c.window().await.unwrap();
    click(c, "[data-testid=use-credential]").await;
    let win = popup(c, &main).await;
    c.switch_to_window(win).await.unwrap();
    sign_in_to_consent(c).await;
    accept_and_return(c, &main).await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    assert_eq!(token_requests(&emulator, "authorization_code"), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_path_completes_when_microsofts_pages_cut_the_window_off() {
    let (emulator, stack, browser) = setup().await;
    emulator.control("faults", serde_json::json!({"kind": "opener_policy"}));
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-coop").await;
    sign_in_to_consent(c).await;
    // Microsoft's page cut the window off from the app that opened it.
    let opener: serde_json::Value = c.execute("return window.opener === null", vec![]).await.unwrap();
    assert_eq!(opener, serde_json::json!(true), "the sign-in page's opener policy severed the window");
    click(c, "button[value=accept]").await;
    // Back on our callback page, still without an opener: the window claims the answer itself.
    let page = browser.wait_for_text("#outcome", "portal has the answer", Duration::from_secs(20)).await;
    assert!(!page.contains("confirmation code"), "{page}");
    c.switch_to_window(main.clone()).await.unwrap();
    // Registration starts without the admin typing the window's code.
    let table = step3_then_save(&browser, false).await;
    assert!(table.contains(fixture::CONTOSO), "{table}");
    assert_eq!(emulator.applications().len(), 1);
    assert_eq!(token_requests(&emulator, "authorization_code"), 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phished_link_under_the_opener_policy_registers_nothing_and_its_state_claims_nothing() {
    let (emulator, stack, browser) = setup().await;
    emulator.control("faults", serde_json::json!({"kind": "opener_policy"}));
    let c = &browser.client;
    let (_, state, page) = sign_in_from_a_link(&browser, &stack, "acct-cred-coop-phish").await;
    assert!(page.contains("portal confirms"), "the window has no state of the app's and shows its code: {page}");
    el(c, "#confirmation-code").await;
    // Whoever sent the link knows the state, not the window's claim handle: a window claim with
    // the state and a guessed handle, or with no state, is refused alike and changes nothing.
    let sign_in = state.split('.').next().unwrap().to_owned();
    let (guessed, unknown, status) = tokio::task::block_in_place(|| {
        let public = Api::new(&stack.base_url, "");
        let guessed = public
            .post("/api/signin/window", serde_json::json!({"id": sign_in, "handle": "A".repeat(43), "proof": state}));
        let unknown = public.post(
            "/api/signin/window",
            serde_json::json!({"id": "0f8fad5b-d9cb-469f-a165-70867728950f", "handle": "A".repeat(43), "proof": state}),
        );
        let status =
            Api::new(&stack.base_url, &stack.token("acct-cred-coop-phish")).get(&format!("/api/signins/{sign_in}"));
        (guessed, unknown, status)
    });
    assert_eq!(guessed.status, 404, "{}", guessed.text);
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(status.body["state"], "signed_in", "{}", status.text);
    assert!(status.body["claimed"].is_null(), "{}", status.text);
    assert_eq!(emulator.applications().len(), 0, "nothing was registered");
    assert_eq!(api_organizations(&stack, "acct-cred-coop-phish"), 0, "nothing was saved");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_registered_as_a_single_page_application_is_named_for_the_operator() {
    let (emulator, stack, browser) = setup().await;
    // The operator registered the callback under "Single-page application" instead of "Mobile and
    // desktop applications": Microsoft redeems such a code only from a browser.
    emulator.reset_with_public_clients(|client| {
        client["spa_redirect_uris"] = client["redirect_uris"].take();
        client["redirect_uris"] = serde_json::json!([]);
    });
    let c = &browser.client;
    let (main, _) = start_credential(&browser, &stack, "acct-cred-spa").await;
    sign_in_to_consent(c).await;
    click(c, "button[value=accept]").await;
    browser.wait_for_text("#outcome", "not set up correctly", Duration::from_secs(20)).await;
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    let msg =
        browser.wait_for_text("[data-testid=signin-error]", "not set up correctly", Duration::from_secs(10)).await;
    assert!(msg.contains("Manual method") && msg.contains("mobile and desktop applications"), "{msg}");
    assert!(stack.log().contains("client_misconfigured (AADSTS9002327)"), "the operator's log names Microsoft's code");
    assert_eq!(emulator.applications().len(), 0);
    browser.close().await;
}
