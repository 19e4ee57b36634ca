//! Accessibility: an axe-core scan of every screen (both methods' Step 2) finds no serious or critical issue, and the
//! happy path to Step 2 works from the keyboard alone.

use fantoccini::key::Key;
use fantoccini::Locator;
use std::time::Duration;
use system_tests::browser::Browser;

async fn assert_clean(browser: &Browser, screen: &str) {
    let issues = browser.axe_serious().await;
    assert!(issues.is_empty(), "axe found serious or critical issues on {screen}:\n{}", issues.join("\n"));
}

async fn click_button(browser: &Browser, text: &str) {
    let xpath = format!("//button[normalize-space(.)='{text}']");
    let b = browser.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::XPath(&xpath)).await.unwrap();
    b.click().await.unwrap();
}

async fn press(browser: &Browser, key: Key) {
    let active = browser.client.active_element().await.unwrap();
    active.send_keys(&char::from(key).to_string()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_the_axe_scan_in_light_and_dark() {
    let (_emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let c = &browser.client;
    for theme in ["light", "dark"] {
        // A fragment change alone does not reload the page: start from a blank one.
        c.goto("about:blank").await.unwrap();
        c.goto(&stack.url(&format!("/#token={}", stack.token("acct-a11y")))).await.unwrap();
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
        assert_clean(&browser, &format!("the empty organization list ({theme})")).await;
        click_button(&browser, "Add your first organization").await;
        browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
        assert_clean(&browser, &format!("Step 1 ({theme})")).await;
        c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        browser.wait_for_text("#step-heading", "Step 2", Duration::from_secs(10)).await;
        browser.wait_for_text("[data-testid=signin-status]", "Waiting for you", Duration::from_secs(20)).await;
        assert_clean(&browser, &format!("Step 2 ({theme})")).await;
        click_button(&browser, "Cancel").await;
        // Step 2 of the Credential method: waiting for the sign-in window, then that window closed.
        click_button(&browser, "Add your first organization").await;
        c.find(Locator::Css("#method-credential")).await.unwrap().click().await.unwrap();
        let main = c.window().await.unwrap();
        c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        browser.wait_for_text("[data-testid=signin-status]", "sign-in window", Duration::from_secs(20)).await;
        assert_clean(&browser, &format!("Step 2, Credential ({theme})")).await;
        let popup = c.windows().await.unwrap().into_iter().find(|w| *w != main).expect("the sign-in window");
        c.switch_to_window(popup).await.unwrap();
        c.close_window().await.unwrap();
        c.switch_to_window(main).await.unwrap();
        browser.wait_for_text("[data-testid=signin-notice]", "closed", Duration::from_secs(10)).await;
        assert_clean(&browser, &format!("Step 2, Credential window closed ({theme})")).await;
        click_button(&browser, "Cancel").await;
        click_button(&browser, "Add your first organization").await;
        c.find(Locator::Css("#method-manual")).await.unwrap().click().await.unwrap();
        c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
        c.find(Locator::Css("#tenant-id")).await.unwrap().send_keys("contoso.com").await.unwrap();
        browser.wait_for_text("#tenant-id-error", "not a domain name", Duration::from_secs(5)).await;
        assert_clean(&browser, &format!("Step 3 with a field error ({theme})")).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_works_from_the_keyboard_alone() {
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-keys")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    // Tab to "Add Microsoft 365 organization" (the first control) and press Enter.
    c.find(Locator::Css("body")).await.unwrap().send_keys(&char::from(Key::Tab).to_string()).await.unwrap();
    let focused = c.active_element().await.unwrap().text().await.unwrap();
    assert_eq!(focused, "Add Microsoft 365 organization");
    press(&browser, Key::Enter).await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    // Focus moves to the new step's heading (on the frame after the step is drawn).
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let focused_id = c.active_element().await.unwrap().attr("id").await.unwrap();
        if focused_id.as_deref() == Some("step-heading") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "focus did not move to the new step's heading: {focused_id:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Tab through the radio groups to "Next": Global and Device Code are preselected.
    let mut reached = false;
    for _ in 0..12 {
        press(&browser, Key::Tab).await;
        if c.active_element().await.unwrap().text().await.unwrap() == "Next" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Next is reachable with Tab");
    press(&browser, Key::Enter).await;
    browser.wait_for_text("#step-heading", "Step 2", Duration::from_secs(10)).await;
    browser.wait_for_text("[data-testid=signin-status]", "Waiting for you", Duration::from_secs(20)).await;
    // Copy button, link, checkbox. The admin signs in at Microsoft (not this page's keyboard) only
    // once the checkbox is reached: once the sign-in is noticed the code and its buttons go away,
    // which would race the walk through them.
    let code = c.find(Locator::Css("[data-testid=user-code]")).await.unwrap().text().await.unwrap();
    let mut seen = vec![];
    for _ in 0..8 {
        press(&browser, Key::Tab).await;
        let el = c.active_element().await.unwrap();
        let id = el.attr("id").await.unwrap().unwrap_or_default();
        seen.push(id.clone() + "|" + &el.text().await.unwrap_or_default());
        if id == "confirm-authorization" {
            break;
        }
    }
    assert!(seen.iter().any(|s| s.contains("Copy code")), "{seen:?}");
    assert_eq!(seen.last().map(|s| s.starts_with("confirm-authorization")), Some(true), "{seen:?}");
    emulator.approve(&code, system_tests::emulator::fixture::ADMIN);
    press(&browser, Key::Space).await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(60)).await;
    // Step 3: Tab to "Create multiple applications", untick it with Space, Tab to Save, Enter.
    let mut at_checkbox = false;
    for _ in 0..10 {
        press(&browser, Key::Tab).await;
        if c.active_element().await.unwrap().attr("id").await.unwrap().as_deref() == Some("multiple-apps") {
            at_checkbox = true;
            break;
        }
    }
    assert!(at_checkbox, "the option is reachable with Tab");
    press(&browser, Key::Space).await;
    let mut at_save = false;
    for _ in 0..5 {
        press(&browser, Key::Tab).await;
        if c.active_element().await.unwrap().text().await.unwrap() == "Save" {
            at_save = true;
            break;
        }
    }
    assert!(at_save, "Save is reachable with Tab");
    press(&browser, Key::Enter).await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layout_fits_an_iframe_360_pixels_wide() {
    let (_emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let c = &browser.client;
    c.set_window_size(360, 800).await.unwrap();
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-narrow")))).await.unwrap();
    let fits = || async {
        let v = c.execute("return [document.documentElement.scrollWidth, window.innerWidth]", vec![]).await.unwrap();
        (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
    };
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    let (scroll, inner) = fits().await;
    assert!(inner <= 360 && scroll <= inner, "the list: {scroll} > {inner}");
    click_button(&browser, "Add your first organization").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    let (scroll, inner) = fits().await;
    assert!(scroll <= inner, "Step 1: {scroll} > {inner}");
    c.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    browser.wait_for_text("[data-testid=signin-status]", "Waiting for you", Duration::from_secs(20)).await;
    let (scroll, inner) = fits().await;
    assert!(scroll <= inner, "Step 2 (the large code): {scroll} > {inner}");
    browser.close().await;
}
