//! The wire contract of the edge API: every request and response body, used by both sides so
//! that neither writes JSON by hand.
//!
//! Secrets travel only browser → edge, inside request types that opt in field by field
//! ([`crate::secret::serialize_exposed`]); response types cannot carry them, because the secret
//! types do not implement `Serialize`.

use crate::certificate::CertificateInfo;
use crate::cloud::CloudEnvironment;
use crate::errors::ErrorCode;
use crate::ids::OrganizationId;
use crate::method::AddMethod;
use crate::secret::{serialize_exposed, SecretString};
use crate::validate::{Field, FieldError};
use serde::{Deserialize, Serialize};

/// The service name reported by `GET /api/health`.
pub const SERVICE_NAME: &str = "m365-onboarding";

/// The `aud` claim portal session tokens must carry.
pub const SESSION_AUDIENCE: &str = "m365-onboarding";

/// The largest request body the edge reads, in bytes (a base64 .pfx of 64 KB plus the rest).
pub const MAX_BODY_BYTES: usize = 96 * 1024;

mod session;
pub use session::*;
mod signin;
pub use signin::*;
mod certificates;
pub use certificates::*;
mod organizations;
pub use organizations::*;
mod engine;
pub use engine::*;
mod errors;
pub use errors::*;
mod partner;
pub use partner::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_start_or_confirm_with_a_field_it_does_not_know_is_refused() {
        let ok = r#"{"cloud": "global", "method": "device_code"}"#;
        assert_eq!(serde_json::from_str::<StartSignIn>(ok).unwrap().purpose, SignInPurpose::Register);
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        for old in [
            format!(r#"{{"cloud": "global", "method": "device_code", "remove_organization_id": "{id}"}}"#),
            format!(r#"{{"cloud": "global", "method": "device_code", "repair_organization_id": "{id}"}}"#),
        ] {
            assert!(serde_json::from_str::<StartSignIn>(&old).is_err(), "{old}");
        }
        assert!(serde_json::from_str::<ConfirmSignIn>(r#"{"claim": "h", "sign_in_only": true}"#).is_err());
        assert!(serde_json::from_str::<ConfirmSignIn>(r#"{"claim": "h"}"#).is_ok());
        let remove = format!(
            r#"{{"cloud": "china", "method": "credential", "purpose": {{"kind": "remove", "organization_id": "{id}"}}}}"#
        );
        let parsed: StartSignIn = serde_json::from_str(&remove).unwrap();
        assert_eq!(parsed.purpose, SignInPurpose::Remove(crate::ids::OrganizationId::parse(id).unwrap()));
    }

    #[test]
    fn error_body_omits_absent_field_and_correlation() {
        let body = ErrorBody::with_message(ErrorCode::NotFound, "No such route.");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json, serde_json::json!({"error": {"code": "not_found", "message": "No such route."}}));
        let invalid = ErrorBody::invalid(&FieldError::new(Field::TenantId, "Bad."));
        let json = serde_json::to_value(&invalid).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_input", "message": "Bad.", "field": "tenant_id"}})
        );
    }

    #[test]
    fn health_round_trips() {
        let h = HealthResponse {
            service: SERVICE_NAME.into(),
            version: "1.2.3".into(),
            database: ComponentStatus::Ok,
            portal_origins: vec!["https://portal.example".into()],
            dev_session_in_url: false,
            credential_clouds: vec![CloudEnvironment::China],
        };
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains("\"database\":\"ok\""));
        assert_eq!(serde_json::from_str::<HealthResponse>(&text).unwrap(), h);
    }

    #[test]
    fn credential_input_is_tagged_and_secrets_go_out_only_in_requests() {
        let c = CredentialInput::Secret { client_secret: SecretString::new("s3cr3t~value".into()) };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json, serde_json::json!({"type": "secret", "client_secret": "s3cr3t~value"}));
        assert!(!format!("{c:?}").contains("s3cr3t"), "Debug of a request never shows the secret");
        let back: CredentialInput = serde_json::from_value(json).unwrap();
        assert!(matches!(back, CredentialInput::Secret { .. }));
        let generated: CredentialInput = serde_json::from_str(r#"{"type":"generated","sign_in_id":"abc"}"#).unwrap();
        assert!(matches!(generated, CredentialInput::Generated { .. }));
    }

    #[test]
    fn create_organization_defaults_to_multiple_applications() {
        let body = r#"{"name":"Contoso","cloud":"global","tenant_id":"t","application_id":"a",
            "credential":{"type":"secret","client_secret":"x"}}"#;
        let req: CreateOrganization = serde_json::from_str(body).unwrap();
        assert!(req.create_multiple_applications);
    }

    #[test]
    fn expiry_states() {
        let now = 1_000_000_000;
        assert_eq!(ExpiryState::at(None, now), ExpiryState::Ok);
        assert_eq!(ExpiryState::at(Some(now - 1), now), ExpiryState::Expired);
        assert_eq!(ExpiryState::at(Some(now), now), ExpiryState::Expired);
        assert_eq!(ExpiryState::at(Some(now + 30 * 86_400), now), ExpiryState::ExpiresSoon);
        assert_eq!(ExpiryState::at(Some(now + 31 * 86_400), now), ExpiryState::Ok);
    }

    #[test]
    fn sign_in_status_never_has_a_device_code_field() {
        let s = SignInStatus {
            id: "x".into(),
            cloud: CloudEnvironment::Global,
            method: AddMethod::DeviceCode,
            state: SignInState::WaitingForSignIn,
            authorize_url: None,
            user_code: Some("ABCD12345".into()),
            verification_uri: Some("https://microsoft.com/devicelogin".into()),
            expires_at: None,
            expires_in: Some(900),
            poll_after: 2,
            progress: vec![],
            error: None,
            result: None,
            claimed: false,
        };
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert!(!keys.iter().any(|k| k.contains("device_code") || k.contains("verifier")), "{keys:?}");
        assert!(!SignInState::Registering.is_final());
        assert!(SignInState::Expired.is_final());
    }

    #[test]
    fn an_application_number_names_its_slot() {
        assert_eq!(AppSlot::of_index(0), AppSlot::Main);
        assert!(AppSlot::of_index(0).is_main());
        assert_eq!(AppSlot::of_index(1), AppSlot::Additional(Workload::Exchange));
        assert_eq!(AppSlot::of_index(3), AppSlot::Additional(Workload::Teams));
        assert!(!AppSlot::of_index(2).is_main());
        for i in 0..=3 {
            let slot = AppSlot::of_index(i);
            assert_eq!((slot.index(), slot.workload().slot()), (i, slot), "{slot:?}");
        }
    }
}
