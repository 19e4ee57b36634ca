//! What the vendor's backup engine holds: a P-256 key pair whose public half is listed in the
//! Worker's `ENGINE_KEYS`, and the short-lived ES256 tokens it signs with the private half.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

/// An engine key.
pub struct EngineKey {
    /// Its key ID.
    pub kid: String,
    pair: EcdsaKeyPair,
}

impl EngineKey {
    /// A new key with ID `kid`.
    pub fn new(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("a key");
        Self { kid: kid.to_owned(), pair }
    }

    /// Its public JWK entry of `ENGINE_KEYS`, for `accounts`.
    pub fn jwk(&self, accounts: &[&str]) -> serde_json::Value {
        let point = self.pair.public_key().as_ref();
        serde_json::json!({
            "kid": self.kid, "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            "accounts": accounts,
        })
    }

    /// A token with these claims and this key ID, signed.
    pub fn sign(&self, kid: &str, claims: serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).expect("signed");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// A token for `account`, valid for 2 minutes.
    pub fn token(&self, account: &str) -> String {
        let now = crate::portal::unix_now();
        self.sign(
            &self.kid,
            serde_json::json!({"aud": "m365-onboarding-engine", "sub": account, "iat": now, "exp": now + 120}),
        )
    }
}

/// The `ENGINE_KEYS` variable for `keys` (each with its accounts).
pub fn engine_keys(keys: &[(&EngineKey, &[&str])]) -> (String, String) {
    let list: Vec<serde_json::Value> = keys.iter().map(|(k, accounts)| k.jwk(accounts)).collect();
    ("ENGINE_KEYS".to_owned(), serde_json::Value::Array(list).to_string())
}
