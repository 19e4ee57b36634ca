//! Secrets at rest: AES-256-GCM under a key from the Worker secret `ENCRYPTION_KEYS`.
//!
//! `ENCRYPTION_KEYS` is a comma-separated list of `key-id:base64(32 bytes)`; the first key seals new
//! values, every listed key opens old ones, so a key is rotated by putting a new one first and
//! re-sealing at leisure. Each ciphertext names its key ID (stored beside it) and is bound to the
//! row it belongs to through the associated data, so a ciphertext copied into another row, another
//! field or another account does not open. Blob layout: `nonce (12) || ciphertext || tag (16)`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use shared::secret::SecretBytes;

/// The keys.
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

/// Why the keyring or a ciphertext could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// `ENCRYPTION_KEYS` missing or malformed (the text says how; it never contains key material).
    Config(String),
    /// The ciphertext's key ID is not in the keyring.
    UnknownKey(String),
    /// Authentication failed: wrong key, wrong row, or tampered.
    Tampered,
}

/// The associated data that binds a sealed value to its place.
pub fn binding(account: &str, organization: &str, application: &str, field: &str) -> String {
    format!("m365onb/v1|acct={account}|org={organization}|app={application}|field={field}")
}

impl Keyring {
    /// Parses `ENCRYPTION_KEYS`.
    pub fn parse(spec: &str) -> Result<Keyring, SealError> {
        let mut keys = vec![];
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .ok_or_else(|| SealError::Config("each entry of ENCRYPTION_KEYS is key-id:base64-key".into()))?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 32
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(SealError::Config("key IDs are 1 to 32 letters, digits, '-' or '_'".into()));
            }
            let raw = STANDARD.decode(b64.trim()).map_err(|_| SealError::Config(format!("key {id} is not base64")))?;
            let cipher = Aes256Gcm::new_from_slice(&raw)
                .map_err(|_| SealError::Config(format!("key {id} must be 32 bytes (AES-256)")))?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(SealError::Config(format!("key ID {id} appears twice")));
            }
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(SealError::Config("ENCRYPTION_KEYS is empty: set it with `wrangler secret put`".into()));
        }
        Ok(Keyring { keys })
    }

    /// The key ID new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plaintext` bound to `aad` with the current key; returns the key ID and the blob.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> (String, Vec<u8>) {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the platform's random number generator is available");
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .expect("AES-GCM encryption of a bounded input cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        (id.clone(), blob)
    }

    /// Opens a blob sealed with key `id` for `aad`.
    pub fn open(&self, id: &str, aad: &str, blob: &[u8]) -> Result<SecretBytes, SealError> {
        let (_, cipher) =
            self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        if blob.len() < 12 + 16 {
            return Err(SealError::Tampered);
        }
        let (nonce, ct) = blob.split_at(12);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map(SecretBytes::new)
            .map_err(|_| SealError::Tampered)
    }
}

/// What is sealed for a certificate credential, with the format's version: 1 is an uploaded .pfx
/// and its password (rows sealed before the version was written are version 1); 2 is a certificate
/// the service generated and its private key, kept apart (no password, no key derivation to open).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SealedCertificate {
    /// The format.
    #[serde(default = "first_version")]
    pub version: u8,
    /// Version 1: the .pfx file, base64.
    #[serde(default, serialize_with = "shared::secret::serialize_exposed")]
    pub pfx_base64: shared::secret::SecretString,
    /// Version 1: its password (empty when it has none).
    #[serde(default, serialize_with = "shared::secret::serialize_exposed")]
    pub password: shared::secret::SecretString,
    /// Version 2: the certificate, DER as base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub certificate_base64: String,
    /// Version 2: the private key, PKCS#8 DER as base64.
    #[serde(default, serialize_with = "shared::secret::serialize_exposed")]
    pub pkcs8_base64: shared::secret::SecretString,
}

fn first_version() -> u8 {
    1
}

impl SealedCertificate {
    /// An uploaded `pfx` and its `password`.
    pub fn new(pfx: &[u8], password: &shared::secret::SecretString) -> Self {
        Self {
            version: 1,
            pfx_base64: shared::secret::SecretString::new(STANDARD.encode(pfx)),
            password: password.clone(),
            certificate_base64: String::new(),
            pkcs8_base64: shared::secret::SecretString::default(),
        }
    }

    /// A generated certificate (DER, base64) and its private key (PKCS#8 DER, base64).
    pub fn generated(certificate_base64: &str, pkcs8_base64: &shared::secret::SecretString) -> Self {
        Self {
            version: 2,
            pfx_base64: shared::secret::SecretString::default(),
            password: shared::secret::SecretString::default(),
            certificate_base64: certificate_base64.to_owned(),
            pkcs8_base64: pkcs8_base64.clone(),
        }
    }

    /// The bytes to seal.
    pub fn to_plaintext(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("strings serialize")
    }

    /// Reads opened bytes; `None` for a format this code does not know.
    pub fn from_plaintext(plain: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(plain).ok().filter(|c| matches!(c.version, 1 | 2))
    }

    /// The credential, checked like any certificate at `now` (Unix seconds).
    pub fn open(&self, now: i64) -> Result<shared::certificate::ParsedPfx, shared::certificate::PfxError> {
        use shared::certificate::{parse_pfx, ParsedPfx, PfxError};
        let decode = |b64: &str| STANDARD.decode(b64).map_err(|_| PfxError::Corrupt);
        if self.version == 2 {
            let der = decode(&self.certificate_base64)?;
            let pkcs8 = shared::secret::SecretBytes::new(decode(self.pkcs8_base64.expose())?);
            ParsedPfx::from_parts(&der, pkcs8, now)
        } else {
            parse_pfx(&decode(self.pfx_base64.expose())?, self.password.expose(), now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_certificate_has_a_version_and_rows_without_one_are_version_1() {
        let pw = shared::secret::SecretString::new("p@ss".into());
        let c = SealedCertificate::new(b"PFX", &pw);
        let plain = c.to_plaintext();
        let back = SealedCertificate::from_plaintext(&plain).unwrap();
        assert_eq!((back.version, back.pfx_base64.expose(), back.password.expose()), (1, "UEZY", "p@ss"));
        let old = br#"{"pfx_base64":"UEZY","password":"p@ss"}"#;
        assert_eq!(SealedCertificate::from_plaintext(old).unwrap().pfx_base64.expose(), "UEZY");
        let generated = SealedCertificate::generated("Q0VSVA==", &shared::secret::SecretString::new("S0VZ".into()));
        let back = SealedCertificate::from_plaintext(&generated.to_plaintext()).unwrap();
        assert_eq!(
            (back.version, back.certificate_base64.as_str(), back.pkcs8_base64.expose()),
            (2, "Q0VSVA==", "S0VZ")
        );
        // A certificate that is not one is refused when opened, never read as a .pfx.
        assert_eq!(back.open(0).unwrap_err(), shared::certificate::PfxError::Corrupt);
        assert!(SealedCertificate::from_plaintext(br#"{"version":3,"pfx_base64":"","password":""}"#).is_none());
    }

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn seal_then_open() {
        let ring = Keyring::parse(&format!("k2:{},k1:{}", key(2), key(1))).unwrap();
        let aad = binding("acct", "org1", "app1", "client_secret");
        let (id, blob) = ring.seal(&aad, b"s3cr3t~value");
        assert_eq!(id, "k2");
        assert!(!blob.windows(6).any(|w| w == b"s3cr3t"), "no plaintext in the blob");
        assert_eq!(ring.open(&id, &aad, &blob).unwrap().expose(), b"s3cr3t~value");
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_open() {
        let ring = Keyring::parse(&format!("k1:{}", key(1))).unwrap();
        let (id, blob) = ring.seal(&binding("acct", "org1", "app1", "client_secret"), b"x");
        for other in [
            binding("acct", "org2", "app1", "client_secret"),
            binding("acct", "org1", "app2", "client_secret"),
            binding("acct2", "org1", "app1", "client_secret"),
            binding("acct", "org1", "app1", "pfx"),
        ] {
            assert_eq!(ring.open(&id, &other, &blob), Err(SealError::Tampered));
        }
        let mut tampered = blob.clone();
        tampered[14] ^= 1;
        assert_eq!(
            ring.open(&id, &binding("acct", "org1", "app1", "client_secret"), &tampered),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let old = Keyring::parse(&format!("k1:{}", key(1))).unwrap();
        let aad = binding("a", "o", "p", "f");
        let (id, blob) = old.seal(&aad, b"old");
        let rotated = Keyring::parse(&format!("k2:{},k1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&id, &aad, &blob).unwrap().expose(), b"old");
        let without = Keyring::parse(&format!("k2:{}", key(2))).unwrap();
        assert_eq!(without.open(&id, &aad, &blob), Err(SealError::UnknownKey("k1".into())));
    }

    #[test]
    fn bad_configuration_is_explained_without_key_material() {
        for spec in
            ["", "nokey", "k1:not-base64!", &format!("k1:{}", STANDARD.encode([0u8; 16])), &format!("k 1:{}", key(1))]
        {
            let Err(SealError::Config(msg)) = Keyring::parse(spec) else { panic!("{spec} accepted") };
            assert!(!msg.contains(&key(1)));
        }
        assert!(Keyring::parse(&format!("a:{},a:{}", key(1), key(2))).is_err());
    }
}
