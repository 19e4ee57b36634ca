//! The emulator's sign-in page, driven by headless Chromium as an administrator would: enter the
//! one-time code, the account, the password, accept the permissions; then the device-code grant
//! issues a token. Also: a wrong code gets Microsoft's message.

use fantoccini::Locator;
use std::time::Duration;
use system_tests::browser::Browser;
use system_tests::emulator::{fixture, Emulator};

fn device_code(emulator: &Emulator) -> serde_json::Value {
    let url = format!("{}/organizations/oauth2/v2.0/devicecode", emulator.base_url);
    ureq::post(&url)
        .send_form(&[
            ("client_id", fixture::PUBLIC_CLIENTS[0].1),
            ("scope", "https://graph.microsoft.com/Application.ReadWrite.All"),
        ])
        .expect("device code")
        .into_json()
        .unwrap()
}

async fn fill(browser: &Browser, css: &str, text: &str) {
    let el = browser.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.expect(css);
    el.send_keys(text).await.expect("typing");
}

async fn click(browser: &Browser, css: &str) {
    let el = browser.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await.expect(css);
    el.click().await.expect("clicking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_on_the_page_and_the_device_gets_a_token() {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let dc = device_code(&emulator);
    let browser = Browser::start().await;
    browser.client.goto(dc["verification_uri"].as_str().unwrap()).await.unwrap();
    fill(&browser, "#otc", dc["user_code"].as_str().unwrap()).await;
    click(&browser, "#idSIButton9").await;
    fill(&browser, "#i0116", fixture::ADMIN).await;
    click(&browser, "#idSIButton9").await;
    fill(&browser, "#i0118", fixture::PASSWORD).await;
    click(&browser, "#idSIButton9").await;
    click(&browser, "button[value=accept]").await; // The consent page: accept the permissions.
    let text = browser.wait_for_text("body", "You have signed in", Duration::from_secs(10)).await;
    assert!(
        text.contains("You have signed in to the M365 Backup Onboarding application on your device. You may now close this window."),
        "{text}"
    );
    browser.close().await;

    let url = format!("{}/organizations/oauth2/v2.0/token", emulator.base_url);
    let token: serde_json::Value = ureq::post(&url)
        .send_form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", fixture::PUBLIC_CLIENTS[0].1),
            ("device_code", dc["device_code"].as_str().unwrap()),
        ])
        .expect("the token is issued after the sign-in")
        .into_json()
        .unwrap();
    assert_eq!(token["token_type"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_gets_microsofts_message() {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let browser = Browser::start().await;
    browser.client.goto(&format!("{}/devicelogin", emulator.base_url)).await.unwrap();
    fill(&browser, "#otc", "WRONGCODE").await;
    click(&browser, "#idSIButton9").await;
    browser
        .wait_for_text("body", "That code didn't work. Check the code and try again.", Duration::from_secs(10))
        .await;
    browser.close().await;
}
