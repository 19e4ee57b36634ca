//! The app inside a portal's page on another origin, embedded with the embed library: the demo
//! portal (tests/portal/demo-portal.html, the page `make dev` serves) loads `/embed/v1.js` from the
//! app's origin with its integrity hash, mounts the app, and logs the typed events its `onEvent`
//! receives; the worker allows only the configured portal to frame the app.

use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};
use system_tests::browser::{click, click_text, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::{PortalServer, FRAME};
use system_tests::stack::Stack;

/// The demo portal minting sessions for `account`, and a stack that trusts it.
async fn trusted_portal(account: &str) -> (PortalServer, Stack) {
    system_tests::portal::trusted_portal(account, vec![]).await
}

/// The events the portal's `onEvent` received so far (one JSON object a line).
async fn received(c: &Client) -> String {
    c.find(Locator::Css("[data-testid=portal-events]")).await.unwrap().text().await.unwrap()
}

/// A browser on the portal's page, once the library has reported the app `ready`.
async fn open_portal(portal: &PortalServer) -> Browser {
    let browser = Browser::start().await;
    browser.client.goto(&format!("{}/", portal.origin)).await.unwrap();
    browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"ready"}"#, Duration::from_secs(20)).await;
    browser
}

/// From the portal's page: enters the app's iframe.
async fn enter_app(c: &Client) {
    let frame = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(FRAME)).await.unwrap();
    frame.enter_frame().await.unwrap();
}

/// Waits (from inside the app's frame) until the portal's iframe is exactly as tall as the app's
/// content says: the library resizes it on each `height` message.
async fn sized_to_content(c: &Client) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let content = c.execute("return document.body.scrollHeight", vec![]).await.unwrap().as_u64().unwrap();
        c.enter_parent_frame().await.unwrap();
        let frame = c
            .execute(&format!("return document.querySelector('{FRAME}').clientHeight"), vec![])
            .await
            .unwrap()
            .as_u64()
            .unwrap();
        enter_app(c).await;
        if frame == content {
            return frame;
        }
        assert!(Instant::now() < deadline, "the iframe stayed {frame} px for content of {content} px");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_mounts_the_app_with_the_library_and_receives_typed_events() {
    let (portal, stack) = trusted_portal("acct-portal").await;

    // Only the configured portal may frame the app's page.
    let resp = ureq::get(&stack.url("/")).call().unwrap();
    let csp = resp.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.contains(&format!("frame-ancestors 'self' {};", portal.origin)), "{csp}");
    let health: serde_json::Value = ureq::get(&stack.url("/api/health")).call().unwrap().into_json().unwrap();
    assert_eq!(health["portal_origins"], serde_json::json!([portal.origin]));
    // The library: a script any origin may load with its integrity hash, kept for a year.
    let script = ureq::get(&stack.url("/embed/v1.js")).set("origin", &portal.origin).call().unwrap();
    assert!(script.content_type().contains("javascript"), "{}", script.content_type());
    assert_eq!(script.header("access-control-allow-origin"), Some("*"));
    assert_eq!(script.header("cache-control"), Some("public, max-age=31536000, immutable"));

    let browser = open_portal(&portal).await;
    let c = &browser.client;
    let sandbox = c.execute(&format!("return document.querySelector('{FRAME}').sandbox.value"), vec![]).await.unwrap();
    assert_eq!(
        sandbox.as_str(),
        Some("allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-downloads")
    );
    enter_app(c).await;
    let who = browser.wait_for_text("[data-testid=session]", "acct-portal", Duration::from_secs(20)).await;
    assert_eq!(who, "Signed in for portal account acct-portal.");
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    let list = sized_to_content(c).await;
    click_text(c, "Add your first organization").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    let step1 = sized_to_content(c).await;
    assert_ne!(list, step1, "the iframe follows the content, both ways");
    click_text(c, "Cancel").await;
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    assert_eq!(sized_to_content(c).await, list, "and shrinks back");
    c.enter_parent_frame().await.unwrap();
    let events =
        browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"cancelled"}"#, Duration::from_secs(10)).await;
    for event in [r#"{"type":"step","step":1}"#, r#"{"type":"step","step":0}"#] {
        assert!(events.contains(event), "the portal received {event}: {events}");
    }
    assert!(!events.contains("height") && !events.contains("m365-onboarding:"), "typed events only: {events}");
    assert_eq!(portal.minted().len(), 1, "one token for one session");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_gives_the_app_its_look_with_validated_design_tokens() {
    let (portal, _stack) = trusted_portal("acct-look").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let style = |prop: &'static str| {
        format!("return getComputedStyle(document.querySelector('[data-testid=empty-state] button'))['{prop}']")
    };
    let mut looks = vec![];
    for query in ["", "?look=2"] {
        c.goto("about:blank").await.unwrap();
        c.goto(&format!("{}/{query}", portal.origin)).await.unwrap();
        browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"ready"}"#, Duration::from_secs(20)).await;
        enter_app(c).await;
        browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
        let mut look = vec![];
        for prop in ["backgroundColor", "borderTopLeftRadius", "fontFamily"] {
            look.push(c.execute(&style(prop), vec![]).await.unwrap().as_str().unwrap().to_owned());
        }
        looks.push(look);
        c.enter_parent_frame().await.unwrap();
    }
    assert_eq!(looks[0][0], "rgb(11, 92, 192)", "the app's own accent: {looks:?}");
    assert_eq!(looks[1][0], "rgb(123, 44, 191)", "the portal's accent: {looks:?}");
    assert_eq!((looks[0][1].as_str(), looks[1][1].as_str()), ("4px", "12px"));
    assert!(looks[1][2].starts_with("Georgia"), "{looks:?}");
    // Raw CSS is never taken: the app refuses it by name and tells the portal.
    c.execute("onboarding.setDesign({accent: 'red; background: url(x)'})", vec![]).await.unwrap();
    let events = browser.wait_for_text("[data-testid=portal-events]", "design.refused", Duration::from_secs(10)).await;
    assert!(events.contains(r#""token":"accent""#), "{events}");
    // setDesign(undefined) gives the app its own look back.
    c.execute("onboarding.setDesign(undefined)", vec![]).await.unwrap();
    enter_app(c).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.execute(&style("borderTopLeftRadius"), vec![]).await.unwrap().as_str() != Some("4px") {
        assert!(Instant::now() < deadline, "the app's own radius did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_does_not_trust_the_portal_tells_it_nothing() {
    let portal = PortalServer::start();
    // The worker trusts a different portal than the one that embeds the app.
    let vars = vec![("PORTAL_ORIGINS".to_owned(), "https://trusted-portal.example".to_owned())];
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    portal.serve_demo(&stack);
    portal.mint(&stack, "acct-evil", 1800);
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{}/", portal.origin)).await.unwrap();
    // The browser refuses to render the frame (frame-ancestors), and no event reaches the page.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = received(c).await;
    assert!(events.is_empty(), "no event from an app that does not trust this portal: {events}");
    assert!(portal.minted().is_empty(), "no token was asked for");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_another_origin_or_another_window_never_reach_the_portal() {
    let (portal, stack) = trusted_portal("acct-forged").await;
    let browser = open_portal(&portal).await;
    let c = &browser.client;

    // A second window of the app's origin on the same page: a second copy of the app (it announces
    // itself to the portal as the first did), from which a forged event is posted.
    c.execute(
        "const f = document.createElement('iframe'); f.id = 'other'; f.src = arguments[0]; document.body.appendChild(f)",
        vec![stack.url("/").into()],
    )
    .await
    .unwrap();
    let other = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#other")).await.unwrap();
    other.enter_frame().await.unwrap();
    // Its app has heard from the edge (so it has announced itself) once it shows the service's version.
    c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("[data-testid=api-version]")).await.unwrap();
    c.execute(
        "parent.postMessage({type: 'm365-onboarding:organization-added', id: 'forged-by-another-window'}, '*')",
        vec![],
    )
    .await
    .unwrap();
    c.enter_parent_frame().await.unwrap();
    // Another origin (the portal's own page, here) posting the app's messages.
    c.execute(
        "window.postMessage({type: 'm365-onboarding:organization-deleted', id: 'forged-by-another-origin'}, '*')",
        vec![],
    )
    .await
    .unwrap();
    // A real event after them: once it arrives, the forged ones would have been handed over before.
    enter_app(c).await;
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    click_text(c, "Add your first organization").await;
    c.enter_parent_frame().await.unwrap();
    let events = browser
        .wait_for_text("[data-testid=portal-events]", r#"{"type":"step","step":1}"#, Duration::from_secs(10))
        .await;
    assert!(!events.contains("forged"), "onEvent saw a forged message: {events}");
    // The second app's announcement was not answered: only the portal's own iframe got a session.
    assert_eq!(portal.minted().len(), 1, "a token was fetched for another window");
    other.clone().enter_frame().await.unwrap();
    let session = c.find(Locator::Css("[data-testid=session]")).await.unwrap().text().await.unwrap();
    assert!(!session.contains("acct-forged"), "the other window got a session: {session}");
    c.enter_parent_frame().await.unwrap();

    // The library's own iframe, sent to another origin (the portal's), forges the app's `ready`
    // and an event from there; then it comes back to the app, which announces itself again.
    let asked = portal.asked();
    c.execute("onboarding.iframe.src = arguments[0] + '/forger'", vec![portal.origin.clone().into()]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.execute("return onboarding.iframe.contentDocument?.title", vec![]).await.unwrap().as_str() != Some("forger")
    {
        assert!(Instant::now() < deadline, "the iframe did not reach the forger's page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.execute("onboarding.iframe.src = arguments[0]", vec![stack.url("/").into()]).await.unwrap();
    enter_app(c).await;
    browser.wait_for_text("[data-testid=session]", "acct-forged", Duration::from_secs(20)).await;
    c.enter_parent_frame().await.unwrap();
    let events = received(c).await;
    assert!(!events.contains("forged"), "onEvent saw a forged message: {events}");
    assert_eq!(portal.asked(), asked + 1, "one token fetched, for the app's own ready; none for the forged one");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_lives_a_minute_is_renewed_without_the_admin_noticing() {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let (app_id, secret) = tokio::task::block_in_place(|| {
        let (id, _, secret) = emulator.register_app("Backup (renewal)", None, true);
        (id, secret)
    });
    let (portal, stack) = system_tests::portal::trusted_portal("acct-renewal", emulator.worker_vars()).await;
    portal.mint(&stack, "acct-renewal", 60);
    let browser = open_portal(&portal).await;
    let c = &browser.client;
    let first_expiry = system_tests::portal::unix_now() + 60;
    enter_app(c).await;
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    // The list as the admin sees it: still the same element after the renewal, and not read again.
    c.execute("document.querySelector('[data-testid=empty-state]').dataset.seen = 'before'", vec![]).await.unwrap();
    let list_reads =
        "return performance.getEntriesByType('resource').filter(e => /\\/api\\/organizations$/.test(e.name)).length";
    let reads_before = c.execute(list_reads, vec![]).await.unwrap();
    assert!(reads_before.as_u64() >= Some(1), "{reads_before}");
    let deadline = Instant::now() + Duration::from_secs(70);
    c.enter_parent_frame().await.unwrap();
    while c.execute("return window.tokensReceived", vec![]).await.unwrap().as_u64() < Some(2) {
        assert!(Instant::now() < deadline, "the library did not renew the token before it expired");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(system_tests::portal::unix_now() < first_expiry, "renewed before the first token's exp");
    // The app has handled the renewed session once a later one, the portal's, is applied.
    c.execute("onboarding.setTheme('dark')", vec![]).await.unwrap();
    enter_app(c).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.execute("return document.documentElement.dataset.theme", vec![]).await.unwrap().as_str() != Some("dark") {
        assert!(Instant::now() < deadline, "the theme did not change");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept =
        c.execute("return document.querySelector('[data-testid=empty-state]')?.dataset.seen", vec![]).await.unwrap();
    assert_eq!(kept.as_str(), Some("before"), "the renewal changed what the admin sees");
    assert_eq!(c.execute(list_reads, vec![]).await.unwrap(), reads_before, "the renewal read the list again");

    // Past the first token's end and the edge's 60 seconds of tolerance, the admin adds an
    // organization with the Manual method: every call needs a session the library renewed.
    while system_tests::portal::unix_now() <= first_expiry + 61 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    click_text(c, "Add your first organization").await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
    type_into(c, "#org-name", "Contoso").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", &secret).await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    c.enter_parent_frame().await.unwrap();
    let events =
        browser.wait_for_text("[data-testid=portal-events]", "organization.added", Duration::from_secs(10)).await;
    assert!(!events.contains(r#""type":"error""#), "{events}");
    assert!(portal.minted().len() >= 3, "renewed again: {} tokens", portal.minted().len());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_token_after_a_refused_one_for_the_same_administrator_reads_everything_again() {
    let (portal, stack) = trusted_portal("acct-refused").await;
    let browser = open_portal(&portal).await;
    let c = &browser.client;
    let good = system_tests::portal::token_with(&stack.session_secret, |claims| {
        claims.acct = "acct-refused".into();
        claims.sub = "another-admin".into();
    });
    // The same claims with a signature the edge refuses.
    let mut bad = good.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let send = "document.querySelector(arguments[2]).contentWindow.postMessage({type: 'm365-onboarding:session', token: arguments[0]}, new URL(arguments[1]).origin)";
    c.execute(send, vec![bad.into(), stack.url("/").into(), FRAME.into()]).await.unwrap();
    enter_app(c).await;
    browser.wait_for_text("[data-testid=session]", "expired", Duration::from_secs(20)).await;
    // A good token for that administrator: not a mere renewal, since the edge refused the last one.
    c.enter_parent_frame().await.unwrap();
    c.execute(send, vec![good.into(), stack.url("/").into(), FRAME.into()]).await.unwrap();
    enter_app(c).await;
    browser.wait_for_text("[data-testid=session]", "acct-refused", Duration::from_secs(20)).await;
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_backend_that_gives_no_token_is_reported_once_and_tried_again_while_the_session_lasts() {
    let (portal, stack) = trusted_portal("acct-no-token").await;
    let browser = open_portal(&portal).await;
    let c = &browser.client;
    // The portal's backend goes down; the portal asks for a new session.
    portal.stop_minting();
    let asked = portal.asked();
    c.execute("onboarding.renew()", vec![]).await.unwrap();
    let events =
        browser.wait_for_text("[data-testid=portal-events]", r#""type":"error""#, Duration::from_secs(10)).await;
    assert!(events.contains(r#""code":"token_unavailable""#) && events.contains("getToken() failed"), "{events}");
    // The backend comes back: the library gets a token by itself, a few seconds later.
    portal.mint(&stack, "acct-no-token", 1800);
    let deadline = Instant::now() + Duration::from_secs(30);
    while portal.minted().len() < 2 {
        assert!(Instant::now() < deadline, "the library did not try again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tries = portal.asked() - asked;
    assert!((2..=3).contains(&tries), "asked {tries} times: not a loop");
    let events = received(c).await;
    assert_eq!(events.matches(r#""type":"error""#).count(), 1, "reported once: {events}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_the_iframe_and_every_listener_and_timer() {
    let (portal, stack) = trusted_portal("acct-destroy").await;
    let browser = open_portal(&portal).await;
    let c = &browser.client;
    // A second app mounted after watching the window's and the document's listeners and the
    // timers, then destroyed.
    let left = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const listeners = new Set(), timers = new Set();
               for (const target of [window, document]) {
                 const add = target.addEventListener, remove = target.removeEventListener;
                 target.addEventListener = function (t, f, o) { listeners.add(f); return add.call(this, t, f, o); };
                 target.removeEventListener = function (t, f, o) { listeners.delete(f); return remove.call(this, t, f, o); };
               }
               const set = window.setTimeout, clear = window.clearTimeout;
               window.setTimeout = function (f, ms, ...a) { const id = set.call(window, (...x) => { timers.delete(id); f(...x); }, ms, ...a); timers.add(id); return id; };
               window.clearTimeout = function (id) { timers.delete(id); return clear.call(window, id); };
               const box = document.createElement('div'); document.body.appendChild(box);
               const app = M365Onboarding.mount(box, {
                 appUrl: arguments[0],
                 getToken: async () => (await (await fetch('/session-token', { method: 'POST' })).json()).token,
                 onEvent: (e) => {
                   if (e.type !== 'ready') return;
                   const frames = box.querySelectorAll('iframe').length;
                   const during = { listeners: listeners.size, timers: timers.size };
                   app.destroy();
                   done({ frames, during, after: { listeners: listeners.size, timers: timers.size, frames: box.querySelectorAll('iframe').length, iframe: app.iframe } });
                 },
               });"#,
            vec![stack.url("/").into()],
        )
        .await
        .unwrap();
    assert_eq!(left["frames"], 1, "{left}");
    assert!(left["during"]["listeners"].as_u64().unwrap() >= 2, "the library listens while mounted: {left}");
    assert!(left["during"]["timers"].as_u64().unwrap() >= 1, "and waits to renew the token: {left}");
    assert_eq!(left["after"], serde_json::json!({"listeners": 0, "timers": 0, "frames": 0, "iframe": null}), "{left}");
    browser.close().await;
}
