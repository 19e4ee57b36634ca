//! Identifiers the edge issues: random UUIDs (version 4), from the platform's CSPRNG.

/// A new random UUID, lower-case hyphenated.
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    // The Workers runtime (crypto.getRandomValues) and every native OS provide randomness;
    // failing here means the platform is broken, and no ID is better than a guessable one.
    getrandom::fill(&mut b).expect("the platform's random number generator is available");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_v4_uuids_and_differ() {
        let a = super::new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, super::new_id());
        assert!(shared::TenantId::parse(&a).is_ok(), "a GUID by our own validator");
    }
}
