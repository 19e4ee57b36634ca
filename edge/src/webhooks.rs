//! Signed notifications to the portal's backend: what an event is, how it is signed, how a receiver
//! verifies it, and how long a failed delivery waits. Pure; the Worker queues events
//! ([`crate::organizations::ports::Notify`]) and delivers them from the queue's consumer.
//!
//! The scheme is Stripe's. Each delivery is a `POST` of the event's JSON to `PORTAL_WEBHOOK_URL`
//! with two headers:
//!
//! - `M365-Event-Id: evt_…`: the event's ID, the same on every delivery of the event (the receiver
//!   keeps the IDs it handled and ignores a repeat: delivery is at least once);
//! - `M365-Signature: t=<unix seconds>,v1=<hex>`: `v1` is HMAC-SHA256 with the key
//!   `PORTAL_WEBHOOK_SECRET` over `"{t}.{body}"` (the exact bytes received). The receiver recomputes
//!   it, compares in constant time, and refuses a `t` more than [`TOLERANCE_SECS`] from its clock
//!   (a replayed old delivery). A new secret can be rolled in by accepting either during the change.
//!
//! Events carry identifiers, names, states and dates; never a credential.

use crate::mac::hmac_sha256 as mac;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The event ID header.
pub const EVENT_ID_HEADER: &str = "M365-Event-Id";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "M365-Signature";
/// How far a delivery's timestamp may be from the receiver's clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// An organization was saved.
    #[serde(rename = "organization.added")]
    OrganizationAdded,
    /// An organization was edited.
    #[serde(rename = "organization.updated")]
    OrganizationUpdated,
    /// An organization was deleted.
    #[serde(rename = "organization.deleted")]
    OrganizationDeleted,
    /// An organization's health changed (state or reason).
    #[serde(rename = "organization.health_changed")]
    HealthChanged,
    /// The service replaced a certificate it created, before its end.
    #[serde(rename = "credential.rotated")]
    CredentialRotated,
    /// A credential that cannot rotate itself ends in 30, 14 or 3 days.
    #[serde(rename = "credential.expiring")]
    CredentialExpiring,
    /// A partner's batch settled its last customer (`data`: the batch's ID and counts).
    #[serde(rename = "partner_batch.finished")]
    PartnerBatchFinished,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalEvent {
    /// `evt_` and a random ID: the same on every delivery.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When, RFC 3339.
    pub created_at: String,
    /// The portal account the organization belongs to.
    pub account: String,
    /// The organization (absent from a batch's event, which names no one organization).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
    /// Details of the event (no credential ever).
    pub data: Value,
}

impl PortalEvent {
    /// A new event of `kind` about `organization` of `account`, at `created_at`.
    pub fn new(kind: EventType, account: &str, organization: &str, created_at: String, data: Value) -> Self {
        PortalEvent {
            id: format!("evt_{}", crate::ids::new_id()),
            kind,
            created_at,
            account: account.to_owned(),
            organization_id: organization.to_owned(),
            data,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The HMAC over what is signed: `"{timestamp}.{body}"`.
fn signed(secret: &[u8], timestamp: i64, body: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    let mut m = mac(secret);
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `M365-Signature` header of `body` sent at `timestamp` (Unix seconds).
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex(&signed(secret, timestamp, body).finalize().into_bytes()))
}

/// Why a delivery was refused by [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The header is missing a part or malformed.
    Malformed,
    /// The timestamp is outside the tolerance.
    Stale,
    /// No `v1` signature matches.
    Mismatch,
}

/// Verifies a delivery as a receiver does: `header` (`M365-Signature`) over `body` at `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = vec![];
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if !crate::time::within(timestamp, now, TOLERANCE_SECS) {
        return Err(SignatureError::Stale);
    }
    for s in signatures {
        let Some(given) = unhex(&s) else { continue };
        // `verify_slice` compares in constant time.
        if signed(secret, timestamp, body).verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// How long a failed delivery of an event first queued `age_secs` ago waits before the next one:
/// about as long as it has already waited (so the waits double), at least 10 seconds, at most an
/// hour. With the queue's 12 retries (10 s, 20 s, … 2560 s, then three of an hour) that covers
/// about four and a half hours.
pub fn retry_delay_secs(age_secs: i64) -> u32 {
    age_secs.clamp(10, 3_600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_0123456789abcdef0123456789";

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let body = br#"{"id":"evt_1","type":"organization.added"}"#;
        let header = signature_header(SECRET, 1_800_000_000, body);
        assert!(header.starts_with("t=1800000000,v1="), "{header}");
        assert_eq!(verify(SECRET, &header, body, 1_800_000_010), Ok(()));
        let tampered = br#"{"id":"evt_1","type":"organization.deleted"}"#;
        assert_eq!(verify(SECRET, &header, tampered, 1_800_000_010), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"another secret", &header, body, 1_800_000_010), Err(SignatureError::Mismatch));
        let moved = header.replace("t=1800000000", "t=1800000001");
        assert_eq!(verify(SECRET, &moved, body, 1_800_000_010), Err(SignatureError::Mismatch), "the time is signed");
    }

    #[test]
    fn an_old_delivery_is_refused_and_a_malformed_header_too() {
        let body = b"{}";
        let header = signature_header(SECRET, 1_800_000_000, body);
        assert_eq!(verify(SECRET, &header, body, 1_800_000_000 + TOLERANCE_SECS + 1), Err(SignatureError::Stale));
        for t in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
            let header = signature_header(SECRET, t, body);
            assert_eq!(verify(SECRET, &header, body, 1_800_000_000), Err(SignatureError::Stale), "t={t}");
        }
        assert_eq!(verify(SECRET, "v1=00", body, 1_800_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, "t=1800000000", body, 1_800_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify(SECRET, "t=1800000000,v1=zz", body, 1_800_000_000), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_second_signature_lets_a_receiver_roll_its_secret() {
        let body = b"{}";
        let old = signature_header(b"old secret", 1_800_000_000, body);
        let new = signature_header(SECRET, 1_800_000_000, body);
        let both = format!("{old},{}", new.split_once(',').unwrap().1);
        assert_eq!(verify(SECRET, &both, body, 1_800_000_000), Ok(()));
    }

    #[test]
    fn events_name_their_type_as_documented_and_retries_back_off() {
        let e = PortalEvent::new(EventType::HealthChanged, "acct", "org", "2026-11-30T00:00:00Z".into(), Value::Null);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "organization.health_changed");
        assert!(json["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(retry_delay_secs(0), 10);
        assert_eq!(retry_delay_secs(40), 40);
        assert_eq!(retry_delay_secs(86_400), 3_600);
    }
}
