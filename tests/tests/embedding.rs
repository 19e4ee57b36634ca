//! The app inside a portal's iframe on another origin: the portal page (tests/portal/demo-portal.html,
//! the same page `make dev` serves) hands over the session by postMessage and logs the app's events;
//! the worker allows only the configured portal to frame the app.

use fantoccini::Locator;
use std::time::Duration;
use system_tests::browser::Browser;
use system_tests::portal::portal_server;
use system_tests::stack::Stack;

/// The demo portal with a session for `account`, and a stack that trusts it.
async fn trusted_portal(account: &str) -> (String, Stack) {
    system_tests::portal::trusted_portal(account, vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_embeds_the_app_hands_over_the_session_and_receives_events() {
    let (portal_origin, stack) = trusted_portal("acct-portal").await;

    // Only the configured portal may frame the app's page.
    let resp = ureq::get(&stack.url("/")).call().unwrap();
    let csp = resp.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.contains(&format!("frame-ancestors 'self' {portal_origin};")), "{csp}");
    let health: serde_json::Value = ureq::get(&stack.url("/api/health")).call().unwrap().into_json().unwrap();
    assert_eq!(health["portal_origins"], serde_json::json!([portal_origin]));

    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{portal_origin}/")).await.unwrap();
    browser.wait_for_text("[data-testid=portal-events]", "m365-onboarding:ready", Duration::from_secs(20)).await;
    let frame = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#app")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let who = browser.wait_for_text("[data-testid=session]", "acct-portal", Duration::from_secs(20)).await;
    assert_eq!(who, "Signed in for portal account acct-portal.");
    let empty = browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    assert!(!empty.is_empty());
    let add = c.find(Locator::XPath("//button[normalize-space(.)='Add your first organization']")).await.unwrap();
    add.click().await.unwrap();
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    let cancel = c.find(Locator::XPath("//button[normalize-space(.)='Cancel']")).await.unwrap();
    cancel.click().await.unwrap();
    c.enter_parent_frame().await.unwrap();
    browser.wait_for_text("[data-testid=portal-events]", "m365-onboarding:cancelled", Duration::from_secs(10)).await;
    // The height is measured every 300 ms, apart from the steps: a quick Add and Cancel can be
    // over before its first message (seen once in Firefox), so it is waited for in its own right.
    let events =
        browser.wait_for_text("[data-testid=portal-events]", "m365-onboarding:height", Duration::from_secs(10)).await;
    for event in ["m365-onboarding:height", "\"step\":1", "\"step\":0"] {
        assert!(events.contains(event), "the portal received {event}: {events}");
    }
    let height: u32 =
        c.find(Locator::Css("#app")).await.unwrap().attr("height").await.unwrap().unwrap().parse().unwrap();
    assert!(height >= 400, "the portal resized the iframe from the height events");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_gives_the_app_its_look_with_validated_design_tokens() {
    let (portal_origin, stack) = trusted_portal("acct-look").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let style = |prop: &'static str| {
        format!("return getComputedStyle(document.querySelector('[data-testid=empty-state] button'))['{prop}']")
    };
    let mut looks = vec![];
    for query in ["", "?look=2"] {
        c.goto("about:blank").await.unwrap();
        c.goto(&format!("{portal_origin}/{query}")).await.unwrap();
        browser.wait_for_text("[data-testid=portal-events]", "m365-onboarding:ready", Duration::from_secs(20)).await;
        let frame = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css("#app")).await.unwrap();
        frame.enter_frame().await.unwrap();
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
    c.execute(
        "document.getElementById('app').contentWindow.postMessage({type: 'm365-onboarding:session', token: arguments[0], design: {accent: 'red; background: url(x)'}}, new URL(arguments[1]).origin)",
        vec![stack.token("acct-look").into(), stack.url("/").into()],
    )
    .await
    .unwrap();
    let events = browser.wait_for_text("[data-testid=portal-events]", "design-refused", Duration::from_secs(10)).await;
    assert!(events.contains("\"token\":\"accent\""), "{events}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_another_origin_are_ignored() {
    let (portal_port, page) = portal_server();
    // The worker trusts a different portal than the one that embeds the app.
    let vars = vec![("PORTAL_ORIGINS".to_owned(), "https://trusted-portal.example".to_owned())];
    let stack = tokio::task::spawn_blocking(move || Stack::start_with(&vars)).await.unwrap();
    let template = std::fs::read_to_string(system_tests::repo_root().join("tests/portal/demo-portal.html")).unwrap();
    *page.lock().unwrap() =
        template.replace("{{APP_URL}}", &stack.url("/")).replace("{{TOKEN}}", &stack.token("acct-evil"));
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("http://localhost:{portal_port}/")).await.unwrap();
    // The browser refuses to render the frame (frame-ancestors), and no event reaches the page.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let events = c.find(Locator::Css("[data-testid=portal-events]")).await.unwrap().text().await.unwrap();
    assert!(events.is_empty(), "no event from an app that does not trust this portal: {events}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_chooses_the_apps_language_and_changes_it_without_a_reload() {
    let (portal_origin, stack) = trusted_portal("acct-language").await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{portal_origin}/")).await.unwrap();
    browser.wait_for_text("[data-testid=portal-events]", "m365-onboarding:ready", Duration::from_secs(20)).await;
    for (locale, heading, lang) in [
        ("de-CH", "Microsoft 365-Organisationen hinzufügen und verwalten", "de"),
        ("ja-JP", "Microsoft 365 組織の追加と管理", "ja"),
        ("zh-TW", "Add & Manage Microsoft 365 Organizations", "en"),
        ("zh-CN", "添加和管理 Microsoft 365 组织", "zh-Hans"),
    ] {
        system_tests::portal::send_session(c, &stack, "acct-language", locale).await;
        browser.wait_for_text("h1", heading, Duration::from_secs(20)).await;
        let page_lang = c.execute("return document.documentElement.lang", vec![]).await.unwrap();
        assert_eq!(page_lang.as_str(), Some(lang), "{locale}");
        c.enter_parent_frame().await.unwrap();
    }
    browser.close().await;
}
