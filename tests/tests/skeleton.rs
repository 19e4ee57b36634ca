//! End to end: the real worker under `wrangler dev` serves the app and the API; headless Chromium
//! renders the page, which shows the version the API reported.

use std::time::Duration;
use system_tests::{browser::Browser, stack::Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_renders_and_shows_the_api_version() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let browser = Browser::start().await;
    browser.client.goto(&stack.url("/")).await.expect("navigating to the app");

    let heading = browser.wait_for_text("h1", "Microsoft 365", Duration::from_secs(20)).await;
    assert_eq!(heading, "Add & Manage Microsoft 365 Organizations");
    let version = browser.wait_for_text("[data-testid=api-version]", "API version", Duration::from_secs(20)).await;
    assert!(version.ends_with(&format!("API version {}", env!("CARGO_PKG_VERSION"))), "footer says {version:?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_token_in_the_fragment_signs_in_and_leaves_the_address_bar() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let browser = Browser::start().await;
    let token = stack.token("acct-fragment");
    browser.client.goto(&stack.url(&format!("/#token={token}"))).await.expect("navigating");
    let who = browser.wait_for_text("[data-testid=session]", "acct-fragment", Duration::from_secs(20)).await;
    assert_eq!(who, "Signed in for portal account acct-fragment.");
    let url = browser.client.current_url().await.unwrap();
    assert!(!url.as_str().contains("token"), "the token was removed from the address bar: {url}");
    assert!(!stack.log().contains(&token), "the token never reached the server's log");
    browser.close().await;
}

#[test]
fn health_answers_with_service_version_and_database() {
    let stack = Stack::start();
    let resp = ureq::get(&stack.url("/api/health")).call().expect("GET /api/health");
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body: shared::api::HealthResponse = resp.into_json().unwrap();
    assert_eq!(body.service, "m365-onboarding");
    assert_eq!(body.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(body.database, shared::api::ComponentStatus::Ok);
}

#[test]
fn unknown_api_paths_get_a_json_404_not_the_page() {
    let stack = Stack::start();
    for path in ["/api/nope", "/api/", "/api/health/extra"] {
        let err = ureq::get(&stack.url(path)).call().expect_err("must be an error status");
        let ureq::Error::Status(code, resp) = err else { panic!("transport error for {path}") };
        assert_eq!(code, 404, "{path}");
        let body: shared::api::ErrorBody = resp.into_json().expect("JSON error body");
        assert_eq!(body.error.code, shared::ErrorCode::NotFound, "{path}");
    }
    let err = ureq::post(&stack.url("/api/health")).call().expect_err("POST is refused");
    let ureq::Error::Status(code, resp) = err else { panic!("transport error") };
    assert_eq!(code, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
}

#[test]
fn the_app_is_served_at_the_root_with_its_framing_policy() {
    let stack = Stack::start();
    for path in ["/", "/index.html"] {
        let resp = ureq::get(&stack.url(path)).call().expect("GET page");
        assert!(resp.header("content-type").unwrap_or("").starts_with("text/html"), "{path}");
        let csp = resp.header("content-security-policy").unwrap_or("").to_owned();
        assert!(csp.starts_with("frame-ancestors 'self'"), "{path}: {csp}");
        let html = resp.into_string().unwrap();
        assert!(html.contains("Manage Microsoft 365 Organizations</title>"), "{path}: {html}");
        assert!(html.contains("_bg.wasm"), "{path} loads the app");
    }
    let err = ureq::get(&stack.url("/organizations/new")).call().expect_err("no such page");
    assert!(matches!(err, ureq::Error::Status(404, _)), "the app has no URL routes: unknown paths are 404");
}
