//! The batch service against a fake platform and a fake Microsoft that answers as the identity
//! platform and Partner Center do: what reaches which tenant, what each failure leaves, and that
//! the partner's refresh token is forgotten when the batch finishes.

use super::*;
use crate::microsoft::{HttpRequest, HttpResponse, TransportError};
use crate::partner::batch::{Batch, Consent, Offer};
use shared::api::RegistrationResult;
use std::cell::{Cell, RefCell};

const CLIENT: &str = "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d01";

fn tenant(n: usize) -> String {
    format!("10000000-0000-4000-8000-{n:012}")
}

fn config() -> Config {
    let vars = [("PUBLIC_CLIENT_ID_GLOBAL", CLIENT)];
    Config::read(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())).unwrap()
}

#[derive(Default)]
struct Fake {
    now: Cell<i64>,
    stored: RefCell<Option<String>>,
    alarm: Cell<Option<Millis>>,
    ids: Cell<u32>,
    /// Sign-in ID → tenant (from the token the batch gave it).
    sign_ins: RefCell<Vec<(String, String)>>,
    saved: RefCell<Vec<String>>,
    finished: Cell<u32>,
    /// Microsoft's side.
    requests: RefCell<Vec<(String, String)>>,
    refused_consent: Vec<String>,
    throttle_consents: Cell<u32>,
    consents: RefCell<Vec<String>>,
}

fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
    let mut b = http::Response::builder().status(status);
    if status == 429 {
        b = b.header("retry-after", "3");
    }
    b.body(serde_json::to_vec(&body).unwrap()).unwrap()
}

impl HttpClient for Fake {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let url = req.uri().to_string();
        let body = String::from_utf8_lossy(req.body()).into_owned();
        self.requests.borrow_mut().push((req.method().to_string(), url.clone()));
        let customer = |u: &str| (0..10).map(tenant).find(|t| u.contains(t.as_str()));
        if url.ends_with("/oauth2/v2.0/token") {
            assert!(body.contains("grant_type=refresh_token") && body.contains("refresh_token=rt-"), "{body}");
            let t = customer(&url);
            let n = self.ids.get();
            return Ok(answer(
                200,
                json!({"token_type": "Bearer", "expires_in": 3600,
                       "access_token": format!("at-{}", t.unwrap_or_default()), "refresh_token": format!("rt-{n}")}),
            ));
        }
        if url.contains("/applicationconsents") {
            let t = customer(&url).expect("a customer");
            if req.method() == http::Method::DELETE {
                self.consents.borrow_mut().retain(|c| *c != t);
                return Ok(answer(204, json!(null)));
            }
            if self.throttle_consents.get() > 0 {
                self.throttle_consents.set(self.throttle_consents.get() - 1);
                return Ok(answer(429, json!({})));
            }
            if self.refused_consent.contains(&t) {
                return Ok(answer(403, json!({"description": "refused"})));
            }
            self.consents.borrow_mut().push(t);
            return Ok(answer(201, json!({})));
        }
        panic!("unexpected request {url}");
    }
}

use serde_json::json;

impl BatchHost for Fake {
    fn now(&self) -> Millis {
        Millis(self.now.get())
    }
    fn new_id(&self) -> String {
        self.ids.set(self.ids.get() + 1);
        format!("s{}", self.ids.get())
    }
    async fn load(&self) -> Result<Option<Stored>, HostError> {
        Ok(self.stored.borrow().as_ref().map(|s| serde_json::from_str(s).unwrap()))
    }
    async fn store(&self, stored: &Stored) -> Result<(), HostError> {
        *self.stored.borrow_mut() = Some(serde_json::to_string(stored).unwrap());
        Ok(())
    }
    async fn set_alarm(&self, at: Option<Millis>) -> Result<(), HostError> {
        self.alarm.set(at);
        Ok(())
    }
    async fn alarm_set(&self) -> Result<bool, HostError> {
        Ok(self.alarm.get().is_some())
    }
    async fn delete_all(&self) -> Result<(), HostError> {
        *self.stored.borrow_mut() = None;
        Ok(())
    }
    async fn start_sign_in(
        &self,
        _account: &str,
        sign_in: &str,
        token: &SecretString,
        _expires_in: u64,
    ) -> Result<SignInStatus, ErrorDetail> {
        let tenant = token.expose().trim_start_matches("at-").to_owned();
        self.sign_ins.borrow_mut().push((sign_in.to_owned(), tenant));
        Ok(status(sign_in, SignInState::Registering, None))
    }
    async fn sign_in_status(&self, _account: &str, sign_in: &str) -> Result<SignInStatus, ErrorDetail> {
        let found = self.sign_ins.borrow().iter().find(|(s, _)| s == sign_in).map(|(_, t)| t.clone());
        let tenant = found.ok_or(ErrorDetail::new(ErrorCode::NotFound))?;
        Ok(status(sign_in, SignInState::Completed, Some(tenant)))
    }
    async fn additional(&self, _account: &str, _sign_in: &str, _tenant: &str) -> Result<(), ErrorDetail> {
        Ok(())
    }
    async fn save(&self, _account: &str, req: CreateOrganization) -> Result<String, ErrorDetail> {
        self.saved.borrow_mut().push(req.tenant_id.clone());
        Ok(format!("org-{}", req.tenant_id))
    }
    async fn saved_organization(&self, _account: &str, tenant: &str) -> Result<Option<String>, ()> {
        Ok(self.saved.borrow().iter().find(|t| *t == tenant).map(|t| format!("org-{t}")))
    }
    async fn cancel_sign_in(&self, _account: &str, _sign_in: &str) {}
    async fn finished(&self, _batch: &Batch) {
        self.finished.set(self.finished.get() + 1);
    }
    fn warn(&self, _message: &str) {}
}

fn status(id: &str, state: SignInState, tenant: Option<String>) -> SignInStatus {
    SignInStatus {
        id: id.into(),
        cloud: CloudEnvironment::Global,
        method: shared::AddMethod::DeviceCode,
        state,
        authorize_url: None,
        user_code: None,
        verification_uri: None,
        expires_at: None,
        expires_in: None,
        poll_after: 2,
        progress: vec![],
        error: None,
        result: tenant.map(|t| RegistrationResult {
            tenant_id: t,
            tenant_name: "Customer".into(),
            default_domain: "customer.onmicrosoft.com".into(),
            application_id: "app".into(),
            secret_stored: true,
            applications: 1,
            application_ids: vec!["app".into()],
            certificates: vec![],
        }),
        claimed: false,
    }
}

fn offers(enough: &[bool]) -> Vec<Offer> {
    enough
        .iter()
        .enumerate()
        .map(|(i, e)| Offer { tenant_id: tenant(i), name: format!("Customer {i}"), enough: *e })
        .collect()
}

/// Runs the batch's alarms until it finished (each alarm at the time it asked for).
fn run(fake: &Fake, config: &Config) -> Stored {
    let service = BatchService::new(fake, fake, config);
    for _ in 0..50 {
        let stored: Stored = fake.stored.borrow().as_ref().map(|s| serde_json::from_str(s).unwrap()).unwrap();
        if stored.batch.is_finished() {
            return stored;
        }
        if let Some(at) = fake.alarm.get() {
            fake.now.set(fake.now.get().max(at.ms()));
        }
        futures_executor::block_on(service.alarm()).unwrap();
    }
    panic!("the batch did not finish");
}

fn start(fake: &Fake, config: &Config, enough: &[bool]) {
    let offered = offers(enough);
    let chosen: Vec<String> = offered.iter().map(|o| o.tenant_id.clone()).collect();
    let batch = Batch::new("b".into(), "acct".into(), Millis(0), false, &chosen, &offered).unwrap();
    let service = BatchService::new(fake, fake, config);
    futures_executor::block_on(service.start(batch, SecretString::new("rt-0".into()))).unwrap();
}

#[test]
fn each_customer_fails_on_its_own_nothing_reaches_one_without_the_roles_and_the_token_is_forgotten() {
    let config = config();
    let fake = Fake { refused_consent: vec![tenant(2)], ..Fake::default() };
    start(&fake, &config, &[true, false, true, true]);
    let done = run(&fake, &config);
    let states: Vec<String> = done.batch.rows.iter().map(|r| format!("{:?}", r.state)).collect();
    assert!(states[0].starts_with("Saved"), "{states:?}");
    assert_eq!(done.batch.rows[1].state, RowState::Failed { code: ErrorCode::PartnerRolesMissing });
    assert_eq!(done.batch.rows[2].state, RowState::Failed { code: ErrorCode::PartnerConsentRefused });
    assert!(states[3].starts_with("Saved"), "{states:?}");
    assert_eq!(*fake.saved.borrow(), vec![tenant(0), tenant(3)]);
    // Nothing at all was asked in the tenant whose relationship lacks the roles.
    assert!(fake.requests.borrow().iter().all(|(_, u)| !u.contains(&tenant(1))), "{:?}", fake.requests.borrow());
    // The consents the batch gave are withdrawn, the refresh token is gone, the portal told once.
    assert!(fake.consents.borrow().is_empty(), "{:?}", fake.consents.borrow());
    assert!(done.batch.rows.iter().all(|r| r.consent == Consent::None));
    assert!(done.refresh_token.is_none());
    assert!(!fake.stored.borrow().as_ref().unwrap().contains("rt-"), "no refresh token in storage");
    assert_eq!(fake.finished.get(), 1);
    // It wakes once more, at the end of its retention, and deletes itself then.
    let at = fake.alarm.get().expect("a retention alarm");
    assert_eq!(at, done.batch.finished.unwrap() + RETENTION_MS);
    fake.now.set(at.ms());
    futures_executor::block_on(BatchService::new(&fake, &fake, &config).alarm()).unwrap();
    assert!(fake.stored.borrow().is_none());
}

#[test]
fn partner_centers_429_makes_the_customer_wait_as_told_not_fail() {
    let config = config();
    let fake = Fake { throttle_consents: Cell::new(2), ..Fake::default() };
    start(&fake, &config, &[true]);
    let service = BatchService::new(&fake, &fake, &config);
    futures_executor::block_on(service.alarm()).unwrap();
    let stored: Stored = serde_json::from_str(fake.stored.borrow().as_ref().unwrap()).unwrap();
    assert_eq!(stored.batch.rows[0].state, RowState::Waiting);
    assert_eq!(stored.batch.rows[0].not_before, Millis(3000), "Retry-After: 3");
    assert_eq!(fake.alarm.get(), Some(Millis(3000)));
    let done = run(&fake, &config);
    assert!(matches!(done.batch.rows[0].state, RowState::Saved { .. }), "{:?}", done.batch.rows[0]);
}

#[test]
fn another_accounts_batch_is_not_found_and_a_running_batch_is_not_retried() {
    let config = config();
    let fake = Fake::default();
    start(&fake, &config, &[true]);
    let service = BatchService::new(&fake, &fake, &config);
    let offered = offers(&[true]);
    assert_eq!(futures_executor::block_on(service.status("someone-else")).unwrap_err(), Refused::NotFound);
    let retry = service.retry("acct", SecretString::new("rt-9".into()), &offered);
    assert_eq!(futures_executor::block_on(retry).unwrap_err(), Refused::StillRunning);
    let retry = service.retry("someone-else", SecretString::new("rt-9".into()), &offered);
    assert_eq!(futures_executor::block_on(retry).unwrap_err(), Refused::NotFound);
    run(&fake, &config);
    let retry = service.retry("acct", SecretString::new("rt-9".into()), &offered);
    assert_eq!(futures_executor::block_on(retry).unwrap_err(), Refused::NothingToRetry);
}

#[test]
fn a_customer_saved_in_a_round_whose_record_was_lost_is_saved_not_failed() {
    let config = config();
    let fake = Fake::default();
    start(&fake, &config, &[true]);
    let service = BatchService::new(&fake, &fake, &config);
    futures_executor::block_on(service.alarm()).unwrap();
    // The organization was saved, and the record of that lost.
    fake.saved.borrow_mut().push(tenant(0));
    let done = run(&fake, &config);
    assert_eq!(done.batch.rows[0].state, RowState::Saved { organization_id: format!("org-{}", tenant(0)) });
    assert_eq!(fake.saved.borrow().len(), 1, "not saved twice");
}

#[test]
fn reading_a_running_batch_never_moves_its_alarm_and_sets_one_only_when_none_is() {
    let config = config();
    let fake = Fake::default();
    start(&fake, &config, &[true]);
    let due = fake.alarm.get();
    assert!(due.is_some());
    let service = BatchService::new(&fake, &fake, &config);
    fake.now.set(500);
    futures_executor::block_on(service.status("acct")).unwrap();
    assert_eq!(fake.alarm.get(), due, "a read does not push the due alarm away");
    fake.alarm.set(None);
    futures_executor::block_on(service.status("acct")).unwrap();
    assert!(fake.alarm.get().is_some(), "a lost alarm is set again");
}

#[test]
fn a_round_cut_off_after_its_consents_goes_on_with_the_sign_ins_it_started_and_starts_the_others_again() {
    let config = config();
    let fake = Fake::default();
    start(&fake, &config, &[true, true]);
    // The round stored both customers as consenting, then the Worker stopped: customer 0's
    // sign-in had been started, customer 1's had not.
    let mut stored: Stored = serde_json::from_str(fake.stored.borrow().as_ref().unwrap()).unwrap();
    stored.batch.begin(0, "cut-0".into());
    stored.batch.begin(1, "cut-1".into());
    stored.batch.consent_pending(0);
    stored.batch.consent_pending(1);
    *fake.stored.borrow_mut() = Some(serde_json::to_string(&stored).unwrap());
    fake.consents.borrow_mut().push(tenant(0));
    fake.sign_ins.borrow_mut().push(("cut-0".into(), tenant(0)));
    let done = run(&fake, &config);
    assert!(done.batch.rows.iter().all(|r| matches!(r.state, RowState::Saved { .. })), "{:?}", done.batch.rows);
    assert_eq!(*fake.saved.borrow(), vec![tenant(0), tenant(1)]);
    let started: Vec<(String, String)> = fake.sign_ins.borrow().clone();
    assert_eq!(started.len(), 2, "each customer has one sign-in: {started:?}");
    assert_eq!(started[0], ("cut-0".to_owned(), tenant(0)), "customer 0 goes on with the one it had");
    assert_eq!(started[1].1, tenant(1));
    assert!(fake.consents.borrow().is_empty(), "both consents withdrawn: {:?}", fake.consents.borrow());
}
