//! Runs Lighthouse (npm, pinned in package.json) on the organization list, for `make bench`: the
//! desktop preset with its simulated throttling, in headless Chromium. Printed as `BUDGET` lines;
//! only that Lighthouse ran and scored the page is asserted (the scores are reported, never
//! asserted).

use std::process::Command;
use system_tests::stack::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lighthouse_on_the_organization_list() {
    let stack = tokio::task::spawn_blocking(Stack::start).await.unwrap();
    let url = stack.url(&format!("/#token={}", stack.token("acct-lighthouse")));
    let profile = tempfile::tempdir().unwrap();
    let chromium = std::env::var("CHROME_PATH").unwrap_or_else(|_| "chromium".into());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("lighthouse")
            .arg(&url)
            .args(["--preset=desktop", "--output=json", "--output-path=stdout", "--quiet"])
            .args(["--only-categories=performance,accessibility,best-practices"])
            .arg(format!(
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir={}",
                profile.path().display()
            ))
            .env("CHROME_PATH", chromium)
            .output()
            .expect("lighthouse runs (npm ci installs it; scripts/env.sh puts it on PATH)")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "lighthouse failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let score = |c: &str| report["categories"][c]["score"].as_f64().unwrap_or_else(|| panic!("no {c} score"));
    let audit = |a: &str| report["audits"][a]["numericValue"].as_f64().unwrap_or_else(|| panic!("no {a}"));
    println!(
        "BUDGET Lighthouse {} (desktop): performance {:.2} (budget 0.95), accessibility {:.2} (budget 1.0), best practices {:.2} (budget 0.95)",
        report["lighthouseVersion"].as_str().unwrap_or("?"),
        score("performance"),
        score("accessibility"),
        score("best-practices")
    );
    println!(
        "BUDGET Lighthouse: largest contentful paint {:.0} ms (budget 1500 ms), first contentful paint {:.0} ms, total blocking time {:.0} ms, cumulative layout shift {:.3}",
        audit("largest-contentful-paint"),
        audit("first-contentful-paint"),
        audit("total-blocking-time"),
        audit("cumulative-layout-shift")
    );
    // What kept a score from 1, by audit, for whoever reads the bench.
    if let Some(audits) = report["audits"].as_object() {
        let mut failing: Vec<String> = audits
            .iter()
            .filter(|(_, a)| a["score"].as_f64().is_some_and(|s| s < 0.9) && a["scoreDisplayMode"] != "informative")
            .map(|(id, a)| format!("{id} ({})", a["displayValue"].as_str().unwrap_or("")))
            .collect();
        failing.sort();
        println!(
            "BUDGET Lighthouse audits under 0.9: {}",
            if failing.is_empty() { "none".into() } else { failing.join(", ") }
        );
    }
}
