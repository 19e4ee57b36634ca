//! Deleting applications: an organization's, with a removal sign-in, and the unsaved ones at the
//! end of a hold.

use super::*;
use crate::microsoft::organization;

impl<H: SignInHost, C: HttpClient> SignInService<'_, H, C> {
    /// Deletes `app_ids` from the tenant with the admin's `token`, once Microsoft says the token's
    /// tenant is `tenant` (a sign-in in another tenant deletes nothing); the IDs still there.
    pub(super) async fn remove(
        &self,
        rec: &SignInRecord,
        token: &SecretString,
        tenant: &str,
        app_ids: &[String],
    ) -> Result<Removed, AppError> {
        let endpoints = self.config.endpoints(rec.cloud);
        let unavailable = |e: MicrosoftError| AppError::from(e.detail());
        let read = organization::request(&endpoints, token, organization::Select::Id);
        let resp = self.http.send(read).await.map_err(|_| unavailable(MicrosoftError::transport()))?;
        let signed_in = organization::read(&resp).map_err(unavailable)?;
        if signed_in.id.is_empty() || !signed_in.id.eq_ignore_ascii_case(tenant) {
            return Err(ErrorCode::SignInTenantMismatch.into());
        }
        let first = crate::provisioning::removal_items(app_ids);
        let mut answers = self.removal_batches(rec, &endpoints, token, &first).await;
        let second = crate::provisioning::service_principal_removal_items(app_ids, &answers);
        answers.extend(self.removal_batches(rec, &endpoints, token, &second).await);
        let not_removed = crate::provisioning::not_removed(app_ids, &answers);
        self.host.warn(&format!(
            "signin {}: removed {} of {} application(s) of a deleted organization",
            rec.id,
            app_ids.len() - not_removed.len(),
            app_ids.len()
        ));
        Ok(Removed { not_removed, denied: crate::provisioning::removal_denied(&answers) })
    }

    /// Sends the removal requests `items` in batches; the answers that arrived (a batch that failed
    /// is logged, and its items count as not removed).
    pub(super) async fn removal_batches(
        &self,
        rec: &SignInRecord,
        endpoints: &shared::CloudEndpoints,
        token: &SecretString,
        items: &[graph::BatchItem],
    ) -> Vec<graph::BatchResult> {
        let mut answers = vec![];
        for chunk in items.chunks(graph::MAX_BATCH) {
            match self.http.send(graph::batch(endpoints, token, chunk)).await {
                Ok(resp) => match graph::read_batch(&resp) {
                    Ok(read) => answers.extend(read),
                    Err(e) => self.host.warn(&format!(
                        "signin {}: Microsoft refused the removal batch: {:?} ({})",
                        rec.id, e.code, e.status
                    )),
                },
                Err(e) => self.host.warn(&format!("signin {}: removing applications failed: {}", rec.id, e.0)),
            }
        }
        answers
    }

    /// After the hold: delete unsaved applications, then forget every secret. The stored
    /// organizations are the truth: an application that any organization holds is kept, even when
    /// the "saved" hand-over never arrived (and if the database cannot answer, nothing is deleted
    /// now: the next alarm asks again).
    pub(super) async fn discard(&self, rec: &mut SignInRecord) {
        if rec.holding().is_some_and(|h| h.token.is_none() && !h.saved) && rec.applications_done() > 0 {
            self.host.warn(&format!(
                "signin {}: the admin's token expired before the hold ended; unsaved applications stay in the tenant",
                rec.id
            ));
        }
        if let Some((h, token)) = rec.holding().and_then(|h| Some((h, h.token.as_ref()?.access_token.clone()))) {
            let saved = h.saved;
            let created: Vec<(u8, String, String)> = [&h.main, &h.additional]
                .into_iter()
                .flatten()
                .flat_map(|r| r.apps.iter())
                // Applications that were there before a repair belong to its organization, always.
                .filter(|a| a.origin == crate::provisioning::app::Origin::New)
                .filter_map(|a| Some((a.index, a.app_id()?.to_owned(), a.object_id()?.to_owned())))
                .collect();
            let app_ids: Vec<String> = created.iter().map(|(_, app_id, _)| app_id.clone()).collect();
            let held = if app_ids.is_empty() { Ok(vec![]) } else { self.host.held_by_organizations(&app_ids).await };
            let held = match held {
                Ok(held) => held,
                Err(e) => {
                    self.host.warn(&format!("signin {}: cannot ask D1 which applications are saved: {}", rec.id, e.0));
                    rec.discard_later(self.host.now() + DISCARD_RETRY_MS);
                    return;
                }
            };
            let unheld =
                created.iter().filter(|(_, app_id, _)| !held.contains(app_id)).map(|(i, _, oid)| (*i, oid.as_str()));
            let items: Vec<graph::BatchItem> = crate::provisioning::deletion_items(unheld);
            if !held.is_empty() && !saved {
                self.host.warn(&format!(
                    "signin {}: {} application(s) belong to a saved organization; kept (the saved hand-over was lost)",
                    rec.id,
                    held.len()
                ));
            }
            if !items.is_empty() {
                let endpoints = self.config.endpoints(rec.cloud);
                match self.http.send(graph::batch(&endpoints, &token, &items)).await {
                    Ok(_) => {
                        self.host.warn(&format!("signin {}: deleted {} unsaved application(s)", rec.id, items.len()))
                    }
                    Err(e) => {
                        self.host.warn(&format!("signin {}: deleting unsaved applications failed: {}", rec.id, e.0))
                    }
                }
            }
        }
        rec.forget_secrets();
    }
}
