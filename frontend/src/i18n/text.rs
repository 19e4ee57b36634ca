//! Messages with named values: `{name}` in a catalogue's text is replaced by the value named
//! `name`; `{{` and `}}` are literal braces. Pure, so the catalogue test checks that every
//! language's text names exactly the values the English one names.

use std::collections::BTreeSet;

/// A key of the English catalogue: its position among the keys of `locales/en.json`, sorted, and
/// its English text. Written `key!("list.add")`, so the compiler refuses a key the catalogue does
/// not have.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The position.
    pub id: u16,
    /// The English text.
    pub english: &'static super::Source,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.id == other.id
    }
}

/// A message to show: its catalogue key, its named values, and the number that chooses its plural
/// form (shown as `{count}`). Pure logic returns these; a component shows them in the language of
/// the page ([`super::runtime::I18n::msg`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    /// The catalogue key.
    pub key: Key,
    /// The named values.
    pub args: Vec<(&'static str, String)>,
    /// The number that chooses the plural form.
    pub count: Option<f64>,
    /// Named values that are times, written as the language writes them.
    pub times: Vec<(&'static str, When)>,
}

/// A time in a message, written by the browser's `Intl` in the language shown (in UTC, as the
/// service's times are).
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// The date of an RFC 3339 time.
    Date(String),
    /// The date and the time of day of an RFC 3339 time.
    DateTime(String),
    /// The time of day of an RFC 3339 time.
    Time(String),
    /// How long ago, in seconds ("5 minutes ago").
    Ago(f64),
}

impl When {
    /// As English writes it without `Intl` (the native tests): `2026-12-06`, `2026-12-06 15:04`,
    /// `15:04`, `5 minutes ago`; an unreadable time as it is.
    pub fn plain(&self) -> String {
        let cut =
            |s: &str, from: usize, to: usize| s.get(from..to).map_or_else(|| s.to_owned(), |c| c.replace('T', " "));
        match self {
            When::Date(s) => cut(s, 0, 10),
            When::DateTime(s) => cut(s, 0, 16),
            When::Time(s) => cut(s, 11, 16),
            When::Ago(seconds) => {
                let (value, unit) = relative_unit(-seconds);
                let n = -value;
                if n == 0.0 {
                    "now".to_owned()
                } else if n == 1.0 {
                    format!("1 {unit} ago")
                } else {
                    format!("{n} {unit}s ago")
                }
            }
        }
    }
}

impl Msg {
    /// The message `key` without values.
    pub fn new(key: Key) -> Self {
        Msg { key, args: vec![], count: None, times: vec![] }
    }

    /// The message with the value `name` set to `value`.
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// The message with the time `name` set to `when`.
    pub fn when(mut self, name: &'static str, when: When) -> Self {
        self.times.push((name, when));
        self
    }

    /// The message in the plural form for `count`.
    pub fn count(mut self, count: f64) -> Self {
        self.count = Some(count);
        self
    }
}

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

/// A part of a message shown with elements in place of some of its named values (a link, a live
/// countdown): a text, or the element for the name at this index.
#[derive(Debug, PartialEq)]
pub enum Piece {
    /// Text of the message.
    Text(String),
    /// The element for `names[i]`.
    Value(usize),
}

/// `text` cut at each `{name}` of `names` (in whatever order the language puts them), so that a
/// whole sentence is translated and its elements are placed where the translation puts them.
pub fn pieces(text: &str, names: &[&str]) -> Vec<Piece> {
    let mut out = vec![];
    let mut rest = text;
    loop {
        let next = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| rest.find(&format!("{{{n}}}")).map(|at| (at, i, n.len() + 2)))
            .min();
        match next {
            Some((at, i, len)) => {
                if at > 0 {
                    out.push(Piece::Text(rest[..at].to_owned()));
                }
                out.push(Piece::Value(i));
                rest = &rest[at + len..];
            }
            None => {
                if !rest.is_empty() {
                    out.push(Piece::Text(rest.to_owned()));
                }
                return out;
            }
        }
    }
}

/// The value and unit `Intl.RelativeTimeFormat` is given for `seconds` (negative: in the past):
/// the largest unit of second, minute, hour, day with at least one whole of it, rounded toward
/// zero ("59 seconds ago", "1 minute ago", "23 hours ago", "2 days ago").
pub fn relative_unit(seconds: f64) -> (f64, &'static str) {
    let a = seconds.abs();
    let (value, unit) = if a < 60.0 {
        (a, "second")
    } else if a < 3600.0 {
        (a / 60.0, "minute")
    } else if a < 86_400.0 {
        (a / 3600.0, "hour")
    } else {
        (a / 86_400.0, "day")
    };
    (value.trunc().copysign(seconds), unit)
}

#[cfg(test)]
mod relative_tests {
    use super::relative_unit;

    #[test]
    fn a_duration_gets_its_largest_whole_unit() {
        assert_eq!(relative_unit(-5.0), (-5.0, "second"));
        assert_eq!(relative_unit(-59.9), (-59.0, "second"));
        assert_eq!(relative_unit(-60.0), (-1.0, "minute"));
        assert_eq!(relative_unit(-300.0), (-5.0, "minute"));
        assert_eq!(relative_unit(-86_399.0), (-23.0, "hour"));
        assert_eq!(relative_unit(2.0 * 86_400.0), (2.0, "day"));
        assert_eq!(relative_unit(0.0), (0.0, "second"));
    }
}

#[cfg(test)]
mod piece_tests {
    use super::{pieces, Piece};

    #[test]
    fn a_sentence_is_cut_at_its_elements_in_the_order_the_language_puts_them() {
        assert_eq!(
            pieces("{b} or {a}.", &["a", "b"]),
            vec![Piece::Value(1), Piece::Text(" or ".into()), Piece::Value(0), Piece::Text(".".into())]
        );
        assert_eq!(
            pieces("Register in {link}, then consent.", &["link"]),
            vec![Piece::Text("Register in ".into()), Piece::Value(0), Piece::Text(", then consent.".into())]
        );
        assert_eq!(pieces("No link", &["link"]), vec![Piece::Text("No link".into())]);
    }
}
