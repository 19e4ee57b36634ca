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

/// Whether `s` has the shape of an ID [`new_id`] issues. Checked wherever an ID arrives from
/// outside (a path, the pop-up's `state`, a request body) before anything is looked up with it.
pub use shared::ids::is_issued_id as is_id;

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_v4_uuids_and_differ() {
        let a = super::new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, super::new_id());
        assert!(shared::TenantId::parse(&a).is_ok(), "a GUID by our own validator");
        assert!(super::is_id(&a));
    }

    #[test]
    fn only_the_issued_shape_is_an_id() {
        assert!(super::is_id("0F8FAD5B-d9cb-469f-a165-70867728950e"));
        for bad in [
            "",
            "x",
            "0f8fad5b",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            " 0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5bd9cb-469f-a165-70867728950e-",
            "------------------------------------",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert!(!super::is_id(bad), "{bad}");
        }
    }
}
