//! The `postMessage` protocol between the app and the portal page that frames it, as types: what
//! the portal sends ([`PortalMessage`]) and what the app tells it ([`AppMessage`]). Every `type`
//! starts with [`PREFIX`]; the documentation of the protocol is docs/integrating.md.

use crate::api::{Health, HealthReason, HealthStatus};
use crate::design::DesignInput;
use serde::{Deserialize, Serialize};

/// Every message of this protocol has a `type` starting with this.
pub const PREFIX: &str = "m365-onboarding:";

/// The `type` of the portal's session message.
pub const SESSION: &str = "m365-onboarding:session";

/// A message the app received, read leniently: a portal page may post messages of other
/// protocols, which have another `type` (or none) and are ignored. Only the fields of the session
/// message are read; the app checks their values.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PortalMessage {
    /// [`SESSION`] for the session message.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The portal session token.
    #[serde(default)]
    pub token: Option<String>,
    /// `light` or `dark`.
    #[serde(default)]
    pub theme: Option<String>,
    /// A BCP 47 locale, e.g. `en-US`.
    #[serde(default)]
    pub locale: Option<String>,
    /// The portal's design tokens.
    #[serde(default)]
    pub design: Option<DesignField>,
}

/// The session message's `design`: the tokens, or something else, which is refused as a whole.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DesignField {
    /// An object with only `accent`, `font_family` and `radius`.
    Tokens(DesignInput),
    /// Anything else.
    Unreadable(serde::de::IgnoredAny),
}

/// A design token that was refused, as the app reports it to the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedToken {
    /// `design`, `accent`, `font_family` or `radius`.
    pub token: String,
    /// What is accepted instead.
    pub message: String,
}

/// What the app tells the portal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum AppMessage {
    /// The app listens for the session message.
    #[serde(rename = "m365-onboarding:ready")]
    Ready,
    /// The wizard moved to step `step` (0 = the organization list).
    #[serde(rename = "m365-onboarding:step")]
    Step {
        /// 0 to 3.
        step: u8,
    },
    /// The content's height in CSS pixels, for sizing the iframe.
    #[serde(rename = "m365-onboarding:height")]
    Height {
        /// CSS pixels.
        height: u32,
    },
    /// An organization was added.
    #[serde(rename = "m365-onboarding:organization-added")]
    OrganizationAdded {
        /// The organization's ID.
        id: String,
    },
    /// An organization was changed on the edit page.
    #[serde(rename = "m365-onboarding:organization-updated")]
    OrganizationUpdated {
        /// The organization's ID.
        id: String,
    },
    /// An organization was deleted.
    #[serde(rename = "m365-onboarding:organization-deleted")]
    OrganizationDeleted {
        /// The organization's ID.
        id: String,
    },
    /// An organization was checked ("Check now").
    #[serde(rename = "m365-onboarding:organization-health")]
    OrganizationHealth {
        /// The organization's ID.
        id: String,
        /// Its health.
        state: Health,
        /// Why, when it is not healthy.
        reason: Option<HealthReason>,
        /// When it was checked (RFC 3339).
        checked_at: Option<String>,
    },
    /// The administrator cancelled the wizard.
    #[serde(rename = "m365-onboarding:cancelled")]
    Cancelled,
    /// Design tokens of the session message were refused.
    #[serde(rename = "m365-onboarding:design-refused")]
    DesignRefused {
        /// Each refused token and what to send instead.
        refused: Vec<RefusedToken>,
    },
}

impl AppMessage {
    /// The `organization-health` message of organization `id`.
    pub fn health(id: String, h: &HealthStatus) -> AppMessage {
        AppMessage::OrganizationHealth { id, state: h.state, reason: h.reason, checked_at: h.checked_at.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_app_messages_have_the_documented_shapes() {
        let cases = [
            (AppMessage::Ready, json!({"type": "m365-onboarding:ready"})),
            (AppMessage::Step { step: 2 }, json!({"type": "m365-onboarding:step", "step": 2})),
            (AppMessage::Height { height: 640 }, json!({"type": "m365-onboarding:height", "height": 640})),
            (
                AppMessage::OrganizationAdded { id: "o1".into() },
                json!({"type": "m365-onboarding:organization-added", "id": "o1"}),
            ),
            (
                AppMessage::OrganizationUpdated { id: "o1".into() },
                json!({"type": "m365-onboarding:organization-updated", "id": "o1"}),
            ),
            (
                AppMessage::OrganizationDeleted { id: "o1".into() },
                json!({"type": "m365-onboarding:organization-deleted", "id": "o1"}),
            ),
            (AppMessage::Cancelled, json!({"type": "m365-onboarding:cancelled"})),
            (
                AppMessage::DesignRefused {
                    refused: vec![RefusedToken { token: "radius".into(), message: "0 to 16".into() }],
                },
                json!({"type": "m365-onboarding:design-refused", "refused": [{"token": "radius", "message": "0 to 16"}]}),
            ),
        ];
        for (message, shape) in cases {
            assert_eq!(serde_json::to_value(&message).unwrap(), shape);
        }
        let health = HealthStatus {
            state: Health::Healthy,
            checked_at: Some("2026-12-06T08:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(AppMessage::health("o1".into(), &health)).unwrap(),
            json!({"type": "m365-onboarding:organization-health", "id": "o1", "state": "healthy", "reason": null,
                   "checked_at": "2026-12-06T08:00:00Z"})
        );
    }

    /// The embed library's tests read every message the app sends from embed/test/app-messages.json:
    /// it is exactly what these values serialize to, one per kind of message.
    #[test]
    fn the_embed_librarys_fixture_is_what_the_app_sends() {
        let failing = HealthStatus {
            state: Health::Failing,
            reason: Some(HealthReason::ApplicationDeleted),
            checked_at: Some("2026-12-06T08:00:00Z".into()),
            ..Default::default()
        };
        let sent = [
            AppMessage::Ready,
            AppMessage::Step { step: 2 },
            AppMessage::Height { height: 640 },
            AppMessage::OrganizationAdded { id: "o1".into() },
            AppMessage::OrganizationUpdated { id: "o1".into() },
            AppMessage::OrganizationDeleted { id: "o1".into() },
            AppMessage::health("o1".into(), &failing),
            AppMessage::health("o1".into(), &HealthStatus::default()),
            AppMessage::Cancelled,
            AppMessage::DesignRefused {
                refused: vec![RefusedToken {
                    token: "radius".into(),
                    message: "Send a whole number of pixels from 0 to 16, e.g. 8.".into(),
                }],
            },
        ];
        // A new kind of message does not compile until it is added above (and to the fixture).
        for m in &sent {
            match m {
                AppMessage::Ready
                | AppMessage::Step { .. }
                | AppMessage::Height { .. }
                | AppMessage::OrganizationAdded { .. }
                | AppMessage::OrganizationUpdated { .. }
                | AppMessage::OrganizationDeleted { .. }
                | AppMessage::OrganizationHealth { .. }
                | AppMessage::Cancelled
                | AppMessage::DesignRefused { .. } => {}
            }
        }
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../embed/test/app-messages.json")).unwrap();
        assert_eq!(serde_json::to_value(sent).unwrap(), fixture);
    }

    #[test]
    fn any_message_reads_and_only_its_known_fields_count() {
        let read = |v: serde_json::Value| serde_json::from_value::<PortalMessage>(v).unwrap();
        let m = read(json!({"type": SESSION, "token": "a.b.c", "theme": "dark", "locale": "de-DE", "extra": 1}));
        assert_eq!(m.kind.as_deref(), Some(SESSION));
        assert_eq!(
            (m.token.as_deref(), m.theme.as_deref(), m.locale.as_deref()),
            (Some("a.b.c"), Some("dark"), Some("de-DE"))
        );
        assert_eq!(read(json!({"source": "react-devtools"})), PortalMessage::default());
        let design = read(json!({"type": SESSION, "design": {"accent": "#123456"}})).design;
        assert!(matches!(design, Some(DesignField::Tokens(d)) if d.accent.as_deref() == Some("#123456")));
        let odd = read(json!({"type": SESSION, "design": {"css": "body{}"}})).design;
        assert!(matches!(odd, Some(DesignField::Unreadable(_))));
        assert!(serde_json::from_value::<PortalMessage>(json!("a string")).is_err());
    }
}
