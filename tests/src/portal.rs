//! What a portal does: mint session tokens for its admins (HS256, the edge's own signer), and call
//! the API with them.

use std::time::{SystemTime, UNIX_EPOCH};

/// A random 48-character secret.
pub fn random_secret() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).expect("randomness");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A random AES-256 key, base64.
pub fn random_key_b64() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("randomness");
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A session token for `account`, valid for `secs`.
pub fn token(secret: &str, account: &str, secs: i64) -> String {
    let now = unix_now();
    token_with(secret, |c| {
        c.acct = account.to_owned();
        c.sub = format!("admin-of-{account}");
        c.iat = now;
        c.exp = now + secs;
    })
}

/// A session token with claims changed by `edit` (for refusal tests).
pub fn token_with(secret: &str, edit: impl FnOnce(&mut edge::session::Claims)) -> String {
    let now = unix_now();
    let mut claims = edge::session::Claims {
        iss: "https://portal.test".into(),
        aud: shared::api::SESSION_AUDIENCE.into(),
        sub: "admin".into(),
        acct: "acct".into(),
        iat: now,
        exp: now + 1800,
    };
    edit(&mut claims);
    edge::session::sign(&claims, secret.as_bytes())
}

/// An API client for one session.
pub struct Api {
    base: String,
    token: String,
}

/// An API answer: status and JSON body.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Parsed body (`Null` when empty or not JSON).
    pub body: serde_json::Value,
    /// The raw body text (for leak scans).
    pub text: String,
}

/// Repeats `call` until it is refused by a rate limit, and answers the refusal. Asserts that the
/// calls accepted before it number within `accepted` (a limiter counting in fixed windows lets a
/// second window's worth through when the run crosses into it) and that the refusal is a 429 with
/// error `code`.
pub fn until_rate_limited(
    mut call: impl FnMut() -> Answer,
    accepted: std::ops::RangeInclusive<u32>,
    code: &str,
) -> Answer {
    let mut answered = 0;
    let limited = loop {
        let r = call();
        if r.status != 200 {
            break r;
        }
        answered += 1;
        assert!(answered <= *accepted.end(), "no limit after {answered} calls");
    };
    assert!(answered >= *accepted.start(), "limited after {answered} calls");
    assert_eq!((limited.status, limited.body["error"]["code"].as_str()), (429, Some(code)), "{}", limited.text);
    limited
}

impl Api {
    /// A client of `base` with session `token`.
    pub fn new(base: &str, token: &str) -> Self {
        Self { base: base.to_owned(), token: token.to_owned() }
    }

    fn finish(r: Result<ureq::Response, ureq::Error>) -> Answer {
        let resp = match r {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap_or_default();
        Answer { status, body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), text }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Answer {
        Self::finish(
            ureq::get(&format!("{}{path}", self.base)).set("authorization", &format!("Bearer {}", self.token)).call(),
        )
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: serde_json::Value) -> Answer {
        Self::finish(
            ureq::post(&format!("{}{path}", self.base))
                .set("authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Answer {
        Self::finish(
            ureq::delete(&format!("{}{path}", self.base))
                .set("authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    /// `DELETE path` with a JSON body.
    pub fn delete_json(&self, path: &str, body: serde_json::Value) -> Answer {
        Self::finish(
            ureq::delete(&format!("{}{path}", self.base))
                .set("authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )
    }

    /// Reads sign-in `id`'s status until `done` holds (failing with the last status after `limit`);
    /// every status is a 200 that carries neither a device code nor a token.
    pub fn wait_status(
        &self,
        id: &str,
        limit: std::time::Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let a = self.get(&format!("/api/signins/{id}"));
            assert_eq!(a.status, 200, "{}", a.text);
            assert!(!a.text.contains("\"device_code\":") && !a.text.contains("access_token"), "{}", a.text);
            if done(&a.body) {
                return a.body;
            }
            assert!(std::time::Instant::now() < deadline, "timed out; last status {}", a.text);
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// `DELETE /api/organizations/{id}` with `body` and the organization's version as this
    /// account sees it now (1 when it sees none), as the app's delete dialog sends it.
    pub fn delete_organization(&self, id: &str, mut body: serde_json::Value) -> Answer {
        let path = format!("/api/organizations/{id}");
        let shown = self.get(&path);
        body["version"] = shown.body.get("version").cloned().unwrap_or(serde_json::json!(1));
        self.delete_json(&path, body)
    }

    /// `PATCH path` with a JSON body.
    pub fn patch(&self, path: &str, body: serde_json::Value) -> Answer {
        Self::finish(
            ureq::request("PATCH", &format!("{}{path}", self.base))
                .set("authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )
    }
}

/// What the portal's page asks its own backend for: a fresh session token (`POST /session-token`,
/// the demo portal's `getToken()`), minted for one account with one lifetime.
struct Minter {
    secret: String,
    account: String,
    lifetime: i64,
}

#[derive(Default)]
struct PortalState {
    page: String,
    minter: Option<Minter>,
    minted: Vec<String>,
    asked: usize,
}

/// `GET /forger`: posts the app's `ready` and a made-up event to its parent, from the portal's origin.
/// Its title is set after the messages are posted.
const FORGER: &str = "<!doctype html><script>\
parent.postMessage({type: 'm365-onboarding:ready'}, '*');\
parent.postMessage({type: 'm365-onboarding:organization-added', id: 'forged-by-another-origin'}, '*');\
document.title = 'forger';\
</script>";

/// A tiny HTTP server standing for a portal on http://localhost:PORT/: `GET /` (any path) is its
/// page, set once the app's URL exists; `POST /session-token` answers `{"token": ...}` as a
/// portal's backend would, once a minter is set; `GET /forger` is a page that forges the app's
/// messages.
#[derive(Clone)]
pub struct PortalServer {
    /// `http://localhost:PORT`.
    pub origin: String,
    state: std::sync::Arc<std::sync::Mutex<PortalState>>,
}

impl PortalServer {
    /// Starts the server.
    pub fn start() -> PortalServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(std::sync::Mutex::new(PortalState::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let (status, kind, body) = if request.starts_with("POST /session-token ") {
                    let mut s = shared.lock().unwrap();
                    s.asked += 1;
                    match &s.minter {
                        Some(m) => {
                            let t = token(&m.secret, &m.account, m.lifetime);
                            s.minted.push(t.clone());
                            ("200 OK", "application/json", serde_json::json!({ "token": t }).to_string())
                        }
                        None => ("503 Service Unavailable", "text/plain", "the portal's backend is down".into()),
                    }
                } else if request.starts_with("GET /forger ") {
                    // A page of the portal's origin that forges the app's messages to its parent.
                    ("200 OK", "text/html; charset=utf-8", FORGER.to_owned())
                } else {
                    ("200 OK", "text/html; charset=utf-8", shared.lock().unwrap().page.clone())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            }
        });
        PortalServer { origin: format!("http://localhost:{port}"), state }
    }

    /// Serves `html` as the page.
    pub fn set_page(&self, html: String) {
        self.state.lock().unwrap().page = html;
    }

    /// Mints the page's tokens for `account` with `stack`'s secret, each valid for `lifetime` seconds.
    pub fn mint(&self, stack: &crate::stack::Stack, account: &str, lifetime: i64) {
        self.state.lock().unwrap().minter =
            Some(Minter { secret: stack.session_secret.clone(), account: account.to_owned(), lifetime });
    }

    /// Mints the next tokens for `account` (the secret and lifetime stay).
    pub fn mint_for(&self, account: &str) {
        if let Some(m) = self.state.lock().unwrap().minter.as_mut() {
            m.account = account.to_owned();
        }
    }

    /// Stops minting: `POST /session-token` answers 503 with a text body, as a portal backend that is
    /// down (the demo page's `getToken()` then rejects).
    pub fn stop_minting(&self) {
        self.state.lock().unwrap().minter = None;
    }

    /// How many times the page asked for a token (answered or not).
    pub fn asked(&self) -> usize {
        self.state.lock().unwrap().asked
    }

    /// The tokens handed out so far.
    pub fn minted(&self) -> Vec<String> {
        self.state.lock().unwrap().minted.clone()
    }

    /// Serves the demo portal's page (tests/portal/demo-portal.html) for the app at `stack`.
    pub fn serve_demo(&self, stack: &crate::stack::Stack) {
        self.set_page(page("tests/portal/demo-portal.html", stack));
    }
}

/// The portal page at `path` (in the repository) for the app at `stack`: `{{APP_URL}}` and
/// `{{EMBED_INTEGRITY}}` (the built embed script's Subresource Integrity hash) filled in.
pub fn page(path: &str, stack: &crate::stack::Stack) -> String {
    let template = std::fs::read_to_string(crate::repo_root().join(path)).unwrap();
    template.replace("{{APP_URL}}", &stack.url("/")).replace("{{EMBED_INTEGRITY}}", &embed_integrity())
}

/// The Subresource Integrity value of the built /embed/v1.js (`sha384-...`).
pub fn embed_integrity() -> String {
    let script = std::fs::read(crate::repo_root().join("frontend/dist/embed/v1.js"))
        .expect("frontend/dist/embed/v1.js: build the frontend first (scripts/build.sh)");
    integrity(&script)
}

/// The Subresource Integrity value of `file` (`sha384-<base64>`).
pub fn integrity(file: &[u8]) -> String {
    use base64::Engine as _;
    let digest = ring::digest::digest(&ring::digest::SHA384, file);
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
}

/// The iframe the embed library creates inside the demo portal's `#app`.
pub const FRAME: &str = "#app iframe";

/// The demo portal (tests/portal/demo-portal.html), minting sessions for `account`, and a stack
/// with `vars` that trusts it: (the portal, the stack).
pub async fn trusted_portal(account: &str, vars: Vec<(String, String)>) -> (PortalServer, crate::stack::Stack) {
    let portal = PortalServer::start();
    let mut vars = vars;
    vars.push(("PORTAL_ORIGINS".to_owned(), portal.origin.clone()));
    let stack = tokio::task::spawn_blocking(move || crate::stack::Stack::start_with(&vars)).await.unwrap();
    portal.serve_demo(&stack);
    portal.mint(&stack, account, 1800);
    (portal, stack)
}

/// The demo portal's page (the test is on it, or inside the app's frame) gives the app a session
/// for `account` with `locale`, through the embed library; the test is then inside the app's frame.
pub async fn send_session(c: &fantoccini::Client, portal: &PortalServer, account: &str, locale: &str) {
    c.enter_parent_frame().await.unwrap();
    portal.mint_for(account);
    c.execute("onboarding.setLocale(arguments[0]); onboarding.renew()", vec![locale.into()]).await.unwrap();
    let frame = c
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css(FRAME))
        .await
        .unwrap();
    frame.enter_frame().await.unwrap();
}
