//! Errors: the one shape of every error response.

use super::*;

/// The one shape of every error response of the edge API.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// Details of an error response.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code, such as `not_found`.
    pub code: ErrorCode,
    /// The sentence the administrator reads: what happened and what to do.
    pub message: String,
    /// The input field the error is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// Microsoft's correlation identifiers, when Microsoft caused the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft: Option<MicrosoftCorrelation>,
    /// The permissions an application the administrator registered lacks (`permissions_missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_permissions: Vec<RequiredPermission>,
}

/// One application permission the backup needs, as an administrator grants it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredPermission {
    /// The permission's name (its app role value), e.g. `User.Read.All`.
    pub value: String,
    /// The API it belongs to, as the Azure portal names it (`Microsoft Graph`).
    pub api: String,
    /// Its type: always `Application` (the backup runs without a signed-in user).
    #[serde(rename = "type")]
    pub kind: String,
    /// Why the backup needs it.
    pub reason: String,
}

/// The answer of `GET /api/clouds/{id}/permissions`: what an application registered by hand needs
/// in that cloud.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionList {
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// The manifest's version.
    pub manifest_version: u32,
    /// Every permission the main application needs, grouped by API in the order they are granted.
    pub permissions: Vec<RequiredPermission>,
}

/// Identifiers Microsoft support asks for when one of its services failed.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MicrosoftCorrelation {
    /// `correlation_id` (identity platform) or `client-request-id` (Graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// `trace_id` (identity platform) or `request-id` (Graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// When Microsoft reported the error (its `timestamp` or `date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The `AADSTSnnnnn` number or Graph error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorDetail {
    /// The catalogue's error `code` with its own message.
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.message().to_owned(), field: None, microsoft: None, missing_permissions: vec![] }
    }

    /// `permission_unavailable`: the tenant does not offer `permissions` (named in the message and
    /// listed in `missing_permissions`); the run left nothing in the tenant.
    pub fn permissions_unavailable(permissions: Vec<RequiredPermission>) -> Self {
        let names: Vec<String> = permissions.iter().map(|p| format!("{} ({})", p.value, p.api)).collect();
        Self {
            message: format!(
                "Your tenant does not offer the application permission{} {}, which the backup needs. \
                 No application was left in the tenant. Register the application yourself with the \
                 Manual method, or contact support with this message.",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
            missing_permissions: permissions,
            ..Self::new(ErrorCode::PermissionUnavailable)
        }
    }

    /// `admin_roles_missing`: the signed-in account's directory roles cannot do `task`; refused
    /// before anything was created or deleted.
    pub fn admin_roles_missing(task: crate::roles::AdminTask) -> Self {
        Self { message: task.refusal(), ..Self::new(ErrorCode::AdminRolesMissing) }
    }

    /// `trusted_certificate_required` after an automatic registration: the service's certificates
    /// are self-signed, and the run left nothing in the tenant.
    pub fn trusted_certificate_required() -> Self {
        Self {
            message: "Your tenant's app management policy accepts only certificates issued by a certificate \
                      authority it trusts, and the certificates this service creates are self-signed. No \
                      application was left in the tenant. Register the application yourself with a \
                      certificate from one of your trusted authorities and add it with the Manual method \
                      (upload the .pfx)."
                .to_owned(),
            ..Self::new(ErrorCode::TrustedCertificateRequired)
        }
    }
}

impl ErrorBody {
    /// The catalogue's error `code` with its own message.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }

    /// The catalogue's error `code` with a more specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { message: message.into(), ..ErrorDetail::new(code) } }
    }

    /// A refused input field.
    pub fn invalid(err: &FieldError) -> Self {
        let mut body = Self::with_message(ErrorCode::InvalidInput, err.message.clone());
        body.error.field = Some(err.field);
        body
    }
}
