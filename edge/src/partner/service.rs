//! What a partner batch's Durable Object does, without the Durable Object: start a batch, retry
//! its failed customers, report it, and the alarm that moves it on, over a [`BatchHost`] (storage,
//! alarm, clock, the customers' sign-ins, the organizations' save) and Microsoft behind the
//! [`HttpClient`] seam.
//!
//! For each customer the alarm asks Partner Center to put the product's public client into the
//! customer's tenant (with the registration's delegated Graph permissions only), redeems the
//! partner admin's refresh token at the customer's authority for the customer's Graph, and starts
//! a customer sign-in with that token, whose registration runs in its own Durable Object (the
//! registration every other sign-in runs: certificates made by the service, the tenant's policy
//! read first, the roles in the token checked before anything is created). Once it completes, the
//! organization is saved under the portal account with the customer's name. A sign-in that failed
//! or was not saved deletes what it created, as every sign-in does.

use super::batch::{Batch, Offer, RowState};
use crate::config::Config;
use crate::microsoft::partner::{self, ConsentOutcome, GrantOutcome};
use crate::microsoft::HttpClient;
use crate::time::Millis;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use shared::api::{CreateOrganization, CredentialInput, ErrorDetail, SignInState, SignInStatus};
use shared::secret::{serialize_exposed_opt, SecretString};
use shared::{CloudEnvironment, ErrorCode};
use std::future::Future;

/// How often running registrations are looked at.
pub const POLL_MS: i64 = 1_000;
/// How long a finished batch is kept (its customers' states, no secret) before its Durable Object
/// deletes it; the account's list of batches keeps its row as long.
pub const RETENTION_MS: i64 = 90 * 86_400_000;
/// Applications of a customer with the additional ones.
const ALL_APPLICATIONS: u8 = 1 + crate::handover::ADDITIONAL_APPLICATIONS;

/// Storage or the platform failed; the text is for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

/// What a batch's Durable Object stores (sealed by the host): the batch, and the partner admin's
/// refresh token while a customer is not settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    /// The batch.
    pub batch: Batch,
    /// The partner admin's refresh token (secret), `None` once the batch finished.
    #[serde(default, serialize_with = "serialize_exposed_opt")]
    pub refresh_token: Option<SecretString>,
}

/// What the service needs from the platform.
pub trait BatchHost {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
    /// A new sign-in ID.
    fn new_id(&self) -> String;
    /// The stored batch.
    fn load(&self) -> impl Future<Output = Result<Option<Stored>, HostError>>;
    /// Stores the batch (sealed).
    fn store(&self, stored: &Stored) -> impl Future<Output = Result<(), HostError>>;
    /// Sets the alarm to `at`, or removes it.
    fn set_alarm(&self, at: Option<Millis>) -> impl Future<Output = Result<(), HostError>>;
    /// Whether an alarm is set.
    fn alarm_set(&self) -> impl Future<Output = Result<bool, HostError>>;
    /// Deletes the batch and its alarm.
    fn delete_all(&self) -> impl Future<Output = Result<(), HostError>>;
    /// Starts customer sign-in `sign_in` of `account` with `token` for the customer's Graph.
    fn start_sign_in(
        &self,
        account: &str,
        sign_in: &str,
        token: &SecretString,
        expires_in: u64,
    ) -> impl Future<Output = Result<SignInStatus, ErrorDetail>>;
    /// A customer sign-in's status.
    fn sign_in_status(&self, account: &str, sign_in: &str) -> impl Future<Output = Result<SignInStatus, ErrorDetail>>;
    /// Registers the 3 additional applications with customer sign-in `sign_in` in `tenant`.
    fn additional(&self, account: &str, sign_in: &str, tenant: &str) -> impl Future<Output = Result<(), ErrorDetail>>;
    /// Saves the organization; its ID.
    fn save(&self, account: &str, req: CreateOrganization) -> impl Future<Output = Result<String, ErrorDetail>>;
    /// The ID of `account`'s organization of `tenant`, if it holds one (`Err`: the database did not
    /// answer).
    fn saved_organization(&self, account: &str, tenant: &str) -> impl Future<Output = Result<Option<String>, ()>>;
    /// Ends customer sign-in `sign_in`: what it registered and nobody saved is deleted.
    fn cancel_sign_in(&self, account: &str, sign_in: &str) -> impl Future<Output = ()>;
    /// The batch settled its last customer: the account's list and the portal are told.
    fn finished(&self, batch: &Batch) -> impl Future<Output = ()>;
    /// A warning for the logs (never a secret).
    fn warn(&self, message: &str);
}

/// One batch's behaviour, for one request or alarm.
pub struct BatchService<'a, H, C> {
    host: &'a H,
    http: &'a C,
    config: &'a Config,
}

/// Why a step for a customer did not go on.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// For good, with this code.
    Final(ErrorCode),
    /// For now: Microsoft asked to wait (this long, when it said).
    Wait(Option<u64>),
    /// For now: the consent has not reached the customer's tenant yet.
    Replicating,
}

/// What Partner Center said of a consent this round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// Given now.
    Given,
    /// There already.
    There,
    /// Not given (refused, or no answer).
    Not,
}

/// How long a customer waits for a consent to reach its tenant, seconds.
const REPLICATION_WAIT_S: u64 = 5;

/// What preparing one customer came to: what Partner Center said of the consent, and whether the
/// sign-in its registration runs in started.
type Prepared = (Asked, Result<(), Failure>);

/// What every customer of one alarm's round is prepared with.
#[derive(Clone, Copy)]
struct Round<'r> {
    /// The portal account the organizations are saved under.
    account: &'r str,
    /// This round's Partner Center token.
    pc_token: &'r SecretString,
    /// The partner admin's refresh token, redeemed at each customer's authority.
    refresh: &'r SecretString,
    /// The product's public client.
    client_id: &'r str,
    /// The Global cloud's endpoints.
    endpoints: &'r shared::CloudEndpoints,
}

/// Why a batch request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not this account's batch, or none.
    NotFound,
    /// Retry while customers still run.
    StillRunning,
    /// Nothing failed that could run again.
    NothingToRetry,
    /// Storage failed.
    Host(HostError),
}

impl<'a, H: BatchHost, C: HttpClient> BatchService<'a, H, C> {
    /// The service over `host`, `http` and `config`.
    pub fn new(host: &'a H, http: &'a C, config: &'a Config) -> Self {
        Self { host, http, config }
    }

    async fn save(&self, stored: &Stored) -> Result<(), HostError> {
        self.host.store(stored).await?;
        // A finished batch wakes once more, to delete itself at the end of its retention.
        let next =
            stored.batch.next_alarm(self.host.now(), POLL_MS).or(stored.batch.finished.map(|f| f + RETENTION_MS));
        self.host.set_alarm(next).await
    }

    /// Stores a new batch with the partner's refresh token and sets it going.
    pub async fn start(&self, batch: Batch, refresh_token: SecretString) -> Result<Batch, Refused> {
        let stored = Stored { batch, refresh_token: Some(refresh_token) };
        self.save(&stored).await.map_err(Refused::Host)?;
        Ok(stored.batch)
    }

    /// The batch of `account`. A running batch's alarm is set again (an alarm the runtime gave up
    /// on after its retries would otherwise leave it running for ever).
    pub async fn status(&self, account: &str) -> Result<Batch, Refused> {
        let stored = self.host.load().await.map_err(Refused::Host)?.ok_or(Refused::NotFound)?;
        if stored.batch.account != account {
            return Err(Refused::NotFound);
        }
        // Only when none is set: setting one replaces the one that is due.
        if let Some(at) = stored.batch.next_alarm(self.host.now(), POLL_MS) {
            if !self.host.alarm_set().await.map_err(Refused::Host)? {
                self.host.set_alarm(Some(at)).await.map_err(Refused::Host)?;
            }
        }
        Ok(stored.batch)
    }

    /// Runs the failed customers again with a new partner sign-in's refresh token and the
    /// relationships it read: only once the batch finished.
    pub async fn retry(&self, account: &str, refresh_token: SecretString, offered: &[Offer]) -> Result<Batch, Refused> {
        let mut stored = self.host.load().await.map_err(Refused::Host)?.ok_or(Refused::NotFound)?;
        if stored.batch.account != account {
            return Err(Refused::NotFound);
        }
        if !stored.batch.is_finished() {
            return Err(Refused::StillRunning);
        }
        if stored.batch.retry_failed(self.host.now(), offered) == 0 {
            return Err(Refused::NothingToRetry);
        }
        stored.refresh_token = Some(refresh_token);
        self.save(&stored).await.map_err(Refused::Host)?;
        Ok(stored.batch)
    }

    /// The alarm: follows the running registrations, starts the customers that may start, and
    /// forgets the refresh token once the last customer settled.
    pub async fn alarm(&self) -> Result<(), HostError> {
        let Some(mut stored) = self.host.load().await? else { return Ok(()) };
        if stored.batch.finished.is_some_and(|f| self.host.now() >= f + RETENTION_MS) {
            return self.host.delete_all().await;
        }
        self.resume_cut_off(&mut stored.batch).await;
        let running: Vec<(usize, String)> = stored
            .batch
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.state {
                RowState::Registering { sign_in } => Some((i, sign_in.clone())),
                _ => None,
            })
            .collect();
        for (i, sign_in) in running {
            self.follow(&mut stored.batch, i, &sign_in).await;
        }
        let now = self.host.now();
        let start = stored.batch.startable(now);
        if !start.is_empty() {
            self.start_rows(&mut stored, &start).await;
        }
        self.withdraw(&mut stored).await;
        if stored.batch.is_finished() && stored.refresh_token.is_some() {
            // Nothing more to do in any customer's tenant: the partner's refresh token is forgotten.
            // The account's list and the portal hear of it first, so that a batch shown finished
            // is finished everywhere (a store that fails after this tells them once more).
            stored.refresh_token = None;
            self.host.finished(&stored.batch).await;
            return self.save(&stored).await;
        }
        self.save(&stored).await
    }

    /// Rows a cut-off round left consenting go on: with the registration it started for them (its
    /// sign-in answers), or from the start (it was never started). A sign-in that does not answer
    /// now is asked again at the next alarm.
    async fn resume_cut_off(&self, batch: &mut Batch) {
        for (i, sign_in) in batch.cut_off() {
            let started = match sign_in {
                None => false,
                Some(s) => match self.host.sign_in_status(&batch.account, &s).await {
                    Ok(_) => true,
                    Err(e) if e.code == ErrorCode::NotFound => false,
                    Err(_) => continue,
                },
            };
            batch.resume(i, started);
        }
    }

    /// A Partner Center token for this round, from the partner's refresh token at the partner's
    /// own authority (the new refresh token Microsoft returns replaces the stored one); the
    /// failure to write on the rows otherwise (`Err(None)`: transient, with Microsoft's wait).
    async fn partner_center_token(
        &self,
        stored: &mut Stored,
        client_id: &str,
        endpoints: &shared::CloudEndpoints,
    ) -> Result<SecretString, Failure> {
        let Some(refresh) = stored.refresh_token.clone() else {
            return Err(Failure::Final(ErrorCode::SignInCancelled));
        };
        let req =
            partner::refresh_request(endpoints, "organizations", client_id, &refresh, &partner::partner_center_scope());
        match self.http.send(req).await.map(|r| partner::read_grant(&r)) {
            Ok(GrantOutcome::Granted(g)) => {
                if let Some(next) = g.refresh {
                    stored.refresh_token = Some(next);
                }
                Ok(g.access.access_token)
            }
            Ok(GrantOutcome::Refused(f)) if f.microsoft.is_transient() => Err(Failure::Wait(f.microsoft.retry_after)),
            Ok(GrantOutcome::Refused(f)) => {
                self.host.warn(&format!(
                    "partner batch {}: Partner Center token refused: {:?}",
                    stored.batch.id, f.microsoft.correlation.code
                ));
                Err(Failure::Final(f.microsoft.code))
            }
            Err(e) => {
                self.host.warn(&format!("partner batch {}: Partner Center token: {}", stored.batch.id, e.0));
                Err(Failure::Wait(None))
            }
        }
    }

    async fn start_rows(&self, stored: &mut Stored, start: &[usize]) {
        let now = self.host.now();
        for &i in start {
            stored.batch.begin(i, self.host.new_id());
        }
        // A roles check first: a customer whose relationships do not grant the registration's
        // roles gets nothing in its tenant, not even the consent.
        let mut todo = vec![];
        for &i in start {
            if stored.batch.rows[i].enough {
                todo.push(i);
            } else {
                stored.batch.failed(i, ErrorCode::PartnerRolesMissing, now);
            }
        }
        if todo.is_empty() {
            return;
        }
        let endpoints = self.config.endpoints(CloudEnvironment::Global);
        let Some(client_id) = self.config.public_client(CloudEnvironment::Global).map(str::to_owned) else {
            for i in todo {
                stored.batch.failed(i, ErrorCode::ClientMisconfigured, now);
            }
            return;
        };
        let pc = match self.partner_center_token(stored, &client_id, &endpoints).await {
            Ok(t) => t,
            Err(f) => {
                for i in todo {
                    match f {
                        Failure::Final(code) => stored.batch.failed(i, code, now),
                        Failure::Wait(after) => stored.batch.throttled(i, after, now),
                        Failure::Replicating => stored.batch.throttled(i, None, now),
                    };
                }
                return;
            }
        };
        let Some(refresh) = stored.refresh_token.clone() else { return };
        let account = stored.batch.account.clone();
        // Each consent is recorded as asked for before it is asked, so that a round cut off after
        // Partner Center's answer still withdraws it.
        let was_pending: Vec<bool> = todo.iter().map(|&i| stored.batch.consent_pending(i)).collect();
        if let Err(e) = self.host.store(stored).await {
            self.host.warn(&format!("partner batch {}: storing before the consents: {}", stored.batch.id, e.0));
            return;
        }
        let prepared = join_all(todo.iter().map(|&i| {
            let tenant = stored.batch.rows[i].tenant_id.clone();
            let sign_in = stored.batch.sign_in_of(i).unwrap_or_default().to_owned();
            let round = Round {
                account: &account,
                pc_token: &pc,
                refresh: &refresh,
                client_id: &client_id,
                endpoints: &endpoints,
            };
            async move { (i, self.prepare(&round, &tenant, &sign_in).await) }
        }))
        .await;
        let now = self.host.now();
        for ((i, (asked, p)), was_pending) in prepared.into_iter().zip(was_pending) {
            match asked {
                Asked::Given => stored.batch.consent_given(i),
                // There before this round: this batch's own only if an earlier round asked.
                Asked::There if was_pending => stored.batch.consent_given(i),
                Asked::There => stored.batch.consent_not_ours(i),
                // Kept pending: withdrawn (harmlessly, if there is none) once the customer settles.
                Asked::Not => {}
            }
            match p {
                Ok(()) => {
                    stored.batch.registering(i);
                }
                Err(Failure::Final(code)) => {
                    stored.batch.failed(i, code, now);
                }
                Err(Failure::Wait(after)) => {
                    stored.batch.throttled(i, after, now);
                }
                Err(Failure::Replicating) => {
                    stored.batch.throttled_as(i, Some(REPLICATION_WAIT_S), now, ErrorCode::ReplicationDelay);
                }
            }
        }
    }

    /// Withdraws the consents the batch gave in customers that are settled.
    async fn withdraw(&self, stored: &mut Stored) {
        let rows = stored.batch.withdrawals(self.host.now());
        if rows.is_empty() {
            return;
        }
        let endpoints = self.config.endpoints(CloudEnvironment::Global);
        let Some(client_id) = self.config.public_client(CloudEnvironment::Global).map(str::to_owned) else { return };
        let pc = match self.partner_center_token(stored, &client_id, &endpoints).await {
            Ok(t) => t,
            Err(Failure::Wait(_) | Failure::Replicating) => return,
            Err(Failure::Final(code)) => {
                // Without a Partner Center token nothing can be withdrawn: given up on, logged.
                self.host.warn(&format!(
                    "partner batch {}: {} consent(s) could not be withdrawn: {}",
                    stored.batch.id,
                    rows.len(),
                    code.as_str()
                ));
                let now = self.host.now();
                for i in rows {
                    stored.batch.withdrawn(i, now);
                }
                return;
            }
        };
        let outcomes = join_all(rows.iter().map(|&i| {
            let tenant = stored.batch.rows[i].tenant_id.clone();
            let (pc, client_id, endpoints) = (&pc, &client_id, &endpoints);
            async move {
                let Some(req) = partner::withdraw_request(endpoints, pc, &tenant, client_id) else {
                    return (i, Ok(()));
                };
                let outcome = match self.http.send(req).await {
                    Ok(resp) => partner::read_withdraw(&resp),
                    Err(_) => Err(crate::microsoft::MicrosoftError::transport()),
                };
                (i, outcome)
            }
        }))
        .await;
        let now = self.host.now();
        for (i, outcome) in outcomes {
            match outcome {
                Ok(()) => stored.batch.withdrawn(i, now),
                Err(e) if e.is_transient() => {
                    if stored.batch.withdraw_failed(i, e.retry_after, now) {
                        self.host.warn(&format!(
                            "partner batch {}: a consent could not be withdrawn: {}",
                            stored.batch.id, e.status
                        ));
                    }
                }
                Err(e) => {
                    self.host.warn(&format!(
                        "partner batch {}: a consent could not be withdrawn: {}",
                        stored.batch.id, e.status
                    ));
                    stored.batch.withdrawn(i, now);
                }
            }
        }
    }

    /// Consent in `tenant`, the customer's token, and its sign-in `sign_in`.
    async fn prepare(&self, round: &Round<'_>, tenant: &str, sign_in: &str) -> Prepared {
        let Round { account, pc_token, refresh, client_id, endpoints } = *round;
        let Some(req) = partner::consent_request(endpoints, pc_token, tenant, client_id, &self.config.app_name) else {
            return (Asked::Not, Err(Failure::Final(ErrorCode::PartnerNotAvailable)));
        };
        let given = match self.http.send(req).await.map(|r| partner::read_consent(&r)) {
            Ok(ConsentOutcome::Given) => Asked::Given,
            Ok(ConsentOutcome::AlreadyGiven) => Asked::There,
            Ok(ConsentOutcome::Refused) => return (Asked::Not, Err(Failure::Final(ErrorCode::PartnerConsentRefused))),
            Ok(ConsentOutcome::Failed(e)) if e.is_transient() => {
                return (Asked::Not, Err(Failure::Wait(e.retry_after)))
            }
            Ok(ConsentOutcome::Failed(e)) => return (Asked::Not, Err(Failure::Final(e.code))),
            Err(_) => return (Asked::Not, Err(Failure::Wait(None))),
        };
        let token = self
            .http
            .send(partner::refresh_request(endpoints, tenant, client_id, refresh, &partner::customer_scopes(endpoints)))
            .await;
        let grant = match token.map(|r| partner::read_grant(&r)) {
            Ok(GrantOutcome::Granted(g)) => g,
            Ok(GrantOutcome::Refused(f)) if f.microsoft.is_transient() => {
                return (given, Err(Failure::Wait(f.microsoft.retry_after)))
            }
            // AADSTS65001 right after the consent: it has not reached the tenant yet.
            Ok(GrantOutcome::Refused(f)) if f.microsoft.code == ErrorCode::AdminConsentRequired => {
                return (given, Err(Failure::Replicating))
            }
            Ok(GrantOutcome::Refused(f)) => {
                self.host.warn(&format!(
                    "partner batch: customer token refused in {tenant}: {:?}",
                    f.microsoft.correlation.code
                ));
                return (given, Err(Failure::Final(customer_code(f.microsoft.code))));
            }
            Err(_) => return (given, Err(Failure::Wait(None))),
        };
        let started =
            self.host.start_sign_in(account, sign_in, &grant.access.access_token, grant.access.expires_in).await;
        let outcome = match started {
            Ok(s) if s.state == SignInState::Failed => {
                Err(Failure::Final(customer_code(s.error.map_or(ErrorCode::RegistrationFailed, |e| e.code))))
            }
            Ok(_) => Ok(()),
            Err(e) if e.code.is_transient() => Err(Failure::Wait(None)),
            Err(e) => Err(Failure::Final(e.code)),
        };
        (given, outcome)
    }

    /// Looks at a customer's registration: saves it once it completed (with the additional
    /// applications first, when the batch asks for them), or writes why it failed.
    async fn follow(&self, batch: &mut Batch, i: usize, sign_in: &str) {
        let account = batch.account.clone();
        let status = match self.host.sign_in_status(&account, sign_in).await {
            Ok(s) => s,
            Err(e) if e.code == ErrorCode::NotFound => {
                batch.failed(i, ErrorCode::RegistrationFailed, self.host.now());
                return;
            }
            Err(_) => {
                batch.sign_in_answered(i, false, self.host.now());
                return;
            }
        };
        batch.sign_in_answered(i, true, self.host.now());
        match status.state {
            SignInState::Completed => {}
            SignInState::Failed | SignInState::Expired | SignInState::Cancelled => {
                let code = status.error.map_or(ErrorCode::RegistrationFailed, |e| e.code);
                batch.failed(i, customer_code(code), self.host.now());
                return;
            }
            _ => return,
        }
        let Some(result) = status.result else { return };
        if batch.multiple && result.applications < ALL_APPLICATIONS {
            if let Err(e) = self.host.additional(&account, sign_in, &result.tenant_id).await {
                if !e.code.is_transient() && e.code != ErrorCode::AuthorizationPending {
                    self.host.cancel_sign_in(&account, sign_in).await;
                    batch.failed(i, e.code, self.host.now());
                }
            }
            return;
        }
        // Saved already: by an earlier round whose record was lost after the save, or meanwhile
        // through the wizard. The sign-in ends; its applications an organization holds stay.
        match self.host.saved_organization(&account, &batch.rows[i].tenant_id).await {
            Ok(Some(organization)) => {
                self.host.cancel_sign_in(&account, sign_in).await;
                batch.saved(i, organization, self.host.now());
                return;
            }
            Ok(None) => {}
            Err(()) => return,
        }
        let row = &batch.rows[i];
        let req = CreateOrganization {
            name: super::customers::organization_name(&row.name, &row.tenant_id),
            cloud: CloudEnvironment::Global,
            tenant_id: result.tenant_id.clone(),
            application_id: result.application_id.clone(),
            credential: CredentialInput::Generated { sign_in_id: sign_in.to_owned() },
            create_multiple_applications: batch.multiple,
            sign_in_id: Some(sign_in.to_owned()),
            acknowledged_permissions: vec![],
        };
        if !result.tenant_id.eq_ignore_ascii_case(&row.tenant_id) {
            // The customer's authority issued a token for another tenant: nothing is kept.
            self.host.cancel_sign_in(&account, sign_in).await;
            batch.failed(i, ErrorCode::SignInTenantMismatch, self.host.now());
            return;
        }
        match self.host.save(&account, req).await {
            Ok(organization) => {
                batch.saved(i, organization, self.host.now());
            }
            // Microsoft still replicating, or busy: the next round saves it.
            Err(e) if e.code.is_transient() => {}
            Err(e) => {
                self.host.cancel_sign_in(&account, sign_in).await;
                batch.failed(i, e.code, self.host.now());
            }
        }
    }
}

/// A customer's failure as the partner reads it: the roles a relationship grants are the
/// partner's to fix, not an account's to sign in again with.
fn customer_code(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::AdminRolesMissing | ErrorCode::AdminConsentRequired => ErrorCode::PartnerRolesMissing,
        other => other,
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
