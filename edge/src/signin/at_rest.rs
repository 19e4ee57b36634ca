//! How a sign-in's record lies in its Durable Object's storage: sealed whole with the keyring
//! (AES-256-GCM, [`crate::seal`]), bound to the Durable Object it belongs to through
//! the associated data. The record holds the device code, the admin's token and the private keys
//! of the certificates the service generated until they are saved or the hold ends; none of them
//! lies in the clear in storage, and a sealed record copied into another sign-in's object does
//! not open. A record stored before sealing is read once as it is and sealed at its next write.

use super::record::legacy::Stored;
use super::record::SignInRecord;
use crate::seal::{Keyring, SealError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use shared::secret::SecretBytes;

/// The stored value: the sealing key's ID and `nonce || ciphertext || tag`, base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedRecord {
    /// The key ID.
    pub key: String,
    /// The sealed JSON of the record.
    pub sealed: String,
}

/// What storage holds: a sealed record, or one stored before records were sealed.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum AtRest {
    /// Sealed.
    Sealed(SealedRecord),
    /// In the clear (written before sealing; read once).
    Plain(Box<Stored>),
}

/// Why a stored record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The keyring does not open it (another object's record, an unknown key, tampered).
    Seal(SealError),
    /// It opened but is not a record (the text is serde's, about the shape, never the content).
    Shape(String),
}

/// The associated data of the record of the Durable Object `object_id`.
fn binding(object_id: &str) -> String {
    format!("m365onb/v1|signin-object={object_id}|field=record")
}

/// Seals `rec` for the Durable Object `object_id`.
pub fn seal(keyring: &Keyring, object_id: &str, rec: &SignInRecord) -> SealedRecord {
    // The plaintext holds secrets: it is wiped when dropped.
    let plain = SecretBytes::new(serde_json::to_vec(rec).expect("a record serializes"));
    let (key, blob) = keyring.seal(&binding(object_id), plain.expose());
    SealedRecord { key, sealed: STANDARD.encode(blob) }
}

/// Opens what the Durable Object `object_id` found in its storage.
pub fn open(keyring: &Keyring, object_id: &str, stored: AtRest) -> Result<SignInRecord, OpenError> {
    match stored {
        AtRest::Plain(s) => Ok(SignInRecord::from(*s)),
        AtRest::Sealed(s) => {
            let blob = STANDARD.decode(&s.sealed).map_err(|_| OpenError::Seal(SealError::Tampered))?;
            let plain = keyring.open(&s.key, &binding(object_id), &blob).map_err(OpenError::Seal)?;
            let stored: Stored = serde_json::from_slice(plain.expose()).map_err(|e| {
                // serde's message may quote a value: only its place is kept.
                OpenError::Shape(format!("line {} column {}", e.line(), e.column()))
            })?;
            Ok(SignInRecord::from(stored))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::identity::AccessToken;
    use crate::signin::browser::Claim;
    use crate::time::Millis;
    use shared::secret::SecretString;
    use shared::CloudEnvironment;

    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.admin-token-payload.signature";

    fn keyring(byte: u8) -> Keyring {
        Keyring::parse(&format!("k{byte}:{}", STANDARD.encode([byte; 32]))).unwrap()
    }

    fn signed_in() -> SignInRecord {
        let mut rec = SignInRecord::new("s1", "acct-1", CloudEnvironment::Global, "client", Millis(0));
        rec.stage = crate::signin::record::Stage::Redeeming { until: Millis(60_000) };
        let token =
            AccessToken { access_token: SecretString::new(TOKEN.into()), expires_in: 3600, refresh_token: None };
        rec.on_browser_token(
            token,
            Claim::new(&[7; crate::signin::browser::CLAIM_RANDOM_BYTES], Millis(1000)),
            Millis(1000),
        );
        assert!(rec.token().is_some());
        rec
    }

    #[test]
    fn a_sealed_record_holds_nothing_in_the_clear_and_opens_only_in_its_object() {
        let rec = signed_in();
        let sealed = seal(&keyring(1), "object-a", &rec);
        let stored = serde_json::to_string(&sealed).unwrap();
        assert!(!stored.contains(TOKEN) && !stored.contains("admin-token") && !stored.contains("acct-1"), "{stored}");

        let read = |json: &str, object: &str, k: &Keyring| open(k, object, serde_json::from_str(json).unwrap());
        let opened = read(&stored, "object-a", &keyring(1)).unwrap();
        assert_eq!(opened.token().unwrap().access_token.expose(), TOKEN);
        assert_eq!(opened.account, "acct-1");
        // Another object's record, another key, or a changed byte: refused.
        assert_eq!(read(&stored, "object-b", &keyring(1)).unwrap_err(), OpenError::Seal(SealError::Tampered));
        assert!(matches!(read(&stored, "object-a", &keyring(2)), Err(OpenError::Seal(SealError::UnknownKey(_)))));
        let mut tampered = sealed.clone();
        tampered.sealed = STANDARD.encode({
            let mut b = STANDARD.decode(&sealed.sealed).unwrap();
            b[20] ^= 1;
            b
        });
        let tampered = serde_json::to_string(&tampered).unwrap();
        assert_eq!(read(&tampered, "object-a", &keyring(1)).unwrap_err(), OpenError::Seal(SealError::Tampered));
    }

    #[test]
    fn a_record_stored_before_sealing_is_read_once_as_it_is() {
        let rec = signed_in();
        let plain = serde_json::to_string(&rec).unwrap();
        let opened = open(&keyring(1), "object-a", serde_json::from_str(&plain).unwrap()).unwrap();
        assert_eq!(opened.token().unwrap().access_token.expose(), TOKEN);
    }
}
