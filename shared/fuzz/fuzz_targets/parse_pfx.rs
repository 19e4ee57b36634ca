//! Fuzzes the .pfx reader: any bytes, any password, must return (never panic, never hang).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a password length so that the password varies too.
    let (password, pfx) = match data.split_first() {
        Some((n, rest)) => {
            let n = (*n as usize).min(rest.len()).min(16);
            (String::from_utf8_lossy(&rest[..n]).into_owned(), &rest[n..])
        }
        None => (String::new(), data),
    };
    let _ = shared::certificate::parse_pfx(pfx, &password, 1_800_000_000);
});
