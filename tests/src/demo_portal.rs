//! The demo portal (scripts/demo-portal.py) as a child process: it receives the product's signed
//! webhooks, verifies them as the README documents, and lists what it accepted.

use crate::process::{wait_for, Guarded};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// A running demo portal.
pub struct DemoPortal {
    _process: Guarded,
    /// Its base URL.
    pub base: String,
    _dir: tempfile::TempDir,
}

impl DemoPortal {
    /// The demo portal with `secret`, answering 503 to its first `fail_first` deliveries.
    pub fn start(secret: &str, fail_first: u32) -> DemoPortal {
        let port = crate::free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(crate::repo_root().join("scripts/demo-portal.py"))
            .arg(port.to_string())
            .arg("http://127.0.0.1:1/")
            .env("PORTAL_WEBHOOK_SECRET", secret)
            .env("DEMO_PORTAL_FAIL_FIRST", fail_first.to_string());
        let process = Guarded::spawn("demo portal", cmd, &dir.path().join("portal.log"));
        let base = format!("http://127.0.0.1:{port}");
        wait_for("the demo portal", Duration::from_secs(20), || ureq::get(&format!("{base}/webhooks")).call().ok());
        DemoPortal { _process: process, base, _dir: dir }
    }

    /// The events it accepted (`{"events": [...]}`).
    pub fn received(&self) -> Value {
        ureq::get(&format!("{}/webhooks", self.base)).call().unwrap().into_json().unwrap()
    }

    /// Waits for an event of `kind` about `organization`.
    pub fn wait_for_event(&self, kind: &str, organization: &str) -> Value {
        self.wait_for(kind, |e| e["organization_id"] == organization)
    }

    /// Waits for an event of `kind` that `matches`.
    pub fn wait_for(&self, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
        wait_for(&format!("a {kind} webhook"), Duration::from_secs(60), || {
            self.received()["events"].as_array().unwrap().iter().find(|e| e["type"] == kind && matches(e)).cloned()
        })
    }

    /// Posts a delivery as the product would: the status.
    pub fn deliver(&self, body: &str, event_id: &str, signature: &str) -> u16 {
        let r = ureq::post(&format!("{}/webhooks", self.base))
            .set("content-type", "application/json")
            .set("M365-Event-Id", event_id)
            .set("M365-Signature", signature)
            .send_string(body);
        match r {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(c, _)) => c,
            Err(e) => panic!("{e}"),
        }
    }
}
