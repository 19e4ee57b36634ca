//! The app in the portal's language: the portal sends `locale` in its `session` message, the app
//! fetches that language's catalogue and shows every screen in it, the edge's errors included
//! (their sentence by code, the permissions named as Microsoft names them); the pseudo-locale
//! finds text that is clipped, overlaps, or never went through the catalogue.
//!
//! The expected texts are read from the catalogues themselves (frontend/locales/*.json), so the
//! tests check that the app shows what the catalogue says, in the language asked for.

use fantoccini::{Client, Locator};
use std::time::Duration;
use system_tests::browser::{click, click_text, type_into, Browser};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::PortalServer;
use system_tests::stack::Stack;
use system_tests::{catalogue, text};

/// The emulator with a hand-made application missing two permissions, the portal and a stack
/// that trusts it, and a browser on the portal's page: (emulator, app, (portal, stack), browser).
async fn portal_with_hand_made_app(
    account: &str,
) -> (Emulator, (String, String, String), (PortalServer, Stack), Browser) {
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let (emulator, made) = tokio::task::spawn_blocking(move || {
        let made = system_tests::hand_made_without_two(&emulator, "Backup by hand");
        (emulator, made)
    })
    .await
    .unwrap();
    let (portal, stack) = system_tests::portal::trusted_portal(account, emulator.worker_vars()).await;
    let browser = Browser::start().await;
    browser.client.goto(&format!("{}/", portal.origin)).await.unwrap();
    browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"ready"}"#, Duration::from_secs(20)).await;
    let frame = browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(system_tests::portal::FRAME))
        .await
        .unwrap();
    frame.enter_frame().await.unwrap();
    (emulator, made, (portal, stack), browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_reads_in_german_and_japanese_with_the_edges_error_in_that_language() {
    let account = "acct-languages";
    let (_emulator, (app_id, _sp, secret), (portal, _stack), browser) = portal_with_hand_made_app(account).await;
    let c = &browser.client;
    for tag in ["de", "ja"] {
        let cat = catalogue(tag);
        system_tests::portal::send_session(c, &portal, account, tag).await;
        browser.wait_for_text("h1", text(&cat, "app.heading"), Duration::from_secs(20)).await;
        click_text(c, text(&cat, "list.add")).await;
        browser.wait_for_text("#step-heading", text(&cat, "wizard.heading.method"), Duration::from_secs(20)).await;
        browser.wait_for_text("form", text(&cat, "step1.cloud.legend"), Duration::from_secs(5)).await;
        click(c, "#cloud-global").await;
        click(c, "#method-manual").await;
        click(c, "button[type=submit]").await;
        browser.wait_for_text("#step-heading", text(&cat, "wizard.heading.complete"), Duration::from_secs(20)).await;
        type_into(c, "#org-name", "Contoso by hand").await;
        type_into(c, "#tenant-id", fixture::CONTOSO).await;
        type_into(c, "#application-id", &app_id).await;
        type_into(c, "#client-secret", &secret).await;
        click(c, "#multiple-apps").await;
        click(c, "button[type=submit]").await;

        // The edge refuses with `permissions_missing`: its sentence in the language, the
        // permissions as Microsoft names them.
        let missing =
            browser.wait_for_text("[data-testid=missing-list]", "Sites.FullControl.All", Duration::from_secs(60)).await;
        assert!(missing.contains("Mail.ReadWrite"), "{missing}");
        let said = browser
            .wait_for_text(
                "[data-testid=missing-permissions]",
                text(&cat, "error.permissions_missing"),
                Duration::from_secs(10),
            )
            .await;
        assert!(!said.contains(shared::ErrorCode::PermissionsMissing.message()), "not the English sentence: {said}");
        let page_lang = c.execute("return document.documentElement.lang", vec![]).await.unwrap();
        assert_eq!(page_lang.as_str(), Some(tag));

        // Japanese, a non-Latin script: no serious accessibility issue in either theme.
        if tag == "ja" {
            for theme in ["light", "dark"] {
                c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![])
                    .await
                    .unwrap();
                let issues = browser.axe_serious().await;
                assert!(issues.is_empty(), "axe in Japanese ({theme}):\n{}", issues.join("\n"));
            }
        }
        click_text(c, text(&cat, "common.cancel")).await;
        browser.wait_for_text("h1", text(&cat, "app.heading"), Duration::from_secs(20)).await;
    }

    // Mid-session, back to English without a reload: the list reads in English again.
    system_tests::portal::send_session(c, &portal, account, "en-GB").await;
    let en = catalogue("en");
    browser.wait_for_text("h1", text(&en, "app.heading"), Duration::from_secs(20)).await;
    browser.close().await;
}

/// Every visible text of the frame's page that did not go through the catalogue (letters outside
/// the pseudo-locale's brackets that are not data: dotted names, GUIDs), every text that is clipped
/// or leaves the viewport, every two texts that overlap, and whether the page scrolls sideways.
const LAYOUT_PROBLEMS: &str = r#"
const problems = [];
const data = s => s.replace(/\[[^\]]*\]/g, ' ').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ' ')
  .replace(/[\w-]+(\.[\w-]+)+/g, ' ');
const outside = s => /[A-Za-z]{3,}/.test(data(s));
const hiddenByDesign = el => el.closest('.visually-hidden');
const rects = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const t = n.textContent.trim();
  const el = n.parentElement;
  // Not rendered: in a closed <details> (whose content the browser lays out when asked), hidden.
  if (!t || !el || !el.checkVisibility({ visibilityProperty: true })) continue;
  const range = document.createRange();
  range.selectNodeContents(n);
  const box = range.getBoundingClientRect();
  if (box.width === 0 && box.height === 0) continue;
  // Data and names marked as not to be translated (a permission's name, its API) are not text.
  if (outside(t) && !el.closest('[translate=no]')) problems.push('not from the catalogue: ' + JSON.stringify(t));
  if (hiddenByDesign(el)) continue;
  if (box.right > innerWidth + 1 || box.left < -1) problems.push('leaves the viewport: ' + JSON.stringify(t));
  for (let a = el; a && a !== document.body; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowX !== 'visible' && a.scrollWidth > a.clientWidth + 1 && a.tagName !== 'TABLE' && !a.classList.contains('table-scroll')) {
      problems.push('clipped: ' + JSON.stringify(t) + ' in ' + a.tagName.toLowerCase() + '.' + a.className);
      break;
    }
  }
  for (const r of range.getClientRects()) rects.push({ t, r });
}
for (const el of document.querySelectorAll('[aria-label], [placeholder], [title]')) {
  if (!el.checkVisibility({ visibilityProperty: true })) continue;
  for (const name of ['aria-label', 'placeholder', 'title']) {
    const v = el.getAttribute(name);
    if (v && outside(v)) problems.push('not from the catalogue: ' + name + '=' + JSON.stringify(v));
  }
}
for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
  const a = rects[i], b = rects[j];
  if (a.t === b.t) continue;
  const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
  const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
  if (w > 2 && h > 2) problems.push('overlap: ' + JSON.stringify(a.t) + ' and ' + JSON.stringify(b.t));
}
if (document.documentElement.scrollWidth > innerWidth + 1) problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
return problems;
"#;

/// What [`LAYOUT_PROBLEMS`] finds on the frame's page now.
async fn layout_problems(c: &Client) -> Vec<String> {
    let found = c.execute(LAYOUT_PROBLEMS, vec![]).await.unwrap();
    found.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pseudo_locale_finds_no_clipped_overlapping_or_uncatalogued_text_at_360_and_1280_px() {
    let account = "acct-pseudo";
    let (portal, _stack) = system_tests::portal::trusted_portal(account, vec![]).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    for width in [360u32, 1280] {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&format!("{}/", portal.origin)).await.unwrap();
        browser.wait_for_text("[data-testid=portal-events]", r#"{"type":"ready"}"#, Duration::from_secs(20)).await;
        let frame = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(system_tests::portal::FRAME))
            .await
            .unwrap();
        frame.enter_frame().await.unwrap();
        browser.wait_for_text("[data-testid=session]", account, Duration::from_secs(20)).await;
        system_tests::portal::send_session(c, &portal, account, "qps-ploc").await;
        browser.wait_for_text("h1", "Àđđ", Duration::from_secs(20)).await;
        browser.wait_for_text("[data-testid=empty-state]", "Ñö", Duration::from_secs(20)).await;
        let mut problems = vec![];
        problems.extend(layout_problems(c).await.into_iter().map(|p| format!("the list: {p}")));
        c.find(Locator::Css("[data-testid=empty-state] button")).await.unwrap().click().await.unwrap();
        browser.wait_for_text("#step-heading", "Šţéþ", Duration::from_secs(20)).await;
        problems.extend(layout_problems(c).await.into_iter().map(|p| format!("Step 1: {p}")));
        click(c, "#cloud-global").await;
        click(c, "#method-manual").await;
        click(c, "button[type=submit]").await;
        browser.wait_for_text("#step-heading", "3", Duration::from_secs(20)).await;
        c.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css("#org-name")).await.unwrap();
        // The permissions to grant, with why each is needed (the edge's list, in the catalogue too).
        click(c, "[data-testid=manual-permissions] summary").await;
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("[data-testid=permission-list]"))
            .await
            .unwrap();
        problems.extend(layout_problems(c).await.into_iter().map(|p| format!("Step 3 (Manual): {p}")));
        assert!(problems.is_empty(), "at {width} px:\n{}", problems.join("\n"));
    }
    browser.close().await;
}
