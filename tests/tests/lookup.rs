//! Finding the tenant and cloud from a domain against the emulator's OpenID configuration
//! documents: each cloud's tenant, an unknown domain named on its field, a URL refused, no
//! session refused, and the account's rate limit.

use serde_json::json;
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

#[test]
fn a_domain_gives_its_tenant_and_cloud_in_every_cloud() {
    let emulator = Emulator::start();
    let stack = Stack::start_with(&emulator.worker_vars());
    let api = Api::new(&stack.base_url, &stack.token("acct-lookup"));
    let look = |domain: &str| api.post("/api/tenant-lookup", json!({ "domain": domain }));
    for (domain, cloud, words) in [
        ("Contoso.OnMicrosoft.com", "global", "Global"),
        ("fabrikamgov.onmicrosoft.us", "usgov_gcc_high", "US Government GCC High"),
        ("northwinddod.onmicrosoft.us", "usgov_dod", "US Government DoD"),
        ("tailspin.partner.onmschina.cn", "china", "China"),
    ] {
        let r = look(domain);
        assert_eq!(r.status, 200, "{domain}: {}\n{}", r.text, stack.log());
        assert_eq!(r.body["cloud"], cloud, "{domain}: {}", r.text);
        assert!(r.body["message"].as_str().unwrap().contains(words), "{}", r.text);
    }
    assert_eq!(look("contoso.onmicrosoft.com").body["tenant_id"], fixture::CONTOSO);

    let unknown = look("nobody-here.example");
    assert_eq!((unknown.status, unknown.body["error"]["field"].as_str()), (422, Some("domain")), "{}", unknown.text);
    assert!(unknown.body["error"]["message"].as_str().unwrap().contains("nobody-here.example"));
    let url = look("https://contoso.com/x");
    assert_eq!((url.status, url.body["error"]["field"].as_str()), (422, Some("domain")), "{}", url.text);
    let anonymous = Api::new(&stack.base_url, "not-a-session");
    assert_eq!(anonymous.post("/api/tenant-lookup", json!({"domain": "contoso.com"})).status, 401);

    // 30 a minute per account; the 6 look-ups above with a domain count too (the URL was refused
    // before). The limiter's windows are whole minutes: a run that crosses one gets up to 30 more.
    system_tests::portal::until_rate_limited(|| look("contoso.onmicrosoft.com"), 24..=54, "lookup_rate_limited");
    let other = Api::new(&stack.base_url, &stack.token("acct-lookup-2"));
    assert_eq!(other.post("/api/tenant-lookup", json!({"domain": "contoso.onmicrosoft.com"})).status, 200);
}

/// In the browser: Step 1 preselects the cloud of the domain typed and warns when another is
/// chosen; in the Manual method a domain typed as the tenant ID becomes the tenant ID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_1_finds_the_cloud_and_the_manual_method_the_tenant_id() {
    use std::time::Duration;
    use system_tests::browser::{click, click_text, el, type_into};
    let (_emulator, stack, browser) = system_tests::emulator_stack_browser(&[]).await;
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-lookup-ui")))).await.unwrap();
    click_text(c, "Add your first organization").await;
    type_into(c, "#org-domain", "fabrikamgov.onmicrosoft.us").await;
    click(c, "[data-testid=find-cloud]").await;
    let said =
        browser.wait_for_text("[data-testid=domain-result]", "US Government GCC High", Duration::from_secs(10)).await;
    assert!(said.contains("fabrikamgov.onmicrosoft.us belongs to tenant"), "{said}");
    assert!(el(c, "#cloud-usgov_gcc_high").await.is_selected().await.unwrap());
    click(c, "#cloud-global").await;
    browser.wait_for_text("[data-testid=cloud-warning]", "is in US Government GCC High", Duration::from_secs(5)).await;

    // The Manual method in the Global cloud: the tenant's domain instead of its ID.
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
    type_into(c, "#tenant-id", "contoso.onmicrosoft.com").await;
    click(c, "#application-id").await;
    browser.wait_for_text("[data-testid=tenant-note]", "belongs to tenant", Duration::from_secs(10)).await;
    let value = el(c, "#tenant-id").await.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(value, fixture::CONTOSO);
    browser.close().await;
}
