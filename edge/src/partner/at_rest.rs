//! How a batch lies in its Durable Object's storage: sealed whole with the keyring (AES-256-GCM,
//! [`crate::seal`]), bound to its Durable Object through the associated data, as a sign-in's
//! record is. The partner admin's refresh token never lies in the clear.

use super::service::Stored;
use crate::seal::{Keyring, SealError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use shared::secret::SecretBytes;

/// The stored value: the sealing key's ID and `nonce || ciphertext || tag`, base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedBatch {
    /// The key ID.
    pub key: String,
    /// The sealed JSON of the batch.
    pub sealed: String,
}

fn binding(object_id: &str) -> String {
    format!("m365onb/v1|partner-batch-object={object_id}|field=batch")
}

/// Seals `stored` for the Durable Object `object_id`.
pub fn seal(keyring: &Keyring, object_id: &str, stored: &Stored) -> SealedBatch {
    let plain = SecretBytes::new(serde_json::to_vec(stored).expect("a batch serializes"));
    let (key, blob) = keyring.seal(&binding(object_id), plain.expose());
    SealedBatch { key, sealed: STANDARD.encode(blob) }
}

/// Opens what the Durable Object `object_id` found in its storage; the error text names no
/// content.
pub fn open(keyring: &Keyring, object_id: &str, sealed: &SealedBatch) -> Result<Stored, String> {
    let blob = STANDARD.decode(&sealed.sealed).map_err(|_| format!("{:?}", SealError::Tampered))?;
    let plain = keyring.open(&sealed.key, &binding(object_id), &blob).map_err(|e| format!("{e:?}"))?;
    serde_json::from_slice(plain.expose()).map_err(|e| format!("line {} column {}", e.line(), e.column()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partner::batch::{Batch, Offer};
    use crate::time::Millis;
    use shared::secret::SecretString;

    #[test]
    fn the_refresh_token_is_sealed_and_opens_only_in_its_own_object() {
        let keyring = Keyring::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let offer = Offer { tenant_id: "10000000-0000-4000-8000-000000000001".into(), name: "A".into(), enough: true };
        let chosen = vec![offer.tenant_id.clone()];
        let batch = Batch::new("b".into(), "acct".into(), Millis(0), false, &chosen, &[offer]).unwrap();
        let stored = Stored { batch, refresh_token: Some(SecretString::new("1.REFRESH-SECRET".into())) };
        let sealed = seal(&keyring, "object-1", &stored);
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains("REFRESH-SECRET"), "{text}");
        let back = open(&keyring, "object-1", &sealed).unwrap();
        assert_eq!(back.refresh_token.as_ref().map(SecretString::expose), Some("1.REFRESH-SECRET"));
        assert!(open(&keyring, "object-2", &sealed).is_err(), "copied into another batch's object");
    }
}
