//! A headless browser driven through WebDriver, with a fresh profile per browser: Chromium through
//! ChromeDriver, or Firefox ESR through geckodriver when `SYSTEM_TESTS_BROWSER=firefox` (the main
//! paths run in both: `scripts/test.sh`).

use crate::free_port;
use crate::process::{wait_for, Guarded};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::Command;
use std::time::{Duration, Instant};

/// The Chromium flags this closed network needs (the same as `scripts/test.sh` gives the component tests).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| std::path::Path::new(d).join(bin)).find(|p| p.is_file())
}

/// The Firefox preferences this closed network needs: nothing phones home, no first-run pages.
fn firefox_prefs() -> serde_json::Value {
    serde_json::json!({
        "app.update.disabledForTesting": true,
        "browser.shell.checkDefaultBrowser": false,
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.aboutwelcome.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "datareporting.healthreport.uploadEnabled": false,
        "toolkit.telemetry.enabled": false,
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
        "extensions.update.enabled": false,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "browser.safebrowsing.downloads.enabled": false,
        "services.settings.server": "http://127.0.0.1:9/",
    })
}

/// The browser the system tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Chromium and ChromeDriver (Debian packages `chromium`, `chromium-driver`): the default.
    Chromium,
    /// Firefox ESR (Debian package `firefox-esr`) and geckodriver (crates.io).
    Firefox,
}

impl Engine {
    /// `SYSTEM_TESTS_BROWSER` (`chromium`, the default, or `firefox`).
    pub fn from_env() -> Self {
        match std::env::var("SYSTEM_TESTS_BROWSER").as_deref() {
            Ok("firefox") => Engine::Firefox,
            Ok("chromium") | Ok("") | Err(_) => Engine::Chromium,
            Ok(other) => panic!("SYSTEM_TESTS_BROWSER={other}: use chromium or firefox"),
        }
    }
}

/// A WebDriver process and a session on a fresh browser profile.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Guarded,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts the browser `SYSTEM_TESTS_BROWSER` names ([`Engine::from_env`]).
    pub async fn start() -> Self {
        match Engine::from_env() {
            Engine::Chromium => Self::start_chromium().await,
            Engine::Firefox => Self::start_firefox().await,
        }
    }

    /// Starts geckodriver on a free port and opens a headless Firefox session.
    pub async fn start_firefox() -> Self {
        let geckodriver =
            which("geckodriver").expect("geckodriver is not on PATH: run `make setup` (cargo install geckodriver)");
        let firefox = which("firefox-esr")
            .or_else(|| which("firefox"))
            .expect("firefox-esr is not on PATH: run `make setup` (Debian package firefox-esr)");
        let profile = tempfile::Builder::new().prefix("m365-firefox-").tempdir().expect("temp dir");
        let options = serde_json::json!({
            "binary": firefox,
            "args": ["-headless", "-width", "1280", "-height", "900"],
            "prefs": firefox_prefs(),
        });
        Self::launch("geckodriver", geckodriver, &["--host=127.0.0.1"], profile, ("moz:firefoxOptions", options)).await
    }

    /// Starts WebDriver `name` (at `driver`, with `driver_args`) on a free port, its temporary files
    /// in `profile`, and opens a session with the browser options `options` (the capability's name
    /// and value).
    async fn launch(
        name: &str,
        driver: std::path::PathBuf,
        driver_args: &[&str],
        profile: tempfile::TempDir,
        options: (&str, serde_json::Value),
    ) -> Self {
        let port = free_port();
        let mut cmd = Command::new(driver);
        cmd.arg(format!("--port={port}")).args(driver_args).env("TMPDIR", profile.path());
        let mut driver = Guarded::spawn(name, cmd, &profile.path().join(format!("{name}.log")));
        let status_url = format!("http://127.0.0.1:{port}/status");
        wait_for(&format!("{name} to start"), Duration::from_secs(20), || {
            driver.assert_running();
            ureq::get(&status_url).timeout(Duration::from_secs(1)).call().ok()
        });
        let mut caps = serde_json::Map::new();
        caps.insert(options.0.into(), options.1);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("opening a {name} session failed: {e}\n{}", driver.log_text()));
        Self { client, _driver: driver, _profile: profile }
    }

    /// Starts ChromeDriver on a free port and opens a headless Chromium session.
    pub async fn start_chromium() -> Self {
        let chromedriver = which("chromedriver")
            .expect("chromedriver is not on PATH: run `make setup` (Debian package chromium-driver)");
        let chromium = which("chromium").expect("chromium is not on PATH: run `make setup` (Debian package chromium)");
        let profile = tempfile::Builder::new().prefix("m365-chromium-").tempdir().expect("temp dir");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().join("profile").display()));
        let options = serde_json::json!({ "binary": chromium, "args": args });
        Self::launch("chromedriver", chromedriver, &[], profile, ("goog:chromeOptions", options)).await
    }

    /// The files the current page fetched, one per line: name, start and duration (ms), bytes
    /// transferred, HTTP status (0 while in flight or from another origin), for a failure's report.
    pub async fn fetched(&self) -> String {
        let script = "return performance.getEntriesByType('resource').map(function(e){return e.name.split('/').pop()+' '+\
            Math.round(e.startTime)+'+'+Math.round(e.duration)+' ms, '+e.transferSize+' B, '+(e.responseStatus||0)}).join('\\n')";
        match self.client.execute(script, vec![]).await {
            Ok(v) => v.as_str().unwrap_or_default().to_owned(),
            Err(e) => format!("(not available: {e})"),
        }
    }

    /// Polls until the element matching `css` has text containing `needle`; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last = text;
                }
            }
            if Instant::now() > deadline {
                let page = self.client.source().await.unwrap_or_default();
                let fetched = self.fetched().await;
                panic!(
                    "timed out after {limit:?} waiting for `{css}` to contain {needle:?}; last text {last:?}; \
                     files the page fetched:\n{fetched}\npage:\n{page}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core (from the npm package) on the current page, or the current frame, and returns
    /// the violations of impact "serious" or "critical" as `rule: target` lines.
    pub async fn axe_serious(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(crate::repo_root().join("node_modules/axe-core/axe.min.js"))
            .expect("axe-core is installed by `make setup` (npm)");
        self.client
            .execute("if (!window.axe) { const s = document.createElement('script'); s.textContent = arguments[0]; document.head.appendChild(s); }", vec![serde_json::Value::String(axe)])
            .await
            .expect("injecting axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [{target: [String(e)]}]}]));",
                vec![],
            )
            .await
            .expect("running axe-core");
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {}",
                    v["id"].as_str().unwrap_or(""),
                    v["impact"].as_str().unwrap_or(""),
                    v["nodes"]
                        .as_array()
                        .map(|n| n.iter().map(|x| x["target"].to_string()).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                )
            })
            .collect()
    }

    /// Ends the WebDriver session (the driver process is stopped on drop either way).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Waits up to 20 s for an element matching `css`. Errors other than "not there yet" are retried
/// too: a lookup that lands while a page navigates gets ChromeDriver's "aborted by navigation".
pub async fn el(c: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.find(Locator::Css(css)).await {
            Ok(e) => return e,
            Err(e) if Instant::now() > deadline => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Clicks the element matching `css`, once it is there.
pub async fn click(c: &Client, css: &str) {
    el(c, css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Replaces the text of the input matching `css`.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    let e = el(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Clicks the button whose text is `text`, once it is there.
pub async fn click_text(c: &Client, text: &str) {
    let xpath = format!("//button[normalize-space(.)='{text}']");
    let b = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
    b.click().await.unwrap();
}

/// Waits up to `limit` for a one-time code (9 characters) in the element matching `css`, other than
/// `not`; returns it, or fails the test.
pub async fn one_time_code(c: &Client, css: &str, not: Option<&str>, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < deadline {
        last = el(c, css).await.text().await.unwrap_or_default();
        if last.len() == 9 && Some(last.as_str()) != not {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no new one-time code shown in {css} within {limit:?}; last text {last:?}");
}
