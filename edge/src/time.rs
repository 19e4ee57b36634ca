//! Time as the edge writes and reads it: Unix milliseconds inside, RFC 3339 UTC on the wire.

/// RFC 3339 UTC for Unix milliseconds (second precision).
pub fn rfc3339_ms(ms: i64) -> String {
    shared::certificate::rfc3339(ms.div_euclid(1000))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into Unix seconds. Only UTC is accepted,
/// which is what Microsoft and this product write.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

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
