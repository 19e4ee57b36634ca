//! Screenshots of every screen in both themes, taken by the suite at 1280 px: the empty list, Step 1,
//! Step 2 (Device Code), Step 3 (Manual), the list with an organization, the edit page and the delete
//! dialog with removal. Each is written to `target/screenshots/`; with `UPDATE_SCREENSHOTS=1` also to
//! `docs/screenshots/`, which the README shows. Each must be a real picture of the page: a PNG as wide
//! as the window, not one colour, and the dark one different from the light one.

use fantoccini::Client;
use std::path::PathBuf;
use std::time::Duration;
use system_tests::browser::{click, click_text, el, one_time_code, type_into};
use system_tests::emulator::fixture;

/// The PNG's width and height (its IHDR), or `None` if it is not a PNG.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((be(16)?, be(20)?))
}

fn folders() -> Vec<PathBuf> {
    let root = system_tests::repo_root();
    let mut out = vec![root.join("target/screenshots")];
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        out.push(root.join("docs/screenshots"));
    }
    out
}

/// Takes the current screen in the light and the dark theme as `name-light.png`, `name-dark.png`.
async fn shoot(c: &Client, name: &str) {
    let mut shots = vec![];
    for theme in ["light", "dark"] {
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        // Let the style apply before the picture.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = c.screenshot().await.unwrap();
        let (w, h) = png_size(&png).unwrap_or_else(|| panic!("{name} ({theme}) is not a PNG"));
        assert!(w >= 1000 && h >= 500, "{name} ({theme}) is {w}×{h}");
        assert!(png.len() > 8_000, "{name} ({theme}) is nearly one colour: {} bytes", png.len());
        for dir in folders() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}-{theme}.png")), &png).unwrap();
        }
        shots.push(png);
    }
    assert_ne!(shots[0], shots[1], "{name}: the dark theme looks like the light one");
    c.execute("document.documentElement.removeAttribute('data-theme')", vec![]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_in_both_themes() {
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    let (app_id, secret) = tokio::task::block_in_place(|| {
        let (id, _, secret) = emulator.register_app("Backup (screenshots)", None, true);
        (id, secret)
    });
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-screens")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    shoot(c, "1-empty-list").await;

    click_text(c, "Add your first organization").await;
    browser.wait_for_text("#step-heading", "Step 1", Duration::from_secs(10)).await;
    shoot(c, "2-step1").await;

    click(c, "button[type=submit]").await;
    one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
    shoot(c, "3-step2-device-code").await;
    click_text(c, "Cancel").await;

    click_text(c, "Add your first organization").await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", "Step 3", Duration::from_secs(10)).await;
    type_into(c, "#org-name", "Contoso").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", &app_id).await;
    type_into(c, "#client-secret", &secret).await;
    shoot(c, "4-step3-manual").await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    click_text(c, "Check now").await;
    browser.wait_for_text("[data-testid=health]", "Healthy", Duration::from_secs(60)).await;
    shoot(c, "5-organizations").await;

    click_text(c, "Edit").await;
    browser.wait_for_text("[data-testid=edit-heading]", "Contoso", Duration::from_secs(10)).await;
    el(c, "[data-testid=applications]").await;
    shoot(c, "6-edit").await;
    click_text(c, "Cancel").await;

    click(c, "button.danger").await;
    click(c, "#delete-remove").await;
    el(c, "[role=alertdialog] [data-testid=panel-credential]").await;
    shoot(c, "7-delete").await;

    // A partner's customers: the choice, then the batch with a customer whose roles are not enough.
    tokio::task::block_in_place(|| {
        system_tests::gdap::with_partner(
            &emulator,
            &["Alpine Ski House", "Bellows College", "Coho Winery"],
            |n| if n == 2 { vec!["Privileged Role Administrator"] } else { system_tests::gdap::PAIR.to_vec() },
            |_| None,
        )
    });
    c.goto("about:blank").await.unwrap();
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-screens-partner")))).await.unwrap();
    browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
    click(c, "[data-testid=add-partner]").await;
    click(c, "[data-testid=panel-device-code]").await;
    let code = one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
    tokio::task::block_in_place(|| emulator.approve(&code, system_tests::gdap::AGENT));
    browser.wait_for_text("[data-testid=customers]", "Coho Winery", Duration::from_secs(30)).await;
    click(c, "[data-testid=select-all]").await;
    shoot(c, "8-partner-choose").await;
    click(c, "[data-testid=start-batch]").await;
    browser.wait_for_text("[data-testid=batch-summary]", "Done", Duration::from_secs(120)).await;
    shoot(c, "9-partner-batch").await;
    browser.close().await;
}
