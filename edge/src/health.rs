//! Whether a saved organization can still be backed up: what one check of an application found, how
//! findings add up over checks, and the organization's health. Pure: the check's one request (a
//! client-credentials token for Microsoft Graph with the stored credential) is made by
//! [`crate::organizations::service`]; this module reads its outcome.
//!
//! The token itself says what the application may do: its `roles` claim lists the Microsoft Graph
//! application permissions granted in the tenant, so a removed consent shows without a second
//! request. (SharePoint's and Exchange's roles are in their own resources' tokens; asking for them
//! would take more than the budget of requests per application and check.)

use crate::microsoft::MicrosoftError;
use crate::provisioning::manifest::{GRAPH, RESOURCES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use shared::api::{Health, HealthReason, Workload};
use shared::{CloudEnvironment, ErrorCode};

/// Days before a credential's end from which it is reported as expiring.
pub const EXPIRING_DAYS: i64 = 30;
/// Failed checks in a row after which an application (and its organization) is failing.
pub const FAILING_AFTER: u32 = 2;
/// Days before its end from which a certificate the service created is replaced (the default of
/// `ROTATE_BEFORE_DAYS`).
pub const ROTATE_BEFORE_DAYS: i64 = 30;
/// How long a replaced key stays registered beside its successor (a backup that took a token
/// with it finishes), in milliseconds.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;
/// Days before its end at which a credential that cannot rotate itself (a password, an uploaded
/// .pfx) is announced as expiring, each once.
pub const EXPIRY_WARNINGS: [i64; 3] = [EXPIRING_DAYS, 14, 3];

/// Whether a certificate valid from `not_before` to `not_after` (Unix seconds) is replaced at
/// `now`: within `before_days` of its end, or in the last third of a certificate that a tenant's
/// lifetime policy kept shorter than three times that (so that a short certificate is not replaced
/// at every check).
pub fn rotation_due(validity: (i64, i64), now: i64, before_days: i64) -> bool {
    let (not_before, not_after) = validity;
    let window = (before_days * 86_400).min((not_after - not_before) / 3);
    not_after - now <= window
}

/// The validity of the certificate that replaces one valid over `validity`, made at `now`: as long
/// as the one it replaces (which the tenant's lifetime policy accepted), at most the service's
/// lifetime, backdated like every generated certificate.
pub fn rotated_validity(validity: (i64, i64), now: i64) -> (i64, i64) {
    use shared::selfsigned::{BACKDATE_SECS, GENERATED_LIFETIME_DAYS};
    let length = (validity.1 - validity.0).clamp(86_400, GENERATED_LIFETIME_DAYS * 86_400 + BACKDATE_SECS);
    (now - BACKDATE_SECS, now - BACKDATE_SECS + length)
}

/// The expiry warning due for a credential with `days_left`, after warnings down to
/// `last_warned` days were given: the smallest threshold crossed, if not given yet.
pub fn expiry_warning(days_left: i64, last_warned: Option<i64>) -> Option<i64> {
    let crossed = EXPIRY_WARNINGS.iter().copied().filter(|t| days_left <= *t).min()?;
    (last_warned.is_none_or(|w| crossed < w)).then_some(crossed)
}

/// The Microsoft Graph application permissions in an access token's `roles` claim; `None` when the
/// token cannot be read (not a JWT, or no JSON payload).
pub fn graph_roles(access_token: &str) -> Option<Vec<String>> {
    let payload = access_token.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()?;
    Some(
        claims["roles"]
            .as_array()
            .map(|roles| roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    )
}

/// Whether `value` is one of the manifest's Microsoft Graph permissions (seen in a Graph token).
pub fn is_graph_permission(value: &str) -> bool {
    GRAPH.permissions.iter().any(|g| g.value == value)
}

/// The Microsoft Graph permissions an application of `workload` must hold in `cloud` under the
/// current manifest.
pub fn required_graph_roles(cloud: CloudEnvironment, workload: Workload) -> Vec<String> {
    debug_assert_eq!(RESOURCES[0].app_id, GRAPH.app_id);
    GRAPH.permissions_in(cloud).filter(|p| p.for_workload(workload)).map(|p| p.value.to_owned()).collect()
}

/// What one check of an application found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A token was issued with every permission; the credential is not near its end.
    Healthy,
    /// Works, but the credential ends within [`EXPIRING_DAYS`] (days left).
    Expiring(i64),
    /// Works, but permissions of the current manifest (newer than what was granted) are missing.
    Outdated(Vec<String>),
    /// A token was issued, but permissions it was granted are gone (consent removed).
    PermissionsMissing(Vec<String>),
    /// Microsoft refused for good: the catalogue's reason.
    Refused(HealthReason),
    /// Microsoft could not answer (429, 5xx, no answer): says nothing about the application.
    Transient,
}

impl Finding {
    /// Whether the application works for a backup now.
    pub fn works(&self) -> bool {
        matches!(self, Finding::Healthy | Finding::Expiring(_) | Finding::Outdated(_))
    }
}

/// Reads one check: the token request's outcome (the roles of the token, or Microsoft's refusal),
/// the permissions recorded as granted (`None` for an application the administrator registered),
/// the ones the current manifest requires, and the credential's end (Unix seconds) at `now`.
pub fn assess(
    outcome: &Result<Vec<String>, MicrosoftError>,
    recorded: Option<&[String]>,
    required: &[String],
    expires_at: Option<i64>,
    now: i64,
) -> Finding {
    let roles = match outcome {
        Ok(roles) => roles,
        Err(e) if e.is_transient() => return Finding::Transient,
        Err(e) => return Finding::Refused(reason_of(e.code)),
    };
    let missing = |wanted: &mut dyn Iterator<Item = &String>| -> Vec<String> {
        let mut m: Vec<String> = wanted.filter(|p| !roles.contains(p)).cloned().collect();
        m.sort();
        m.dedup();
        m
    };
    // Only Graph's roles are in a Graph token: the recorded SharePoint and Exchange roles are not
    // compared here.
    let graph: Vec<String> = required.to_vec();
    let recorded_graph: Vec<&String> = recorded.unwrap_or_default().iter().filter(|p| graph.contains(p)).collect();
    let lost = missing(&mut recorded_graph.into_iter());
    if !lost.is_empty() {
        return Finding::PermissionsMissing(lost);
    }
    let absent = missing(&mut graph.iter());
    if !absent.is_empty() {
        return if recorded.is_some() {
            Finding::Outdated(absent)
        } else {
            // An application the administrator registered lacks what the backup needs.
            Finding::PermissionsMissing(absent)
        };
    }
    match expires_at {
        Some(end) if end - now <= EXPIRING_DAYS * 86_400 => Finding::Expiring(((end - now) / 86_400).max(0)),
        _ => Finding::Healthy,
    }
}

/// The reason a refusal names.
pub fn reason_of(code: ErrorCode) -> HealthReason {
    match code {
        ErrorCode::ExpiredClientSecret | ErrorCode::CertificateExpired => HealthReason::CredentialExpired,
        ErrorCode::InvalidClientSecret | ErrorCode::InvalidCertificate => HealthReason::CredentialWrong,
        ErrorCode::ApplicationNotFound => HealthReason::ApplicationDeleted,
        ErrorCode::ApplicationDisabled => HealthReason::ServicePrincipalDisabled,
        ErrorCode::PermissionsNotGranted => HealthReason::PermissionsMissing,
        ErrorCode::TenantNotFound | ErrorCode::WrongCloud => HealthReason::TenantUnreachable,
        _ => HealthReason::CheckFailed,
    }
}

/// An application's health as stored between checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHealth {
    /// Where it stands.
    pub health: Health,
    /// Why, when not healthy.
    pub reason: Option<HealthReason>,
    /// The permissions a finding named (missing or outdated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Failed checks in a row (a transient error neither counts nor resets).
    pub failures: u32,
    /// The last expiry warning given (days before the end), for a credential that cannot rotate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned_days: Option<i64>,
    /// Permissions an administrator knew to be missing when saving an application registered by
    /// hand: while only these are missing, the application needs attention but is not failing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<String>,
}

impl AppHealth {
    /// The health of an application saved without the `missing` permissions, which the
    /// administrator acknowledged.
    pub fn acknowledged(missing: Vec<String>) -> AppHealth {
        AppHealth {
            health: Health::NeedsAttention,
            reason: Some(HealthReason::PermissionsMissing),
            permissions: missing.clone(),
            acknowledged: missing,
            ..AppHealth::default()
        }
    }

    /// The health after `finding`.
    pub fn after(&self, finding: &Finding) -> AppHealth {
        // A check reads Graph's roles only: the acknowledged permissions of the other APIs are
        // still taken as missing; the acknowledged Graph ones are granted once the check says so.
        let unseen: Vec<String> = self.acknowledged.iter().filter(|p| !is_graph_permission(p)).cloned().collect();
        match finding {
            Finding::Transient => self.clone(),
            Finding::Healthy if !unseen.is_empty() => {
                AppHealth { warned_days: self.warned_days, ..AppHealth::acknowledged(unseen) }
            }
            Finding::Healthy => AppHealth { health: Health::Healthy, ..AppHealth::default() },
            Finding::Expiring(_) => AppHealth {
                health: Health::NeedsAttention,
                reason: Some(HealthReason::CredentialExpiring),
                acknowledged: unseen.clone(),
                ..AppHealth::default()
            },
            Finding::Outdated(p) => AppHealth {
                health: Health::NeedsAttention,
                reason: Some(HealthReason::ManifestOutdated),
                permissions: p.clone(),
                acknowledged: unseen.clone(),
                ..AppHealth::default()
            },
            Finding::PermissionsMissing(p) if !p.is_empty() && p.iter().all(|x| self.acknowledged.contains(x)) => {
                // Still acknowledged: what is missing now (a Graph permission granted since then and
                // revoked again is a loss like any other).
                let mut missing = p.clone();
                missing.extend(unseen.iter().filter(|u| !p.contains(u)).cloned());
                AppHealth { warned_days: self.warned_days, ..AppHealth::acknowledged(missing) }
            }
            Finding::PermissionsMissing(p) => self.failed(HealthReason::PermissionsMissing, p.clone()),
            Finding::Refused(reason) => self.failed(*reason, vec![]),
        }
    }

    fn failed(&self, reason: HealthReason, permissions: Vec<String>) -> AppHealth {
        let failures = self.failures + 1;
        AppHealth {
            health: if failures >= FAILING_AFTER { Health::Failing } else { Health::NeedsAttention },
            reason: Some(reason),
            permissions,
            failures,
            warned_days: self.warned_days,
            acknowledged: self.acknowledged.clone(),
        }
    }

    /// The health after replacing the certificate failed: the application works, but needs
    /// attention if that keeps failing until its end.
    pub fn rotation_failed(&self) -> AppHealth {
        AppHealth { health: Health::NeedsAttention, reason: Some(HealthReason::RotationFailed), ..self.clone() }
    }
}

/// An organization's health: its worst application's (an organization with no checked application
/// is unchecked).
pub fn organization_health<'a>(apps: impl IntoIterator<Item = &'a AppHealth>) -> (Health, Option<HealthReason>) {
    apps.into_iter()
        .max_by_key(|a| (a.health.rank(), a.reason.is_some()))
        .map_or((Health::Unchecked, None), |worst| (worst.health, worst.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ErrorCode, status: u16) -> Result<Vec<String>, MicrosoftError> {
        Err(MicrosoftError { code, status, correlation: Default::default(), retry_after: None })
    }

    fn roles(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    const NOW: i64 = 1_796_000_000;

    #[test]
    fn the_roles_are_read_from_the_token() {
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"aud":"https://graph.microsoft.com","roles":["User.Read.All","Mail.ReadWrite"]}"#);
        assert_eq!(graph_roles(&format!("h.{payload}.s")), Some(roles(&["User.Read.All", "Mail.ReadWrite"])));
        let none = URL_SAFE_NO_PAD.encode(br#"{"aud":"x"}"#);
        assert_eq!(graph_roles(&format!("h.{none}.s")), Some(vec![]), "a token without roles grants none");
        assert_eq!(graph_roles("not a token"), None);
    }

    #[test]
    fn a_working_application_is_healthy_until_its_credential_nears_its_end() {
        let required = roles(&["User.Read.All", "Mail.ReadWrite"]);
        let ok = Ok(required.clone());
        assert_eq!(assess(&ok, Some(&required), &required, Some(NOW + 90 * 86_400), NOW), Finding::Healthy);
        assert_eq!(assess(&ok, Some(&required), &required, None, NOW), Finding::Healthy);
        assert_eq!(assess(&ok, Some(&required), &required, Some(NOW + 14 * 86_400 + 5), NOW), Finding::Expiring(14));
    }

    #[test]
    fn removed_consent_is_told_from_a_newer_manifest() {
        let granted = roles(&["User.Read.All", "Mail.ReadWrite"]);
        let required = roles(&["User.Read.All", "Mail.ReadWrite", "MailboxItem.Read.All"]);
        let token = Ok(roles(&["User.Read.All"]));
        assert_eq!(
            assess(&token, Some(&granted), &required, None, NOW),
            Finding::PermissionsMissing(roles(&["Mail.ReadWrite"])),
            "granted, then taken away"
        );
        let token = Ok(granted.clone());
        assert_eq!(
            assess(&token, Some(&granted), &required, None, NOW),
            Finding::Outdated(roles(&["MailboxItem.Read.All"])),
            "never granted: a newer manifest"
        );
        assert_eq!(
            assess(&token, None, &required, None, NOW),
            Finding::PermissionsMissing(roles(&["MailboxItem.Read.All"])),
            "the administrator's own application lacks it"
        );
    }

    #[test]
    fn refusals_are_named_and_transient_errors_say_nothing() {
        let required = roles(&["User.Read.All"]);
        let cases = [
            (ErrorCode::ExpiredClientSecret, HealthReason::CredentialExpired),
            (ErrorCode::InvalidCertificate, HealthReason::CredentialWrong),
            (ErrorCode::InvalidClientSecret, HealthReason::CredentialWrong),
            (ErrorCode::ApplicationNotFound, HealthReason::ApplicationDeleted),
            (ErrorCode::ApplicationDisabled, HealthReason::ServicePrincipalDisabled),
            (ErrorCode::TenantNotFound, HealthReason::TenantUnreachable),
        ];
        for (code, reason) in cases {
            assert_eq!(assess(&err(code, 401), None, &required, None, NOW), Finding::Refused(reason), "{code:?}");
        }
        for (code, status) in
            [(ErrorCode::Throttled, 429), (ErrorCode::MicrosoftUnavailable, 503), (ErrorCode::MicrosoftUnavailable, 0)]
        {
            assert_eq!(assess(&err(code, status), None, &required, None, NOW), Finding::Transient);
        }
    }

    #[test]
    fn an_application_fails_after_two_failed_checks_in_a_row_and_a_transient_error_changes_nothing() {
        let deleted = Finding::Refused(HealthReason::ApplicationDeleted);
        let once = AppHealth::default().after(&deleted);
        assert_eq!((once.health, once.failures), (Health::NeedsAttention, 1));
        let still = once.after(&Finding::Transient);
        assert_eq!(still, once, "a 503 is not a failure, and does not reset one");
        let twice = still.after(&deleted);
        assert_eq!((twice.health, twice.reason), (Health::Failing, Some(HealthReason::ApplicationDeleted)));
        let repaired = twice.after(&Finding::Healthy);
        assert_eq!(repaired, AppHealth { health: Health::Healthy, ..AppHealth::default() });
        let unchecked_then_transient = AppHealth::default().after(&Finding::Transient);
        assert_eq!(unchecked_then_transient.health, Health::Unchecked);
    }

    #[test]
    fn acknowledged_missing_permissions_need_attention_but_never_fail() {
        let saved = AppHealth::acknowledged(roles(&["Mail.ReadWrite", "Sites.FullControl.All"]));
        assert_eq!((saved.health, saved.reason), (Health::NeedsAttention, Some(HealthReason::PermissionsMissing)));
        // Check after check, the same missing Graph permission: attention, not failing.
        let once = saved.after(&Finding::PermissionsMissing(roles(&["Mail.ReadWrite"])));
        let twice = once.after(&Finding::PermissionsMissing(roles(&["Mail.ReadWrite"])));
        assert_eq!(twice.health, Health::NeedsAttention);
        assert_eq!(
            twice.permissions,
            roles(&["Mail.ReadWrite", "Sites.FullControl.All"]),
            "SharePoint's is still named"
        );
        // Another permission gone is a loss like any other.
        let lost = twice.after(&Finding::PermissionsMissing(roles(&["User.Read.All"])));
        assert_eq!(lost.after(&Finding::PermissionsMissing(roles(&["User.Read.All"]))).health, Health::Failing);
        // Graph's granted: only SharePoint's, which a Graph token cannot show, is still named.
        let granted = twice.after(&Finding::Healthy);
        assert_eq!(granted.health, Health::NeedsAttention);
        assert_eq!(granted.permissions, roles(&["Sites.FullControl.All"]));
        // Nothing acknowledged outside Graph: healthy once granted.
        let graph_only = AppHealth::acknowledged(roles(&["Mail.ReadWrite"]));
        assert_eq!(graph_only.after(&Finding::Healthy), AppHealth { health: Health::Healthy, ..AppHealth::default() });
    }

    #[test]
    fn an_organization_is_as_healthy_as_its_worst_application() {
        let healthy = AppHealth { health: Health::Healthy, ..AppHealth::default() };
        let expiring = healthy.after(&Finding::Expiring(3));
        let failing =
            AppHealth { failures: 1, ..AppHealth::default() }.after(&Finding::Refused(HealthReason::CredentialExpired));
        assert_eq!(organization_health([&healthy, &healthy]), (Health::Healthy, None));
        assert_eq!(
            organization_health([&healthy, &expiring]),
            (Health::NeedsAttention, Some(HealthReason::CredentialExpiring))
        );
        assert_eq!(
            organization_health([&expiring, &failing, &healthy]),
            (Health::Failing, Some(HealthReason::CredentialExpired))
        );
        assert_eq!(organization_health(std::iter::empty()), (Health::Unchecked, None));
    }

    #[test]
    fn a_generated_certificate_is_replaced_30_days_before_its_end_or_in_the_last_third_of_a_short_one() {
        let two_years = (NOW - 300, NOW + 730 * 86_400);
        assert!(!rotation_due(two_years, NOW, 30));
        assert!(!rotation_due(two_years, two_years.1 - 31 * 86_400, 30));
        assert!(rotation_due(two_years, two_years.1 - 30 * 86_400, 30));
        assert!(rotation_due(two_years, two_years.1 + 1, 30), "an expired one too (it cannot be, by addKey)");
        let capped = (NOW, NOW + 30 * 86_400);
        assert!(!rotation_due(capped, NOW + 86_400, 30), "a 30-day certificate is not replaced at once");
        assert!(rotation_due(capped, NOW + 20 * 86_400, 30));
        assert!(!rotation_due(two_years, two_years.1 - 8 * 86_400, 7), "ROTATE_BEFORE_DAYS=7");
    }

    #[test]
    fn the_replacement_is_as_long_as_the_certificate_the_tenant_accepted() {
        let capped = (NOW - 300, NOW - 300 + 179 * 86_400);
        assert_eq!(rotated_validity(capped, NOW + 170 * 86_400), (NOW + 170 * 86_400 - 300, NOW + 349 * 86_400 - 300));
        let (from, to) = rotated_validity((0, 100 * 365 * 86_400), NOW);
        assert_eq!(to - from, 730 * 86_400 + 300, "never longer than the service's own lifetime");
    }

    #[test]
    fn a_credential_that_cannot_rotate_is_announced_at_30_14_and_3_days_once_each() {
        assert_eq!(expiry_warning(45, None), None);
        assert_eq!(expiry_warning(30, None), Some(30));
        assert_eq!(expiry_warning(20, Some(30)), None);
        assert_eq!(expiry_warning(13, Some(30)), Some(14));
        assert_eq!(expiry_warning(2, Some(30)), Some(3), "a missed threshold is not announced late");
        assert_eq!(expiry_warning(1, Some(3)), None);
        assert_eq!(expiry_warning(-4, None), Some(3));
    }

    #[test]
    fn the_required_graph_roles_follow_the_workload_and_the_cloud() {
        let all = required_graph_roles(CloudEnvironment::Global, Workload::All);
        assert!(all.contains(&"MailboxItem.Read.All".to_owned()) && all.contains(&"User.Read.All".to_owned()));
        let files = required_graph_roles(CloudEnvironment::Global, Workload::Files);
        assert!(!files.contains(&"Mail.ReadWrite".to_owned()) && files.contains(&"Files.ReadWrite.All".to_owned()));
        let gcc = required_graph_roles(CloudEnvironment::UsGovGccHigh, Workload::All);
        assert!(!gcc.contains(&"MailboxItem.Read.All".to_owned()), "no Graph mailbox API there");
    }
}
