//! How the backup engine authenticates: a short-lived JWT it signs with its own P-256 key (ES256).
//! The Worker holds only the public keys (`ENGINE_KEYS`), each with a key ID (so keys rotate: list
//! the new one, move the engine to it, remove the old one) and the portal accounts it may act for.
//! Nothing here is a portal session: a session token (HS256, the portal's secret) is not an engine
//! token and the other way round, and every refusal gets the same answer.
//!
//! The token: header `{"alg": "ES256", "kid": "<key ID>"}`; claims `aud` =
//! [`ENGINE_AUDIENCE`], `sub` = the portal account, `iat` and `exp` (Unix seconds, `exp - iat` at
//! most [`MAX_LIFETIME_S`]). The signature is checked by an [`EcVerifier`] (WebCrypto in the
//! Worker), the claims here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use std::future::Future;

pub use shared::engine_token::{ENGINE_AUDIENCE, MAX_LIFETIME_S};
/// How far ahead of the Worker's clock `iat` may be (the engine's clock may run fast), seconds.
pub const CLOCK_SKEW_S: i64 = 60;

/// The window an engine token's `iat` and `exp` must fall in: absolute bounds against the clock,
/// so that no pair of claims, however large, makes a token live longer than [`MAX_LIFETIME_S`].
const LIFETIME: crate::time::Lifetime =
    crate::time::Lifetime { max_lifetime: MAX_LIFETIME_S, skew: CLOCK_SKEW_S, grace: 0 };

/// One engine public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineKey {
    /// Key ID (`kid`).
    pub kid: String,
    /// The P-256 point's x coordinate (32 bytes).
    pub x: Vec<u8>,
    /// Its y coordinate (32 bytes).
    pub y: Vec<u8>,
    /// The portal accounts this key may act for.
    pub accounts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    kid: String,
    kty: String,
    crv: String,
    x: String,
    y: String,
    accounts: Vec<String>,
}

/// Reads `ENGINE_KEYS`: a JSON array of public JWKs with the accounts each may act for,
/// `[{"kid": "engine-1", "kty": "EC", "crv": "P-256", "x": "…", "y": "…", "accounts": ["acct-1"]}]`.
/// The message names what is wrong (the keys are public; nothing secret is quoted).
pub fn parse_keys(json: &str) -> Result<Vec<EngineKey>, String> {
    let raw: Vec<KeyJson> =
        serde_json::from_str(json).map_err(|e| format!("ENGINE_KEYS is not a JSON array of keys: {e}"))?;
    let mut keys: Vec<EngineKey> = vec![];
    for k in raw {
        let kid = k.kid.trim().to_owned();
        if kid.is_empty() || kid.len() > 64 || keys.iter().any(|o| o.kid == kid) {
            return Err(format!("ENGINE_KEYS: key ID {kid:?} is empty, longer than 64 characters or listed twice"));
        }
        if k.kty != "EC" || k.crv != "P-256" {
            return Err(format!("ENGINE_KEYS: key {kid:?} must be an EC P-256 key (ES256)"));
        }
        let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(c).ok().filter(|b| b.len() == 32);
        let (Some(x), Some(y)) = (coordinate(&k.x), coordinate(&k.y)) else {
            return Err(format!("ENGINE_KEYS: key {kid:?} needs x and y, 32 bytes each, base64url"));
        };
        if k.accounts.is_empty() || k.accounts.iter().any(|a| a.trim().is_empty()) {
            return Err(format!("ENGINE_KEYS: key {kid:?} must name the portal accounts it may act for"));
        }
        keys.push(EngineKey { kid, x, y, accounts: k.accounts });
    }
    Ok(keys)
}

/// Checks an ES256 signature with a public key.
pub trait EcVerifier {
    /// Whether `signature` (JWS form: r and s, 32 bytes each) signs `message` for the key `(x, y)`.
    fn verify_es256(&self, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> impl Future<Output = bool>;
}

/// An authenticated engine request: which key signed it and which account it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSession {
    /// The key ID.
    pub kid: String,
    /// The portal account.
    pub account: String,
}

/// Why a token was refused (logged; the answer is the same for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No `Authorization: Bearer` header, or not three parts.
    Missing,
    /// Not ES256, or a header or claims that do not read.
    Malformed,
    /// No key with this ID.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// Another audience.
    Audience,
    /// Expired, from the future, or living longer than allowed.
    Time,
    /// The key may not act for this account.
    Account,
    /// No engine keys are configured.
    NotConfigured,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

#[derive(Deserialize)]
struct Claims {
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
}

/// The source a client address is counted as: an IPv4 address itself, an IPv6 address its /64
/// (one subscriber's network, which a client can roam freely), anything else as one unknown source.
pub fn source_of(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => "unknown".to_owned(),
    }
}

/// The sources (client addresses) whose failed authentications went over their limit, each until
/// its window ends: their requests are refused before any signature is checked. Held in the
/// isolate's memory beside the platform's rate limit (which counts the failures across the
/// network); at most [`SourceGate::CAPACITY`] sources, the oldest block forgotten first.
#[derive(Debug, Default)]
pub struct SourceGate {
    blocked: std::collections::HashMap<String, i64>,
}

impl SourceGate {
    /// The most sources remembered.
    pub const CAPACITY: usize = 4096;

    /// Seconds `source` is still refused at `now` (Unix seconds), if it is.
    pub fn blocked(&self, source: &str, now: i64) -> Option<u64> {
        self.blocked.get(source).filter(|until| now < **until).map(|until| until.saturating_sub(now) as u64)
    }

    /// Refuses `source` until `until` (Unix seconds).
    pub fn block(&mut self, source: &str, until: i64, now: i64) {
        self.blocked.retain(|_, u| now < *u);
        if self.blocked.len() >= Self::CAPACITY {
            if let Some(oldest) = self.blocked.iter().min_by_key(|(_, u)| **u).map(|(k, _)| k.clone()) {
                self.blocked.remove(&oldest);
            }
        }
        self.blocked.insert(source.to_owned(), until);
    }
}

/// Authenticates the `Authorization` header `header` at `now` (Unix seconds).
pub async fn authenticate<V: EcVerifier>(
    header: Option<&str>,
    keys: &[EngineKey],
    verifier: &V,
    now: i64,
) -> Result<EngineSession, Refused> {
    if keys.is_empty() {
        return Err(Refused::NotConfigured);
    }
    let token = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).ok_or(Refused::Missing)?;
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Refused::Missing);
    };
    let read = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Refused::Malformed);
    let header: Header = serde_json::from_slice(&read(h)?).map_err(|_| Refused::Malformed)?;
    if header.alg != "ES256" {
        return Err(Refused::Malformed);
    }
    let key = keys.iter().find(|k| k.kid == header.kid).ok_or(Refused::UnknownKey)?;
    let signature = read(s)?;
    if signature.len() != 64 {
        return Err(Refused::BadSignature);
    }
    let signing_input = &token[..h.len() + 1 + c.len()];
    if !verifier.verify_es256(&key.x, &key.y, signing_input.as_bytes(), &signature).await {
        return Err(Refused::BadSignature);
    }
    // Only a verified token's claims are read.
    let claims: Claims = serde_json::from_slice(&read(c)?).map_err(|_| Refused::Malformed)?;
    if claims.aud != ENGINE_AUDIENCE {
        return Err(Refused::Audience);
    }
    if !LIFETIME.accepts(claims.iat, claims.exp, now) {
        return Err(Refused::Time);
    }
    if !key.accounts.contains(&claims.sub) {
        return Err(Refused::Account);
    }
    Ok(EngineSession { kid: key.kid.clone(), account: claims.sub })
}

/// Test helpers: engine keys and tokens (the common crate's signer), and a verifier over `ring`
/// (native only).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod testing {
    use super::*;
    use ring::signature::ECDSA_P256_SHA256_FIXED;
    use shared::engine_token::EngineSigner;

    /// A P-256 key pair.
    pub struct TestKey(pub EngineSigner);

    impl Default for TestKey {
        fn default() -> Self {
            Self::new()
        }
    }

    impl TestKey {
        /// A new key.
        pub fn new() -> Self {
            TestKey(EngineSigner::generate("test").expect("a key").1)
        }

        /// Its public key as an [`EngineKey`] with ID `kid` for `accounts`.
        pub fn engine_key(&self, kid: &str, accounts: &[&str]) -> EngineKey {
            let (x, y) = self.0.public_point();
            EngineKey {
                kid: kid.into(),
                x: x.to_vec(),
                y: y.to_vec(),
                accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
            }
        }

        /// A token with `header` and `claims`, signed.
        pub fn sign(&self, header: serde_json::Value, claims: serde_json::Value) -> String {
            self.0.sign(&header, &claims)
        }

        /// A valid token of key `kid` for `account` issued at `now`.
        pub fn token(&self, kid: &str, account: &str, now: i64) -> String {
            self.sign(
                serde_json::json!({"alg": "ES256", "kid": kid, "typ": "JWT"}),
                serde_json::json!({"aud": ENGINE_AUDIENCE, "sub": account, "iat": now, "exp": now + 120}),
            )
        }
    }

    /// Verifies with `ring`.
    pub struct RingVerifier;

    impl EcVerifier for RingVerifier {
        async fn verify_es256(&self, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> bool {
            let mut point = vec![4u8];
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::testing::*;
    use super::*;
    use futures_executor::block_on;
    use serde_json::json;

    const NOW: i64 = 1_796_000_000;

    fn auth(token: &str, keys: &[EngineKey]) -> Result<EngineSession, Refused> {
        block_on(authenticate(Some(&format!("Bearer {token}")), keys, &RingVerifier, NOW))
    }

    #[test]
    fn a_token_of_a_listed_key_for_one_of_its_accounts_is_accepted() {
        let key = TestKey::new();
        let keys = vec![key.engine_key("engine-1", &["acct-1", "acct-2"])];
        let s = auth(&key.token("engine-1", "acct-2", NOW), &keys).unwrap();
        assert_eq!(s, EngineSession { kid: "engine-1".into(), account: "acct-2".into() });
    }

    #[test]
    fn every_other_token_is_refused() {
        let key = TestKey::new();
        let other = TestKey::new();
        let keys = vec![key.engine_key("engine-1", &["acct-1"]), other.engine_key("engine-2", &["acct-9"])];
        let claims =
            |sub: &str, iat: i64, exp: i64| json!({"aud": ENGINE_AUDIENCE, "sub": sub, "iat": iat, "exp": exp});
        let header = |kid: &str| json!({"alg": "ES256", "kid": kid});
        let cases: Vec<(String, Refused)> = vec![
            ("".into(), Refused::Missing),
            ("a.b".into(), Refused::Missing),
            (key.sign(json!({"alg": "HS256", "kid": "engine-1"}), claims("acct-1", NOW, NOW + 60)), Refused::Malformed),
            (key.sign(json!({"alg": "none", "kid": "engine-1"}), claims("acct-1", NOW, NOW + 60)), Refused::Malformed),
            (key.sign(header("engine-3"), claims("acct-1", NOW, NOW + 60)), Refused::UnknownKey),
            // Signed by another key than the one its ID names.
            (other.sign(header("engine-1"), claims("acct-1", NOW, NOW + 60)), Refused::BadSignature),
            (
                key.sign(header("engine-1"), json!({"aud": "other", "sub": "acct-1", "iat": NOW, "exp": NOW + 60})),
                Refused::Audience,
            ),
            (key.sign(header("engine-1"), claims("acct-1", NOW - 120, NOW)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", NOW + 120, NOW + 180)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", NOW, NOW + 3600)), Refused::Time),
            // Claims at the edges of i64: a lifetime that would wrap to a negative one, a token
            // issued long ago that expires never, one issued in the far future.
            (key.sign(header("engine-1"), claims("acct-1", -2, i64::MAX)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", i64::MIN, i64::MAX)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", i64::MIN, NOW + 60)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", NOW, i64::MAX)), Refused::Time),
            (key.sign(header("engine-1"), claims("acct-1", i64::MAX - 1, i64::MAX)), Refused::Time),
            // A listed key, but not for this account.
            (key.sign(header("engine-1"), claims("acct-9", NOW, NOW + 60)), Refused::Account),
        ];
        for (token, why) in cases {
            assert_eq!(auth(&token, &keys), Err(why), "{token}");
        }
        // A token whose claims were changed after signing.
        let good = key.token("engine-1", "acct-1", NOW);
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(claims("acct-9", NOW, NOW + 60).to_string());
        assert_eq!(auth(&parts.join("."), &keys), Err(Refused::BadSignature));
        // A portal session token (HS256 with the portal's secret) is not an engine token, and an
        // engine token is not a portal session.
        let secret = b"0123456789abcdef0123456789abcdef-test";
        let claims = crate::session::Claims {
            iss: "https://portal.example".into(),
            aud: shared::api::SESSION_AUDIENCE.into(),
            sub: "admin".into(),
            acct: "acct-1".into(),
            iat: NOW,
            exp: NOW + 600,
        };
        let session = crate::session::sign(&claims, secret);
        assert_eq!(auth(&session, &keys), Err(Refused::Malformed));
        assert!(crate::session::verify(&good, secret, None, NOW).is_err());
        // No keys configured: nothing is accepted.
        assert_eq!(auth(&good, &[]), Err(Refused::NotConfigured));
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        assert_eq!(source_of("198.51.100.7"), "198.51.100.7");
        assert_eq!(source_of("2001:db8:1:2:aaaa::1"), source_of("2001:db8:1:2:bbbb:cccc:dddd:eeee"));
        assert_ne!(source_of("2001:db8:1:2::1"), source_of("2001:db8:1:3::1"));
        assert_eq!(source_of(""), "unknown");
        assert_eq!(source_of("not an address"), "unknown");
    }

    #[test]
    fn a_blocked_source_is_refused_until_its_window_ends_and_the_gate_stays_bounded() {
        let mut gate = SourceGate::default();
        assert_eq!(gate.blocked("198.51.100.7", NOW), None);
        gate.block("198.51.100.7", NOW + 60, NOW);
        assert_eq!(gate.blocked("198.51.100.7", NOW), Some(60));
        assert_eq!(gate.blocked("198.51.100.8", NOW), None, "per source");
        assert_eq!(gate.blocked("198.51.100.7", NOW + 60), None);
        for i in 0..SourceGate::CAPACITY + 10 {
            gate.block(&format!("source-{i}"), NOW + 60 + i as i64, NOW);
        }
        assert!(gate.blocked.len() <= SourceGate::CAPACITY);
        assert!(gate.blocked(&format!("source-{}", SourceGate::CAPACITY + 9), NOW).is_some(), "the newest stays");
        // Times at the edges of i64 do not overflow.
        gate.block("edge", i64::MAX, i64::MIN);
        assert!(gate.blocked("edge", i64::MIN).is_some());
    }

    #[test]
    fn engine_keys_are_read_strictly() {
        let key = TestKey::new().engine_key("k", &["a"]);
        let x = URL_SAFE_NO_PAD.encode(&key.x);
        let y = URL_SAFE_NO_PAD.encode(&key.y);
        let one = |kid: &str, crv: &str, accounts: serde_json::Value| json!({"kid": kid, "kty": "EC", "crv": crv, "x": x, "y": y, "accounts": accounts});
        let ok = json!([one("k", "P-256", json!(["a"]))]).to_string();
        assert_eq!(parse_keys(&ok).unwrap(), vec![key.clone()]);
        for bad in [
            "not json".to_owned(),
            json!([one("", "P-256", json!(["a"]))]).to_string(),
            json!([one("k", "P-384", json!(["a"]))]).to_string(),
            json!([one("k", "P-256", json!([]))]).to_string(),
            json!([one("k", "P-256", json!(["a"])), one("k", "P-256", json!(["b"]))]).to_string(),
            json!([{"kid": "k", "kty": "EC", "crv": "P-256", "x": "AA", "y": y, "accounts": ["a"]}]).to_string(),
            json!([{"kid": "k", "kty": "EC", "crv": "P-256", "x": x, "y": y, "accounts": ["a"], "d": "secret"}])
                .to_string(),
        ] {
            assert!(parse_keys(&bad).is_err(), "{bad}");
        }
    }
}
