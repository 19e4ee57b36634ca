//! The tenant's default app management policy, `GET /policies/defaultAppManagementPolicy`
//! (learn.microsoft.com/graph/api/tenantappmanagementpolicy-get), with the fields the product reads
//! (…/resources/tenantappmanagementpolicy, …/resources/appmanagementconfiguration,
//! …/resources/passwordcredentialconfiguration, …/resources/keycredentialconfiguration).

use super::graph::BatchItem;
use serde::Deserialize;

/// Reads the policy (answer: a [`DefaultAppManagementPolicy`]).
pub fn default_app_management(id: String) -> BatchItem {
    BatchItem::get(id, "/policies/defaultAppManagementPolicy")
}

/// `tenantAppManagementPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultAppManagementPolicy {
    /// Whether the policy is enforced.
    #[serde(default)]
    pub is_enabled: bool,
    /// What it restricts for applications.
    #[serde(default)]
    pub application_restrictions: AppManagementConfiguration,
}

/// `appManagementConfiguration` (nulls read as empty lists).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppManagementConfiguration {
    /// Restrictions on client secrets.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub password_credentials: Vec<Restriction>,
    /// Restrictions on certificates.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub key_credentials: Vec<Restriction>,
}

/// A `passwordCredentialConfiguration` or `keyCredentialConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restriction {
    /// `passwordAddition`, `passwordLifetime`, `trustedCertificateAuthority`,
    /// `asymmetricKeyLifetime`, … (others, and a null, are not read).
    #[serde(default)]
    pub restriction_type: Option<String>,
    /// `enabled` or `disabled` (absent: enabled).
    #[serde(default)]
    pub state: Option<String>,
    /// An ISO 8601 duration, for the lifetime restrictions.
    #[serde(default)]
    pub max_lifetime: Option<String>,
    /// Applications created after this (RFC 3339) are restricted.
    #[serde(default)]
    pub restrict_for_apps_created_after_date_time: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Restriction>, D::Error> {
    Ok(Option::<Vec<Restriction>>::deserialize(d)?.unwrap_or_default())
}
