//! Keys over the platform's cryptography: RS256 signatures with an RSA private key (client
//! assertions, proofs of possession, the certificates the service makes) and RSA key generation.
//! The Worker implements [`Signers`] with WebCrypto; the native tests with [`fake`]. (HMAC, for
//! sessions and webhooks, is [`crate::mac`]: a pure function with no key object to keep.)

use shared::assertion::AssertionSigner;

/// Makes the signer for a private key, and new key pairs (the Worker: WebCrypto).
pub trait Signers {
    /// The signer for one key; its error is logged, never shown.
    type Signer<'k>: AssertionSigner<Error: std::fmt::Display>
    where
        Self: 'k;
    /// The signer for `pkcs8` (DER).
    fn signer<'k>(&'k self, pkcs8: &'k [u8]) -> Self::Signer<'k>;
    /// A new RSA key pair ([`shared::selfsigned::GENERATED_RSA_BITS`]) for a certificate the
    /// service creates: (private key as PKCS#8 DER, public key as SubjectPublicKeyInfo DER).
    fn generate_key(&self)
        -> impl std::future::Future<Output = Result<(shared::secret::SecretBytes, Vec<u8>), String>>;
}

/// The native tests' keys: a real public key to build certificates over, and signatures that are
/// carried, never checked.
#[cfg(test)]
pub mod fake {
    use shared::assertion::{AssertionAlg, AssertionSigner};

    /// A 2048-bit RSA public key (SubjectPublicKeyInfo, DER, base64), made for these tests.
    pub const TEST_SPKI: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1XZEJF9jFFRpARLdX7Xt/tLADvKQaLrlq1mEGq9Hq75F+WWWpP3ujiML4XFRuZq/mHYulpUzwo0GQF33M0DHp72j+TJsyvv+su+swDWTEuh60DaArE85nYcaeMUFRpWpXHlIO+2yFsIygWfKzS3zjjbPd2nmMBE4VNB4IcjyIinoGrmtib2Ru8O/dvfOZm5eR3ByGpaCrvvzWwUwrcpMdg/dJa+vaJTkqKLUk3Tj2Ju6njH8kMmzwO1fQGEGcSd2W3M/eiECD6Uc/jRagi8etgYGhMXxfbb4cifpRd+FAYyypWmv5AdD1I1pZyFXJNaIcWC4UqyKi0EKOKz33jJPvwIDAQAB";

    /// A signer that signs with 256 bytes of 7, or refuses (`fails`).
    pub struct FakeSigner {
        /// Refuse every signature.
        pub fails: bool,
    }

    impl AssertionSigner for FakeSigner {
        type Error = String;
        async fn sign(&self, _: AssertionAlg, _: &[u8]) -> Result<Vec<u8>, String> {
            if self.fails {
                Err("no such key".into())
            } else {
                Ok(vec![7; 256])
            }
        }
    }

    /// A new key pair: `pkcs8` (a placeholder private key) and [`TEST_SPKI`].
    pub fn key_pair(pkcs8: &[u8]) -> (shared::secret::SecretBytes, Vec<u8>) {
        let spki = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, TEST_SPKI).unwrap();
        (shared::secret::SecretBytes::new(pkcs8.to_vec()), spki)
    }
}
