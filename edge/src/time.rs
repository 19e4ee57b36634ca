//! Time as the edge writes and reads it: Unix milliseconds inside, RFC 3339 UTC on the wire.

/// RFC 3339 UTC for Unix milliseconds (second precision).
pub fn rfc3339_ms(ms: i64) -> String {
    shared::certificate::rfc3339(ms.div_euclid(1000))
}

/// Parses RFC 3339 UTC into Unix seconds (see [`shared::certificate::parse_rfc3339`]).
pub use shared::certificate::parse_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for secs in [0i64, 951_782_400, 1_798_761_599, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339_ms(secs * 1000)), Some(secs));
        }
        assert_eq!(parse_rfc3339("2028-11-26T10:00:00.1234567Z"), parse_rfc3339("2028-11-26T10:00:00Z"));
        assert_eq!(parse_rfc3339("2028-11-26T10:00:00+02:00"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
