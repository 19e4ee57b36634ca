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

/// A tiny HTTP server for the portal page on http://localhost:PORT/; the page is set later, once the
/// app's URL and a token exist.
pub fn portal_server() -> (u16, std::sync::Arc<std::sync::Mutex<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let page = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shared = page.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let html = shared.lock().unwrap().clone();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                html.len()
            );
            let _ = std::io::Write::write_all(&mut stream, head.as_bytes());
            let _ = std::io::Write::write_all(&mut stream, html.as_bytes());
        }
    });
    (port, page)
}

/// The demo portal (tests/portal/demo-portal.html), serving its page with a session for `account`,
/// and a stack with `vars` that trusts it: (the portal's origin, the stack).
pub async fn trusted_portal(account: &str, vars: Vec<(String, String)>) -> (String, crate::stack::Stack) {
    let (portal_port, page) = portal_server();
    let portal_origin = format!("http://localhost:{portal_port}");
    let mut vars = vars;
    vars.push(("PORTAL_ORIGINS".to_owned(), portal_origin.clone()));
    let stack = tokio::task::spawn_blocking(move || crate::stack::Stack::start_with(&vars)).await.unwrap();
    let template = std::fs::read_to_string(crate::repo_root().join("tests/portal/demo-portal.html")).unwrap();
    *page.lock().unwrap() =
        template.replace("{{APP_URL}}", &stack.url("/")).replace("{{TOKEN}}", &stack.token(account));
    (portal_origin, stack)
}

/// The demo portal's page (the test is on it, or inside the app's frame) sends the app a session
/// for `account` with `locale`, as a portal does; the test is then inside the app's frame.
pub async fn send_session(c: &fantoccini::Client, stack: &crate::stack::Stack, account: &str, locale: &str) {
    c.enter_parent_frame().await.unwrap();
    c.execute(
        "document.getElementById('app').contentWindow.postMessage({type: 'm365-onboarding:session', token: arguments[0], locale: arguments[2]}, new URL(arguments[1]).origin)",
        vec![stack.token(account).into(), stack.url("/").into(), locale.into()],
    )
    .await
    .unwrap();
    let frame = c
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css("#app"))
        .await
        .unwrap();
    frame.enter_frame().await.unwrap();
}
