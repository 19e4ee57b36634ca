//! Update: the manage page's edits (name, credential, the additional applications turned on, off or
//! recreated), applied under the version guard.

use super::*;

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// `PATCH /api/organizations/{id}`.
    pub async fn update(&self, config: &Config, id: &str, req: UpdateOrganization) -> Res<Organization> {
        let (org, apps) = self.load(id).await?;
        if req.version != org.version {
            return Err(ErrorCode::EditConflict.into());
        }
        let name = match &req.name {
            Some(n) => OrganizationName::parse(n)?.as_str().to_owned(),
            None => org.name.clone(),
        };
        let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
        let endpoints = config.endpoints(cloud);
        let ts = self.now_rfc3339();
        let mut changes = vec![];
        let main = apps.iter().find(|a| a.is_main == 1).ok_or(AppError::Internal)?;

        // Application ID or credential: checked against Microsoft again before saving. Another
        // application is new to this product: it may still be replicating, and its permissions
        // are compared with the manifest like a Manual save's.
        model::acknowledged_permissions(&req.acknowledged_permissions)?;
        let mut new_main_health: Option<(String, crate::health::AppHealth)> = None;
        if req.application_id.is_some() || req.credential.is_some() {
            let app_id = match &req.application_id {
                Some(a) => shared::AppId::parse(a)?.as_str().to_owned(),
                None => main.app_id.clone(),
            };
            let another = !app_id.eq_ignore_ascii_case(&main.app_id);
            let patience = if another { Patience::TYPED } else { Patience::TYPED_FOR_SAVED };
            // The typed credential, or else the stored one, checked once.
            let typed =
                req.credential.as_ref().map(|c| model::validate_credential(c, self.now().seconds())).transpose()?;
            let stored;
            let credential = match &typed {
                Some(valid) => entered(valid).ok_or_else(|| {
                    FieldError::new(Field::ClientSecret, "Enter the new application password or certificate.")
                })?,
                None => {
                    stored = self.open_secret(&main.id).await?.1;
                    stored.check()
                }
            };
            self.check(&endpoints, &org.tenant_id, &app_id, credential, patience).await?;
            let acknowledged = if another {
                self.manifest_check(&endpoints, &org.tenant_id, &app_id, credential, &req.acknowledged_permissions)
                    .await?
            } else {
                vec![]
            };
            let sealable = typed.as_ref().and_then(|valid| sealable_from(valid, &app_id));
            // Another application starts with what this check found, not with the old one's health.
            let fresh = if acknowledged.is_empty() {
                crate::health::AppHealth { health: shared::api::Health::Healthy, ..Default::default() }
            } else {
                crate::health::AppHealth::acknowledged(acknowledged)
            };
            match sealable {
                Some(mut s) => {
                    if s.app_id.eq_ignore_ascii_case(&main.app_id) {
                        // The same application with a new credential: what the service registered
                        // and granted stays on record.
                        s.object_id = main.object_id.clone();
                        s.grant = grant_of_row(main);
                        s.workload = main.workload.as_deref().and_then(Workload::parse).unwrap_or(Workload::All);
                    }
                    changes.push(ApplicationChange::Delete { id: main.id.clone() });
                    let row = self.sealed_row(&(self.keyring)()?, id, &s, true);
                    if another {
                        new_main_health = Some((row.id.clone(), fresh));
                    }
                    changes.push(ApplicationChange::Insert(Box::new(row)));
                }
                None => {
                    if another {
                        new_main_health = Some((main.id.clone(), fresh));
                    }
                    changes.push(ApplicationChange::SetAppId { id: main.id.clone(), app_id });
                }
            }
        }

        let mut multiple = org.multiple_applications == 1;
        // The sign-in whose new applications this edit stores: told "saved" only once they are stored.
        let mut recreated_with: Option<String> = None;
        match (req.multiple_applications, req.reenable) {
            (Some(false), _) => {
                multiple = false;
                changes.push(ApplicationChange::SetAdditionalActive(false));
            }
            (Some(true), _) if multiple => {}
            (Some(true), None) => {
                return Err(FieldError::new(
                    Field::Body,
                    "Choose how to turn multiple applications back on: \"Use existing applications\" or \"Recreate multiple applications\".",
                )
                .into())
            }
            (Some(true), Some(ReenableChoice::UseExisting)) => {
                let additional: Vec<&ApplicationRow> = apps.iter().filter(|a| a.is_main == 0).collect();
                if additional.is_empty() {
                    return Err(FieldError::new(
                        Field::Body,
                        "There are no existing additional applications. Choose \"Recreate multiple applications\".",
                    )
                    .into());
                }
                let mut broken = vec![];
                for a in &additional {
                    let (app_id, cred) = self.open_secret(&a.id).await?;
                    if self.check(&endpoints, &org.tenant_id, &app_id, cred.check(), Patience::TYPED_FOR_SAVED).await.is_err()
                    {
                        broken.push(app_id);
                    }
                }
                if !broken.is_empty() {
                    return Err(ErrorDetail {
                        message: format!(
                            "These additional applications no longer work: {}. Choose \"Recreate multiple applications\" instead.",
                            broken.join(", ")
                        ),
                        ..ErrorDetail::new(ErrorCode::InvalidClientSecret)
                    }
                    .into());
                }
                multiple = true;
                changes.push(ApplicationChange::SetAdditionalActive(true));
            }
            (Some(true), Some(ReenableChoice::Recreate)) => {
                let sign_in = req.sign_in_id.as_deref().ok_or_else(|| {
                    FieldError::new(
                        Field::Body,
                        "Recreating the additional applications needs a sign-in as a Privileged Role Administrator who is also Cloud Application Administrator or Application Administrator, or as a Global Administrator: sign in with a device code first.",
                    )
                })?;
                self.ensure_additional(sign_in, cloud, &org.tenant_id).await?;
                let ex = self.exported(sign_in, cloud, &org.tenant_id).await?;
                changes.push(ApplicationChange::DeleteAdditional);
                let ring = (self.keyring)()?;
                for s in additional_of(&ex)? {
                    changes.push(ApplicationChange::Insert(Box::new(self.sealed_row(&ring, id, &s, true))));
                }
                multiple = true;
                recreated_with = Some(sign_in.to_owned());
            }
            (None, _) => {}
        }

        // The store applies the edit only while the organization is still at the version the admin
        // loaded: when another edit has moved it on, nothing of this edit is applied.
        let edit = Edit {
            id: id.to_owned(),
            account_id: self.account.to_owned(),
            version: req.version,
            name,
            multiple_applications: multiple,
            updated_at: ts,
            changes,
        };
        if let Err(e) = self.store.update(&edit).await {
            if let Some(sign_in) = &recreated_with {
                // Nothing of this edit was stored: the new applications must not stay in the tenant.
                self.release(sign_in).await;
            }
            if e == StoreError::VersionMoved {
                return Err(ErrorCode::EditConflict.into());
            }
            return Err(AppError::Internal);
        }
        if let Some(sign_in) = recreated_with {
            self.hand_over(config, &sign_in).await;
        }
        if let Some((row, health)) = new_main_health {
            self.save_health(&row, &health, &self.now_rfc3339()).await?;
        }
        let view = self.view(id).await?;
        let data = json!({"name": view.name, "application_id": view.application_id,
                          "active_applications": view.active_applications, "version": view.version});
        self.notify(EventType::OrganizationUpdated, id, data).await;
        Ok(view)
    }
}
