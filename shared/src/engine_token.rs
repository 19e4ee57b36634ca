//! The backup engine's tokens as both sides see them: the audience every token carries and, behind
//! the `engine-signer` feature (native only), the engine's side: a P-256 key whose public half is
//! listed in the Worker's `ENGINE_KEYS`, and the short-lived ES256 tokens it signs. The example
//! engine client, the whole-system tests and the edge's own tests all sign through it.

/// The `aud` every engine token carries.
pub const ENGINE_AUDIENCE: &str = "m365-onboarding-engine";

/// The longest lifetime the edge accepts (`exp - iat`), seconds.
pub const MAX_LIFETIME_S: i64 = 300;

#[cfg(all(feature = "engine-signer", not(target_arch = "wasm32")))]
pub use signer::EngineSigner;

#[cfg(all(feature = "engine-signer", not(target_arch = "wasm32")))]
mod signer {
    use super::ENGINE_AUDIENCE;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::{json, Value};

    /// An engine key: its ID in `ENGINE_KEYS` and its P-256 key pair.
    pub struct EngineSigner {
        /// The key ID (`kid`).
        pub kid: String,
        pair: EcdsaKeyPair,
    }

    impl std::fmt::Debug for EngineSigner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("EngineSigner").field("kid", &self.kid).finish_non_exhaustive()
        }
    }

    impl EngineSigner {
        /// Reads a PKCS#8 (DER) P-256 private key.
        pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, String> {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new())
                .map_err(|e| format!("not a PKCS#8 P-256 key: {e}"))?;
            Ok(Self { kid: kid.to_owned(), pair })
        }

        /// A new key: the PKCS#8 to keep (secret) and the key itself.
        pub fn generate(kid: &str) -> Result<(Vec<u8>, Self), String> {
            let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|e| format!("generating a key: {e}"))?;
            let key = Self::from_pkcs8(kid, der.as_ref())?;
            Ok((der.as_ref().to_vec(), key))
        }

        /// The public point's x and y coordinates (32 bytes each).
        pub fn public_point(&self) -> (&[u8], &[u8]) {
            let p = self.pair.public_key().as_ref();
            (&p[1..33], &p[33..65])
        }

        /// Its entry of `ENGINE_KEYS`: the public key and the accounts it may act for.
        pub fn public_jwk<S: AsRef<str>>(&self, accounts: &[S]) -> Value {
            let (x, y) = self.public_point();
            let accounts: Vec<&str> = accounts.iter().map(AsRef::as_ref).collect();
            json!({"kid": self.kid, "kty": "EC", "crv": "P-256",
                   "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y), "accounts": accounts})
        }

        /// A JWT with `header` and `claims`, signed with this key (for tests of refusals, any
        /// header and claims).
        pub fn sign(&self, header: &Value, claims: &Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).expect("ECDSA signing does not fail");
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }

        /// A token of this key for `account`, issued at `now` (Unix seconds), valid for 2 minutes.
        pub fn token(&self, account: &str, now: i64) -> String {
            self.sign(
                &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
                &json!({"aud": ENGINE_AUDIENCE, "sub": account, "iat": now, "exp": now + 120}),
            )
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_token_names_the_key_the_audience_and_the_account() {
            let (der, key) = EngineSigner::generate("engine-1").unwrap();
            let again = EngineSigner::from_pkcs8("engine-1", &der).unwrap();
            assert_eq!(key.public_jwk(&["acct-1"]), again.public_jwk(&["acct-1"]));
            let token = key.token("acct-1", 1_796_000_000);
            let part = |i: usize| -> Value {
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
            };
            assert_eq!(part(0)["kid"], "engine-1");
            assert_eq!(part(0)["alg"], "ES256");
            assert_eq!(part(1)["aud"], ENGINE_AUDIENCE);
            assert_eq!(part(1)["exp"], 1_796_000_120);
            assert_eq!(URL_SAFE_NO_PAD.decode(token.split('.').nth(2).unwrap()).unwrap().len(), 64);
            assert!(EngineSigner::from_pkcs8("k", b"not a key").is_err());
        }
    }
}
