//! Messages with named values: `{name}` in a catalogue's text is replaced by the value named
//! `name`; `{{` and `}}` are literal braces. Pure, so the catalogue test checks that every
//! language's text names exactly the values the English one names.

use std::collections::BTreeSet;

/// The names of the values `template` uses, in order of first use, each once.
pub fn placeholders(template: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.insert(name);
            }
            _ => {}
        }
    }
    out
}

/// `template` with each `{name}` replaced by its value in `args` (a name without a value is left
/// as it is, so a missing value shows, never a panic).
pub fn fill(template: &str, args: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(&name);
                        out.push('}');
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fill_their_names_and_braces_can_be_written() {
        let args = [("count", "3".to_owned()), ("name", "Contoso".to_owned())];
        assert_eq!(fill("{name} has {count} applications.", &args), "Contoso has 3 applications.");
        assert_eq!(fill("{{literal}} {name}", &args), "{literal} Contoso");
        assert_eq!(fill("{missing}", &args), "{missing}");
        let names: Vec<String> = placeholders("{name}: {count} {name} {{x}}").into_iter().collect();
        assert_eq!(names, vec!["count", "name"]);
    }
}
