//! What the vendor's backup engine holds: a P-256 key pair whose public half is listed in the
//! Worker's `ENGINE_KEYS`, and the short-lived ES256 tokens it signs with the private half (the
//! common crate's [`EngineSigner`]).

use shared::engine_token::EngineSigner;

/// An engine key.
pub struct EngineKey {
    /// Its key ID.
    pub kid: String,
    signer: EngineSigner,
}

impl EngineKey {
    /// A new key with ID `kid`.
    pub fn new(kid: &str) -> Self {
        Self { kid: kid.to_owned(), signer: EngineSigner::generate(kid).expect("a key").1 }
    }

    /// Its public JWK entry of `ENGINE_KEYS`, for `accounts`.
    pub fn jwk(&self, accounts: &[&str]) -> serde_json::Value {
        self.signer.public_jwk(accounts)
    }

    /// A token with these claims and this key ID, signed.
    pub fn sign(&self, kid: &str, claims: serde_json::Value) -> String {
        self.signer.sign(&serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid}), &claims)
    }

    /// A token for `account`, valid for 2 minutes.
    pub fn token(&self, account: &str) -> String {
        self.signer.token(account, crate::portal::unix_now())
    }
}

/// The `ENGINE_KEYS` variable for `keys` (each with its accounts).
pub fn engine_keys(keys: &[(&EngineKey, &[&str])]) -> (String, String) {
    let list: Vec<serde_json::Value> = keys.iter().map(|(k, accounts)| k.jwk(accounts)).collect();
    ("ENGINE_KEYS".to_owned(), serde_json::Value::Array(list).to_string())
}
