//! What the answers of a credential check mean. A check is a client-credentials token for the
//! cloud's Graph `.default` scope, then `GET /organization` with it (which needs the
//! `Organization.Read.All` application permission, so it proves that admin consent was granted).
//!
//! Entra is eventually consistent: a secret, certificate or role created moments ago may be
//! refused for a while with the same codes as a wrong one. So refusals are retried with back-off
//! until the patience runs out: short for credentials the admin typed (a wrong one should be
//! reported quickly), long for credentials this product has just created.

use crate::microsoft::MicrosoftError;
use crate::signin::poller::Millis;
use shared::api::ErrorDetail;
use shared::ErrorCode;

/// Patience for a credential the admin typed (Manual method, edits).
pub const TYPED_PATIENCE_MS: Millis = 12_000;
/// Patience for a credential created moments ago by this product.
pub const CREATED_PATIENCE_MS: Millis = 120_000;

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The credential works.
    Works,
    /// Try again after this many milliseconds.
    RetryIn(Millis),
    /// Refused for good; the admin reads this.
    Refused(ErrorDetail),
}

/// Which part of the check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The token request.
    Token,
    /// The Graph call with the application's token.
    Graph,
}

/// Decides after a failed attempt, `elapsed` ms after the first one.
pub fn after_failure(stage: Stage, e: &MicrosoftError, elapsed: Millis, patience: Millis) -> Next {
    let code = match (stage, e.code) {
        // With an application token, a 403 means the roles were not granted (or not replicated yet).
        (Stage::Graph, ErrorCode::AdminConsentRequired) => ErrorCode::PermissionsNotGranted,
        (_, c) => c,
    };
    let may_replicate = matches!(
        code,
        ErrorCode::InvalidClientSecret
            | ErrorCode::InvalidCertificate
            | ErrorCode::ApplicationNotFound
            | ErrorCode::PermissionsNotGranted
            | ErrorCode::ReplicationDelay
    );
    if (may_replicate || e.is_transient()) && elapsed < patience {
        let step = (1_000 + elapsed / 3).min(10_000);
        let retry_after = e.retry_after.map(|s| s as Millis * 1000).unwrap_or(0);
        return Next::RetryIn(step.max(retry_after).min(patience - elapsed).max(250));
    }
    let mut detail = e.detail();
    detail.code = code;
    detail.message = code.message().to_owned();
    Next::Refused(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ErrorCode, status: u16) -> MicrosoftError {
        MicrosoftError { code, status, correlation: Default::default(), retry_after: None }
    }

    #[test]
    fn a_wrong_secret_is_retried_briefly_then_reported() {
        let e = err(ErrorCode::InvalidClientSecret, 401);
        assert!(matches!(after_failure(Stage::Token, &e, 0, TYPED_PATIENCE_MS), Next::RetryIn(_)));
        let Next::Refused(d) = after_failure(Stage::Token, &e, TYPED_PATIENCE_MS, TYPED_PATIENCE_MS) else { panic!() };
        assert_eq!(d.code, ErrorCode::InvalidClientSecret);
        assert!(d.message.contains("Value"));
    }

    #[test]
    fn an_expired_secret_is_reported_at_once() {
        let Next::Refused(d) =
            after_failure(Stage::Token, &err(ErrorCode::ExpiredClientSecret, 401), 0, CREATED_PATIENCE_MS)
        else {
            panic!()
        };
        assert_eq!(d.code, ErrorCode::ExpiredClientSecret);
    }

    #[test]
    fn a_403_from_graph_means_permissions_not_granted() {
        let e = err(ErrorCode::AdminConsentRequired, 403);
        let Next::Refused(d) = after_failure(Stage::Graph, &e, 60_000, TYPED_PATIENCE_MS) else { panic!() };
        assert_eq!(d.code, ErrorCode::PermissionsNotGranted);
        assert!(d.message.contains("Grant admin consent"));
    }

    #[test]
    fn retry_waits_grow_and_honour_retry_after() {
        let mut e = err(ErrorCode::Throttled, 429);
        let Next::RetryIn(a) = after_failure(Stage::Token, &e, 0, CREATED_PATIENCE_MS) else { panic!() };
        let Next::RetryIn(b) = after_failure(Stage::Token, &e, 30_000, CREATED_PATIENCE_MS) else { panic!() };
        assert!(a < b);
        e.retry_after = Some(20);
        assert_eq!(after_failure(Stage::Token, &e, 0, CREATED_PATIENCE_MS), Next::RetryIn(20_000));
    }
}
