//! The app in the portal's language: the languages ([`shared::locale::Locale`]), messages with
//! named values ([`text`]), and the catalogues ([`catalogue`]). English is the source and is
//! compiled in; the other catalogues are fetched when a portal asks for their language.

pub mod catalogue;
pub mod intl;
pub mod languages;
pub mod pseudo;
pub mod runtime;
pub mod text;

pub use runtime::{msg, t, tr, I18n};
pub use text::{pieces, Key, Msg, Piece, When};

/// An entry of the English source: a text, or its plural forms by `Intl.PluralRules` category.
#[derive(Debug)]
pub enum Source {
    /// A text.
    Text(&'static str),
    /// Plural forms (category, text); `other` is one of them.
    Plural(&'static [(&'static str, &'static str)]),
}

impl Source {
    /// The text for `category` (`other` when the language has no such form).
    pub fn text(&self, category: &str) -> &'static str {
        match self {
            Source::Text(t) => t,
            Source::Plural(forms) => forms
                .iter()
                .find(|(c, _)| *c == category)
                .or_else(|| forms.iter().find(|(c, _)| *c == "other"))
                .map_or("", |(_, t)| t),
        }
    }
}

/// `msg` in English, as the source catalogue writes it (for native tests of logic that returns
/// messages; English plurals: `one` for 1).
#[cfg(test)]
pub fn english(msg: &Msg) -> String {
    let mut args = msg.args.clone();
    args.extend(msg.times.iter().map(|(n, w)| (*n, w.plain())));
    let category = match msg.count {
        Some(n) => {
            args.push(("count", n.to_string()));
            if n == 1.0 {
                "one"
            } else {
                "other"
            }
        }
        None => "other",
    };
    text::fill(msg.key.english.text(category), &args)
}

#[cfg(test)]
mod catalogue_tests {
    use super::catalogue::Catalogue;
    use std::path::Path;

    fn read(path: &Path) -> Catalogue {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every string literal in the app's code shaped like a key of a namespace the source uses
    /// (`"list.add"`, whatever call names it: `t("…")`, `Msg::new("…")`, a table of keys).
    fn keys_named(namespaces: &std::collections::BTreeSet<String>) -> Vec<String> {
        let mut out = vec![];
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                // Escaped quotes and the quote character do not start or end a literal.
                let text = std::fs::read_to_string(&p).unwrap_or_default().replace("\\\"", "").replace("'\"'", "");
                for literal in text.split('"').skip(1).step_by(2) {
                    let shaped = literal.contains('.')
                        && literal
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
                    if shaped && literal.split('.').next().is_some_and(|ns| namespaces.contains(ns)) {
                        out.push(literal.to_owned());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The English source of every other language: `locales/en.json`, the edge's error sentences
    /// by code (`error.<code>`) and a refused field's (`field.<name>`), which English shows as the
    /// edge and the validators wrote them.
    fn source() -> Catalogue {
        let mut en = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en.json"));
        for code in shared::ErrorCode::ALL {
            en.0.insert(format!("error.{}", code.as_str()), super::catalogue::Entry::Text(code.message().to_owned()));
        }
        for field in shared::Field::ALL {
            en.0.insert(
                format!("field.{}", field.as_str()),
                super::catalogue::Entry::Text(field.instruction().to_owned()),
            );
        }
        en
    }

    #[test]
    fn every_language_has_every_key_with_the_same_named_values_and_no_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let en = source();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n != "en.json") {
                let problems = read(&path).check(&en);
                assert!(problems.is_empty(), "{}: {problems:?}", path.display());
            }
        }
    }

    #[test]
    fn every_key_of_the_source_is_used() {
        let en = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en.json"));
        let namespaces = en.0.keys().filter_map(|k| k.split('.').next()).map(str::to_owned).collect();
        let mut used = keys_named(&namespaces);
        // Named by the permission's value; the edge's manifest test keeps them equal to its reasons.
        used.extend(en.0.keys().filter(|k| k.starts_with("permission.")).cloned());
        let unused: Vec<&String> = en.0.keys().filter(|k| !used.contains(k)).collect();
        assert!(unused.is_empty(), "keys no code uses: {unused:?}");
    }
}
