//! The pseudo-locale the layout tests use: every letter of the English text accented and the text
//! about 40% longer, its named values kept, so that text that is clipped, overlaps, or never went
//! through a catalogue shows on the screen.

/// An accented letter for each ASCII letter (keeping its case and width class).
fn accent(c: char) -> char {
    const FROM: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const TO: &str = "àƀçđéƒĝĥîĵķĺɱñöþǫŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŢÛṼŴẊÝŽ";
    FROM.chars().position(|f| f == c).and_then(|i| TO.chars().nth(i)).unwrap_or(c)
}

/// `text` pseudo-localized: letters accented outside `{names}`, then padded to about 140% of its
/// length with `~` inside brackets, so its start and end can be seen.
pub fn pseudo(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut in_name = false;
    let mut letters = 0usize;
    for c in text.chars() {
        match c {
            '{' => {
                in_name = true;
                out.push(c);
            }
            '}' => {
                in_name = false;
                out.push(c);
            }
            c if in_name => out.push(c),
            c => {
                if c.is_ascii_alphabetic() {
                    letters += 1;
                }
                out.push(accent(c));
            }
        }
    }
    // The padding wraps as words do (a long unbroken run would overflow where real text wraps).
    let pad = (letters * 2).div_ceil(5);
    let padding: Vec<String> = (0..pad).step_by(6).map(|i| "~".repeat((pad - i).min(6))).collect();
    format!("[{out} {}]", padding.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_text_is_accented_longer_and_keeps_its_names() {
        let p = pseudo("Add {count} organizations");
        assert!(p.starts_with("[Àđđ {count} öŕĝàñîžàţîöñš"), "{p}");
        assert!(p.ends_with("~]"), "{p}");
        assert!(!p.contains("~~~~~~~"), "the padding wraps: {p}");
        assert!(p.chars().count() as f64 >= "Add {count} organizations".len() as f64 * 1.3, "{p}");
        assert_eq!(super::super::text::placeholders(&p), super::super::text::placeholders("Add {count} organizations"));
    }
}
