//! HMAC-SHA256, the one keyed digest the edge computes itself: portal sessions (HS256) and the
//! signatures of the portal's webhooks.

use hmac::{KeyInit, Mac};

/// An HMAC-SHA256 over `secret` (any length), to be fed and then finalized or verified.
pub fn hmac_sha256(secret: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length")
}

/// `HMAC-SHA256(secret, message)`.
pub fn digest(secret: &[u8], message: &[u8]) -> [u8; 32] {
    let mut m = hmac_sha256(secret);
    m.update(message);
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc_4231_test_case_2() {
        let d = super::digest(b"Jefe", b"what do ya want for nothing?");
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
