//! The real product stack: the built worker and assets served by `wrangler dev` (workerd, local
//! D1 and Durable Objects) on a free port, with a fresh state folder per test.

use crate::process::{wait_for, Guarded};
use crate::{free_port, repo_root};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A running `wrangler dev` with migrations applied to its own fresh local D1.
pub struct Stack {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The portal session secret this stack was started with.
    pub session_secret: String,
    /// The worker's `ENCRYPTION_KEYS` (a test may open what the worker sealed, to use it as the
    /// vendor's backup engine would).
    pub encryption_keys: String,
    /// How long the first request the Worker answered took (its cold start: the Worker is loaded
    /// for it), in milliseconds.
    pub first_answer_ms: u128,
    process: Guarded,
    _state: tempfile::TempDir,
    port: u16,
    vars: Vec<(String, String)>,
    persist: PathBuf,
}

/// Starts `wrangler dev` and waits until it answers health; with the time the answering request
/// took. `Err` holds the process when it exited before answering (its log says why).
fn spawn_wrangler(
    dir: &std::path::Path,
    persist: &std::path::Path,
    port: u16,
    vars: &[(String, String)],
) -> Result<(Guarded, u128), Guarded> {
    let mut cmd = wrangler_command(dir);
    cmd.args(["dev", "--config", "edge/wrangler.toml", "--local", "--ip", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .arg("--persist-to")
        .arg(persist)
        .arg("--show-interactive-dev-session=false")
        .arg("--test-scheduled");
    // Only the variables given here: a developer's edge/.dev.vars (written by `make dev`) must not
    // reach the tests. An explicit, empty env file takes the place of .dev.vars.
    let no_dev_vars = dir.join("no-dev-vars.env");
    let _ = std::fs::write(&no_dev_vars, "");
    cmd.arg("--env-file").arg(&no_dev_vars);
    for (k, v) in vars {
        cmd.arg("--var").arg(format!("{k}:{v}"));
    }
    let mut process =
        Guarded::spawn("wrangler dev", cmd, &dir.join(format!("wrangler-{}.log", crate::portal::unix_now())));
    let health = format!("http://127.0.0.1:{port}{}", shared::endpoints::HEALTH.path());
    let mut took = 0;
    let answered = wait_for("wrangler dev to answer /api/health", Duration::from_secs(60), || {
        if process.has_exited() {
            return Some(false);
        }
        let sent = std::time::Instant::now();
        let resp = ureq::get(&health).timeout(Duration::from_secs(10)).call().ok()?;
        took = sent.elapsed().as_millis();
        let body: shared::api::HealthResponse = resp.into_json().ok()?;
        (body.service == shared::api::SERVICE_NAME).then_some(true)
    });
    if answered {
        Ok((process, took))
    } else {
        Err(process)
    }
}

fn exited_early(process: Guarded) -> ! {
    panic!("wrangler dev exited early. Its output:\n{}", process.log_text())
}

fn wrangler() -> PathBuf {
    let bin = repo_root().join("node_modules/.bin/wrangler");
    assert!(bin.exists(), "wrangler is not installed at {}: run `make setup`", bin.display());
    bin
}

fn wrangler_command(state: &std::path::Path) -> Command {
    let root = repo_root();
    let mut cmd = Command::new(wrangler());
    cmd.current_dir(&root)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("XDG_CONFIG_HOME", state.join("xdg-config"))
        .env("WRANGLER_LOG_PATH", state.join("wrangler-logs"))
        .env("NO_COLOR", "1");
    cmd
}

impl Stack {
    /// Starts the stack without Microsoft settings.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the stack with extra worker variables (`--var`), and `DEV_SESSION_IN_URL=1` as in
    /// `make dev` (the tests open the app top-level at `/#token=...`). Panics with a clear message
    /// if the build outputs are missing.
    pub fn start_with(vars: &[(String, String)]) -> Self {
        let mut vars = vars.to_vec();
        if !vars.iter().any(|(k, _)| k == "DEV_SESSION_IN_URL") {
            vars.push(("DEV_SESSION_IN_URL".to_owned(), "1".to_owned()));
        }
        Self::start_without_dev_session(&vars)
    }

    /// Starts the stack with extra worker variables but without `DEV_SESSION_IN_URL`, as deployed:
    /// the app takes no session from `#token=`, only from a portal's message.
    pub fn start_without_dev_session(vars: &[(String, String)]) -> Self {
        let root = repo_root();
        for (path, what) in [("edge/build/worker/shim.mjs", "the worker"), ("frontend/dist/index.html", "the frontend")]
        {
            assert!(root.join(path).exists(), "{what} is not built ({path} is missing): run `make build` first");
        }
        let state = tempfile::Builder::new().prefix("m365-stack-").tempdir().expect("temp dir");
        let persist = state.path().join("wrangler-state");

        let status = wrangler_command(state.path())
            .args(["d1", "migrations", "apply", "DB", "--local", "--config", "edge/wrangler.toml", "--persist-to"])
            .arg(&persist)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running wrangler d1 migrations apply");
        assert!(
            status.status.success(),
            "applying D1 migrations failed:\n{}{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        );

        let session_secret = crate::portal::random_secret();
        let mut vars = vars.to_vec();
        vars.push(("PORTAL_SESSION_SECRET".to_owned(), session_secret.clone()));
        let encryption_keys = format!("test1:{}", crate::portal::random_key_b64());
        vars.push(("ENCRYPTION_KEYS".to_owned(), encryption_keys.clone()));
        let mut attempts = 0;
        let (port, (process, first_answer_ms)) = loop {
            let port = free_port();
            match spawn_wrangler(state.path(), &persist, port, &vars) {
                Ok(started) => break (port, started),
                // Another process (tests run in parallel) bound the free port, or the inspector's,
                // between choosing it and wrangler binding it: choose again.
                Err(process) if attempts < 2 && process.log_text().contains("Address already in use") => attempts += 1,
                Err(process) => exited_early(process),
            }
        };
        let base_url = format!("http://127.0.0.1:{port}");
        Self { base_url, session_secret, encryption_keys, first_answer_ms, process, _state: state, port, vars, persist }
    }

    /// Stops the worker (SIGTERM to its process group, as a deploy or a crash would) and starts it
    /// again on the same port with the same local D1 and Durable Object state.
    pub fn restart(&mut self) {
        let dir = self._state.path().to_path_buf();
        // Replacing the guard drops (and stops) the old process group first.
        self.process = Guarded::spawn("placeholder", Command::new("true"), &dir.join("placeholder.log"));
        (self.process, self.first_answer_ms) =
            spawn_wrangler(&dir, &self.persist, self.port, &self.vars).unwrap_or_else(|p| exited_early(p));
    }

    /// The local state folder (D1 and Durable Objects), for tests that inspect what is stored.
    pub fn persist_dir(&self) -> &std::path::Path {
        &self.persist
    }

    /// Every file of the local state whose path `keep` accepts, concatenated (to look for secrets in
    /// the clear in what the runtime stored).
    pub fn stored_bytes(&self, keep: impl Fn(&std::path::Path) -> bool) -> Vec<u8> {
        let mut out = vec![];
        let mut dirs = vec![self.persist.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if keep(&p) {
                    out.extend(std::fs::read(&p).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Runs `sql` with Python's sqlite3 on every local D1 file of this stack that has a `signins`
    /// table; returns what the last statement selected, one row per line, columns joined by `|`.
    pub fn local_d1(&self, sql: &str) -> String {
        let script = r#"
import pathlib, sqlite3, sys
out = []
for p in pathlib.Path(sys.argv[1]).rglob("*.sqlite"):
    db = sqlite3.connect(p)
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'signins'").fetchone():
        rows = []
        for stmt in sys.argv[2].split(";"):
            rows = db.execute(stmt).fetchall()
        db.commit()
        out += ["|".join(map(str, r)) for r in rows]
    db.close()
print("\n".join(out))
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(self.persist_dir())
            .arg(sql)
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What `wrangler dev` printed so far (for failure messages and log scans).
    pub fn log(&self) -> String {
        self.process.log_text()
    }

    /// A portal session token for `account` (admin `admin-of-{account}`), valid for 30 minutes.
    pub fn token(&self, account: &str) -> String {
        crate::portal::token(&self.session_secret, account, 1800)
    }

    /// The absolute URL of `path` on this stack.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}
