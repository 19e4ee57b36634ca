//! How much one portal account may ask of the sign-in service, and how long what it leaves behind
//! is kept. Pure numbers and arithmetic; the adapter applies them in D1 and the Durable Object.

use crate::time::Millis;

/// The window of the start rate limit.
pub const RATE_WINDOW_MS: i64 = 60 * 60 * 1000;
/// Sign-ins an account may start per [`RATE_WINDOW_MS`]: enough for a service provider onboarding
/// one tenant a minute for an hour, far below what would burden Microsoft's `/devicecode` for the
/// operator's public client.
pub const SIGNIN_STARTS_PER_HOUR: u32 = 60;
/// How long a sign-in's Durable Object record and its D1 row are kept after it started. Nothing in
/// them is needed after the sign-in ended and its hold passed (at most about an hour); a day leaves
/// room for support to look at one.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Seconds until the oldest start in the window (`oldest_start`) leaves it, at least 1.
pub fn retry_after_secs(oldest_start: Millis, now: Millis) -> u64 {
    let wait_ms = (oldest_start + RATE_WINDOW_MS - now).max(0);
    (((wait_ms + 999) / 1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_when_the_oldest_start_leaves_the_window() {
        assert_eq!(retry_after_secs(Millis(0), Millis(RATE_WINDOW_MS - 1500)), 2);
        assert_eq!(retry_after_secs(Millis(0), Millis(0)), 3600);
        assert_eq!(
            retry_after_secs(Millis(0), Millis(RATE_WINDOW_MS + 10)),
            1,
            "never 0: the client must wait a little"
        );
    }

    // The limits fit a busy service provider, and a record outlives everything it holds.
    const _: () = assert!(SIGNIN_STARTS_PER_HOUR >= 60);
    const _: () = assert!(RETENTION_MS > super::super::record::HOLD_AFTER_COMPLETION_MS + 60 * 60 * 1000);
}
