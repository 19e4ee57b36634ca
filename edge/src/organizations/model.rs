//! Requests into validated values, and stored rows into API types. Pure.

use crate::certificates::pfx_error;
use crate::error::AppError;
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use shared::api::{
    CreateOrganization, CredentialInput, CredentialType, ExpiryState, HealthStatus, Organization,
    OrganizationApplication, Workload,
};
use shared::certificate::{parse_pfx, ParsedPfx};
use shared::secret::{SecretBytes, SecretString};
use shared::validate::{certificate_password, client_secret, pfx_upload};
use shared::{AppId, CloudEnvironment, Field, FieldError, OrganizationName, TenantId};

/// A credential that passed validation (not yet checked against Microsoft).
pub enum ValidCredential {
    /// A client secret.
    Secret(SecretString),
    /// A certificate: the upload, its password, and what was read from it.
    Certificate {
        /// The .pfx bytes.
        pfx: SecretBytes,
        /// Its password.
        password: SecretString,
        /// The parsed certificate and key.
        parsed: Box<ParsedPfx>,
    },
    /// The secret held by a sign-in after automatic registration.
    Generated {
        /// The sign-in.
        sign_in_id: String,
    },
}

/// A validated `POST /api/organizations`.
pub struct NewOrganization {
    /// Name.
    pub name: OrganizationName,
    /// Cloud.
    pub cloud: CloudEnvironment,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Main application.
    pub app_id: AppId,
    /// Credential.
    pub credential: ValidCredential,
    /// Create or use 3 additional applications.
    pub multiple: bool,
}

/// Validates a credential as entered (`now` in Unix seconds decides certificate expiry).
pub fn validate_credential(c: &CredentialInput, now: i64) -> Result<ValidCredential, AppError> {
    Ok(match c {
        CredentialInput::Secret { client_secret: s } => ValidCredential::Secret(client_secret(s)?),
        CredentialInput::Certificate { pfx_base64, password } => {
            let pfx = pfx_upload(pfx_base64)?;
            let password = certificate_password(password)?;
            let parsed = parse_pfx(pfx.expose(), password.expose(), now).map_err(pfx_error)?;
            ValidCredential::Certificate { pfx, password, parsed: Box::new(parsed) }
        }
        CredentialInput::Generated { sign_in_id } => {
            if !crate::ids::is_id(sign_in_id) {
                return Err(FieldError::new(
                    Field::ClientSecret,
                    "The automatic registration this refers to is unknown. Start again from Step 1.",
                )
                .into());
            }
            ValidCredential::Generated { sign_in_id: sign_in_id.clone() }
        }
    })
}

/// The list of permissions an administrator acknowledged as missing: at most 64 names of at most
/// 128 characters (it is compared with the manifest, never stored as sent).
pub fn acknowledged_permissions(list: &[String]) -> Result<(), AppError> {
    if list.len() > 64 || list.iter().any(|p| p.is_empty() || p.len() > 128) {
        return Err(FieldError::new(
            Field::Body,
            "acknowledged_permissions lists at most 64 permission names, as a permissions_missing answer gave them.",
        )
        .into());
    }
    Ok(())
}

/// Validates every field of a create request, in the order the form shows them.
pub fn validate_create(req: &CreateOrganization, now: i64) -> Result<NewOrganization, AppError> {
    let name = OrganizationName::parse(&req.name)?;
    let tenant_id = TenantId::parse(&req.tenant_id)?;
    let app_id = AppId::parse(&req.application_id)?;
    let credential = validate_credential(&req.credential, now)?;
    acknowledged_permissions(&req.acknowledged_permissions)?;
    if req.sign_in_id.as_deref().is_some_and(|id| !crate::ids::is_id(id)) {
        return Err(FieldError::new(Field::SignInId, "The sign-in this refers to is unknown. Sign in again.").into());
    }
    Ok(NewOrganization {
        name,
        cloud: req.cloud,
        tenant_id,
        app_id,
        credential,
        multiple: req.create_multiple_applications,
    })
}

/// A row of `organizations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganizationRow {
    /// ID.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Cloud wire name.
    pub cloud: String,
    /// Tenant.
    pub tenant_id: String,
    /// 0/1.
    pub multiple_applications: i64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Optimistic concurrency.
    pub version: i64,
}

/// A row of `applications` (without its ciphertext, which is read only where needed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ApplicationRow {
    /// ID.
    pub id: String,
    /// Owner organization.
    pub organization_id: String,
    /// Application (client) ID.
    pub app_id: String,
    /// 0/1.
    pub is_main: i64,
    /// 0/1.
    pub active: i64,
    /// `secret` or `certificate`.
    pub credential_type: String,
    /// RFC 3339.
    pub credential_expires_at: Option<String>,
    /// SHA-1 thumbprint.
    pub certificate_thumbprint: Option<String>,
    /// The permission manifest's version, when the service registered the application.
    #[serde(default)]
    pub manifest_version: Option<u32>,
    /// What it backs up (`shared::api::Workload`'s name); absent for rows from before workloads:
    /// every workload.
    #[serde(default)]
    pub workload: Option<String>,
    /// The permissions the service granted (a JSON array), when it registered the application.
    #[serde(default)]
    pub granted_permissions: Option<String>,
    /// Entra object ID, when the service created the application.
    #[serde(default)]
    pub object_id: Option<String>,
    /// Its last health (JSON of [`crate::health::AppHealth`]), absent before the first check.
    #[serde(default)]
    pub health: Option<String>,
    /// When it was last checked, RFC 3339.
    #[serde(default)]
    pub checked_at: Option<String>,
    /// The key ID Entra has for its certificate, once the service rotated it.
    #[serde(default)]
    pub entra_key_id: Option<String>,
    /// A replaced certificate's key ID, still registered until `retire_after_ms`.
    #[serde(default)]
    pub retiring_key_id: Option<String>,
    /// When the replaced key is removed, Unix milliseconds.
    #[serde(default)]
    pub retire_after_ms: Option<Millis>,
}

impl ApplicationRow {
    /// Its last health.
    pub fn health(&self) -> crate::health::AppHealth {
        self.health.as_deref().and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default()
    }

    /// Its health as the API shows it.
    pub fn health_status(&self) -> HealthStatus {
        let h = self.health();
        HealthStatus {
            state: h.health,
            reason: h.reason,
            permissions: h.permissions,
            checked_at: self.checked_at.clone(),
            acknowledged: !h.acknowledged.is_empty() && h.reason == Some(shared::api::HealthReason::PermissionsMissing),
            warnings: vec![],
        }
    }
}

/// An organization's health: its worst active application's, checked when the least recently
/// checked of them was.
fn organization_health(apps: &[ApplicationRow]) -> HealthStatus {
    let active: Vec<&ApplicationRow> = apps.iter().filter(|a| a.active == 1).collect();
    let healths: Vec<crate::health::AppHealth> = active.iter().map(|a| a.health()).collect();
    let (state, reason) = crate::health::organization_health(&healths);
    let worst = healths.iter().find(|h| h.health == state && h.reason == reason);
    let checked_at =
        active.iter().map(|a| a.checked_at.clone()).collect::<Option<Vec<String>>>().and_then(|c| c.into_iter().min());
    HealthStatus {
        state,
        reason,
        permissions: worst.map(|w| w.permissions.clone()).unwrap_or_default(),
        checked_at,
        acknowledged: worst.is_some_and(|w| {
            !w.acknowledged.is_empty() && w.reason == Some(shared::api::HealthReason::PermissionsMissing)
        }),
        warnings: vec![],
    }
}

fn credential_type(a: &ApplicationRow) -> CredentialType {
    if a.credential_type == "certificate" {
        CredentialType::Certificate
    } else {
        CredentialType::Secret
    }
}

/// The API view of an organization and its applications at `now` (Unix seconds).
pub fn to_api(org: &OrganizationRow, apps: &[ApplicationRow], now: i64) -> Organization {
    let main = apps.iter().find(|a| a.is_main == 1);
    let expires = main.and_then(|m| m.credential_expires_at.clone());
    let expires_unix = expires.as_deref().and_then(crate::time::parse_rfc3339);
    Organization {
        id: org.id.clone(),
        name: org.name.clone(),
        cloud: org.cloud.parse().unwrap_or_default(),
        tenant_id: org.tenant_id.clone(),
        application_id: main.map(|m| m.app_id.clone()).unwrap_or_default(),
        credential_type: main.map_or(CredentialType::Secret, credential_type),
        credential_expires_at: expires,
        expiry: ExpiryState::at(expires_unix, now),
        certificate_thumbprint: main.and_then(|m| m.certificate_thumbprint.clone()),
        multiple_applications: org.multiple_applications == 1,
        active_applications: apps.iter().filter(|a| a.active == 1).count() as u8,
        applications: apps
            .iter()
            .map(|a| {
                let workload = a.workload.as_deref().and_then(Workload::parse).unwrap_or(Workload::All);
                let granted: Vec<String> =
                    a.granted_permissions.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default();
                let cloud = org.cloud.parse().unwrap_or_default();
                OrganizationApplication {
                    application_id: a.app_id.clone(),
                    main: a.is_main == 1,
                    workload,
                    active: a.active == 1,
                    credential_type: credential_type(a),
                    credential_expires_at: a.credential_expires_at.clone(),
                    certificate_thumbprint: a.certificate_thumbprint.clone(),
                    required_permissions: if a.manifest_version.is_some() {
                        crate::provisioning::manifest::required_permissions(cloud, workload)
                    } else {
                        vec![]
                    },
                    granted_permissions: granted,
                    health: a.health_status(),
                }
            })
            .collect(),
        health: organization_health(apps),
        manifest_version: main.and_then(|m| m.manifest_version),
        created_at: org.created_at.clone(),
        updated_at: org.updated_at.clone(),
        version: org.version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, tenant: &str, app: &str, secret: &str, multiple: bool) -> CreateOrganization {
        CreateOrganization {
            name: name.into(),
            cloud: CloudEnvironment::Global,
            tenant_id: tenant.into(),
            application_id: app.into(),
            credential: CredentialInput::Secret { client_secret: SecretString::new(secret.into()) },
            create_multiple_applications: multiple,
            sign_in_id: None,
            acknowledged_permissions: vec![],
        }
    }

    const T: &str = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60";
    const A: &str = "11111111-2222-4333-8444-555555555555";

    #[test]
    fn fields_are_checked_in_form_order() {
        let field = |r: &CreateOrganization| match validate_create(r, 0) {
            Err(e) => e.body().error.field,
            Ok(_) => None,
        };
        assert_eq!(field(&req("", "x", "y", "", false)), Some(Field::OrganizationName));
        assert_eq!(field(&req("Contoso", "contoso.com", "y", "", false)), Some(Field::TenantId));
        assert_eq!(field(&req("Contoso", T, "y", "", false)), Some(Field::ApplicationId));
        assert_eq!(field(&req("Contoso", T, A, "", false)), Some(Field::ClientSecret));
        // Multiple applications without a sign-in pass validation: the credential is checked first,
        // then the service asks for the sign-in (`sign_in_required`).
        assert!(validate_create(&req("Contoso", T, A, "abc~def", true), 0).is_ok());
        assert!(validate_create(&req("<b>Contoso</b>", T, A, "abc~def", false), 0).is_ok());
    }

    #[test]
    fn rows_become_the_api_view_with_expiry_states() {
        let org = OrganizationRow {
            id: "o".into(),
            account_id: "acct".into(),
            name: "Contoso".into(),
            cloud: "usgov_dod".into(),
            tenant_id: T.into(),
            multiple_applications: 1,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            version: 3,
        };
        let app = |main: i64, expires: &str| ApplicationRow {
            id: format!("a{main}"),
            organization_id: "o".into(),
            app_id: A.into(),
            is_main: main,
            active: 1,
            credential_type: "secret".into(),
            credential_expires_at: Some(expires.into()),
            certificate_thumbprint: None,
            manifest_version: Some(2 - main as u32),
            workload: Some(if main == 1 { "all" } else { "files" }.to_owned()),
            granted_permissions: None,
            ..ApplicationRow::default()
        };
        let now = crate::time::parse_rfc3339("2026-11-26T00:00:00Z").unwrap();
        let view = to_api(&org, &[app(1, "2026-12-10T00:00:00Z"), app(0, "2028-01-01T00:00:00Z")], now);
        assert_eq!(view.cloud, CloudEnvironment::UsGovDod);
        assert_eq!(view.expiry, ExpiryState::ExpiresSoon);
        assert_eq!(view.active_applications, 2);
        assert_eq!(view.manifest_version, Some(1), "the main application's");
        let workloads: Vec<_> = view.applications.iter().map(|a| (a.main, a.workload)).collect();
        assert_eq!(workloads, vec![(true, Workload::All), (false, Workload::Files)]);
        assert_eq!(view.version, 3);
        let view = to_api(&org, &[app(1, "2026-11-01T00:00:00Z")], now);
        assert_eq!(view.expiry, ExpiryState::Expired);
    }
}
