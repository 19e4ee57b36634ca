//! The languages the app is written in, and which one a portal's BCP 47 locale gets.
//!
//! Negotiation is RFC 4647's "lookup" (section 3.4): the tag is cut back one subtag at a time
//! (a single-letter subtag goes with the one after it) until a language matches, else English.
//! Chinese is decided by script, as CLDR's likely subtags do: `zh`, `zh-CN`, `zh-SG`, `zh-MY` and any
//! `zh-Hans…` are Simplified Chinese; `zh-TW`, `zh-HK`, `zh-MO` and any `zh-Hant…` are Traditional,
//! which is not written, so they get English rather than Simplified (a deliberate choice: a reader of
//! Traditional Chinese is not shown the other script unasked).

/// A language the app is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    /// English, the source language.
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Japanese.
    Ja,
    /// Simplified Chinese.
    ZhHans,
}

impl Locale {
    /// Every language, English first.
    pub const ALL: [Locale; 6] = [Locale::En, Locale::De, Locale::Fr, Locale::Es, Locale::Ja, Locale::ZhHans];

    /// Its BCP 47 tag (`lang` of the page, the catalogue's file name, `Intl`'s locale).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Es => "es",
            Locale::Ja => "ja",
            Locale::ZhHans => "zh-Hans",
        }
    }

    /// The language for `requested` (a portal's BCP 47 locale, any case), English when none is
    /// written for it or it is not a well-formed tag.
    pub fn negotiate(requested: &str) -> Locale {
        let tag = requested.trim().replace('_', "-").to_ascii_lowercase();
        let subtags: Vec<&str> = tag.split('-').collect();
        let well_formed = !tag.is_empty()
            && tag.len() <= 35
            && subtags.iter().all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !well_formed {
            return Locale::En;
        }
        if subtags[0] == "zh" {
            return Self::chinese(&subtags[1..]);
        }
        // Lookup: cut back from the end; the primary language is what decides here.
        let mut range: Vec<&str> = subtags;
        while !range.is_empty() {
            if let Some(l) = Self::exact(&range.join("-")) {
                return l;
            }
            range.pop();
            // A single-letter subtag (an extension or private use) goes with the one after it.
            if range.last().is_some_and(|s| s.len() == 1) {
                range.pop();
            }
        }
        Locale::En
    }

    fn exact(tag: &str) -> Option<Locale> {
        Locale::ALL.into_iter().filter(|l| *l != Locale::ZhHans).find(|l| l.tag() == tag)
    }

    /// Chinese by script: written or implied by the region (CLDR likely subtags).
    fn chinese(rest: &[&str]) -> Locale {
        let mut script = None;
        let mut region = None;
        for s in rest {
            if *s == "x" || s.len() == 1 {
                break;
            }
            match s.len() {
                4 if script.is_none() && region.is_none() => script = Some(*s),
                2 | 3 if region.is_none() => region = Some(*s),
                _ => {}
            }
        }
        let simplified = match (script, region) {
            (Some("hans"), _) => true,
            (Some(_), _) => false,
            (None, None) => true,
            (None, Some(r)) => !matches!(r, "tw" | "hk" | "mo"),
        };
        if simplified {
            Locale::ZhHans
        } else {
            Locale::En
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_gets_its_language_or_english() {
        for (requested, expected) in [
            ("de-CH", Locale::De),
            ("DE", Locale::De),
            ("de-DE-x-portal", Locale::De),
            ("fr-CA", Locale::Fr),
            ("es-419", Locale::Es),
            ("ja-JP", Locale::Ja),
            ("ja_JP", Locale::Ja),
            ("en-GB", Locale::En),
            ("pt-BR", Locale::En),
            ("", Locale::En),
            ("not a tag", Locale::En),
            ("de-toolongsubtag", Locale::En),
        ] {
            assert_eq!(Locale::negotiate(requested), expected, "{requested}");
        }
    }

    #[test]
    fn chinese_is_decided_by_script_and_traditional_gets_english() {
        for (requested, expected) in [
            ("zh", Locale::ZhHans),
            ("zh-CN", Locale::ZhHans),
            ("zh-SG", Locale::ZhHans),
            ("zh-Hans", Locale::ZhHans),
            ("zh-Hans-HK", Locale::ZhHans),
            ("zh-TW", Locale::En),
            ("zh-HK", Locale::En),
            ("zh-MO", Locale::En),
            ("zh-Hant", Locale::En),
            ("zh-Hant-CN", Locale::En),
        ] {
            assert_eq!(Locale::negotiate(requested), expected, "{requested}");
        }
    }

    #[test]
    fn tags_are_distinct_and_negotiate_to_themselves() {
        for l in Locale::ALL {
            assert_eq!(Locale::negotiate(l.tag()), l);
        }
    }
}
