//! The portal's look: optional design tokens in the `session` message (accent colour, font family,
//! corner radius), validated here so that the app can look like part of the portal without ever
//! taking CSS from it. Each token is a value of a narrow type; the app builds the CSS itself.

use serde::Deserialize;

/// The design tokens as the portal sends them (`"design": {...}` in the session message).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignInput {
    /// `#rgb` or `#rrggbb`.
    #[serde(default)]
    pub accent: Option<String>,
    /// Font family names, comma-separated (`Inter, Segoe UI, sans-serif`).
    #[serde(default)]
    pub font_family: Option<String>,
    /// Corner radius in CSS pixels, 0 to 16.
    #[serde(default)]
    pub radius: Option<f64>,
}

/// An accent colour with what the app derives from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accent {
    /// `#rrggbb`.
    pub hex: String,
    /// Used in the light theme: the colour reaches 4.5:1 against its background and its panels.
    pub light: bool,
    /// Used in the dark theme: the colour reaches 4.5:1 against its background and its panels.
    pub dark: bool,
    /// The text colour on a button of this colour (`#000000` or `#ffffff`, whichever contrasts more).
    pub on_accent: &'static str,
}

/// Validated design tokens: only what passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Design {
    /// The accent colour.
    pub accent: Option<Accent>,
    /// The CSS `font-family` value, built here from validated names.
    pub font_family: Option<String>,
    /// The corner radius in pixels.
    pub radius: Option<u8>,
}

/// A token that was refused: its name and what to send instead (for the portal's developer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `accent`, `font_family` or `radius`.
    pub token: &'static str,
    /// What is accepted.
    pub message: String,
}

/// The light theme's surfaces an accent is drawn on, as links and outlined buttons: `--bg` and
/// `--panel` in the app's style sheet (the code block, dialogs, notices).
const LIGHT_SURFACES: [(u8, u8, u8); 2] = [(0xff, 0xff, 0xff), (0xf4, 0xf5, 0xf7)];
/// The dark theme's `--bg` and `--panel`.
const DARK_SURFACES: [(u8, u8, u8); 2] = [(0x16, 0x16, 0x1a), (0x23, 0x23, 0x2a)];
/// Generic font families, written without quotes.
const GENERIC: &[&str] = &[
    "serif",
    "sans-serif",
    "monospace",
    "cursive",
    "fantasy",
    "system-ui",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
];

fn rgb(hex: &str) -> Option<(u8, u8, u8)> {
    let h = hex.strip_prefix('#')?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = |s: &str| u8::from_str_radix(s, 16).ok();
    match h.len() {
        3 => {
            let d: Vec<String> = h.chars().map(|c| format!("{c}{c}")).collect();
            Some((v(&d[0])?, v(&d[1])?, v(&d[2])?))
        }
        6 => Some((v(&h[0..2])?, v(&h[2..4])?, v(&h[4..6])?)),
        _ => None,
    }
}

/// WCAG relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let c = |x: u8| {
        let s = f64::from(x) / 255.0;
        if s <= 0.039_28 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * c(r) + 0.7152 * c(g) + 0.0722 * c(b)
}

/// WCAG contrast ratio of two colours.
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

fn accent(value: &str) -> Result<Accent, Refused> {
    let refused = || Refused { token: "accent", message: "Send a colour as #rgb or #rrggbb, e.g. \"#0b5cc0\".".into() };
    let c = rgb(value.trim()).ok_or_else(refused)?;
    let white = (255, 255, 255);
    let accent = Accent {
        hex: format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2),
        light: LIGHT_SURFACES.iter().all(|s| contrast(c, *s) >= 4.5),
        dark: DARK_SURFACES.iter().all(|s| contrast(c, *s) >= 4.5),
        on_accent: if contrast(c, (0, 0, 0)) > contrast(c, white) { "#000000" } else { "#ffffff" },
    };
    if !accent.light && !accent.dark {
        return Err(Refused {
            token: "accent",
            message: format!(
                "{} is too close to both the light and the dark backgrounds or panels for readable links (4.5:1 needed). Send a darker or a lighter colour.",
                accent.hex
            ),
        });
    }
    Ok(accent)
}

fn font_family(value: &str) -> Result<String, Refused> {
    let refused = |why: &str| Refused {
        token: "font_family",
        message: format!("{why} Send family names separated by commas, e.g. \"Inter, Segoe UI, sans-serif\"."),
    };
    if value.len() > 200 {
        return Err(refused("The list is longer than 200 characters."));
    }
    let mut out = vec![];
    for name in value.split(',') {
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
        if name.is_empty() || name.len() > 60 {
            return Err(refused("A family name is empty or longer than 60 characters."));
        }
        if !name.chars().all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_') {
            return Err(refused("Family names may hold only letters, digits, spaces, hyphens and underscores."));
        }
        out.push(if GENERIC.contains(&name) { name.to_owned() } else { format!("\"{name}\"") });
    }
    if out.len() > 8 {
        return Err(refused("Send at most 8 families."));
    }
    Ok(out.join(", "))
}

fn radius(value: f64) -> Result<u8, Refused> {
    if value.is_finite() && (0.0..=16.0).contains(&value) && value.fract() == 0.0 {
        Ok(value as u8)
    } else {
        Err(Refused { token: "radius", message: "Send a whole number of pixels from 0 to 16, e.g. 8.".into() })
    }
}

impl Design {
    /// Validates each token on its own: what passes is used, what does not is named.
    pub fn validate(input: &DesignInput) -> (Design, Vec<Refused>) {
        fn keep<T>(refused: &mut Vec<Refused>, r: Result<T, Refused>) -> Option<T> {
            r.map_err(|e| refused.push(e)).ok()
        }
        let mut refused = vec![];
        let design = Design {
            accent: input.accent.as_deref().and_then(|a| keep(&mut refused, accent(a))),
            font_family: input.font_family.as_deref().and_then(|f| keep(&mut refused, font_family(f))),
            radius: input.radius.and_then(|r| keep(&mut refused, radius(r))),
        };
        (design, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(accent: Option<&str>, font: Option<&str>, radius: Option<f64>) -> DesignInput {
        DesignInput { accent: accent.map(Into::into), font_family: font.map(Into::into), radius }
    }

    #[test]
    fn valid_tokens_become_css_values_the_app_builds() {
        let (d, refused) = Design::validate(&input(Some("#7B2CBF"), Some("Inter, 'Segoe UI', sans-serif"), Some(8.0)));
        assert!(refused.is_empty(), "{refused:?}");
        let a = d.accent.unwrap();
        assert_eq!((a.hex.as_str(), a.light, a.on_accent), ("#7b2cbf", true, "#ffffff"));
        assert_eq!(d.font_family.as_deref(), Some("\"Inter\", \"Segoe UI\", sans-serif"));
        assert_eq!(d.radius, Some(8));
        assert_eq!(Design::validate(&input(Some("#fc0"), None, None)).0.accent.unwrap().hex, "#ffcc00");
    }

    #[test]
    fn css_in_any_token_is_refused_by_name() {
        for bad in ["red", "#12345", "#1234567", "url(x)", "#fff;background:url(x)", "var(--x)"] {
            let (d, refused) = Design::validate(&input(Some(bad), None, None));
            assert_eq!((d.accent, refused[0].token), (None, "accent"), "{bad}");
        }
        for bad in ["x; color: red", "a{}", "\"Inter\"), url(evil", "x\\", "/* */", "a,,b"] {
            let (d, refused) = Design::validate(&input(None, Some(bad), None));
            assert_eq!((d.font_family, refused[0].token), (None, "font_family"), "{bad}");
        }
        for bad in [-1.0, 17.0, 2.5, f64::NAN, f64::INFINITY] {
            let (d, refused) = Design::validate(&input(None, None, Some(bad)));
            assert_eq!((d.radius, refused[0].token), (None, "radius"), "{bad}");
        }
        // One bad token does not take the others with it.
        let (d, refused) = Design::validate(&input(Some("nope"), Some("Inter"), Some(4.0)));
        assert_eq!((d.font_family.is_some(), d.radius, refused.len()), (true, Some(4), 1));
    }

    #[test]
    fn an_accent_is_used_only_where_links_stay_readable() {
        // Mid grey: readable on neither background.
        let (d, refused) = Design::validate(&input(Some("#777777"), None, None));
        assert!(d.accent.is_none() && refused[0].message.contains("4.5:1"));
        // A pale colour: the dark theme only, with dark text on its buttons.
        let pale = Design::validate(&input(Some("#a0d8ff"), None, None)).0.accent.unwrap();
        assert_eq!((pale.light, pale.dark, pale.on_accent), (false, true, "#000000"));
        assert!(contrast((0, 0, 0), (255, 255, 255)) > 20.9);
        // Readable on the background but not on the panels (code block, dialogs, notices): 4.54:1 on
        // white but 4.16:1 on the light panel; 4.57:1 on the dark background but 3.95:1 on its panel.
        for (grey, on_background) in [("#767676", "light"), ("#808080", "dark")] {
            let (d, refused) = Design::validate(&input(Some(grey), None, None));
            assert!(
                d.accent.is_none() && refused[0].message.contains("panels"),
                "{grey} ({on_background}): {refused:?}"
            );
        }
    }

    #[test]
    fn the_surfaces_checked_are_the_style_sheets() {
        let css = include_str!("../../frontend/web/style.css");
        let hex = |(r, g, b): (u8, u8, u8)| format!("#{r:02x}{g:02x}{b:02x}");
        let [bg, panel] = LIGHT_SURFACES.map(hex);
        assert!(css.contains(&format!("--bg: {bg};")) && css.contains(&format!("--panel: {panel};")), "light");
        let [bg, panel] = DARK_SURFACES.map(hex);
        // Both places the dark theme is set (the system's preference, and the portal's `theme`).
        assert_eq!(css.matches(&format!("--bg: {bg};")).count(), 2, "dark --bg");
        assert_eq!(css.matches(&format!("--panel: {panel};")).count(), 2, "dark --panel");
    }

    #[test]
    fn unknown_tokens_are_refused_as_a_whole() {
        let v = serde_json::json!({"accent": "#000000", "css": "body{}"});
        assert!(serde_json::from_value::<DesignInput>(v).is_err());
    }
}
