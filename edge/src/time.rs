//! Time as the edge writes and reads it: Unix milliseconds inside, RFC 3339 UTC on the wire.

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Sub};

/// An instant: Unix time in milliseconds, what every feature of the edge keeps and compares.
/// Stored and sent as the bare number. A length of time is an `i64` of milliseconds (the `*_MS`
/// constants): an instant plus a length is an instant, an instant minus an instant a length, and
/// two instants cannot be added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// Unix seconds (rounded down).
    pub const fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// The instant at Unix second `s`.
    pub const fn from_seconds(s: i64) -> Millis {
        Millis(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn ms(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Millis {
    /// The milliseconds since the epoch (for logs and test messages).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Add<i64> for Millis {
    type Output = Millis;
    fn add(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

impl AddAssign<i64> for Millis {
    fn add_assign(&mut self, ms: i64) {
        self.0 = self.0.saturating_add(ms);
    }
}

impl Sub<i64> for Millis {
    type Output = Millis;
    fn sub(self, ms: i64) -> Millis {
        Millis(self.0.saturating_sub(ms))
    }
}

impl Sub for Millis {
    type Output = i64;
    fn sub(self, earlier: Millis) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// RFC 3339 UTC for an instant (second precision).
pub fn rfc3339_ms(t: Millis) -> String {
    shared::certificate::rfc3339(t.seconds())
}

/// Parses RFC 3339 UTC into Unix seconds (see [`shared::certificate::parse_rfc3339`]).
pub use shared::certificate::parse_rfc3339;

/// The window a signed token's `iat` and `exp` (Unix seconds) must fall in at `now`: issued no
/// later than `now + skew` and no earlier than `now - max_lifetime - skew`, expiring after
/// `now - grace` and no later than `now + max_lifetime + skew`, and living at most `max_lifetime`.
/// Every bound is absolute against the clock and every sum saturates, so no claim at the edges of
/// `i64` can wrap a check into passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// The longest `exp - iat` accepted, seconds.
    pub max_lifetime: i64,
    /// How far the issuer's clock may run ahead of ours, seconds.
    pub skew: i64,
    /// How long after `exp` a token is still accepted (the issuer's clock may run behind), seconds.
    pub grace: i64,
}

impl Lifetime {
    /// Whether a token issued at `iat` and expiring at `exp` is alive at `now`.
    pub fn accepts(&self, iat: i64, exp: i64, now: i64) -> bool {
        let latest_exp = now.saturating_add(self.max_lifetime).saturating_add(self.skew);
        let earliest_iat = now.saturating_sub(self.max_lifetime).saturating_sub(self.skew);
        let expired = exp <= now.saturating_sub(self.grace);
        let lives = exp.checked_sub(iat).is_some_and(|l| (0..=self.max_lifetime).contains(&l));
        !expired && exp <= latest_exp && iat >= earliest_iat && iat <= now.saturating_add(self.skew) && lives
    }
}

/// Whether `t` (Unix seconds) is within `tolerance` of `now`, either side, without overflow.
pub fn within(t: i64, now: i64, tolerance: i64) -> bool {
    now.checked_sub(t).and_then(i64::checked_abs).is_some_and(|d| d <= tolerance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for secs in [0i64, 951_782_400, 1_798_761_599, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339_ms(Millis(secs * 1000))), Some(secs));
        }
        assert_eq!(parse_rfc3339("2028-11-26T10:00:00.1234567Z"), parse_rfc3339("2028-11-26T10:00:00Z"));
        assert_eq!(parse_rfc3339("2028-11-26T10:00:00+02:00"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    const NOW: i64 = 1_796_000_000;
    const FIVE_MINUTES: Lifetime = Lifetime { max_lifetime: 300, skew: 60, grace: 0 };

    #[test]
    fn a_lifetime_is_bounded_against_the_clock_at_the_edges_of_i64() {
        let cases: &[(i64, i64, bool)] = &[
            (NOW, NOW + 120, true),
            (NOW, NOW + 300, true),
            (NOW + 60, NOW + 360, true),
            (NOW - 299, NOW + 1, true),
            (NOW - 360, NOW + 1, false),
            // Expired, too long, from the future, issued before it could still be alive.
            (NOW - 120, NOW, false),
            (NOW, NOW + 301, false),
            (NOW + 61, NOW + 120, false),
            (NOW - 361, NOW + 1, false),
            (NOW, NOW - 1, false),
            // The edges of the type: no subtraction may wrap into a short lifetime.
            (-2, i64::MAX, false),
            (i64::MIN, i64::MAX, false),
            (i64::MIN, NOW + 60, false),
            (NOW, i64::MAX, false),
            (i64::MAX, i64::MAX, false),
            (i64::MAX - 10, i64::MAX, false),
            (i64::MIN, i64::MIN, false),
            (0, 0, false),
        ];
        for &(iat, exp, ok) in cases {
            assert_eq!(FIVE_MINUTES.accepts(iat, exp, NOW), ok, "iat {iat}, exp {exp}");
        }
        // A clock at the edges does not overflow either.
        for now in [i64::MIN, i64::MAX] {
            assert!(!FIVE_MINUTES.accepts(-2, i64::MAX, now));
            assert!(!FIVE_MINUTES.accepts(i64::MIN, i64::MIN, now));
        }
    }

    #[test]
    fn within_never_overflows() {
        assert!(within(NOW, NOW, 0));
        assert!(within(NOW - 300, NOW, 300));
        assert!(within(NOW + 300, NOW, 300));
        assert!(!within(NOW + 301, NOW, 300));
        assert!(!within(i64::MIN, NOW, 300));
        assert!(!within(i64::MAX, NOW, 300));
        assert!(!within(i64::MIN, i64::MAX, 300));
        assert!(!within(i64::MAX, i64::MIN, 300));
    }
}
