//! Living in the portal's iframe. The portal sends the session token (and optionally a theme and a
//! locale) by `postMessage`; messages are accepted only from the portal origins the edge is
//! configured with (`PORTAL_ORIGINS`, published by `GET /api/health`). The app tells the parent
//! what happens: ready, step changed, content height changed, organization added / updated /
//! deleted, cancelled. The schema is in docs/integrating.md.
//!
//! The messages are the common crate's types ([`shared::embed`]), read from and written to the
//! browser's message objects by `serde-wasm-bindgen` (no JSON text in between). Checking a message
//! is plain Rust ([`parse_inbound`]), tested natively; only [`listen`] and [`post`] touch the
//! browser.

use shared::embed::{AppMessage, DesignField, PortalMessage, RefusedToken, SESSION};
use std::cell::RefCell;

/// A message from the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionMessage {
    /// The portal session token.
    pub token: String,
    /// `light` or `dark`, to follow the portal's theme.
    pub theme: Option<String>,
    /// A BCP 47 locale, e.g. `en-US` (recorded on the page; the texts are English for now).
    pub locale: Option<String>,
    /// The portal's design tokens that passed validation.
    pub design: shared::design::Design,
    /// The ones that did not, with what to send instead.
    pub refused: Vec<shared::design::Refused>,
}

/// Accepts `{"type": "m365-onboarding:session", "token": ..., "theme"?, "locale"?, "design"?}` from an
/// allowed origin (`design`: `{"accent"?, "font_family"?, "radius"?}`, see [`shared::design`]).
pub fn parse_inbound(origin: &str, allowed: &[String], data: &PortalMessage) -> Option<SessionMessage> {
    if !allowed.iter().any(|a| a == origin) || data.kind.as_deref() != Some(SESSION) {
        return None;
    }
    let token = crate::session::token_from_fragment(&format!("token={}", data.token.as_deref()?))?;
    let theme = data.theme.clone().filter(|t| matches!(t.as_str(), "light" | "dark"));
    let locale =
        data.locale.clone().filter(|l| l.len() <= 35 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let (design, refused) = match &data.design {
        None => Default::default(),
        Some(DesignField::Tokens(input)) => shared::design::Design::validate(input),
        Some(DesignField::Unreadable(_)) => (
            Default::default(),
            vec![shared::design::Refused {
                token: "design",
                message: "Send an object with only accent, font_family and radius.".into(),
            }],
        ),
    };
    Some(SessionMessage { token, theme, locale, design, refused })
}

/// Every custom property [`design_properties`] may set.
pub const DESIGN_PROPERTIES: [&str; 6] = [
    "--portal-accent-light",
    "--portal-accent-fg-light",
    "--portal-accent-dark",
    "--portal-accent-fg-dark",
    "--portal-font",
    "--portal-radius",
];

/// The CSS custom properties the style sheet reads for the portal's look (`--portal-*`), built from
/// validated tokens only.
pub fn design_properties(d: &shared::design::Design) -> Vec<(&'static str, String)> {
    let mut p = vec![];
    if let Some(a) = &d.accent {
        if a.light {
            p.push(("--portal-accent-light", a.hex.clone()));
            p.push(("--portal-accent-fg-light", a.on_accent.to_owned()));
        }
        if a.dark {
            p.push(("--portal-accent-dark", a.hex.clone()));
            p.push(("--portal-accent-fg-dark", a.on_accent.to_owned()));
        }
    }
    if let Some(f) = &d.font_family {
        p.push(("--portal-font", f.clone()));
    }
    if let Some(r) = d.radius {
        p.push(("--portal-radius", format!("{r}px")));
    }
    p
}

/// The portal's report of refused design tokens.
pub fn design_refused(refused: &[shared::design::Refused]) -> AppMessage {
    AppMessage::DesignRefused {
        refused: refused.iter().map(|r| RefusedToken { token: r.token.into(), message: r.message.clone() }).collect(),
    }
}

thread_local! {
    /// Where events go: the origin that sent the session, else every configured portal origin.
    static TARGETS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn framed() -> Option<web_sys::Window> {
    let w = web_sys::window()?;
    let parent = w.parent().ok().flatten()?;
    // Same object: not in a frame.
    (!js_sys::Object::is(&parent, &w)).then_some(parent)
}

/// Whether the page was opened on its own (its parent is itself), not inside a portal's frame.
pub fn is_top_level() -> bool {
    framed().is_none()
}

/// Posts `event` to the parent page (nothing happens outside a frame).
pub fn post(event: AppMessage) {
    let Some(parent) = framed() else { return };
    // Plain objects and `null` for `None`, as JSON would have them.
    let to_js = serde_wasm_bindgen::Serializer::json_compatible();
    let Ok(message) = serde::Serialize::serialize(&event, &to_js) else { return };
    TARGETS.with(|t| {
        for origin in t.borrow().iter() {
            let _ = parent.post_message(&message, origin);
        }
    });
}

/// Starts listening for the portal's messages from `allowed` origins; `on_session` gets each
/// accepted session. Announces `ready`.
pub fn listen(allowed: Vec<String>, on_session: impl Fn(SessionMessage) + 'static) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else { return };
    if framed().is_none() || allowed.is_empty() {
        return;
    }
    TARGETS.with(|t| *t.borrow_mut() = allowed.clone());
    let handler = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        // A message of another protocol, or not an object, is not ours.
        let Ok(data) = serde_wasm_bindgen::from_value::<PortalMessage>(ev.data()) else { return };
        if let Some(msg) = parse_inbound(&ev.origin(), &allowed, &data) {
            TARGETS.with(|t| *t.borrow_mut() = vec![ev.origin()]);
            if let (Some(theme), Some(root)) =
                (&msg.theme, web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()))
            {
                let _ = root.set_attribute("data-theme", theme);
            }
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            {
                // A later session message replaces the look: what it does not set goes back to the app's own.
                for name in DESIGN_PROPERTIES {
                    let _ = root.style().remove_property(name);
                }
                for (name, value) in design_properties(&msg.design) {
                    let _ = root.style().set_property(name, &value);
                }
            }
            if !msg.refused.is_empty() {
                post(design_refused(&msg.refused));
            }
            on_session(msg);
        }
    });
    let _ = window.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget();
    post(AppMessage::Ready);
}

/// The content's height, for [`AppMessage::Height`]: the body's, which (unlike the root element's)
/// is not stretched to the iframe, so the portal can make the iframe smaller as well as larger.
pub fn content_height() -> Option<u32> {
    let body = web_sys::window()?.document()?.body()?;
    Some(body.scroll_height().max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: serde_json::Value) -> PortalMessage {
        serde_json::from_value(v).unwrap()
    }

    fn allowed() -> Vec<String> {
        vec!["https://portal.example".into()]
    }

    #[test]
    fn design_tokens_become_portal_properties_and_bad_ones_are_reported() {
        let allowed = vec!["https://portal.example".to_owned()];
        let msg = json!({"type": "m365-onboarding:session", "token": "a.b.c",
                         "design": {"accent": "#7b2cbf", "font_family": "Georgia, serif", "radius": 12}});
        let s = parse_inbound("https://portal.example", &allowed, &read(msg.clone())).unwrap();
        assert!(s.refused.is_empty());
        let props = design_properties(&s.design);
        assert!(props.contains(&("--portal-accent-light", "#7b2cbf".into())));
        assert!(props.contains(&("--portal-font", "\"Georgia\", serif".into())));
        assert!(props.contains(&("--portal-radius", "12px".into())));
        assert!(!props.iter().any(|(n, _)| *n == "--portal-accent-dark"), "too dark for the dark theme");
        assert!(props.iter().all(|(n, _)| DESIGN_PROPERTIES.contains(n)), "each one is reset by the next message");

        let bad = json!({"type": "m365-onboarding:session", "token": "a.b.c",
                         "design": {"accent": "red; background: url(x)", "radius": 4}});
        let s = parse_inbound("https://portal.example", &allowed, &read(bad.clone())).unwrap();
        assert_eq!(design_properties(&s.design), [("--portal-radius", "4px".to_owned())]);
        let event = serde_json::to_value(design_refused(&s.refused)).unwrap();
        assert_eq!(event["type"], "m365-onboarding:design-refused");
        assert_eq!(event["refused"][0]["token"], "accent");
        let css = json!({"type": "m365-onboarding:session", "token": "a.b.c", "design": {"css": "body{}"}});
        let s = parse_inbound("https://portal.example", &allowed, &read(css.clone())).unwrap();
        assert_eq!((s.refused[0].token, design_properties(&s.design).len()), ("design", 0));
    }

    #[test]
    fn only_allowed_origins_and_well_formed_sessions_are_accepted() {
        let msg = json!({"type": "m365-onboarding:session", "token": "a.b.c", "theme": "dark", "locale": "de-DE"});
        let s = parse_inbound("https://portal.example", &allowed(), &read(msg.clone())).unwrap();
        assert_eq!((s.token.as_str(), s.theme.as_deref(), s.locale.as_deref()), ("a.b.c", Some("dark"), Some("de-DE")));
        assert!(parse_inbound("https://evil.example", &allowed(), &read(msg.clone())).is_none());
        assert!(parse_inbound("https://portal.example", &[], &read(msg.clone())).is_none());
        assert!(parse_inbound(
            "https://portal.example",
            &allowed(),
            &read(json!({"type": "other", "token": "a"}).clone())
        )
        .is_none());
        let odd = json!({"type": "m365-onboarding:session", "token": "<script>", "theme": "neon"});
        assert!(parse_inbound("https://portal.example", &allowed(), &read(odd.clone())).is_none());
        let plain = json!({"type": "m365-onboarding:session", "token": "t", "theme": "neon", "locale": "x y"});
        let s = parse_inbound("https://portal.example", &allowed(), &read(plain.clone())).unwrap();
        assert_eq!((s.theme, s.locale), (None, None));
    }
}
