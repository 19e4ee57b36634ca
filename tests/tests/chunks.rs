//! The split app in the browser: the organization list loads none of the lazily loaded screens'
//! chunks, "Add" fetches the wizard's, and a chunk that cannot be fetched is said, with a Retry
//! that loads the screen once the network lets it through.

use std::time::Duration;
use system_tests::browser::{click_text, Browser};
use system_tests::stack::Stack;

/// The wasm files the page fetched so far (their file names).
async fn fetched_wasm(c: &fantoccini::Client) -> Vec<String> {
    let v = c
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)
               .filter(n => n.endsWith('.wasm')).map(n => n.split('/').pop());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_loads_no_chunk_and_add_loads_the_wizards() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-chunks")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365 organization", Duration::from_secs(20)).await;
    let first = fetched_wasm(c).await;
    assert_eq!(first, ["frontend_bg.wasm"], "the first view fetches the main module only");
    click_text(c, "Add your first organization").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    let after = fetched_wasm(c).await;
    assert!(after.iter().any(|f| f == "split_wizard.wasm"), "the wizard's chunk: {after:?}");
    assert!(!after.iter().any(|f| f == "split_edit.wasm"), "not the edit page's: {after:?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_cannot_be_loaded_is_said_and_retry_loads_the_screen() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-chunk-fails")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365 organization", Duration::from_secs(20)).await;
    // The network refuses the wizard's chunk, as a proxy or a dropped connection does: the page's
    // fetch of that URL fails with the browser's own network error.
    c.execute(
        "window.blockChunks = true;
         const realFetch = window.fetch;
         window.fetch = function (input, init) {
           const url = String(input instanceof Request ? input.url : input);
           if (window.blockChunks && url.includes('split_wizard')) {
             return Promise.reject(new TypeError('Failed to fetch'));
           }
           return realFetch.call(window, input, init);
         };",
        vec![],
    )
    .await
    .unwrap();
    click_text(c, "Add your first organization").await;
    let said =
        browser.wait_for_text("[data-testid=chunk-failed]", "could not be loaded", Duration::from_secs(10)).await;
    assert!(said.contains("Retry"), "{said}");
    // Nothing else of the wizard is there: no step, no blank panel.
    assert!(c.find_all(fantoccini::Locator::Css("#step-heading")).await.unwrap().is_empty());

    c.execute("window.blockChunks = false;", vec![]).await.unwrap();
    click_text(c, "Retry").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    assert!(c.find_all(fantoccini::Locator::Css("[data-testid=chunk-failed]")).await.unwrap().is_empty());
    browser.close().await;
}

#[test]
fn the_apps_content_named_files_are_kept_by_browsers_and_the_page_is_asked_for_again() {
    let stack = Stack::start();
    let page = ureq::get(&stack.url("/")).call().expect("the page");
    let html = page.into_string().unwrap();
    let folder = html.split("./app-").nth(1).and_then(|s| s.split('/').next()).expect("the app's folder");
    for file in ["frontend.js", "frontend_bg.wasm", "__wasm_split.js", "split_wizard.wasm"] {
        let r = ureq::get(&stack.url(&format!("/app-{folder}/{file}"))).call().expect(file);
        let cache = r.header("cache-control").unwrap_or_default().to_owned();
        assert!(cache.contains("immutable") && cache.contains("max-age=31536000"), "{file}: {cache}");
    }
    // The page names this build's folder, so it is never kept without asking.
    let page = ureq::get(&stack.url("/")).call().unwrap();
    let cache = page.header("cache-control").unwrap_or_default().to_owned();
    assert!(!cache.contains("immutable"), "the page: {cache}");
    // The headers file configures the server; it is not a file of the site.
    let headers_file = match ureq::get(&stack.url("/_headers")).call() {
        Ok(r) => r.into_string().unwrap(),
        Err(ureq::Error::Status(_, r)) => r.into_string().unwrap(),
        Err(e) => panic!("{e}"),
    };
    assert!(!headers_file.contains("Cache-Control: public"), "served as a file: {headers_file}");
}
