//! Screenshots of every screen in both themes, taken by the suite at 1280 px: the empty list, Step 1,
//! Step 2 (Device Code), Step 3 (Manual), the list with an organization, the edit page and the delete
//! dialog with removal, a partner's choice and batch; and the same screens inside the portal's iframe
//! in German and in Japanese (light theme, `name-de.png`, `name-ja.png`). Each is written to
//! `target/screenshots/`; with `UPDATE_SCREENSHOTS=1` also to
//! `docs/screenshots/`, which the README shows. Each must be a real picture of the page: a PNG as wide
//! as the window, not one colour, and the dark one different from the light one.

use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use system_tests::browser::{click, click_text, el, one_time_code, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::{catalogue, text};

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

/// How the screens are taken: the page in both themes (English, the app top-level), or the
/// portal's iframe in the light theme (another language, which a portal chooses).
enum Shot {
    Themes,
    Framed(&'static str),
}

impl Shot {
    async fn take(&self, c: &Client, name: &str) {
        match self {
            Shot::Themes => shoot(c, name).await,
            Shot::Framed(tag) => shoot_framed(c, &format!("{name}-{tag}")).await,
        }
    }
}

/// Checks a picture (at least `min` pixels wide and high) and writes it as `name.png`.
fn keep(name: &str, png: &[u8], min: (u32, u32)) {
    let (w, h) = png_size(png).unwrap_or_else(|| panic!("{name} is not a PNG"));
    assert!(w >= min.0 && h >= min.1, "{name} is {w}×{h}");
    assert!(png.len() > 8_000, "{name} is nearly one colour: {} bytes", png.len());
    for dir in folders() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Takes the current screen in the light and the dark theme as `name-light.png`, `name-dark.png`.
async fn shoot(c: &Client, name: &str) {
    let mut shots = vec![];
    for theme in ["light", "dark"] {
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        // Let the style apply before the picture.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = c.screenshot().await.unwrap();
        keep(&format!("{name}-{theme}"), &png, (1000, 400));
        shots.push(png);
    }
    assert_ne!(shots[0], shots[1], "{name}: the dark theme looks like the light one");
    c.execute("document.documentElement.removeAttribute('data-theme')", vec![]).await.unwrap();
}

/// Takes the portal's iframe (the test is inside it) as `name.png`, in the light theme, once the
/// embed library has sized it to the app's content (the height the app reports).
async fn shoot_framed(c: &Client, name: &str) {
    let content = c.execute("return document.body.scrollHeight", vec![]).await.unwrap().as_u64().unwrap();
    c.enter_parent_frame().await.unwrap();
    let frame = c.find(Locator::Css(system_tests::portal::FRAME)).await.unwrap();
    let height = format!("return document.querySelector('{}').clientHeight", system_tests::portal::FRAME);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.execute(&height, vec![]).await.unwrap().as_u64() != Some(content) {
        assert!(std::time::Instant::now() < deadline, "{name}: the portal did not size the iframe to {content} px");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The iframe is as tall as the app's content: the empty list is the shortest screen.
    keep(name, &frame.screenshot().await.unwrap(), (600, 300));
    frame.enter_frame().await.unwrap();
}

/// Every screen, in the language of `cat`, from the empty list of `account` (open) to the delete
/// dialog, then a partner's choice and batch for `partner`, which `open_partner` opens.
#[allow(clippy::too_many_arguments)]
async fn walk<F, Fut>(
    browser: &Browser,
    emulator: &Emulator,
    cat: &Value,
    shot: &Shot,
    app: (&str, &str),
    open_partner: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let c = &browser.client;
    let (app_id, secret) = app;
    browser.wait_for_text("[data-testid=empty-state]", text(cat, "list.empty"), Duration::from_secs(20)).await;
    shot.take(c, "1-empty-list").await;

    click_text(c, text(cat, "list.add_first")).await;
    browser.wait_for_text("#step-heading", text(cat, "wizard.heading.method"), Duration::from_secs(10)).await;
    shot.take(c, "2-step1").await;

    click(c, "button[type=submit]").await;
    one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
    shot.take(c, "3-step2-device-code").await;
    click_text(c, text(cat, "common.cancel")).await;

    click_text(c, text(cat, "list.add_first")).await;
    click(c, "#method-manual").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("#step-heading", text(cat, "wizard.heading.complete"), Duration::from_secs(10)).await;
    type_into(c, "#org-name", "Contoso").await;
    type_into(c, "#tenant-id", fixture::CONTOSO).await;
    type_into(c, "#application-id", app_id).await;
    type_into(c, "#client-secret", secret).await;
    shot.take(c, "4-step3-manual").await;
    click(c, "#multiple-apps").await;
    click(c, "button[type=submit]").await;
    browser.wait_for_text("[data-testid=organizations]", "Contoso", Duration::from_secs(60)).await;
    click_text(c, text(cat, "list.check_now")).await;
    browser.wait_for_text("[data-testid=health]", text(cat, "list.health.healthy"), Duration::from_secs(60)).await;
    shot.take(c, "5-organizations").await;

    click_text(c, text(cat, "list.edit")).await;
    browser.wait_for_text("[data-testid=edit-heading]", "Contoso", Duration::from_secs(10)).await;
    el(c, "[data-testid=applications]").await;
    shot.take(c, "6-edit").await;
    click_text(c, text(cat, "common.cancel")).await;

    click(c, "button.danger").await;
    click(c, "#delete-remove").await;
    el(c, "[role=alertdialog] [data-testid=panel-credential]").await;
    shot.take(c, "7-delete").await;

    // A partner's customers: the choice, then the batch with a customer whose roles are not enough.
    open_partner().await;
    browser.wait_for_text("[data-testid=empty-state]", text(cat, "list.empty"), Duration::from_secs(20)).await;
    click(c, "[data-testid=add-partner]").await;
    click(c, "[data-testid=panel-device-code]").await;
    let code = one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
    tokio::task::block_in_place(|| emulator.approve(&code, system_tests::gdap::AGENT));
    browser.wait_for_text("[data-testid=customers]", "Coho Winery", Duration::from_secs(30)).await;
    click(c, "[data-testid=select-all]").await;
    shot.take(c, "8-partner-choose").await;
    click(c, "[data-testid=start-batch]").await;
    c.wait().at_most(Duration::from_secs(120)).for_element(Locator::Css("[data-testid=retry-failed]")).await.unwrap();
    shot.take(c, "9-partner-batch").await;
}

/// Three customers of a partner, the second without the roles the registration needs.
fn partner_customers(emulator: &Emulator) {
    tokio::task::block_in_place(|| {
        system_tests::gdap::with_partner(
            emulator,
            &["Alpine Ski House", "Bellows College", "Coho Winery"],
            |n| if n == 2 { vec!["Privileged Role Administrator"] } else { system_tests::gdap::PAIR.to_vec() },
            |_| None,
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_in_both_themes() {
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    // The partner and its customers first: seeding them resets the emulator.
    partner_customers(&emulator);
    let (app_id, secret) = tokio::task::block_in_place(|| {
        let (id, _, secret) = emulator.register_app("Backup (screenshots)", None, true);
        (id, secret)
    });
    let c = &browser.client;
    c.goto(&stack.url(&format!("/#token={}", stack.token("acct-screens")))).await.unwrap();
    let open_partner = || async {
        c.goto("about:blank").await.unwrap();
        c.goto(&stack.url(&format!("/#token={}", stack.token("acct-screens-partner")))).await.unwrap();
    };
    walk(&browser, &emulator, &catalogue("en"), &Shot::Themes, (&app_id, &secret), open_partner).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_in_german_and_japanese_inside_the_portal() {
    let emulator =
        tokio::task::spawn_blocking(|| Emulator::start_with(&["--device-code-interval", "1"])).await.unwrap();
    // The partner and its customers first: seeding them resets the emulator.
    partner_customers(&emulator);
    let (app_id, secret) = tokio::task::block_in_place(|| {
        let (id, _, secret) = emulator.register_app("Backup (screenshots)", None, true);
        (id, secret)
    });
    let (portal, _stack) = system_tests::portal::trusted_portal("acct-screens-de", emulator.worker_vars()).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    // Tall enough for the whole iframe, which the portal sizes to the app's height.
    c.set_window_size(1280, 2400).await.unwrap();
    for tag in ["de", "ja"] {
        let account = format!("acct-screens-{tag}");
        portal.mint_for(&account);
        c.goto(&format!("{}/", portal.origin)).await.unwrap();
        browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"ready"}"#, Duration::from_secs(20)).await;
        system_tests::portal::send_session(c, &portal, &account, tag).await;
        let partner = format!("acct-screens-{tag}-partner");
        let open_partner = || async {
            system_tests::portal::send_session(c, &portal, &partner, tag).await;
        };
        walk(&browser, &emulator, &catalogue(tag), &Shot::Framed(tag), (&app_id, &secret), open_partner).await;
    }
    browser.close().await;
}
