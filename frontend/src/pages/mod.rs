//! The pages outside the wizard: the organization list and its delete dialog, the edit page, and
//! adding a partner's customers.

pub mod delete;
pub mod edit;
pub mod manage;
pub mod partner;
pub mod partner_logic;
pub mod repair;
pub mod usage;

use crate::i18n::{Key, Msg};
use shared::api::{HealthReason, HealthWarning, Organization, Workload};

/// The workloads of an organization's active additional applications, for the manage page (empty
/// when it has none, or only applications from before workloads), each written by `show`.
pub fn additional_workloads(o: &Organization, show: impl Fn(&Msg) -> String) -> String {
    let labels: Vec<String> = o
        .applications
        .iter()
        .filter(|a| !a.main && a.active && a.workload != Workload::All)
        .map(|a| show(&Msg::new(workload(a.workload))))
        .collect();
    labels.join(" · ")
}

/// A workload's name.
pub fn workload(w: Workload) -> Key {
    match w {
        Workload::All => key!("workload.all"),
        Workload::Exchange => key!("workload.exchange"),
        Workload::Files => key!("workload.files"),
        Workload::Teams => key!("workload.teams"),
    }
}

/// Why a health check did not find an application healthy, and what to do.
pub fn health_reason(r: HealthReason) -> Key {
    match r {
        HealthReason::CredentialExpired => key!("health.reason.credential_expired"),
        HealthReason::CredentialExpiring => key!("health.reason.credential_expiring"),
        HealthReason::CredentialWrong => key!("health.reason.credential_wrong"),
        HealthReason::ApplicationDeleted => key!("health.reason.application_deleted"),
        HealthReason::ServicePrincipalDisabled => key!("health.reason.service_principal_disabled"),
        HealthReason::PermissionsMissing => key!("health.reason.permissions_missing"),
        HealthReason::ManifestOutdated => key!("health.reason.manifest_outdated"),
        HealthReason::TenantUnreachable => key!("health.reason.tenant_unreachable"),
        HealthReason::CheckFailed => key!("health.reason.check_failed"),
        HealthReason::RotationFailed => key!("health.reason.rotation_failed"),
    }
}

/// A health warning, and what to do.
pub fn health_warning(w: HealthWarning) -> Key {
    match w {
        HealthWarning::EngineAuditFull => key!("health.warning.engine_audit_full"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::OrganizationApplication;

    #[test]
    fn the_manage_page_names_the_active_additional_applications_workloads() {
        let app = |main, workload, active| OrganizationApplication {
            application_id: "a".into(),
            main,
            workload,
            active,
            credential_type: shared::api::CredentialType::Certificate,
            credential_expires_at: None,
            certificate_thumbprint: None,
            required_permissions: vec![],
            granted_permissions: vec![],
            health: Default::default(),
        };
        let mut o: Organization = serde_json::from_value(serde_json::json!({
            "id": "o", "name": "Contoso", "cloud": "global", "tenant_id": "t", "application_id": "a",
            "credential_type": "secret", "expiry": "ok", "multiple_applications": true,
            "active_applications": 3, "created_at": "", "updated_at": "", "version": 1
        }))
        .unwrap();
        assert_eq!(additional_workloads(&o, crate::i18n::english), "", "an organization stored before workloads");
        o.applications = vec![
            app(true, Workload::All, true),
            app(false, Workload::Exchange, true),
            app(false, Workload::Files, false),
            app(false, Workload::Teams, true),
        ];
        assert_eq!(additional_workloads(&o, crate::i18n::english), "Exchange mailboxes · Teams, groups and Planner");
    }

    #[test]
    fn health_reasons_and_workloads_read_as_the_shared_crate_writes_them_in_english() {
        use shared::api::HealthReason as R;
        for r in [
            R::CredentialExpired,
            R::CredentialExpiring,
            R::CredentialWrong,
            R::ApplicationDeleted,
            R::ServicePrincipalDisabled,
            R::PermissionsMissing,
            R::ManifestOutdated,
            R::TenantUnreachable,
            R::CheckFailed,
            R::RotationFailed,
        ] {
            assert_eq!(crate::i18n::english(&Msg::new(health_reason(r))), r.sentence());
        }
        let w = HealthWarning::EngineAuditFull;
        assert_eq!(crate::i18n::english(&Msg::new(health_warning(w))), w.sentence());
        for w in [Workload::All, Workload::Exchange, Workload::Files, Workload::Teams] {
            assert_eq!(crate::i18n::english(&Msg::new(workload(w))), w.label());
        }
    }
}
