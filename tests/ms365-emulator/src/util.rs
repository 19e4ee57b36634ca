//! Small helpers shared by every module: the clock, random identifiers and secrets, and the date formats
//! Microsoft puts on the wire. Times are milliseconds since the Unix epoch (`u64`) everywhere, so logic
//! functions take `now_ms` as an argument and tests can reason about time without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};

/// How far the control API has moved the emulator's clock ahead of the wall clock, milliseconds.
static CLOCK_AHEAD_MS: AtomicU64 = AtomicU64::new(0);

/// The emulator's time in milliseconds since the Unix epoch: the wall clock, plus however far
/// `POST /_emulator/clock` has moved it forward (credentials expire, tokens age).
pub fn now_ms() -> u64 {
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    wall + CLOCK_AHEAD_MS.load(Ordering::Relaxed)
}

/// Moves the emulator's clock forward by `ms`; answers how far ahead of the wall clock it now is.
pub fn advance_clock(ms: u64) -> u64 {
    CLOCK_AHEAD_MS.fetch_add(ms, Ordering::Relaxed) + ms
}

/// Puts the emulator's clock back on the wall clock (a reset).
pub fn reset_clock() {
    CLOCK_AHEAD_MS.store(0, Ordering::Relaxed);
}

/// A fresh random GUID in Microsoft's lower-case hyphenated form (object IDs, app IDs, key IDs, trace IDs).
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether `s` is a GUID (any case).
pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The system RNG only fails when the OS has no entropy source at all; then a zeroed buffer would be
    // a silent weakness, but this is a test emulator and the failure cannot happen on supported systems.
    let _ = SystemRandom::new().fill(&mut buf);
    buf
}

/// A random string over `alphabet` of length `len` (rejection-free: the modulo bias is irrelevant here).
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    random_bytes(len).into_iter().map(|b| alphabet[b as usize % alphabet.len()] as char).collect()
}

/// Base64url without padding, as used in JWTs.
pub fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url, tolerating padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// Standard base64 with padding, as Graph uses for binary properties (`key`, `customKeyIdentifier`).
pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 (padding optional).
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s.trim_end_matches('=')))
        .ok()
}

/// Upper-case hex, as Graph and MSAL print certificate thumbprints.
pub fn hex_upper(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect()
}

/// Civil date and time (UTC) of a Unix time in seconds: (year, month, day, hour, minute, second).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

/// Unix seconds of a civil UTC date and time (inverse of [`civil`]).
fn unix_of_civil(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss)
}

/// ISO 8601 / OData `DateTimeOffset` in UTC with a `Z`, e.g. `2026-11-26T12:00:00Z` (Graph's format).
pub fn iso8601(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil((ms / 1000) as i64);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The identity platform's error timestamp, e.g. `2026-11-26 12:00:00Z`.
pub fn aad_timestamp(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil((ms / 1000) as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

/// Parses an ISO 8601 date-time as Graph accepts it (`2027-01-01T00:00:00Z`, optional fraction, `Z` or
/// `+hh:mm` offset, or a bare date). Returns milliseconds since the epoch.
pub fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let num = |part: &str| part.parse::<u32>().ok();
    let (date, time) = match s.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo = num(dp.next()?)?;
    let d = num(dp.next()?)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut hh, mut mm, mut ss, mut offset_secs) = (0, 0, 0, 0i64);
    if let Some(t) = time {
        let (clock, offset) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
            (c, None)
        } else if let Some(pos) = t.rfind(['+', '-']) {
            (&t[..pos], Some(&t[pos..]))
        } else {
            (t, None)
        };
        let clock = clock.split('.').next()?;
        let mut cp = clock.splitn(3, ':');
        hh = num(cp.next()?)?;
        mm = num(cp.next()?)?;
        ss = cp.next().map_or(Some(0), num)?;
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        if let Some(off) = offset {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
            offset_secs = sign * (i64::from(num(oh)?) * 3600 + i64::from(num(om)?) * 60);
        }
    }
    let secs = unix_of_civil(y, mo, d, hh, mm, ss) - offset_secs;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Parses an `application/x-www-form-urlencoded` body or query string into ordered pairs. Malformed
/// percent-escapes are decoded leniently, as browsers and Microsoft do; this never fails.
pub fn parse_form(data: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(data).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `key` in parsed form pairs.
pub fn form_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_civil_time() {
        let ms = parse_iso8601("2026-11-26T12:00:00Z").unwrap_or_default();
        assert_eq!(iso8601(ms), "2026-11-26T12:00:00Z");
        assert_eq!(aad_timestamp(ms), "2026-11-26 12:00:00Z");
        assert_eq!(parse_iso8601("2026-11-26T13:00:00.1234567+01:00"), Some(ms));
        assert_eq!(parse_iso8601("2024-02-29"), parse_iso8601("2024-02-29T00:00:00Z"));
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn hostile_dates_are_refused_not_panicked_on() {
        for bad in ["", "T", "2026-13-01T00:00:00Z", "2026-01-01T25:00:00Z", "x-y-z", "2026-01-01T00:00:00+"] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
