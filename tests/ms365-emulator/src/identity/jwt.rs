//! JSON Web Tokens: the emulator signs its access and ID tokens (RS256, with its own key published in
//! the JWKS), checks its own tokens when Graph receives them, and reads client assertions, whose
//! signature is checked against a certificate by [`super::certs`].
//!
//! Crypto is `ring` (also the TLS provider), so no second RSA implementation is compiled in. The signing
//! key is a fixed test key committed with the emulator: tokens stay valid across restarts, and nothing
//! secret is protected by it (the emulator never runs in production).

use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{json, Map, Value};

use crate::util::{b64, b64url, b64url_decode};

/// The emulator's token-signing key (PKCS#8 PEM). A test key: public by design.
const SIGNING_KEY_PEM: &str = include_str!("token-signing-key.pem");
/// A self-signed certificate for [`SIGNING_KEY_PEM`], published as `x5c` in the JWKS.
const SIGNING_CERT_PEM: &str = include_str!("token-signing-cert.pem");

/// The key that signs tokens, with what the JWKS publishes about it.
pub struct SigningKey {
    key_pair: RsaKeyPair,
    /// `kid` and `x5t`: base64url SHA-1 of the certificate, as Microsoft names its keys.
    pub kid: String,
    jwk: Value,
}

/// Why a token the emulator was shown is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts with JSON header and claims.
    Malformed,
    /// Signature does not verify, or an unexpected algorithm.
    BadSignature,
}

impl SigningKey {
    /// Loads the built-in key.
    pub fn builtin() -> Result<SigningKey, String> {
        let key = PrivatePkcs8KeyDer::from_pem_slice(SIGNING_KEY_PEM.as_bytes())
            .map_err(|e| format!("built-in signing key: {e}"))?;
        let key_pair =
            RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()).map_err(|e| format!("built-in signing key: {e}"))?;
        let cert = CertificateDer::from_pem_slice(SIGNING_CERT_PEM.as_bytes())
            .map_err(|e| format!("built-in signing certificate: {e}"))?;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
        let kid = b64url(sha1.as_ref());
        let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key_pair.public());
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "x5t": kid,
            "n": b64url(strip_zeros(&public.n)),
            "e": b64url(strip_zeros(&public.e)),
            "x5c": [b64(cert.as_ref())],
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
        });
        Ok(SigningKey { key_pair, kid, jwk })
    }

    /// The JWKS document (`/{tenant}/discovery/v2.0/keys`).
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// Signs `claims` as an RS256 JWT with `kid` and `x5t` in the header.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid });
        let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let mut sig = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .map_err(|_| "signing failed".to_string())?;
        Ok(format!("{input}.{}", b64url(&sig)))
    }

    /// Checks that `token` was signed by this key and returns its claims (expiry is the caller's check).
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, JwtError> {
        let jwt = UnverifiedJwt::decode(token).ok_or(JwtError::Malformed)?;
        if jwt.header_str("alg") != Some("RS256") {
            return Err(JwtError::BadSignature);
        }
        let key =
            signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, self.key_pair.public().as_ref());
        key.verify(jwt.signing_input.as_bytes(), &jwt.signature).map_err(|_| JwtError::BadSignature)?;
        Ok(jwt.claims)
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

/// A JWT split into its parts, signature not yet checked.
#[derive(Clone, Debug)]
pub struct UnverifiedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `header.claims` as sent (what the signature covers).
    pub signing_input: String,
    /// The raw signature.
    pub signature: Vec<u8>,
}

impl UnverifiedJwt {
    /// Splits and decodes a compact JWS; `None` when it is not one.
    pub fn decode(token: &str) -> Option<UnverifiedJwt> {
        let mut parts = token.trim().split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header = serde_json::from_slice::<Value>(&b64url_decode(h)?).ok()?.as_object()?.clone();
        let claims = serde_json::from_slice::<Value>(&b64url_decode(c)?).ok()?.as_object()?.clone();
        let signature = b64url_decode(s)?;
        Some(UnverifiedJwt { header, claims, signing_input: format!("{h}.{c}"), signature })
    }

    /// A string header parameter.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (seconds), tolerating floats as some libraries send them.
    pub fn claim_secs(&self, name: &str) -> Option<u64> {
        let v = self.claims.get(name)?;
        v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_signed_by_the_emulator_verify_and_tampered_ones_do_not() {
        let key = SigningKey::builtin().unwrap_or_else(|e| panic!("{e}"));
        let token = key.sign(&json!({"aud": "https://graph.microsoft.com", "tid": "t"})).unwrap_or_default();
        let claims = key.verify(&token).unwrap_or_default();
        assert_eq!(claims.get("tid"), Some(&json!("t")));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64url(br#"{"aud":"https://graph.microsoft.com","tid":"other"}"#);
        parts[1] = &forged;
        assert_eq!(key.verify(&parts.join(".")), Err(JwtError::BadSignature));
    }

    #[test]
    fn garbage_is_not_a_jwt() {
        for bad in ["", "a.b", "a.b.c.d", "!!!.e30.AA", "e30.e30", "bnVsbA.e30.AA"] {
            assert!(UnverifiedJwt::decode(bad).is_none(), "{bad}");
        }
    }
}
