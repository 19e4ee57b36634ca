//! The app in the portal's language: the languages ([`shared::locale::Locale`]), messages with
//! named values ([`text`]), and the catalogues ([`catalogue`]). English is the source and is
//! compiled in; the other catalogues are fetched when a portal asks for their language.

pub mod catalogue;
pub mod intl;
pub mod pseudo;
pub mod runtime;
pub mod text;

#[cfg(test)]
mod catalogue_tests {
    use super::catalogue::Catalogue;
    use std::path::Path;

    fn read(path: &Path) -> Catalogue {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The keys the app's code names in `t("…")`, `tr("…"`, `tn("…"`.
    fn keys_used() -> Vec<String> {
        let mut out = vec![];
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for call in [".t(\"", ".tr(\"", ".tn(\""] {
                    for (i, _) in text.match_indices(call) {
                        let rest = &text[i + call.len()..];
                        if let Some(end) = rest.find('"') {
                            out.push(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_language_has_every_key_with_the_same_named_values_and_no_other() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let en = read(&dir.join("en.json"));
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.file_name().is_some_and(|n| n != "en.json") {
                let problems = read(&path).check(&en);
                assert!(problems.is_empty(), "{}: {problems:?}", path.display());
            }
        }
    }

    #[test]
    fn every_key_the_code_names_is_in_the_source_and_every_source_key_is_used() {
        let en = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en.json"));
        let used = keys_used();
        let missing: Vec<&String> = used.iter().filter(|k| en.get(k).is_none()).collect();
        assert!(missing.is_empty(), "keys not in locales/en.json: {missing:?}");
        let unused: Vec<&String> = en.0.keys().filter(|k| !used.contains(k)).collect();
        assert!(unused.is_empty(), "keys no code uses: {unused:?}");
    }
}
