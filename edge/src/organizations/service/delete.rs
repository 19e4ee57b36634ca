//! Delete: the checks before a removal sign-in starts, and the delete itself (with the organization's
//! applications removed from Microsoft 365 by that sign-in, or kept), guarded by the version the
//! administrator saw and by the rows it read.

use super::*;

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// Whether a sign-in may be started for deleting organization `id`'s applications from
    /// Microsoft 365: it is this account's, and in `cloud`.
    pub async fn removal_target(&self, id: &str, cloud: CloudEnvironment) -> Res<()> {
        named_organization(id, Field::RemoveOrganizationId)?;
        let (org, _) = self.load(id).await?;
        in_its_cloud(&org, cloud, "remove its applications")
    }

    /// `DELETE /api/organizations/{id}` with `{"confirm": true}`.
    pub async fn delete(&self, id: &str, req: DeleteOrganization) -> Res<()> {
        if !req.confirm {
            return Err(ErrorDetail {
                field: Some(Field::Confirm),
                ..ErrorDetail::new(ErrorCode::ConfirmationRequired)
            }
            .into());
        }
        let (org, apps) = self.load(id).await?;
        if org.version != req.version {
            // Another change was saved since the admin looked: nothing is deleted anywhere.
            return Err(ErrorCode::EditConflict.into());
        }
        let mut removed = 0;
        if let Some(sign_in) = req.remove_with_sign_in.as_deref() {
            if !crate::ids::is_id(sign_in) {
                return Err(FieldError::new(
                    Field::SignInId,
                    "Give the ID of the sign-in made for removing the applications.",
                )
                .into());
            }
            // The organization's own applications, as stored: never IDs the caller names.
            let mut app_ids: Vec<String> = apps.iter().map(|a| a.app_id.clone()).collect();
            app_ids.dedup();
            // An application another organization uses stays: nothing is deleted then.
            let shared = self.store.held_elsewhere(id, &app_ids).await.map_err(internal)?;
            if !shared.is_empty() {
                let detail = ErrorDetail::new(ErrorCode::ApplicationsShared);
                let message = format!("{} Shared: {}.", detail.message, shared.join(", "));
                return Err(ErrorDetail { message, ..detail }.into());
            }
            let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
            let removal = self
                .sign_ins
                .remove(sign_in, id, cloud, &org.tenant_id, &app_ids)
                .await?
                .map_err(Refusal::into_error)?;
            if !removal.not_removed.is_empty() {
                let detail = ErrorDetail::new(ErrorCode::ApplicationsNotRemoved);
                let mut message = format!("{} Still registered: {}.", detail.message, removal.not_removed.join(", "));
                if removal.denied {
                    message.push_str(REMOVAL_DENIED);
                }
                return Err(ErrorDetail { message, ..detail }.into());
            }
            removed = app_ids.len();
        }
        // Only the rows read above, and only at the version the admin saw: a change saved while
        // Microsoft was deleting (new applications of a "Recreate") keeps the organization.
        let rows: Vec<String> = apps.iter().map(|a| a.id.clone()).collect();
        match self.store.delete(self.account, id, req.version, &rows).await {
            Ok(()) => {}
            Err(StoreError::VersionMoved) => return Err(ErrorCode::EditConflict.into()),
            Err(e) => return Err(internal(e)),
        }
        self.notify(EventType::OrganizationDeleted, id, json!({ "removed_applications": removed })).await;
        Ok(())
    }
}
