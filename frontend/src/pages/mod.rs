//! The pages outside the wizard: the organization list, the edit page, and adding a partner's
//! customers.

pub mod edit;
pub mod manage;
pub mod partner;
pub mod partner_logic;
pub mod repair;
pub mod usage;

use shared::api::{Organization, Workload};

/// The workloads of an organization's active additional applications, for the manage page (empty
/// when it has none, or only applications from before workloads).
pub fn additional_workloads(o: &Organization) -> String {
    let labels: Vec<&str> = o
        .applications
        .iter()
        .filter(|a| !a.main && a.active && a.workload != Workload::All)
        .map(|a| a.workload.label())
        .collect();
    labels.join(" · ")
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
        assert_eq!(additional_workloads(&o), "", "an organization stored before workloads");
        o.applications = vec![
            app(true, Workload::All, true),
            app(false, Workload::Exchange, true),
            app(false, Workload::Files, false),
            app(false, Workload::Teams, true),
        ];
        assert_eq!(additional_workloads(&o), "Exchange mailboxes · Teams, groups and Planner");
    }
}
