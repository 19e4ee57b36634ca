//! Portal sessions: the portal that embeds the app vouches for its administrator with a JWT
//! signed HS256 under a secret shared with the portal (`PORTAL_SESSION_SECRET`).
//!
//! Claims: `iss` (the portal), `aud` = [`SESSION_AUDIENCE`], `sub` (the admin's ID in the portal),
//! `acct` (the portal account the admin acts for), `iat`, `exp` (at most one hour after `iat`
//! and after now). Every `/api/*` route except health requires `Authorization: Bearer <token>`
//! and sees only the data of its `acct`. Pure: the caller passes the clock.

use crate::mac::hmac_sha256 as mac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use shared::api::SESSION_AUDIENCE;

/// The longest session a token may grant, in seconds.
pub const MAX_SESSION_SECS: i64 = 3600;

/// Clock difference tolerated between the portal and the edge, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// The window a session's `iat` and `exp` must fall in (an expired session is told apart first).
const LIFETIME: crate::time::Lifetime =
    crate::time::Lifetime { max_lifetime: MAX_SESSION_SECS, skew: CLOCK_SKEW_SECS, grace: CLOCK_SKEW_SECS };

/// The shortest secret accepted, in bytes (HS256 wants at least the hash's size).
pub const MIN_SECRET_BYTES: usize = 32;

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The portal account (`acct`): the owner of every object this session touches.
    pub account: String,
    /// The administrator (`sub`).
    pub admin: String,
    /// When the session ends, Unix seconds.
    pub expires_at: i64,
}

/// Why a token was refused. The variants are for logs and tests; the client always gets the same
/// 401 body, so that a caller learns nothing about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not three base64url parts of JSON.
    Malformed,
    /// `alg` is not HS256.
    WrongAlgorithm,
    /// The signature does not verify.
    BadSignature,
    /// `aud` is not ours.
    WrongAudience,
    /// `exp` is past.
    Expired,
    /// `iat` is in the future, or `exp` is too far ahead.
    BadLifetime,
    /// `iss`, `sub` or `acct` missing or empty, or `iss` not the configured portal.
    BadClaims,
    /// The server has no usable secret configured.
    NotConfigured,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// The claims of a portal session token (also used to mint dev tokens).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The portal that issued the token.
    pub iss: String,
    /// Must be [`SESSION_AUDIENCE`].
    pub aud: String,
    /// The admin's ID in the portal.
    pub sub: String,
    /// The portal account.
    pub acct: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, SessionError> {
    let value = header.ok_or(SessionError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(SessionError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(SessionError::Malformed);
    }
    Ok(token.trim())
}

/// Verifies `token` with `secret` at `now` (Unix seconds). `issuer`, when set, must equal `iss`.
pub fn verify(token: &str, secret: &[u8], issuer: Option<&str>, now: i64) -> Result<Session, SessionError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SessionError::NotConfigured);
    }
    if token.len() > 4096 {
        return Err(SessionError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(SessionError::Malformed);
    };
    let header: Header = decode_json(h)?;
    if header.alg != "HS256" {
        return Err(SessionError::WrongAlgorithm);
    }
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| SessionError::Malformed)?;
    let mut m = mac(secret);
    m.update(h.as_bytes());
    m.update(b".");
    m.update(c.as_bytes());
    m.verify_slice(&signature).map_err(|_| SessionError::BadSignature)?;

    let claims: Claims = decode_json(c)?;
    if claims.aud != SESSION_AUDIENCE {
        return Err(SessionError::WrongAudience);
    }
    if claims.exp <= now.saturating_sub(CLOCK_SKEW_SECS) {
        return Err(SessionError::Expired);
    }
    if !LIFETIME.accepts(claims.iat, claims.exp, now) {
        return Err(SessionError::BadLifetime);
    }
    let valid_id = |s: &str| !s.trim().is_empty() && s.len() <= 256 && !s.chars().any(char::is_control);
    if !valid_id(&claims.iss) || !valid_id(&claims.sub) || !valid_id(&claims.acct) {
        return Err(SessionError::BadClaims);
    }
    if issuer.is_some_and(|want| want != claims.iss) {
        return Err(SessionError::BadClaims);
    }
    Ok(Session { account: claims.acct, admin: claims.sub, expires_at: claims.exp })
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, SessionError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| SessionError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| SessionError::Malformed)
}

/// Signs `claims` as an HS256 JWT: what a portal does. Used by `make dev` and the tests.
pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut m = mac(secret);
    m.update(header.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{header}.{body}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";
    const NOW: i64 = 1_800_000_000;

    fn claims() -> Claims {
        Claims {
            iss: "https://portal.example".into(),
            aud: SESSION_AUDIENCE.into(),
            sub: "admin-7".into(),
            acct: "acct-42".into(),
            iat: NOW,
            exp: NOW + 1800,
        }
    }

    #[test]
    fn a_portal_token_is_accepted() {
        let s = verify(&sign(&claims(), SECRET), SECRET, Some("https://portal.example"), NOW + 10).unwrap();
        assert_eq!(s, Session { account: "acct-42".into(), admin: "admin-7".into(), expires_at: NOW + 1800 });
    }

    #[test]
    fn refusals() {
        let good = sign(&claims(), SECRET);
        let with = |f: &dyn Fn(&mut Claims)| {
            let mut c = claims();
            f(&mut c);
            sign(&c, SECRET)
        };
        let cases: Vec<(String, SessionError)> = vec![
            (sign(&claims(), b"another-secret-another-secret-xx"), SessionError::BadSignature),
            (format!("{good}x"), SessionError::BadSignature),
            (good.replacen('.', "", 1), SessionError::Malformed),
            ("a.b.c.d".into(), SessionError::Malformed),
            (with(&|c| c.aud = "other-app".into()), SessionError::WrongAudience),
            (with(&|c| c.exp = NOW - 120), SessionError::Expired),
            (with(&|c| c.exp = NOW + 7200), SessionError::BadLifetime),
            (with(&|c| c.iat = NOW + 600), SessionError::BadLifetime),
            // Claims at the edges of i64: no subtraction may wrap into a short lifetime.
            (with(&|c| c.iat = i64::MIN), SessionError::BadLifetime),
            (with(&|c| (c.iat, c.exp) = (-2, i64::MAX)), SessionError::BadLifetime),
            (with(&|c| (c.iat, c.exp) = (i64::MIN, i64::MAX)), SessionError::BadLifetime),
            (with(&|c| (c.iat, c.exp) = (i64::MAX - 1, i64::MAX)), SessionError::BadLifetime),
            (with(&|c| (c.iat, c.exp) = (i64::MIN, i64::MIN)), SessionError::Expired),
            (with(&|c| c.acct = " ".into()), SessionError::BadClaims),
            (with(&|c| c.iss = "https://evil.example".into()), SessionError::BadClaims),
        ];
        for (token, want) in cases {
            assert_eq!(verify(&token, SECRET, Some("https://portal.example"), NOW), Err(want), "{token}");
        }
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let good = sign(&claims(), SECRET);
        let parts: Vec<&str> = good.split('.').collect();
        let mut c = claims();
        c.acct = "someone-else".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let forged = format!("{}.{}.{}", parts[0], forged_body, parts[2]);
        assert_eq!(verify(&forged, SECRET, None, NOW), Err(SessionError::BadSignature));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        for alg in ["none", "RS256", "HS512"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
            assert_eq!(verify(&format!("{header}.{body}."), SECRET, None, NOW), Err(SessionError::WrongAlgorithm));
        }
    }

    #[test]
    fn a_short_server_secret_is_a_configuration_error() {
        assert_eq!(verify(&sign(&claims(), b"short"), b"short", None, NOW), Err(SessionError::NotConfigured));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(None), Err(SessionError::Missing));
        assert_eq!(bearer(Some("Basic abc")), Err(SessionError::Malformed));
        assert_eq!(bearer(Some("Bearer ")), Err(SessionError::Malformed));
    }
}
