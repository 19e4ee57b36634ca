//! Repair in one sign-in: what a repair sign-in is told to do for a saved organization
//! ([`Organizations::repair_order`]), and storing what it did ([`Organizations::repair`]). The
//! registration itself is [`crate::provisioning::plan::Registration::repair`]; it never deletes an
//! application that was there before it.

use super::{generated_sealables, grant_of, internal, Organizations, Res};
use crate::config::Config;
use crate::error::AppError;
use crate::handover::RepairOrder;
use crate::microsoft::HttpClient;
use crate::organizations::check::Signers;
use crate::organizations::model::ApplicationRow;
use crate::organizations::ports::{ApplicationChange, Clock, Edit, Log, Notify, OrganizationStore, SignIns, Sleeper};
use crate::organizations::store::StoreError;
use crate::provisioning::plan::RepairApp;
use crate::webhooks::EventType;
use serde_json::json;
use shared::api::AppSlot;
use shared::api::{HealthReason, Organization, RepairOrganization, Workload};
use shared::validate::{Field, FieldError};
use shared::{CloudEnvironment, ErrorCode};

/// The index a registration gives stored application `row` (0 main, 1..=3 by workload), with
/// `nth` its place among the additional rows (for rows stored before workloads).
fn index_of(row: &ApplicationRow, nth: u8) -> u8 {
    if row.is_main == 1 {
        return 0;
    }
    match row.workload.as_deref().and_then(Workload::parse).map(Workload::slot) {
        Some(slot @ AppSlot::Additional(_)) => slot.index(),
        _ => nth,
    }
}

/// Whether the last check says the stored credential of `row` cannot be kept: refused, expired,
/// ending soon, or its application deleted. (A working one is kept; the service's own
/// certificates rotate by themselves.)
pub fn needs_new_credential(row: &ApplicationRow) -> bool {
    matches!(
        row.health().reason,
        Some(
            HealthReason::CredentialExpired
                | HealthReason::CredentialWrong
                | HealthReason::CredentialExpiring
                | HealthReason::ApplicationDeleted
        )
    )
}

/// The repair of the active applications `rows` of an organization of `tenant`.
pub fn repair_order(organization_id: &str, tenant: &str, rows: &[ApplicationRow]) -> RepairOrder {
    let mut nth = 0;
    let apps = rows
        .iter()
        .filter(|r| r.active == 1)
        .map(|r| {
            if r.is_main == 0 {
                nth += 1;
            }
            RepairApp { index: index_of(r, nth), app_id: r.app_id.clone(), renew: needs_new_credential(r) }
        })
        .collect();
    RepairOrder { organization_id: organization_id.to_owned(), tenant_id: tenant.to_owned(), apps }
}

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// What a repair sign-in in `cloud` for organization `id` (of this account) does, from a check
    /// made now. Another account's organization is not found; one in another cloud is refused.
    pub async fn repair_order(&self, config: &Config, id: &str, cloud: CloudEnvironment) -> Res<RepairOrder> {
        super::named_organization(id, Field::RepairOrganizationId)?;
        self.check_health(config, id).await?;
        let (org, apps) = self.load(id).await?;
        super::in_its_cloud(&org, cloud, "repair it")?;
        Ok(repair_order(id, &org.tenant_id, &apps))
    }

    /// `POST /api/organizations/{id}/repair`: stores what the repair sign-in did. A recreated
    /// application, or one with a new certificate, replaces its row (sealed); one that kept its
    /// credential gets its new grant recorded. Then the organization is checked again.
    pub async fn repair(&self, config: &Config, id: &str, req: RepairOrganization) -> Res<Organization> {
        let (org, rows) = self.load(id).await?;
        if req.version != org.version {
            return Err(ErrorCode::EditConflict.into());
        }
        let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
        let sign_in = req.sign_in_id.as_str();
        if !crate::ids::is_id(sign_in) {
            return Err(FieldError::new(Field::SignInId, "Give the ID of the repair sign-in.").into());
        }
        // Another sign-in's applications (a new organization's, or another organization's repair)
        // are not this organization's.
        let ex = self.exported_for(sign_in, cloud, &org.tenant_id, Some(id)).await?;
        let renewed = generated_sealables(&ex);
        let ring = (self.keyring)()?;
        let mut changes = vec![];
        let mut nth = 0;
        for row in rows.iter().filter(|r| r.active == 1) {
            if row.is_main == 0 {
                nth += 1;
            }
            let index = index_of(row, nth);
            let Some(done) = ex.apps.iter().find(|a| a.index == index) else {
                // The sign-in did not repair every application it was told to: store nothing.
                return Err(AppError::Internal);
            };
            match renewed.iter().find(|s| s.app_id == done.app_id) {
                Some(s) => {
                    changes.push(ApplicationChange::Delete { id: row.id.clone() });
                    changes.push(ApplicationChange::Insert(Box::new(self.sealed_row(&ring, id, s, true))));
                }
                None => changes.push(ApplicationChange::SetGrant {
                    id: row.id.clone(),
                    object_id: done.object_id.clone(),
                    grant: grant_of(done),
                }),
            }
        }
        let edit = Edit {
            id: id.to_owned(),
            account_id: self.account.to_owned(),
            version: req.version,
            name: org.name.clone(),
            multiple_applications: org.multiple_applications == 1,
            updated_at: self.now_rfc3339(),
            changes,
        };
        if let Err(e) = self.store.update(&edit).await {
            // Nothing was stored: what the repair created must not stay in the tenant.
            self.release(sign_in).await;
            if e == StoreError::VersionMoved {
                return Err(ErrorCode::EditConflict.into());
            }
            return Err(internal(e));
        }
        self.hand_over(config, sign_in).await;
        let recreated: Vec<&str> =
            ex.apps.iter().filter(|a| !rows.iter().any(|r| r.app_id == a.app_id)).map(|a| a.app_id.as_str()).collect();
        let view = self.check_health(config, id).await?;
        let data = json!({"name": view.name, "application_id": view.application_id,
                          "active_applications": view.active_applications, "version": view.version,
                          "repaired": true, "recreated_applications": recreated});
        self.notify(EventType::OrganizationUpdated, id, data).await;
        Ok(view)
    }
}
