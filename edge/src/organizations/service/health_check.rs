//! The health check of a saved organization: one token request per active application with its
//! stored credential, read by [`crate::health`], recorded per application; then the next check is
//! scheduled a day later. Nothing in the tenant changes.

use super::rotation::{Rollable, Rotated};
use super::{internal, Organizations, Res, StoredCredential};
use crate::config::Config;
use crate::health::{self, AppHealth, Finding};
use crate::microsoft::HttpClient;
use crate::organizations::check::Signers;
use crate::organizations::model::ApplicationRow;
use crate::organizations::ports::{Clock, Log, Notify, OrganizationStore, SignIns, Sleeper};
use crate::time::Millis;
use crate::webhooks::EventType;
use serde_json::json;
use shared::api::{HealthReason, Organization, Workload};
use shared::{CloudEnvironment, ErrorCode};

/// How long after a check the next one is due.
pub const CHECK_EVERY_MS: i64 = 24 * 3_600_000;

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// Checks organization `id` now ("Check now", and the scheduled checks) and answers its view.
    pub async fn check_health(&self, config: &Config, id: &str) -> Res<Organization> {
        let (org, apps) = self.load(id).await?;
        let cloud: CloudEnvironment = org.cloud.parse().unwrap_or_default();
        let endpoints = config.endpoints(cloud);
        let now = self.now();
        let checked_at = self.now_rfc3339();
        let before = crate::organizations::model::to_api(&org, &apps, now.seconds()).health;
        for app in apps.iter().filter(|a| a.active == 1) {
            let workload = app.workload.as_deref().and_then(Workload::parse).unwrap_or(Workload::All);
            let required = health::required_graph_roles(cloud, workload);
            let recorded: Option<Vec<String>> =
                app.granted_permissions.as_deref().and_then(|p| serde_json::from_str(p).ok());
            let expires = app.credential_expires_at.as_deref().and_then(crate::time::parse_rfc3339);
            let opened = self.open_sealed(&app.id).await;
            let (finding, token) = match &opened {
                Ok((app_id, credential, _)) => {
                    let token = self.checker().token(&endpoints, &org.tenant_id, app_id, credential.check()).await;
                    let roles = token.as_ref().map(|t| health::graph_roles(t.expose()).unwrap_or_default());
                    (
                        health::assess(
                            &roles.map_err(Clone::clone),
                            recorded.as_deref(),
                            &required,
                            expires,
                            now.seconds(),
                        ),
                        token.ok(),
                    )
                }
                // A stored certificate past its end is not even sent.
                Err(e) if e.code() == ErrorCode::CertificateExpired => {
                    (Finding::Refused(HealthReason::CredentialExpired), None)
                }
                // The keyring or the database failed: nothing is learnt about the application.
                Err(_) => (Finding::Transient, None),
            };
            let mut previous = app.health();
            // Acknowledged SharePoint or Exchange permissions are not in a Graph token: for such an
            // application the check also reads those tokens (3 more requests), so that granting them
            // shows. A transient failure keeps the list as it was.
            let unseen = previous.acknowledged.iter().any(|p| !health::is_graph_permission(p));
            if let (true, Some(graph), Ok((app_id, credential, _))) = (unseen, &token, &opened) {
                if let Ok(other) =
                    self.checker().other_roles(&endpoints, &org.tenant_id, app_id, credential.check(), graph).await
                {
                    previous.acknowledged.retain(|p| health::is_graph_permission(p) || !other.contains(p));
                }
            }
            let mut next: AppHealth = previous.after(&finding);
            // A working certificate the service created is replaced before its end.
            if let (Ok((app_id, StoredCredential::Certificate { parsed, generated: true }, sealed)), Some(token)) =
                (&opened, &token)
            {
                if finding.works() {
                    let rollable = Rollable {
                        endpoints: &endpoints,
                        tenant: &org.tenant_id,
                        row: app,
                        app_id,
                        current: parsed,
                        sealed,
                        token,
                        before_days: config.rotate_before_days,
                    };
                    match self.maintain_certificate(&org.id, &rollable).await {
                        Ok(Rotated::Replaced { thumbprint, expires_at }) => {
                            self.runtime
                                .warn(&format!("application {} rotated to {thumbprint}, until {expires_at}", app.id));
                            let data = json!({"application_id": app_id, "certificate_thumbprint": thumbprint,
                                              "credential_expires_at": expires_at});
                            self.notify(EventType::CredentialRotated, id, data).await;
                            // The new certificate is far from its end: only the permissions count now.
                            next = app.health().after(&match finding {
                                Finding::Expiring(_) => Finding::Healthy,
                                other => other,
                            });
                        }
                        Ok(Rotated::Retired | Rotated::Nothing) => {}
                        Err(e) => {
                            self.runtime.error(&format!("rotating application {}: {}", app.id, e.0));
                            next = next.rotation_failed();
                        }
                    }
                }
            }
            let rotates = app.object_id.is_some()
                && matches!(&opened, Ok((_, StoredCredential::Certificate { generated: true, .. }, _)));
            next.warned_days = self.expiry_warning(id, app, expires, now, rotates).await;
            self.save_health(&app.id, &next, &checked_at).await?;
        }
        self.store.schedule_check(id, now + CHECK_EVERY_MS).await.map_err(internal)?;
        let view = self.view(id).await?;
        if (view.health.state, view.health.reason) != (before.state, before.reason) {
            let data = json!({"state": view.health.state, "reason": view.health.reason,
                              "previous_state": before.state, "permissions": view.health.permissions});
            self.notify(EventType::HealthChanged, id, data).await;
        }
        Ok(view)
    }

    /// Announces a credential that cannot rotate itself (a password, an uploaded .pfx) at 30, 14
    /// and 3 days before its end, each once; answers the last warning given, which a renewed
    /// credential clears.
    async fn expiry_warning(
        &self,
        id: &str,
        app: &ApplicationRow,
        expires: Option<i64>,
        now: Millis,
        rotates: bool,
    ) -> Option<i64> {
        let previous = app.health().warned_days;
        let days_left = (expires? - now.seconds()).div_euclid(86_400);
        if rotates || days_left > health::EXPIRY_WARNINGS[0] {
            return None;
        }
        let Some(threshold) = health::expiry_warning(days_left, previous) else { return previous };
        let data = json!({"application_id": app.app_id, "days_left": days_left.max(0),
                          "credential_expires_at": app.credential_expires_at, "credential_type": app.credential_type});
        self.notify(EventType::CredentialExpiring, id, data).await;
        Some(threshold)
    }
}
