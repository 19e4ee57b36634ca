//! Living in the portal's iframe. The portal sends the session token (and optionally a theme and a
//! locale) by `postMessage`; messages are accepted only from the portal origins the edge is
//! configured with (`PORTAL_ORIGINS`, published by `GET /api/health`). The app tells the parent
//! what happens: ready, step changed, content height changed, organization added / updated /
//! deleted, cancelled. The schema is in the README ("Embedding in a portal").
//!
//! Parsing and building messages is plain Rust ([`parse_inbound`], [`Outbound::to_json`]), tested
//! natively; only [`listen`] and [`post`] touch the browser.

use serde_json::{json, Value};
use std::cell::RefCell;

/// Every message of this protocol has a `type` starting with this.
pub const PREFIX: &str = "m365-onboarding:";

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
pub fn parse_inbound(origin: &str, allowed: &[String], data: &Value) -> Option<SessionMessage> {
    if !allowed.iter().any(|a| a == origin) {
        return None;
    }
    if data["type"].as_str()? != format!("{PREFIX}session") {
        return None;
    }
    let token = crate::session::token_from_fragment(&format!("token={}", data["token"].as_str()?))?;
    let theme = data["theme"].as_str().filter(|t| matches!(*t, "light" | "dark")).map(str::to_owned);
    let locale = data["locale"]
        .as_str()
        .filter(|l| l.len() <= 35 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned);
    let (design, refused) = match &data["design"] {
        Value::Null => Default::default(),
        v => match serde_json::from_value::<shared::design::DesignInput>(v.clone()) {
            Ok(input) => shared::design::Design::validate(&input),
            Err(_) => (
                Default::default(),
                vec![shared::design::Refused {
                    token: "design",
                    message: "Send an object with only accent, font_family and radius.".into(),
                }],
            ),
        },
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

/// An event for the parent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// The app listens for the session.
    Ready,
    /// The wizard moved to step `n` (0 = the organization list).
    Step(u8),
    /// The content's height in CSS pixels, for resizing the iframe.
    Height(u32),
    /// An organization was added.
    OrganizationAdded(String),
    /// An organization was updated.
    OrganizationUpdated(String),
    /// An organization was deleted.
    OrganizationDeleted(String),
    /// Design tokens of the session message were refused: each token's name and what to send.
    DesignRefused(Vec<shared::design::Refused>),
    /// An organization was checked ("Check now"): its ID and health.
    HealthChecked(String, shared::api::HealthStatus),
    /// The admin cancelled the wizard.
    Cancelled,
}

impl Outbound {
    /// The message posted to the parent.
    pub fn to_json(&self) -> Value {
        let t = |name: &str| format!("{PREFIX}{name}");
        match self {
            Outbound::Ready => json!({"type": t("ready")}),
            Outbound::Step(n) => json!({"type": t("step"), "step": n}),
            Outbound::Height(h) => json!({"type": t("height"), "height": h}),
            Outbound::OrganizationAdded(id) => json!({"type": t("organization-added"), "id": id}),
            Outbound::OrganizationUpdated(id) => json!({"type": t("organization-updated"), "id": id}),
            Outbound::OrganizationDeleted(id) => json!({"type": t("organization-deleted"), "id": id}),
            Outbound::HealthChecked(id, h) => {
                json!({"type": t("organization-health"), "id": id, "state": h.state, "reason": h.reason,
                       "checked_at": h.checked_at})
            }
            Outbound::Cancelled => json!({"type": t("cancelled")}),
            Outbound::DesignRefused(r) => json!({"type": t("design-refused"), "refused":
                r.iter().map(|x| json!({"token": x.token, "message": x.message})).collect::<Vec<_>>()}),
        }
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
pub fn post(event: Outbound) {
    let Some(parent) = framed() else { return };
    let Ok(message) = serde_wasm_json(&event.to_json()) else { return };
    TARGETS.with(|t| {
        for origin in t.borrow().iter() {
            let _ = parent.post_message(&message, origin);
        }
    });
}

fn serde_wasm_json(v: &Value) -> Result<wasm_bindgen::JsValue, ()> {
    js_sys::JSON::parse(&v.to_string()).map_err(|_| ())
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
        let data = js_sys::JSON::stringify(&ev.data()).ok().and_then(|s| s.as_string()).unwrap_or_default();
        let Ok(value) = serde_json::from_str::<Value>(&data) else { return };
        if let Some(msg) = parse_inbound(&ev.origin(), &allowed, &value) {
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
                post(Outbound::DesignRefused(msg.refused.clone()));
            }
            if let (Some(locale), Some(root)) =
                (&msg.locale, web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()))
            {
                let _ = root.set_attribute("lang", locale);
            }
            on_session(msg);
        }
    });
    let _ = window.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget();
    post(Outbound::Ready);
}

/// The document's content height, for [`Outbound::Height`].
pub fn content_height() -> Option<u32> {
    let el = web_sys::window()?.document()?.document_element()?;
    Some(el.scroll_height().max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["https://portal.example".into()]
    }

    #[test]
    fn design_tokens_become_portal_properties_and_bad_ones_are_reported() {
        let allowed = vec!["https://portal.example".to_owned()];
        let msg = json!({"type": "m365-onboarding:session", "token": "a.b.c",
                         "design": {"accent": "#7b2cbf", "font_family": "Georgia, serif", "radius": 12}});
        let s = parse_inbound("https://portal.example", &allowed, &msg).unwrap();
        assert!(s.refused.is_empty());
        let props = design_properties(&s.design);
        assert!(props.contains(&("--portal-accent-light", "#7b2cbf".into())));
        assert!(props.contains(&("--portal-font", "\"Georgia\", serif".into())));
        assert!(props.contains(&("--portal-radius", "12px".into())));
        assert!(!props.iter().any(|(n, _)| *n == "--portal-accent-dark"), "too dark for the dark theme");
        assert!(props.iter().all(|(n, _)| DESIGN_PROPERTIES.contains(n)), "each one is reset by the next message");

        let bad = json!({"type": "m365-onboarding:session", "token": "a.b.c",
                         "design": {"accent": "red; background: url(x)", "radius": 4}});
        let s = parse_inbound("https://portal.example", &allowed, &bad).unwrap();
        assert_eq!(design_properties(&s.design), [("--portal-radius", "4px".to_owned())]);
        let event = Outbound::DesignRefused(s.refused).to_json();
        assert_eq!(event["type"], "m365-onboarding:design-refused");
        assert_eq!(event["refused"][0]["token"], "accent");
        let css = json!({"type": "m365-onboarding:session", "token": "a.b.c", "design": {"css": "body{}"}});
        let s = parse_inbound("https://portal.example", &allowed, &css).unwrap();
        assert_eq!((s.refused[0].token, design_properties(&s.design).len()), ("design", 0));
    }

    #[test]
    fn only_allowed_origins_and_well_formed_sessions_are_accepted() {
        let msg = json!({"type": "m365-onboarding:session", "token": "a.b.c", "theme": "dark", "locale": "de-DE"});
        let s = parse_inbound("https://portal.example", &allowed(), &msg).unwrap();
        assert_eq!((s.token.as_str(), s.theme.as_deref(), s.locale.as_deref()), ("a.b.c", Some("dark"), Some("de-DE")));
        assert!(parse_inbound("https://evil.example", &allowed(), &msg).is_none());
        assert!(parse_inbound("https://portal.example", &[], &msg).is_none());
        assert!(parse_inbound("https://portal.example", &allowed(), &json!({"type": "other", "token": "a"})).is_none());
        let odd = json!({"type": "m365-onboarding:session", "token": "<script>", "theme": "neon"});
        assert!(parse_inbound("https://portal.example", &allowed(), &odd).is_none());
        let plain = json!({"type": "m365-onboarding:session", "token": "t", "theme": "neon", "locale": "x y"});
        let s = parse_inbound("https://portal.example", &allowed(), &plain).unwrap();
        assert_eq!((s.theme, s.locale), (None, None));
    }

    #[test]
    fn events_have_the_documented_shape() {
        assert_eq!(Outbound::Ready.to_json(), json!({"type": "m365-onboarding:ready"}));
        assert_eq!(Outbound::Height(640).to_json(), json!({"type": "m365-onboarding:height", "height": 640}));
        assert_eq!(
            Outbound::OrganizationAdded("o1".into()).to_json(),
            json!({"type": "m365-onboarding:organization-added", "id": "o1"})
        );
        assert_eq!(Outbound::Step(2).to_json()["step"], 2);
        let h = shared::api::HealthStatus {
            state: shared::api::Health::Failing,
            reason: Some(shared::api::HealthReason::CredentialExpired),
            permissions: vec![],
            checked_at: Some("2026-11-30T00:00:00Z".into()),
            acknowledged: false,
            warnings: vec![],
        };
        assert_eq!(
            Outbound::HealthChecked("o1".into(), h).to_json(),
            json!({"type": "m365-onboarding:organization-health", "id": "o1", "state": "failing",
                   "reason": "credential_expired", "checked_at": "2026-11-30T00:00:00Z"})
        );
    }
}
