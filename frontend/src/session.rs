//! The portal session token, held in memory only (never in storage or cookies).
//!
//! Inside the portal's iframe the token arrives by `postMessage` ([`crate::embed`]). Only in local
//! development (`make dev`, and the whole-system tests) may it come from the URL fragment
//! (`#token=...`): the edge says so in `GET /api/health` (`dev_session_in_url`, true only for a
//! loopback request with `DEV_SESSION_IN_URL=1`). Otherwise a link with a token in it would let
//! whoever made the link sign the victim into the link maker's account. The fragment is removed
//! from the address bar at once in every case, so that it does not linger in history.
//! [`session_source`] makes the decision; it is plain Rust, tested natively.

use std::cell::RefCell;

thread_local! {
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether the edge refused the current token (401) since it arrived.
    static REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The edge refused the current token: the next session is never a mere renewal.
pub fn refused() {
    REFUSED.with(|r| r.set(true));
}

/// Whether the edge refused the current token since it arrived.
pub fn was_refused() -> bool {
    REFUSED.with(|r| r.get())
}

/// The current token, if any.
pub fn token() -> Option<String> {
    TOKEN.with(|t| t.borrow().clone())
}

/// Replaces the token.
pub fn set_token(token: Option<String>) {
    TOKEN.with(|t| *t.borrow_mut() = token);
    REFUSED.with(|r| r.set(false));
}

/// Extracts `token=...` from a URL fragment (`#token=abc&x=y`). Pure, tested natively.
pub fn token_from_fragment(fragment: &str) -> Option<String> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .filter(|t| {
            !t.is_empty() && t.len() < 4096 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
}

/// Whom a session token speaks for: its issuer, administrator and portal account. Read from the
/// token's payload without verifying it (the edge verifies every request): it only tells a renewal
/// from a new session.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Holder {
    /// The portal.
    #[serde(default)]
    pub iss: Option<String>,
    /// The administrator.
    #[serde(default)]
    pub sub: Option<String>,
    /// The portal account.
    #[serde(default)]
    pub acct: Option<String>,
}

/// A token's payload as JSON text (its second base64url part). Pure.
pub fn payload_json(token: &str) -> Option<String> {
    use base64::Engine as _;
    let part = token.split('.').nth(1)?.trim_end_matches('=');
    String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// Whether a session for `next` renews the one for `previous`: the same administrator of the same
/// account, so the app keeps what it shows instead of reading it again. Unreadable payloads are
/// never a renewal, and neither is a session after the edge `refused` the previous token: what
/// failed with it is read again.
pub fn is_renewal(previous: Option<&Holder>, next: Option<&Holder>, refused: bool) -> bool {
    !refused && matches!((previous, next), (Some(a), Some(b)) if a == b && a.sub.is_some() && a.acct.is_some())
}

/// Where the app's session comes from, decided once `GET /api/health` has answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSource {
    /// Local development: the token from the address bar's fragment.
    Fragment(String),
    /// Inside the portal's iframe: the portal sends the session by `postMessage`.
    Portal,
    /// Opened on its own (top-level) without a session it may use: the app shows "Open this from
    /// your backup portal" and calls nothing that needs a session.
    OpenFromPortal,
}

/// Decides where the session comes from. `fragment_token`: the token found in `#token=` (already
/// removed from the address bar); `dev_allowed`: the edge's `dev_session_in_url`; `top_level`: the
/// page is not inside a frame. The fragment counts only in development; outside it, a page opened
/// top-level gets no session at all (the portal's iframe is the only way in).
pub fn session_source(fragment_token: Option<String>, dev_allowed: bool, top_level: bool) -> SessionSource {
    match fragment_token {
        Some(token) if dev_allowed => SessionSource::Fragment(token),
        _ if top_level => SessionSource::OpenFromPortal,
        _ => SessionSource::Portal,
    }
}

/// The decision when it does not depend on the edge's answer (no token in the fragment): made at
/// once, so that the app inside the portal does not wait for `GET /api/health`. `None`: wait for
/// health, then call [`session_source`].
pub fn session_source_now(fragment_token: Option<&str>, top_level: bool) -> Option<SessionSource> {
    fragment_token.is_none().then(|| session_source(None, false, top_level))
}

/// Removes the fragment from the address bar (whatever it holds: the app uses none) and returns
/// the token it carried, if any. The token is not used here: see [`session_source`].
pub fn take_fragment_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let hash = location.hash().ok().filter(|h| !h.is_empty() && h != "#")?;
    let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
    }
    token_from_fragment(&hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(token: &str) -> Option<Holder> {
        payload_json(token).and_then(|j| serde_json::from_str(&j).ok())
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.c2ln", b(r#"{"alg":"HS256"}"#), b(payload))
    }

    #[test]
    fn a_new_token_for_the_same_administrator_and_account_is_a_renewal() {
        let first = holder(&jwt(r#"{"iss":"p","sub":"ann","acct":"a1","iat":1,"exp":900}"#));
        let renewed = holder(&jwt(r#"{"iss":"p","sub":"ann","acct":"a1","iat":800,"exp":1700}"#));
        assert_eq!(first.as_ref().and_then(|h| h.acct.as_deref()), Some("a1"));
        assert!(is_renewal(first.as_ref(), renewed.as_ref(), false));
        assert!(!is_renewal(first.as_ref(), renewed.as_ref(), true), "the edge refused the last token");
        for other in [
            r#"{"iss":"p","sub":"bob","acct":"a1","exp":900}"#,
            r#"{"iss":"p","sub":"ann","acct":"a2","exp":900}"#,
            r#"{"iss":"q","sub":"ann","acct":"a1","exp":900}"#,
        ] {
            assert!(!is_renewal(first.as_ref(), holder(&jwt(other)).as_ref(), false), "{other}");
        }
        assert!(!is_renewal(None, first.as_ref(), false), "the first session");
        assert!(!is_renewal(first.as_ref(), holder("a.%%%.c").as_ref(), false), "an unreadable payload");
        let empty = holder(&jwt("{}"));
        assert!(!is_renewal(empty.as_ref(), empty.as_ref(), false), "no administrator or account to compare");
        assert_eq!(payload_json("x.e30=.y").as_deref(), Some("{}"), "a padded payload");
    }

    #[test]
    fn fragment_parsing() {
        assert_eq!(token_from_fragment("#token=abc.def-_g"), Some("abc.def-_g".into()));
        assert_eq!(token_from_fragment("#x=1&token=t"), Some("t".into()));
        assert_eq!(token_from_fragment("#token="), None);
        assert_eq!(token_from_fragment("#token=<script>"), None);
        assert_eq!(token_from_fragment(""), None);
    }

    fn t() -> Option<String> {
        Some("a.b.c".into())
    }

    #[test]
    fn the_fragment_token_is_used_only_in_development() {
        assert_eq!(session_source(t(), true, true), SessionSource::Fragment("a.b.c".into()));
        // Development inside a frame (the demo portal may still hand a session over by message,
        // but an explicit fragment wins: that is what the developer opened).
        assert_eq!(session_source(t(), true, false), SessionSource::Fragment("a.b.c".into()));
    }

    #[test]
    fn outside_development_a_link_with_a_token_signs_nobody_in() {
        // The attack: a link to the real app with the attacker's token, opened top-level.
        assert_eq!(session_source(t(), false, true), SessionSource::OpenFromPortal);
        // The same link framed by a page: the fragment is ignored; only an allowed portal's
        // message can bring a session.
        assert_eq!(session_source(t(), false, false), SessionSource::Portal);
    }

    #[test]
    fn only_a_fragment_token_waits_for_the_edge() {
        assert_eq!(session_source_now(None, false), Some(SessionSource::Portal));
        assert_eq!(session_source_now(None, true), Some(SessionSource::OpenFromPortal));
        assert_eq!(session_source_now(Some("a.b.c"), true), None);
        assert_eq!(session_source_now(Some("a.b.c"), false), None);
    }

    #[test]
    fn without_a_fragment_the_portal_is_the_only_way_in() {
        assert_eq!(session_source(None, false, false), SessionSource::Portal);
        assert_eq!(session_source(None, true, false), SessionSource::Portal);
        assert_eq!(session_source(None, false, true), SessionSource::OpenFromPortal);
        assert_eq!(session_source(None, true, true), SessionSource::OpenFromPortal);
    }
}
