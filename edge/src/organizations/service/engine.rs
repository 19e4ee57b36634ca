//! The backup engine's requests for an organization of its account: access tokens minted with the
//! stored credential (which never leaves the edge), through the organization's [`Broker`], each
//! audited; and the audit for the edit page.

use super::{internal, Organizations, Res, StoredCredential};
use crate::config::Config;
use crate::engine::tokens::{self, Broker, NoToken, Obtained};
use crate::error::AppError;
use crate::health::{self, Finding};
use crate::microsoft::{organization, HttpClient, MicrosoftError};
use crate::organizations::check::Signers;
use crate::organizations::model::ApplicationRow;
use crate::organizations::ports::{Clock, Log, Notify, OrganizationStore, SignIns, Sleeper, UsageRow};
use shared::api::{EngineResource, EngineToken, EngineTokenRequest, UsageEntry, UsageList};
use shared::secret::SecretString;
use shared::{CloudEndpoints, CloudEnvironment, ErrorCode};

/// How many audit entries the edit page shows.
pub const USAGE_SHOWN: u32 = 50;

impl<S, I, H, R, G> Organizations<'_, S, I, H, R, G>
where
    S: OrganizationStore,
    I: SignIns,
    H: HttpClient,
    R: Clock + Sleeper + Log + Notify,
    G: Signers,
{
    /// `POST /api/engine/organizations/{id}/token` for engine key `kid`.
    pub async fn engine_token(
        &self,
        config: &Config,
        broker: &Broker,
        kid: &str,
        id: &str,
        req: &EngineTokenRequest,
    ) -> Res<EngineToken> {
        // Kept in the organization's object between requests: a cached token needs no database.
        let (org, apps) = match broker.organization(self.account, self.now()) {
            Some(kept) => kept,
            None => {
                let generation = broker.generation();
                let (org, apps) = self.load(id).await?;
                broker.keep_organization(self.account, org.clone(), apps.clone(), self.now(), generation);
                (org, apps)
            }
        };
        let cloud: CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
        let endpoints = config.endpoints(cloud);
        let audit = |app: &str, outcome: &str| UsageRow {
            account_id: self.account.to_owned(),
            organization_id: id.to_owned(),
            at_ms: self.now(),
            key_id: kid.to_owned(),
            application_id: app.to_owned(),
            resource: req.resource.as_str().to_owned(),
            outcome: outcome.to_owned(),
            count: 1,
        };
        let app = match tokens::choose_application(cloud, &apps, req.resource, req.workload) {
            Ok(app) => app,
            Err(code) => {
                self.record_usage(audit("", code.as_str())).await;
                return Err(code.into());
            }
        };
        let result = self.mint(&endpoints, broker, &org.tenant_id, id, app, req.resource).await;
        let outcome = match &result {
            Ok((Obtained::Cached(_), _)) => None,
            Ok((Obtained::Issued(_), _)) => Some("issued"),
            Err(NoToken::Throttled(_)) => Some(ErrorCode::Throttled.as_str()),
            Err(NoToken::Refused(e) | NoToken::StillRefused(e)) => Some(e.code.as_str()),
        };
        match outcome {
            // Counted per minute in the object, written by its alarm ([`crate::engine::hits`]).
            None => broker.hits().count(kid, &app.app_id, req.resource.as_str(), self.now()),
            Some(outcome) => self.record_usage(audit(&app.app_id, outcome)).await,
        }
        match result {
            Ok((obtained, scope)) => {
                let t = obtained.token();
                Ok(EngineToken {
                    access_token: t.token.expose().to_owned(),
                    expires_at: crate::time::rfc3339_ms(t.expires_at_ms),
                    application_id: app.app_id.clone(),
                    resource: req.resource,
                    scope,
                })
            }
            Err(NoToken::Throttled(secs)) => Err(AppError::RateLimited(ErrorCode::Throttled, secs)),
            Err(NoToken::Refused(e)) => {
                self.note_refusal(id, &app.id, &e).await;
                Err(e.detail().into())
            }
            // Recorded in the health when Microsoft said it.
            Err(NoToken::StillRefused(e)) => Err(e.detail().into()),
        }
    }

    /// A token of `app` for `resource`, and its scope.
    async fn mint(
        &self,
        endpoints: &CloudEndpoints,
        broker: &Broker,
        tenant: &str,
        org: &str,
        app: &ApplicationRow,
        resource: EngineResource,
    ) -> Result<(Obtained, String), NoToken> {
        let root = match (resource, broker.sharepoint_root(org)) {
            (EngineResource::Sharepoint, None) => {
                let root = self.read_sharepoint_root(endpoints, broker, tenant, app).await?;
                broker.set_sharepoint_root(org, root.clone());
                Some(root)
            }
            (_, root) => root,
        };
        let scope =
            tokens::scope_for(endpoints.cloud, resource, root.as_deref()).ok_or(NoToken::Refused(MicrosoftError {
                code: ErrorCode::Internal,
                status: 0,
                correlation: Default::default(),
                retry_after: None,
            }))?;
        let obtained = self.obtain(endpoints, broker, tenant, app, &scope).await?;
        Ok((obtained, scope))
    }

    /// The cached token of `app` for `scope`, or a new one with its stored credential.
    async fn obtain(
        &self,
        endpoints: &CloudEndpoints,
        broker: &Broker,
        tenant: &str,
        app: &ApplicationRow,
        scope: &str,
    ) -> Result<Obtained, NoToken> {
        let key = (app.app_id.clone(), scope.to_owned());
        broker
            .obtain(
                key,
                || self.now(),
                || async {
                    let (app_id, credential, _) = match self.open_sealed(&app.id).await {
                        Ok(opened) => opened,
                        Err(e) if e.code() == ErrorCode::CertificateExpired => {
                            return Err(refusal(ErrorCode::CertificateExpired));
                        }
                        Err(_) => return Err(MicrosoftError::transport()),
                    };
                    let credential: &StoredCredential = &credential;
                    self.checker().token_for(endpoints, tenant, &app_id, credential.check(), scope).await
                },
            )
            .await
    }

    /// The tenant's SharePoint root, from its initial domain (`GET /organization` with a Graph
    /// token of `app`, itself cached).
    async fn read_sharepoint_root(
        &self,
        endpoints: &CloudEndpoints,
        broker: &Broker,
        tenant: &str,
        app: &ApplicationRow,
    ) -> Result<String, NoToken> {
        let graph_scope = endpoints.cloud.graph_default_scope();
        let token: SecretString =
            self.obtain(endpoints, broker, tenant, app, &graph_scope).await?.token().token.clone();
        let req = organization::request(endpoints, &token, organization::Select::Domains);
        let body = match self.http.send(req).await {
            Ok(resp) => organization::read(&resp).map_err(NoToken::Refused)?,
            Err(_) => return Err(NoToken::Refused(MicrosoftError::transport())),
        };
        tokens::sharepoint_root_of_organization(endpoints.cloud, &body)
            .ok_or(NoToken::Refused(MicrosoftError::transport()))
    }

    /// A refusal for good says something about application row `row` of organization `id`: its
    /// health, as stored now, records it (a transient one says nothing).
    async fn note_refusal(&self, id: &str, row: &str, e: &MicrosoftError) {
        let finding = health::assess(&Err(e.clone()), None, &[], None, self.now().seconds());
        if matches!(finding, Finding::Transient) {
            return;
        }
        let Ok((_, apps)) = self.load(id).await else { return };
        let Some(app) = apps.iter().find(|a| a.id == row) else { return };
        let next = app.health().after(&finding);
        let json = serde_json::to_string(&next).unwrap_or_default();
        if let Err(e) = self.store.record_health(&app.id, &json, &self.now_rfc3339()).await {
            self.runtime.warn(&format!("recording a refused engine token in the health failed: {e:?}"));
        }
    }

    async fn record_usage(&self, row: UsageRow) {
        // The audit must not turn a token into an error: a failure is logged (by the store).
        let _ = self.store.record_usage(std::slice::from_ref(&row)).await;
    }

    /// Writes cache hits counted in organization `id`'s object (by its alarm, once their minute is
    /// over) as one row each; whether the write succeeded.
    pub async fn write_hits(&self, id: &str, hits: &[(crate::engine::hits::HitKey, u64)]) -> bool {
        let rows: Vec<UsageRow> = hits
            .iter()
            .map(|(k, n)| UsageRow {
                account_id: self.account.to_owned(),
                organization_id: id.to_owned(),
                at_ms: k.minute_ms,
                key_id: k.key_id.clone(),
                application_id: k.application_id.clone(),
                resource: k.resource.clone(),
                outcome: "cached".to_owned(),
                count: *n,
            })
            .collect();
        self.store.record_usage(&rows).await.is_ok()
    }

    /// `GET /api/organizations/{id}/usage`: the engine's latest requests.
    pub async fn usage(&self, id: &str) -> Res<UsageList> {
        self.load(id).await?;
        let rows = self.store.usage(self.account, id, USAGE_SHOWN).await.map_err(internal)?;
        Ok(UsageList {
            entries: rows
                .into_iter()
                .map(|u| UsageEntry {
                    at: crate::time::rfc3339_ms(u.at_ms),
                    key_id: u.key_id,
                    application_id: u.application_id,
                    resource: EngineResource::parse(&u.resource).unwrap_or(EngineResource::Graph),
                    outcome: u.outcome,
                    count: u.count,
                })
                .collect(),
        })
    }
}

fn refusal(code: ErrorCode) -> MicrosoftError {
    MicrosoftError { code, status: 401, correlation: Default::default(), retry_after: None }
}
