//! What the answers of a credential check mean. A check is a client-credentials token for the
//! cloud's Graph `.default` scope, then `GET /organization` with it (which needs the
//! `Organization.Read.All` application permission, so it proves that admin consent was granted).
//!
//! Entra is eventually consistent: a secret, certificate or role created moments ago may be
//! refused for a while with the same codes as a wrong one. So refusals are retried with back-off
//! until the patience runs out: short for credentials the admin typed (a wrong one should be
//! reported quickly), long for credentials this product has just created.
//!
//! [`Checker::check`] is the one check of the organizations API (with the retries);
//! [`verify`] is one attempt without retries, for a sign-in's registration (which retries
//! by itself).

use super::ports::{Clock, Log, Sleeper};
use crate::error::AppError;
use crate::microsoft::check::{probe, Stage};
use crate::microsoft::identity::{self, ClientCredential, TokenOutcome};
use crate::microsoft::{organization, HttpClient, HttpRequest, MicrosoftError};
use shared::api::ErrorDetail;
use shared::assertion::{AssertionAlg, ClientAssertion};
use shared::certificate::ParsedPfx;
use shared::secret::SecretString;
use shared::{CloudEndpoints, ErrorCode, Field};

/// Patience for a credential the admin typed (Manual method, edits).
pub const TYPED_PATIENCE_MS: i64 = 12_000;
/// Patience for a credential created moments ago by this product.
pub const CREATED_PATIENCE_MS: i64 = 120_000;

/// How long refusals that may be replication delay are retried, and whether the application is
/// known to exist (then "application not found" is not replication delay, and is final at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Retry for up to this long.
    pub ms: i64,
    /// The application worked before (a saved organization's).
    pub application_known: bool,
}

impl Patience {
    /// A credential the admin typed for an application this product has not used yet.
    pub const TYPED: Patience = Patience { ms: TYPED_PATIENCE_MS, application_known: false };
    /// A credential the admin typed for a saved organization's application (an edit).
    pub const TYPED_FOR_SAVED: Patience = Patience { ms: TYPED_PATIENCE_MS, application_known: true };
    /// A credential this product created moments ago (its application may be as new).
    pub const CREATED: Patience = Patience { ms: CREATED_PATIENCE_MS, application_known: false };
}

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The credential works.
    Works,
    /// Try again after this many milliseconds.
    RetryIn(i64),
    /// Refused for good; the admin reads this.
    Refused(ErrorDetail),
}

/// Decides after a failed attempt, `elapsed` ms after the first one.
pub fn after_failure(stage: Stage, e: &MicrosoftError, elapsed: i64, patience: Patience) -> Next {
    let code = match (stage, e.code) {
        // With an application token, a 403 means the roles were not granted (or not replicated yet).
        (Stage::Graph, ErrorCode::AdminConsentRequired) => ErrorCode::PermissionsNotGranted,
        (_, c) => c,
    };
    let may_replicate = match code {
        ErrorCode::InvalidClientSecret
        | ErrorCode::InvalidCertificate
        | ErrorCode::PermissionsNotGranted
        | ErrorCode::ReplicationDelay => true,
        // An application that worked before is not new: it was deleted, or the ID is wrong.
        ErrorCode::ApplicationNotFound => !patience.application_known,
        _ => false,
    };
    let patience = patience.ms;
    if (may_replicate || e.is_transient()) && elapsed < patience {
        let step = (1_000 + elapsed / 3).min(10_000);
        let retry_after = e.retry_after.map(|s| (s as i64).saturating_mul(1000)).unwrap_or(0);
        return Next::RetryIn(step.max(retry_after).min(patience - elapsed).max(250));
    }
    let mut detail = e.detail();
    detail.code = code;
    detail.message = code.message().to_owned();
    Next::Refused(detail)
}

/// A credential to check.
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    /// A client secret.
    Secret(&'a SecretString),
    /// A certificate (a client assertion is signed with its key).
    Certificate(&'a ParsedPfx),
}

pub use crate::keys::Signers;

/// What a credential check needs: Microsoft, the time, a delay, the log and a signer.
pub struct Checker<'a, H, R, G> {
    /// Microsoft.
    pub http: &'a H,
    /// Clock, delay and log.
    pub runtime: &'a R,
    /// Signs client assertions.
    pub signers: &'a G,
}

impl<H: HttpClient, R: Clock + Sleeper + Log, G: Signers> Checker<'_, H, R, G> {
    /// The client-credentials token request for `credential` and `scope` (a client assertion is
    /// signed here).
    async fn token_request(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        scope: &str,
    ) -> Result<HttpRequest, (Stage, MicrosoftError)> {
        Ok(match credential {
            Credential::Secret(s) => {
                identity::client_credentials_request_for(endpoints, tenant, app_id, ClientCredential::Secret(s), scope)
            }
            Credential::Certificate(p) => {
                let assertion = ClientAssertion::new(
                    AssertionAlg::RS256,
                    &p.certificate_der,
                    app_id,
                    &endpoints.assertion_audience(tenant),
                    &crate::ids::new_id(),
                    self.runtime.now_ms().seconds(),
                );
                let jwt =
                    assertion.sign_with(&self.signers.signer(p.private_key_pkcs8.expose())).await.map_err(|e| {
                        self.runtime.error(&format!("signing a client assertion failed: {e}"));
                        (
                            Stage::Token,
                            MicrosoftError {
                                code: ErrorCode::InvalidCertificate,
                                status: 0,
                                correlation: Default::default(),
                                retry_after: None,
                            },
                        )
                    })?;
                identity::client_credentials_request_for(
                    endpoints,
                    tenant,
                    app_id,
                    ClientCredential::Assertion(&jwt),
                    scope,
                )
            }
        })
    }

    /// One attempt; `Err` says which part failed and how.
    pub async fn attempt(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
    ) -> Result<(), (Stage, MicrosoftError)> {
        let token =
            self.token_request(endpoints, tenant, app_id, credential, &endpoints.cloud.graph_default_scope()).await?;
        probe(self.http, endpoints, token).await
    }

    /// An access token for `scope` (`{resource}/.default`) with `credential`, and its lifetime in
    /// seconds (one request: what the backup engine is handed).
    pub async fn token_for(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        scope: &str,
    ) -> Result<(SecretString, u64), MicrosoftError> {
        let request = self.token_request(endpoints, tenant, app_id, credential, scope).await.map_err(|(_, e)| e)?;
        match self.http.send(request).await.map(|r| identity::read_token(&r)) {
            Ok(TokenOutcome::Token(t)) => Ok((t.access_token, t.expires_in)),
            Ok(TokenOutcome::Error(f)) => Err(f.microsoft),
            Err(_) => Err(MicrosoftError::transport()),
        }
    }

    /// A Microsoft Graph access token for the application with `credential` (one request: what a
    /// health check reads the granted permissions from).
    pub async fn token(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
    ) -> Result<SecretString, MicrosoftError> {
        let scope = endpoints.cloud.graph_default_scope();
        self.token_for(endpoints, tenant, app_id, credential, &scope).await.map(|(token, _)| token)
    }

    /// The application permissions granted to `app_id` in the tenant: the `roles` of its tokens
    /// for Microsoft Graph, Exchange Online and the tenant's SharePoint (4 requests: the 3 tokens,
    /// and the tenant's initial domain, which names its SharePoint host). For an application the
    /// administrator registered, after [`Checker::check`] said its credential works.
    pub async fn granted_roles(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
    ) -> Result<Vec<String>, MicrosoftError> {
        let graph = self.token(endpoints, tenant, app_id, credential).await?;
        let mut granted = crate::health::graph_roles(graph.expose()).unwrap_or_default();
        granted.extend(self.other_roles(endpoints, tenant, app_id, credential, &graph).await?);
        Ok(granted)
    }

    /// The roles granted on Exchange Online and the tenant's SharePoint (3 requests, with a Graph
    /// token of the application for the tenant's initial domain). A resource that refuses the
    /// application a token grants it nothing (its permissions count as missing); only a transient
    /// failure is an error.
    pub async fn other_roles(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        graph_token: &SecretString,
    ) -> Result<Vec<String>, MicrosoftError> {
        use crate::engine::tokens;
        use shared::api::EngineResource;
        let cloud = endpoints.cloud;
        let req = organization::request(endpoints, graph_token, organization::Select::Domains);
        let tenant_org = match self.http.send(req).await.map(|r| organization::read(&r)) {
            Ok(Ok(o)) => o,
            Ok(Err(e)) if e.is_transient() => return Err(e),
            Ok(Err(_)) => organization::Organization::default(),
            Err(_) => return Err(MicrosoftError::transport()),
        };
        let sharepoint = tokens::sharepoint_root_of_organization(cloud, &tenant_org);
        let mut granted = vec![];
        for resource in [EngineResource::Exchange, EngineResource::Sharepoint] {
            let Some(scope) = tokens::scope_for(cloud, resource, sharepoint.as_deref()) else { continue };
            match self.token_for(endpoints, tenant, app_id, credential, &scope).await {
                Ok((token, _)) => granted.extend(crate::health::graph_roles(token.expose()).unwrap_or_default()),
                Err(e) if e.is_transient() => return Err(e),
                Err(_) => {}
            }
        }
        Ok(granted)
    }

    /// Token + `GET /organization`, retried through replication delay for up to `patience`;
    /// a refusal names the field it is about.
    pub async fn check(
        &self,
        endpoints: &CloudEndpoints,
        tenant: &str,
        app_id: &str,
        credential: Credential<'_>,
        patience: Patience,
    ) -> Result<(), AppError> {
        let started = self.runtime.now_ms();
        loop {
            let (stage, failure) = match self.attempt(endpoints, tenant, app_id, credential).await {
                Ok(()) => return Ok(()),
                Err(x) => x,
            };
            match after_failure(stage, &failure, self.runtime.now_ms() - started, patience) {
                Next::Works => return Ok(()),
                Next::RetryIn(ms) => self.runtime.sleep(ms).await,
                Next::Refused(mut d) => {
                    d.field = match d.code {
                        ErrorCode::InvalidClientSecret | ErrorCode::ExpiredClientSecret => Some(Field::ClientSecret),
                        ErrorCode::InvalidCertificate => Some(Field::Certificate),
                        ErrorCode::ApplicationNotFound => Some(Field::ApplicationId),
                        ErrorCode::TenantNotFound => Some(Field::TenantId),
                        ErrorCode::WrongCloud => Some(Field::Cloud),
                        _ => None,
                    };
                    return Err(d.into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ErrorCode, status: u16) -> MicrosoftError {
        MicrosoftError { code, status, correlation: Default::default(), retry_after: None }
    }

    #[test]
    fn a_wrong_secret_is_retried_briefly_then_reported() {
        let e = err(ErrorCode::InvalidClientSecret, 401);
        assert!(matches!(after_failure(Stage::Token, &e, 0, Patience::TYPED), Next::RetryIn(_)));
        let Next::Refused(d) = after_failure(Stage::Token, &e, TYPED_PATIENCE_MS, Patience::TYPED) else { panic!() };
        assert_eq!(d.code, ErrorCode::InvalidClientSecret);
        assert!(d.message.contains("Value"));
    }

    #[test]
    fn an_expired_secret_is_reported_at_once() {
        let Next::Refused(d) =
            after_failure(Stage::Token, &err(ErrorCode::ExpiredClientSecret, 401), 0, Patience::CREATED)
        else {
            panic!()
        };
        assert_eq!(d.code, ErrorCode::ExpiredClientSecret);
    }

    #[test]
    fn a_saved_applications_unknown_id_is_final_at_once_but_a_new_ones_is_retried() {
        let e = err(ErrorCode::ApplicationNotFound, 400);
        assert!(matches!(after_failure(Stage::Token, &e, 0, Patience::TYPED), Next::RetryIn(_)), "may be new");
        let Next::Refused(d) = after_failure(Stage::Token, &e, 0, Patience::TYPED_FOR_SAVED) else { panic!() };
        assert_eq!(d.code, ErrorCode::ApplicationNotFound);
        // A wrong new password for a saved application may still be a secret just created.
        let wrong = err(ErrorCode::InvalidClientSecret, 401);
        assert!(matches!(after_failure(Stage::Token, &wrong, 0, Patience::TYPED_FOR_SAVED), Next::RetryIn(_)));
    }

    #[test]
    fn a_403_from_graph_means_permissions_not_granted() {
        let e = err(ErrorCode::AdminConsentRequired, 403);
        let Next::Refused(d) = after_failure(Stage::Graph, &e, 60_000, Patience::TYPED) else { panic!() };
        assert_eq!(d.code, ErrorCode::PermissionsNotGranted);
        assert!(d.message.contains("Grant admin consent"));
    }

    #[test]
    fn retry_waits_grow_and_honour_retry_after() {
        let mut e = err(ErrorCode::Throttled, 429);
        let Next::RetryIn(a) = after_failure(Stage::Token, &e, 0, Patience::CREATED) else { panic!() };
        let Next::RetryIn(b) = after_failure(Stage::Token, &e, 30_000, Patience::CREATED) else { panic!() };
        assert!(a < b);
        e.retry_after = Some(20);
        assert_eq!(after_failure(Stage::Token, &e, 0, Patience::CREATED), Next::RetryIn(20_000));
    }
}
