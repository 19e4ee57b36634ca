//! The tenant's default app management policy: `GET /policies/defaultAppManagementPolicy` (the
//! fixture's, or Microsoft's default: disabled, no restrictions) and what `addPassword` refuses
//! because of it: `CredentialTypeNotAllowedAsPerAppPolicy` (`passwordAddition`) and
//! `CredentialInvalidLifetimeAsPerAppPolicy` (`passwordLifetime`), and what a new certificate in
//! `keyCredentials` is refused for: `CredentialInvalidLifetimeAsPerAppPolicy`
//! (`asymmetricKeyLifetime`). A `trustedCertificateAuthority` restriction is returned by the GET
//! but not enforced: Microsoft does not document the error it answers with (the restriction is in
//! beta), and this emulator does not make one up.

use serde_json::{json, Value};

use super::auth::{require, Caller, Need};
use super::error::GraphError;
use super::{GraphRequest, GraphResponse};
use crate::state::State;
use crate::util::parse_iso8601;

/// Reading app management policies.
const READ_POLICY: Need<'static> = Need {
    delegated: &[
        "Policy.Read.ApplicationConfiguration",
        "Policy.ReadWrite.ApplicationConfiguration",
        "Policy.Read.All",
    ],
    admin: None,
    application: &["Policy.Read.ApplicationConfiguration", "Policy.ReadWrite.ApplicationConfiguration"],
};

/// Microsoft's default policy, as a tenant that never set one answers.
fn default_policy() -> Value {
    json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "Default app management tenant policy",
        "description": "Default tenant policy that enforces app management restrictions on applications and service principals. To apply policy to targeted resources, create a new policy under appManagementPolicies collection.",
        "isEnabled": false,
        "applicationRestrictions": {"passwordCredentials": [], "keyCredentials": []},
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
    })
}

/// `GET /policies/defaultAppManagementPolicy`.
pub fn default_app_management_policy(
    state: &State,
    caller: &Caller,
    _req: &GraphRequest,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_POLICY)?;
    let mut policy =
        state.tenant(&caller.tenant_id).and_then(|t| t.app_management_policy.clone()).unwrap_or_else(default_policy);
    if let Some(o) = policy.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/$metadata#policies/defaultAppManagementPolicy/$entity",
                "https://graph.microsoft.com/v1.0"
            )),
        );
    }
    Ok(GraphResponse::json(200, policy))
}

/// The restrictions of the tenant's enabled default policy on `credentials` (`passwordCredentials`
/// or `keyCredentials`) that apply to an application created at `created_ms`.
fn applying(state: &State, tenant: &str, credentials: &str, created_ms: u64) -> Vec<Value> {
    let Some(policy) = state.tenant(tenant).and_then(|t| t.app_management_policy.as_ref()) else { return vec![] };
    if policy["isEnabled"].as_bool() != Some(true) {
        return vec![];
    }
    let restrictions = policy["applicationRestrictions"][credentials].as_array().cloned().unwrap_or_default();
    restrictions
        .into_iter()
        .filter(|r| {
            let enabled = r["state"].as_str() != Some("disabled");
            let from = r["restrictForAppsCreatedAfterDateTime"].as_str().and_then(parse_iso8601);
            enabled && from.is_none_or(|from| created_ms >= from)
        })
        .collect()
}

/// The refusal of a credential from `start_ms` to `end_ms` longer than restriction `r`'s
/// `maxLifetime` (an unreadable one restricts nothing).
fn lifetime_refusal(r: &Value, start_ms: u64, end_ms: u64) -> Option<GraphError> {
    let max = r["maxLifetime"].as_str().and_then(duration_ms)?;
    (end_ms.saturating_sub(start_ms) > max).then(|| {
        GraphError::bad_request("Credential lifetime exceeds the max value allowed as per assigned policy.")
            .with_code("CredentialInvalidLifetimeAsPerAppPolicy")
    })
}

/// Whether `addPassword` on an application created at `created_ms`, for a secret from `start_ms`
/// to `end_ms`, is refused by the tenant's policy.
pub fn refuse_password(state: &State, tenant: &str, created_ms: u64, start_ms: u64, end_ms: u64) -> Option<GraphError> {
    applying(state, tenant, "passwordCredentials", created_ms).iter().find_map(|r| {
        match r["restrictionType"].as_str() {
            Some("passwordAddition") => Some(
                GraphError::bad_request("Credential type not allowed as per assigned policy.")
                    .with_code("CredentialTypeNotAllowedAsPerAppPolicy"),
            ),
            Some("passwordLifetime") => lifetime_refusal(r, start_ms, end_ms),
            _ => None,
        }
    })
}

/// Whether a certificate added to an application created at `created_ms`, valid from `start_ms`
/// to `end_ms`, is refused by the tenant's policy.
pub fn refuse_key(state: &State, tenant: &str, created_ms: u64, start_ms: u64, end_ms: u64) -> Option<GraphError> {
    applying(state, tenant, "keyCredentials", created_ms)
        .iter()
        .filter(|r| r["restrictionType"].as_str() == Some("asymmetricKeyLifetime"))
        .find_map(|r| lifetime_refusal(r, start_ms, end_ms))
}

/// An ISO 8601 duration of days, weeks, years and hours (`P180D`, `P1Y`, `PT12H`) in milliseconds.
fn duration_ms(s: &str) -> Option<u64> {
    let rest = s.strip_prefix('P')?;
    let (mut total, mut n, mut in_time) = (0u64, String::new(), false);
    for c in rest.chars() {
        match c {
            '0'..='9' => n.push(c),
            'T' => in_time = true,
            unit => {
                let v: u64 = std::mem::take(&mut n).parse().ok()?;
                total += v * match (in_time, unit) {
                    (false, 'Y') => 365 * 86_400,
                    (false, 'M') => 30 * 86_400,
                    (false, 'W') => 7 * 86_400,
                    (false, 'D') => 86_400,
                    (true, 'H') => 3600,
                    (true, 'M') => 60,
                    (true, 'S') => 1,
                    _ => return None,
                };
            }
        }
    }
    n.is_empty().then_some(total * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("P180D"), Some(180 * 86_400_000));
        assert_eq!(duration_ms("P1Y"), Some(365 * 86_400_000));
        assert_eq!(duration_ms("PT12H"), Some(12 * 3_600_000));
        assert_eq!(duration_ms("P1X"), None);
    }
}
