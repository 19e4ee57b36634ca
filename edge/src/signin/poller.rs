//! Token polling at Microsoft's pace (RFC 8628 §3.5), without I/O and without a clock of its own.
//!
//! Triggered by the Durable Object's alarm: ask [`Poller::due`], send the token request, hand the
//! outcome to [`Poller::on_outcome`], and set the alarm to the returned time. Rules:
//! never sooner than `interval` after the previous poll; `slow_down` adds 5 s to the interval for
//! good; network errors, 5xx and 429 back off exponentially (honouring `Retry-After`); the code's
//! expiry ends polling; declined, bad code and blocked end it with the catalogue's error.

use crate::microsoft::identity::{AccessToken, OAuthError, OAuthFailure, TokenOutcome};
use shared::api::ErrorDetail;
use shared::ErrorCode;

use crate::time::Millis;

/// Added to every wait: Microsoft measures the interval by arrival, and a request leaves a few
/// milliseconds after the clock is read, so without a margin network jitter could make two polls
/// arrive less than `interval` apart (and earn a `slow_down`).
pub const POLL_MARGIN_MS: i64 = 250;
/// RFC 8628: `slow_down` increases the interval by 5 seconds.
pub const SLOW_DOWN_STEP_MS: i64 = 5_000;
/// The longest back-off after network errors or 5xx.
pub const MAX_BACKOFF_MS: i64 = 60_000;

/// The polling schedule of one device code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Poller {
    /// Current interval between polls.
    pub interval_ms: i64,
    /// Earliest time of the next poll.
    pub next_poll_at: Millis,
    /// When the device code expires.
    pub expires_at: Millis,
    /// Transient failures in a row (for back-off).
    pub failures: u32,
    /// Polls sent so far.
    pub polls: u32,
}

/// What to do after a poll.
#[derive(Debug)]
pub enum Decision {
    /// Poll again at this time.
    PollAt(Millis),
    /// The admin signed in.
    SignedIn(AccessToken),
    /// The code expired without a sign-in.
    Expired,
    /// Ended for good; the admin reads this.
    Failed(ErrorDetail),
}

impl Poller {
    /// A schedule for a code issued at `now` with Microsoft's `interval` and `expires_in` (seconds).
    pub fn new(interval_s: u64, expires_in_s: u64, now: Millis) -> Self {
        let interval_ms = (interval_s.max(1) as i64).saturating_mul(1000);
        Self {
            interval_ms,
            next_poll_at: now + interval_ms + POLL_MARGIN_MS,
            expires_at: now + (expires_in_s as i64).saturating_mul(1000),
            failures: 0,
            polls: 0,
        }
    }

    /// Whether a poll may be sent at `now`.
    pub fn due(&self, now: Millis) -> bool {
        now >= self.next_poll_at && now < self.expires_at
    }

    /// Whether the code has expired at `now`.
    pub fn expired(&self, now: Millis) -> bool {
        now >= self.expires_at
    }

    /// Records the outcome of the poll sent at `sent_at` (the interval counts from the send).
    pub fn on_outcome(&mut self, outcome: TokenOutcome, sent_at: Millis, now: Millis) -> Decision {
        self.polls += 1;
        match outcome {
            TokenOutcome::Token(token) => Decision::SignedIn(token),
            TokenOutcome::Error(failure) => self.on_failure(failure, sent_at, now),
        }
    }

    fn schedule(&mut self, at: Millis) -> Decision {
        if at >= self.expires_at {
            // One last look exactly at expiry is pointless: Microsoft answers expired_token.
            self.next_poll_at = self.expires_at;
            return Decision::PollAt(self.expires_at);
        }
        self.next_poll_at = at;
        Decision::PollAt(at)
    }

    fn on_failure(&mut self, f: OAuthFailure, sent_at: Millis, now: Millis) -> Decision {
        match f.error {
            Some(OAuthError::AuthorizationPending) => {
                self.failures = 0;
                self.schedule(sent_at + self.interval_ms + POLL_MARGIN_MS)
            }
            Some(OAuthError::SlowDown) => {
                self.failures = 0;
                self.interval_ms += SLOW_DOWN_STEP_MS;
                self.schedule(sent_at + self.interval_ms + POLL_MARGIN_MS)
            }
            Some(OAuthError::ExpiredToken) => Decision::Expired,
            _ if f.microsoft.is_transient() => {
                self.failures += 1;
                let backoff = (self.interval_ms << self.failures.min(6)).min(MAX_BACKOFF_MS);
                let retry_after = f.microsoft.retry_after.map(|s| (s as i64).saturating_mul(1000)).unwrap_or(0);
                self.schedule(now.max(sent_at) + backoff.max(retry_after).max(self.interval_ms) + POLL_MARGIN_MS)
            }
            _ => {
                let detail = f.microsoft.detail();
                if detail.code == ErrorCode::CodeExpired {
                    Decision::Expired
                } else {
                    Decision::Failed(detail)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::identity::read_token;
    use shared::secret::SecretString;

    fn oauth(error: &str, codes: &[u32]) -> TokenOutcome {
        let body = serde_json::json!({"error": error, "error_codes": codes, "correlation_id": "c"});
        read_token(&http::Response::builder().status(400).body(serde_json::to_vec(&body).unwrap()).unwrap())
    }

    fn server_error(status: u16, retry_after: Option<&str>) -> TokenOutcome {
        let mut b = http::Response::builder().status(status);
        if let Some(r) = retry_after {
            b = b.header("retry-after", r);
        }
        read_token(&b.body(b"oops".to_vec()).unwrap())
    }

    fn token() -> TokenOutcome {
        TokenOutcome::Token(AccessToken {
            access_token: SecretString::new("eyJ".into()),
            expires_in: 3599,
            refresh_token: None,
        })
    }

    #[test]
    fn pending_then_success() {
        let mut p = Poller::new(5, 900, Millis(0));
        assert!(!p.due(Millis(5_000)));
        assert!(p.due(Millis(5_250)));
        let Decision::PollAt(at) = p.on_outcome(oauth("authorization_pending", &[70016]), Millis(5_250), Millis(5_350))
        else {
            panic!()
        };
        assert_eq!(at, Millis(10_500), "the interval (and the margin) counts from the previous send");
        assert!(matches!(p.on_outcome(token(), Millis(10_500), Millis(10_550)), Decision::SignedIn(_)));
        assert_eq!(p.polls, 2);
    }

    #[test]
    fn slow_down_then_success() {
        let mut p = Poller::new(5, 900, Millis(0));
        let Decision::PollAt(at) = p.on_outcome(oauth("slow_down", &[]), Millis(5_000), Millis(5_000)) else {
            panic!()
        };
        assert_eq!(at, Millis(15_250));
        let Decision::PollAt(at) = p.on_outcome(oauth("authorization_pending", &[]), Millis(15_250), Millis(15_250))
        else {
            panic!()
        };
        assert_eq!(at, Millis(25_500), "slow_down lasts");
    }

    #[test]
    fn expired() {
        let mut p = Poller::new(5, 900, Millis(0));
        assert!(matches!(
            p.on_outcome(oauth("expired_token", &[70019]), Millis(5_000), Millis(5_000)),
            Decision::Expired
        ));
        let mut p = Poller::new(5, 10, Millis(0));
        let Decision::PollAt(at) = p.on_outcome(oauth("authorization_pending", &[]), Millis(8_000), Millis(8_000))
        else {
            panic!()
        };
        assert_eq!(at, Millis(10_000), "never scheduled past the expiry");
        assert!(p.expired(Millis(10_000)));
        assert!(!p.due(Millis(10_000)));
    }

    #[test]
    fn declined_and_blocked_end_with_the_catalogues_message() {
        let mut p = Poller::new(5, 900, Millis(0));
        let Decision::Failed(d) = p.on_outcome(oauth("authorization_declined", &[]), Millis(5_000), Millis(5_000))
        else {
            panic!()
        };
        assert_eq!(d.code, ErrorCode::SignInDeclined);
        let Decision::Failed(d) = p.on_outcome(oauth("invalid_grant", &[53003]), Millis(5_000), Millis(5_000)) else {
            panic!()
        };
        assert_eq!(d.code, ErrorCode::BlockedByConditionalAccess);
        assert!(d.message.contains("Manual method"));
        assert_eq!(d.microsoft.unwrap().correlation_id.as_deref(), Some("c"));
        let Decision::Failed(d) = p.on_outcome(oauth("bad_verification_code", &[]), Millis(5_000), Millis(5_000))
        else {
            panic!()
        };
        assert_eq!(d.code, ErrorCode::CodeInvalid);
    }

    #[test]
    fn network_errors_back_off_and_honour_retry_after() {
        let mut p = Poller::new(5, 900, Millis(0));
        let Decision::PollAt(a) = p.on_outcome(server_error(503, None), Millis(5_000), Millis(5_000)) else { panic!() };
        assert_eq!(a, Millis(15_250));
        let Decision::PollAt(b) = p.on_outcome(server_error(500, None), Millis(15_250), Millis(15_250)) else {
            panic!()
        };
        assert_eq!(b, Millis(35_500));
        let Decision::PollAt(c) = p.on_outcome(server_error(429, Some("120")), Millis(35_500), Millis(35_500)) else {
            panic!()
        };
        assert_eq!(c, Millis(155_750));
        let Decision::PollAt(d) = p.on_outcome(oauth("authorization_pending", &[]), Millis(155_750), Millis(155_750))
        else {
            panic!()
        };
        assert_eq!(d, Millis(161_000), "back to the interval after a good answer");
    }

    #[test]
    fn never_polls_sooner_than_the_interval() {
        // Whatever the outcomes, each scheduled poll is at least `interval` after the previous send.
        let outcomes = [
            oauth("authorization_pending", &[]),
            server_error(503, Some("0")),
            oauth("slow_down", &[]),
            server_error(502, None),
            oauth("authorization_pending", &[]),
        ];
        let mut p = Poller::new(5, 900, Millis(0));
        let mut sent = 5_000;
        for o in outcomes {
            let interval = p.interval_ms;
            let Decision::PollAt(next) = p.on_outcome(o, Millis(sent), Millis(sent + 30)) else { panic!() };
            assert!(next - sent >= Millis(interval), "{next} - {sent} < {interval}");
            sent = next.ms();
        }
    }
}
