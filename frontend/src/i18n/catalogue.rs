//! A language's catalogue: message key → text, or → plural forms by `Intl.PluralRules` category
//! (`zero`, `one`, `two`, `few`, `many`, `other`). The English source is the fallback for a key a
//! catalogue lacks, so a key is never shown.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    /// A text.
    Text(String),
    /// Plural forms by category; `other` is required.
    Plural(BTreeMap<String, String>),
}

impl Entry {
    /// The text for `category` (`other` when the language has no such form; plain text for any).
    pub fn text(&self, category: &str) -> Option<&str> {
        match self {
            Entry::Text(t) => Some(t),
            Entry::Plural(forms) => forms.get(category).or_else(|| forms.get("other")).map(String::as_str),
        }
    }

    /// Every text of the entry (to check its named values).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Entry::Text(t) => vec![t],
            Entry::Plural(forms) => forms.values().map(String::as_str).collect(),
        }
    }
}

/// The categories `Intl.PluralRules` answers with.
pub const PLURAL_CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// A catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Catalogue(pub BTreeMap<String, Entry>);

/// What is wrong with a catalogue against the English source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A key of the source is missing.
    Missing(String),
    /// A key the source does not have.
    Unknown(String),
    /// The named values differ from the source's.
    Placeholders(String),
    /// Plural forms without `other`, or with a category `Intl` does not answer.
    PluralForms(String),
}

impl Catalogue {
    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.0.get(key)
    }

    /// Every problem of this catalogue against `source` (the English one).
    pub fn check(&self, source: &Catalogue) -> Vec<Problem> {
        let mut out = vec![];
        for (key, src) in &source.0 {
            let Some(entry) = self.0.get(key) else {
                out.push(Problem::Missing(key.clone()));
                continue;
            };
            // Every form names only values the source names, and together they name them all (a
            // plural form such as "one application" may leave the number out).
            let names = |e: &Entry| {
                e.texts().iter().flat_map(|t| super::text::placeholders(t)).collect::<std::collections::BTreeSet<_>>()
            };
            let want = names(src);
            let exact = matches!(entry, Entry::Text(_));
            let differs = entry.texts().iter().any(|t| {
                let got = super::text::placeholders(t);
                if exact {
                    got != want
                } else {
                    !got.is_subset(&want)
                }
            }) || names(entry) != want;
            if differs {
                out.push(Problem::Placeholders(key.clone()));
            }
            if let Entry::Plural(forms) = entry {
                if !forms.contains_key("other") || forms.keys().any(|c| !PLURAL_CATEGORIES.contains(&c.as_str())) {
                    out.push(Problem::PluralForms(key.clone()));
                }
            }
        }
        for key in self.0.keys() {
            if !source.0.contains_key(key) {
                out.push(Problem::Unknown(key.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(json: &str) -> Catalogue {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_catalogue_is_checked_key_by_key_against_the_source() {
        let en = catalogue(
            r#"{"a": "Hello {name}.", "n": {"one": "{count} application", "other": "{count} applications"}}"#,
        );
        let de =
            catalogue(r#"{"a": "Hallo {name}.", "n": {"one": "{count} Anwendung", "other": "{count} Anwendungen"}}"#);
        assert_eq!(de.check(&en), vec![]);
        let bad = catalogue(r#"{"a": "Hallo {nom}.", "n": {"one": "eine"}, "z": "extra"}"#);
        assert_eq!(
            bad.check(&en),
            vec![
                Problem::Placeholders("a".into()),
                Problem::Placeholders("n".into()),
                Problem::PluralForms("n".into()),
                Problem::Unknown("z".into()),
            ]
        );
        assert_eq!(catalogue("{}").check(&en), vec![Problem::Missing("a".into()), Problem::Missing("n".into())]);
    }

    #[test]
    fn a_plural_entry_falls_back_to_other() {
        let e: Entry = serde_json::from_str(r#"{"one": "1 app", "other": "n apps"}"#).unwrap();
        assert_eq!(e.text("one"), Some("1 app"));
        assert_eq!(e.text("few"), Some("n apps"));
        let t: Entry = serde_json::from_str(r#""plain""#).unwrap();
        assert_eq!(t.text("many"), Some("plain"));
    }
}
