//! The tenant's default app management policy (`GET /policies/defaultAppManagementPolicy`, a
//! `tenantAppManagementPolicy`), read in the registration's first round trip so that the generated
//! credential is one the policy allows: a client secret no longer than its `passwordLifetime`, or
//! no secret at all when `passwordAddition` is restricted (the administrator is told what to use
//! instead). A restriction counts when the policy `isEnabled`, the restriction's `state` is not
//! `disabled`, and its `restrictForAppsCreatedAfterDateTime` is not after now (the applications
//! are created now).

use crate::microsoft::policies::{DefaultAppManagementPolicy, Restriction};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the policy means for the applications created now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPolicy {
    /// `passwordAddition`: new applications may not get client secrets.
    pub secrets_blocked: bool,
    /// `passwordLifetime`: the longest client secret allowed, in seconds.
    pub secret_max_seconds: Option<i64>,
    /// `trustedCertificateAuthority`: only certificates from the tenant's trusted authorities.
    pub trusted_ca_required: bool,
    /// `asymmetricKeyLifetime`: the longest certificate allowed, in days.
    pub certificate_max_days: Option<i64>,
}

impl TenantPolicy {
    /// Reads Graph's answer at `now`. Anything unreadable counts as no restriction: Microsoft
    /// still enforces the policy, and its refusal is mapped by the error catalogue.
    pub fn read(body: &Value, now: Millis) -> TenantPolicy {
        DefaultAppManagementPolicy::deserialize(body).map(|p| Self::of(&p, now)).unwrap_or_default()
    }

    /// What `policy` means for an application created at `now`.
    pub fn of(policy: &DefaultAppManagementPolicy, now: Millis) -> TenantPolicy {
        let mut p = TenantPolicy::default();
        if !policy.is_enabled {
            return p;
        }
        let restrictions = &policy.application_restrictions;
        for r in applying(&restrictions.password_credentials, now) {
            match r.restriction_type.as_deref().unwrap_or_default() {
                "passwordAddition" => p.secrets_blocked = true,
                "passwordLifetime" => p.secret_max_seconds = r.max_lifetime.as_deref().and_then(duration_seconds),
                _ => {}
            }
        }
        for r in applying(&restrictions.key_credentials, now) {
            match r.restriction_type.as_deref().unwrap_or_default() {
                "trustedCertificateAuthority" => p.trusted_ca_required = true,
                "asymmetricKeyLifetime" => {
                    p.certificate_max_days = r.max_lifetime.as_deref().and_then(duration_seconds).map(|s| s / 86_400)
                }
                _ => {}
            }
        }
        p
    }

    /// The lifetime of a generated certificate, in days: `wanted_days`, or a day inside the policy's
    /// longest (a tenth inside one of ten days or less; at least one day).
    pub fn certificate_days(&self, wanted_days: i64) -> i64 {
        match self.certificate_max_days {
            Some(max) => wanted_days.min(if max > 10 { max - 1 } else { max * 9 / 10 }).max(1),
            None => wanted_days,
        }
    }
}

/// The restrictions in `list` that apply to an application created at `now`.
fn applying(list: &[Restriction], now: Millis) -> impl Iterator<Item = &Restriction> {
    list.iter().filter(move |r| {
        let enabled = r.state.as_deref() != Some("disabled");
        let from = r.restrict_for_apps_created_after_date_time.as_deref().and_then(crate::time::parse_rfc3339);
        enabled && from.is_none_or(|from| Millis::from_seconds(from) <= now)
    })
}

/// An ISO 8601 duration (`P90D`, `P1Y`, `P2W`, `P4DT12H`) in seconds; months count 28 days and
/// years 365, so that a lifetime derived from it never exceeds the real one by more than a leap day
/// (callers ask for less).
pub fn duration_seconds(s: &str) -> Option<i64> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (rest, ""),
    };
    if date.is_empty() && time.is_empty() {
        return None;
    }
    let days = sum_of_units(date, |unit| match unit {
        'Y' => Some(365),
        'M' => Some(28),
        'W' => Some(7),
        'D' => Some(1),
        _ => None,
    })?;
    let seconds = sum_of_units(time, |unit| match unit {
        'H' => Some(3600),
        'M' => Some(60),
        'S' => Some(1),
        _ => None,
    })?;
    Some(days * 86_400 + seconds)
}

/// The sum of `{number}{unit}` pairs in `part`, each number times `size(unit)`; `None` for an
/// unknown unit or a number without its unit.
fn sum_of_units(part: &str, size: impl Fn(char) -> Option<i64>) -> Option<i64> {
    let (mut total, mut number) = (0i64, String::new());
    for c in part.chars() {
        if c.is_ascii_digit() {
            number.push(c);
        } else {
            total += std::mem::take(&mut number).parse::<i64>().ok()? * size(c)?;
        }
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = Millis(1_800_000_000_000);

    fn policy(password: Value, key: Value) -> Value {
        json!({
            "id": "00000000-0000-0000-0000-000000000000",
            "displayName": "Default app management tenant policy",
            "isEnabled": true,
            "applicationRestrictions": {"passwordCredentials": password, "keyCredentials": key},
            "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
        })
    }

    #[test]
    fn durations() {
        const DAY: i64 = 86_400;
        assert_eq!(duration_seconds("P90D"), Some(90 * DAY));
        assert_eq!(duration_seconds("P180D"), Some(180 * DAY));
        assert_eq!(duration_seconds("P1Y"), Some(365 * DAY));
        assert_eq!(duration_seconds("P6M"), Some(168 * DAY));
        assert_eq!(duration_seconds("P2W"), Some(14 * DAY));
        assert_eq!(duration_seconds("P4DT12H30M5S"), Some(4 * DAY + 12 * 3600 + 30 * 60 + 5));
        assert_eq!(duration_seconds("PT12H"), Some(12 * 3600));
        for bad in ["", "P", "90D", "P90", "PXD", "P1DT", "P90T1H", "PT5"] {
            assert_eq!(duration_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_disabled_or_empty_policy_restricts_nothing() {
        assert_eq!(TenantPolicy::read(&json!({"isEnabled": false}), NOW), TenantPolicy::default());
        let mut off = policy(json!([{"restrictionType": "passwordAddition", "maxLifetime": null}]), json!([]));
        off["isEnabled"] = json!(false);
        assert_eq!(TenantPolicy::read(&off, NOW), TenantPolicy::default());
        assert_eq!(TenantPolicy::read(&json!("garbage"), NOW), TenantPolicy::default());
    }

    #[test]
    fn restrictions_apply_from_their_date_unless_disabled() {
        let p = policy(
            json!([
                {"restrictionType": "passwordAddition", "maxLifetime": null,
                 "restrictForAppsCreatedAfterDateTime": "2021-01-01T00:00:00Z"},
                {"restrictionType": "passwordLifetime", "maxLifetime": "P180D",
                 "restrictForAppsCreatedAfterDateTime": "2021-01-01T00:00:00Z", "state": "enabled"}
            ]),
            json!([{"restrictionType": "trustedCertificateAuthority",
                    "certificateBasedApplicationConfigurationIds": ["eec5ba11-2fc0-4113-83a2-ed986ed13743"],
                    "restrictForAppsCreatedAfterDateTime": "2021-01-01T00:00:00Z"}]),
        );
        let read = TenantPolicy::read(&p, NOW);
        assert!(read.secrets_blocked && read.trusted_ca_required);
        assert_eq!(read.secret_max_seconds, Some(180 * 86_400));
        let capped = TenantPolicy { certificate_max_days: Some(180), ..TenantPolicy::default() };
        assert_eq!(capped.certificate_days(730), 179, "a day inside the policy's longest");
        let short = TenantPolicy { certificate_max_days: Some(5), ..TenantPolicy::default() };
        assert_eq!(short.certificate_days(730), 4, "a tenth inside a short lifetime");
        let one = TenantPolicy { certificate_max_days: Some(1), ..TenantPolicy::default() };
        assert_eq!(one.certificate_days(730), 1, "never less than a day");

        let later = policy(
            json!([{"restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": "2099-01-01T00:00:00Z"},
                   {"restrictionType": "passwordLifetime", "maxLifetime": "P30D", "state": "disabled"}]),
            json!([]),
        );
        let read = TenantPolicy::read(&later, NOW);
        // A restriction with a null type is skipped, not the whole policy.
        let with_null = policy(json!([{"restrictionType": null}, {"restrictionType": "passwordAddition"}]), json!([]));
        assert!(TenantPolicy::read(&with_null, NOW).secrets_blocked);
        assert_eq!(read, TenantPolicy::default(), "not yet in force, and switched off");
        assert_eq!(read.certificate_days(730), 730);
    }
}
