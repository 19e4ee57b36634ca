//! A batch: the customers a partner chose, each onboarded on its own (consent through Partner
//! Center, a token at the customer's authority, the registration, the save), at most
//! [`CONCURRENCY`] at once. One customer's failure is written on its row and never stops or undoes
//! the others; a throttled customer waits as Microsoft said and is tried again, up to
//! [`MAX_THROTTLED`] times. The batch is a value the Durable Object stores after each step, so it
//! survives a closed tab and a restart; the partner's refresh token is kept beside it, sealed, only
//! while a row is not settled, and "Retry the failed ones" needs a new partner sign-in.

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use shared::{ErrorCode, Field, FieldError};

/// Customers onboarded at the same time.
pub const CONCURRENCY: usize = 5;
/// Customers in one batch (one page of the choice).
pub const MAX_CUSTOMERS: usize = 200;
/// Times one customer may be throttled before it is failed as throttled.
pub const MAX_THROTTLED: u32 = 5;
/// Reads of a registration's sign-in in a row without an answer before the customer is failed.
pub const MAX_UNANSWERED: u32 = 60;
/// The longest wait a `Retry-After` is honoured with; longer ones are capped.
pub const MAX_WAIT_MS: i64 = 120_000;

/// Where one customer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RowState {
    /// Not started (or waiting after a throttle until `not_before`).
    Waiting,
    /// Consent and the customer's token are being asked for, for the registration to run in this
    /// sign-in (`None` in a batch stored before the ID was chosen here).
    Consenting {
        /// The sign-in the registration is started in, chosen before anything is asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_in: Option<String>,
    },
    /// The registration runs in this sign-in.
    Registering {
        /// The sign-in (a Durable Object) registering the applications.
        sign_in: String,
    },
    /// Saved as this organization.
    Saved {
        /// The organization's ID.
        organization_id: String,
    },
    /// Failed; nothing is left in the tenant.
    Failed {
        /// Why, from the catalogue.
        code: ErrorCode,
    },
}

impl RowState {
    /// Saved or failed.
    pub fn is_settled(&self) -> bool {
        matches!(self, RowState::Saved { .. } | RowState::Failed { .. })
    }

    /// Being worked on.
    pub fn in_flight(&self) -> bool {
        matches!(self, RowState::Consenting { .. } | RowState::Registering { .. })
    }
}

/// A customer as the partner's relationships offer it, read by the edge (never the browser's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The customer's tenant ID.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Whether the partner's roles there are enough for the registration.
    pub enough: bool,
}

impl From<&super::customers::Customer> for Offer {
    fn from(c: &super::customers::Customer) -> Offer {
        Offer { tenant_id: c.tenant_id.clone(), name: c.name.clone(), enough: c.enough }
    }
}

/// The consent the batch gave in a customer's tenant: it is withdrawn once the customer is
/// settled, so that the partner keeps no standing permission there through this product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// None given by this batch (none asked yet, or one was there before).
    #[default]
    None,
    /// Asked for, the answer not recorded yet (a round cut off after asking): counted as this
    /// batch's, and withdrawn when the customer is settled (a withdrawal of none is harmless).
    Pending,
    /// Given by this batch; the customer is still being onboarded.
    Given,
    /// Given by this batch and to be withdrawn.
    Withdraw,
}

/// One customer of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The customer's tenant ID.
    pub tenant_id: String,
    /// Its name (the organization's name when saved).
    pub name: String,
    /// Whether the partner's roles there were enough when the relationships were last read.
    pub enough: bool,
    /// Where it stands.
    #[serde(flatten)]
    pub state: RowState,
    /// Not to be started before this instant (after a throttle).
    pub not_before: Millis,
    /// Times it was throttled in this run.
    pub throttled: u32,
    /// The consent this batch gave there.
    #[serde(default)]
    pub consent: Consent,
    /// Failed attempts to withdraw it.
    #[serde(default)]
    pub withdraw_attempts: u32,
    /// Reads of its registration's sign-in in a row that got no answer.
    #[serde(default)]
    pub unanswered: u32,
}

/// A batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Its ID.
    pub id: String,
    /// The portal account that owns it.
    pub account: String,
    /// Whether each customer gets the 3 additional applications too.
    pub multiple: bool,
    /// When it was created.
    pub created: Millis,
    /// When its last row settled (`None` while it runs).
    pub finished: Option<Millis>,
    /// The customers, in the order chosen.
    pub rows: Vec<Row>,
}

/// How many rows are in each state (for the summary and the `partner_batch.finished` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// All customers.
    pub total: usize,
    /// Saved.
    pub saved: usize,
    /// Failed.
    pub failed: usize,
    /// Not settled yet.
    pub running: usize,
}

impl Batch {
    /// A batch of `chosen` (tenant IDs) among `offered` (tenant ID and name, as the relationships
    /// give them: the names are never the browser's). Refuses an empty choice, more than
    /// [`MAX_CUSTOMERS`], a tenant twice, and a tenant that is not offered.
    pub fn new(
        id: String,
        account: String,
        now: Millis,
        multiple: bool,
        chosen: &[String],
        offered: &[Offer],
    ) -> Result<Batch, FieldError> {
        if chosen.is_empty() {
            return Err(FieldError::new(Field::Customers, "Choose at least one customer."));
        }
        if chosen.len() > MAX_CUSTOMERS {
            return Err(FieldError::new(
                Field::Customers,
                format!("Choose at most {MAX_CUSTOMERS} customers at once; start another batch for the rest."),
            ));
        }
        let mut rows: Vec<Row> = Vec::with_capacity(chosen.len());
        for t in chosen {
            let t = t.trim().to_ascii_lowercase();
            if rows.iter().any(|r| r.tenant_id == t) {
                return Err(FieldError::new(Field::Customers, "A customer is chosen twice; choose each one once."));
            }
            let Some(offer) = offered.iter().find(|o| o.tenant_id.eq_ignore_ascii_case(&t)) else {
                return Err(FieldError::new(
                    Field::Customers,
                    "A chosen customer has no active GDAP relationship with your organization. Reload the list and choose again.",
                ));
            };
            rows.push(Row {
                tenant_id: t,
                name: offer.name.clone(),
                enough: offer.enough,
                state: RowState::Waiting,
                not_before: now,
                throttled: 0,
                consent: Consent::None,
                withdraw_attempts: 0,
                unanswered: 0,
            });
        }
        Ok(Batch { id, account, multiple, created: now, finished: None, rows })
    }

    /// The counts.
    pub fn summary(&self) -> Summary {
        let mut s = Summary { total: self.rows.len(), ..Summary::default() };
        for r in &self.rows {
            match r.state {
                RowState::Saved { .. } => s.saved += 1,
                RowState::Failed { .. } => s.failed += 1,
                _ => s.running += 1,
            }
        }
        s
    }

    /// Whether every row is settled and every consent the batch gave withdrawn.
    pub fn is_finished(&self) -> bool {
        self.rows.iter().all(|r| r.state.is_settled() && r.consent != Consent::Withdraw)
    }

    /// A row's consent was given by this batch.
    pub fn consent_given(&mut self, i: usize) {
        if let Some(r) = self.rows.get_mut(i) {
            r.consent = Consent::Given;
        }
    }

    /// A row's consent is about to be asked for (stored before the request); whether it was
    /// already pending from a round that was cut off.
    pub fn consent_pending(&mut self, i: usize) -> bool {
        match self.rows.get_mut(i) {
            Some(r) if r.consent == Consent::Pending => true,
            Some(r) => {
                if r.consent == Consent::None {
                    r.consent = Consent::Pending;
                }
                false
            }
            None => false,
        }
    }

    /// A registering row's sign-in answered (`true`) or not: after [`MAX_UNANSWERED`] reads in a row
    /// without an answer the customer is failed, so that a batch always ends.
    pub fn sign_in_answered(&mut self, i: usize, answered: bool, now: Millis) {
        let Some(r) = self.rows.get_mut(i).filter(|r| matches!(r.state, RowState::Registering { .. })) else { return };
        if answered {
            r.unanswered = 0;
            return;
        }
        r.unanswered += 1;
        if r.unanswered >= MAX_UNANSWERED {
            self.failed(i, ErrorCode::RegistrationFailed, now);
        }
    }

    /// A row's consent was there before this batch asked (and not from a round of its own).
    pub fn consent_not_ours(&mut self, i: usize) {
        if let Some(r) = self.rows.get_mut(i).filter(|r| r.consent == Consent::Pending) {
            r.consent = Consent::None;
        }
    }

    /// The rows whose consent is to be withdrawn now.
    pub fn withdrawals(&self, now: Millis) -> Vec<usize> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.consent == Consent::Withdraw && r.not_before <= now)
            .map(|(i, _)| i)
            .collect()
    }

    /// Withdrawing a row's consent failed for now: tried again after `retry_after` seconds (1 when
    /// Microsoft did not say), given up after [`MAX_THROTTLED`] attempts. Returns whether it was
    /// given up.
    pub fn withdraw_failed(&mut self, i: usize, retry_after: Option<u64>, now: Millis) -> bool {
        let Some(r) = self.rows.get_mut(i).filter(|r| r.consent == Consent::Withdraw) else { return false };
        r.withdraw_attempts += 1;
        if r.withdraw_attempts >= MAX_THROTTLED {
            self.withdrawn(i, now);
            return true;
        }
        r.not_before = now + wait_ms(retry_after);
        false
    }

    /// A row's consent was withdrawn (or cannot be, and is given up on).
    pub fn withdrawn(&mut self, i: usize, now: Millis) {
        if let Some(r) = self.rows.get_mut(i) {
            if r.consent == Consent::Withdraw {
                r.consent = Consent::None;
            }
        }
        self.settle(now);
    }

    /// The rows to start now: waiting ones whose wait is over, as many as keep at most
    /// [`CONCURRENCY`] in flight, in the order chosen.
    pub fn startable(&self, now: Millis) -> Vec<usize> {
        let in_flight = self.rows.iter().filter(|r| r.state.in_flight()).count();
        let room = CONCURRENCY.saturating_sub(in_flight);
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.state == RowState::Waiting && r.not_before <= now)
            .map(|(i, _)| i)
            .take(room)
            .collect()
    }

    fn row(&mut self, i: usize) -> Option<&mut Row> {
        self.rows.get_mut(i)
    }

    /// A waiting row starts; its registration is to run in sign-in `sign_in`.
    pub fn begin(&mut self, i: usize, sign_in: String) -> bool {
        match self.row(i) {
            Some(r) if r.state == RowState::Waiting => {
                r.state = RowState::Consenting { sign_in: Some(sign_in) };
                true
            }
            _ => false,
        }
    }

    /// The sign-in a consenting row's registration is to run in.
    pub fn sign_in_of(&self, i: usize) -> Option<&str> {
        match &self.rows.get(i)?.state {
            RowState::Consenting { sign_in } => sign_in.as_deref(),
            _ => None,
        }
    }

    /// A consenting row's registration runs in its sign-in.
    pub fn registering(&mut self, i: usize) -> bool {
        match self.row(i) {
            Some(r) => match &r.state {
                RowState::Consenting { sign_in: Some(s) } => {
                    r.state = RowState::Registering { sign_in: s.clone() };
                    true
                }
                _ => false,
            },
            None => false,
        }
    }

    /// The rows a round left consenting: only a round cut off (a restart, an alarm that failed)
    /// leaves any, since a round settles each of its rows before it stores the batch.
    pub fn cut_off(&self) -> Vec<(usize, Option<String>)> {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.state {
                RowState::Consenting { sign_in } => Some((i, sign_in.clone())),
                _ => None,
            })
            .collect()
    }

    /// A row a cut-off round left consenting goes on: with its registration when its sign-in was
    /// `started`, otherwise from the start (its consent, asked or not, is asked again).
    pub fn resume(&mut self, i: usize, started: bool) -> bool {
        let Some(r) = self.row(i) else { return false };
        match &r.state {
            RowState::Consenting { sign_in: Some(s) } if started => {
                r.state = RowState::Registering { sign_in: s.clone() };
                true
            }
            RowState::Consenting { .. } => {
                r.state = RowState::Waiting;
                true
            }
            _ => false,
        }
    }

    /// An in-flight row was saved.
    pub fn saved(&mut self, i: usize, organization_id: String, now: Millis) -> bool {
        self.settle_row(i, RowState::Saved { organization_id }, now)
    }

    /// An in-flight row failed for good.
    pub fn failed(&mut self, i: usize, code: ErrorCode, now: Millis) -> bool {
        self.settle_row(i, RowState::Failed { code }, now)
    }

    /// An in-flight row ends as `settled`; whether it was in flight.
    fn settle_row(&mut self, i: usize, settled: RowState, now: Millis) -> bool {
        let done = match self.row(i) {
            Some(r) if r.state.in_flight() => {
                r.state = settled;
                true
            }
            _ => false,
        };
        self.settle(now);
        done
    }

    /// An in-flight row was throttled: it waits `retry_after` seconds (1 when Microsoft did not
    /// say, at most [`MAX_WAIT_MS`]), and fails as throttled after [`MAX_THROTTLED`] times.
    pub fn throttled(&mut self, i: usize, retry_after: Option<u64>, now: Millis) -> bool {
        self.throttled_as(i, retry_after, now, ErrorCode::Throttled)
    }

    /// [`Self::throttled`], failing with `code` after the last attempt.
    pub fn throttled_as(&mut self, i: usize, retry_after: Option<u64>, now: Millis, code: ErrorCode) -> bool {
        let wait = wait_ms(retry_after);
        let done = match self.row(i) {
            Some(r) if r.state.in_flight() => {
                r.throttled += 1;
                r.state = if r.throttled >= MAX_THROTTLED {
                    RowState::Failed { code }
                } else {
                    r.not_before = now + wait;
                    RowState::Waiting
                };
                true
            }
            _ => false,
        };
        self.settle(now);
        done
    }

    fn settle(&mut self, now: Millis) {
        for r in &mut self.rows {
            if r.state.is_settled() && matches!(r.consent, Consent::Given | Consent::Pending) {
                r.consent = Consent::Withdraw;
            }
        }
        if self.finished.is_none() && self.is_finished() {
            self.finished = Some(now);
        }
    }

    /// "Retry the failed ones" (with a new partner sign-in, whose relationships are `offered`):
    /// the failed rows wait again, with the roles read now; the others stay as they are. A failed
    /// customer no longer offered (its relationship ended) stays failed. Returns how many.
    pub fn retry_failed(&mut self, now: Millis, offered: &[Offer]) -> usize {
        let mut n = 0;
        for r in &mut self.rows {
            let offer = offered.iter().find(|o| o.tenant_id.eq_ignore_ascii_case(&r.tenant_id));
            if let (RowState::Failed { .. }, Some(offer)) = (&r.state, offer) {
                r.enough = offer.enough;
                r.state = RowState::Waiting;
                r.not_before = now;
                r.throttled = 0;
                n += 1;
            }
        }
        if n > 0 {
            self.finished = None;
        }
        n
    }

    /// When the Durable Object's alarm should next run: now while rows can start or are in
    /// flight (a running registration is looked at again after `poll_ms`), at the earliest wait's
    /// end otherwise; `None` when finished.
    pub fn next_alarm(&self, now: Millis, poll_ms: i64) -> Option<Millis> {
        if self.is_finished() {
            return None;
        }
        if !self.startable(now).is_empty() || !self.withdrawals(now).is_empty() {
            return Some(now);
        }
        let waits = self
            .rows
            .iter()
            .filter(|r| r.state == RowState::Waiting || r.consent == Consent::Withdraw)
            .map(|r| r.not_before);
        let polls = self.rows.iter().filter(|r| r.state.in_flight()).map(|_| now + poll_ms);
        waits.chain(polls).min().map(|t| if t < now { now } else { t })
    }

    /// The row of `tenant_id`.
    pub fn index_of(&self, tenant_id: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.tenant_id.eq_ignore_ascii_case(tenant_id))
    }
}

/// How long to wait after Microsoft said `retry_after` seconds: 1 s when it did not say, at most
/// [`MAX_WAIT_MS`].
fn wait_ms(retry_after: Option<u64>) -> i64 {
    retry_after.map_or(1000, |s| i64::try_from(s.saturating_mul(1000)).unwrap_or(MAX_WAIT_MS)).clamp(1000, MAX_WAIT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: usize) -> String {
        format!("10000000-0000-4000-8000-{n:012}")
    }

    fn offers(n: usize) -> Vec<Offer> {
        (0..n).map(|i| Offer { tenant_id: tenant(i), name: format!("Customer {i}"), enough: true }).collect()
    }

    fn batch(n: usize) -> Batch {
        let offered = offers(n);
        let chosen: Vec<String> = offered.iter().map(|o| o.tenant_id.clone()).collect();
        Batch::new("b".into(), "acct".into(), Millis(0), false, &chosen, &offered).unwrap()
    }

    #[test]
    fn only_offered_customers_once_each_and_at_most_a_page() {
        let offered = vec![Offer { tenant_id: tenant(1), name: "One".into(), enough: false }];
        let new = |chosen: &[String]| Batch::new("b".into(), "a".into(), Millis(0), false, chosen, &offered);
        assert_eq!(new(&[]).unwrap_err().field, Field::Customers);
        assert!(new(&[tenant(2)]).is_err(), "not offered");
        assert!(new(&[tenant(1), tenant(1).to_uppercase()]).is_err(), "twice");
        let too_many: Vec<String> = (0..=MAX_CUSTOMERS).map(tenant).collect();
        assert!(new(&too_many).unwrap_err().message.contains("at most 200"));
        let b = new(&[tenant(1).to_uppercase()]).unwrap();
        assert_eq!(b.rows[0].name, "One", "the relationship's name, not the browser's");
        assert!(!b.rows[0].enough);
    }

    #[test]
    fn at_most_five_customers_run_at_once_in_the_order_chosen() {
        let mut b = batch(8);
        let first = b.startable(Millis(0));
        assert_eq!(first, vec![0, 1, 2, 3, 4]);
        for i in first {
            assert!(b.begin(i, format!("s{i}")));
        }
        assert!(b.startable(Millis(0)).is_empty());
        assert!(b.failed(2, ErrorCode::PartnerRolesMissing, Millis(1)));
        assert_eq!(b.startable(Millis(1)), vec![5]);
        assert!(!b.begin(2, "s2".into()), "a failed row does not start again by itself");
    }

    #[test]
    fn a_failure_is_written_on_its_row_and_the_others_go_on() {
        let mut b = batch(3);
        for i in b.startable(Millis(0)) {
            b.begin(i, format!("s{i}"));
        }
        b.registering(0);
        b.failed(1, ErrorCode::PartnerConsentRefused, Millis(5));
        b.saved(0, "org0".into(), Millis(6));
        assert!(!b.is_finished());
        assert_eq!(b.finished, None);
        b.saved(2, "org2".into(), Millis(7));
        assert!(b.is_finished());
        assert_eq!(b.finished, Some(Millis(7)));
        assert_eq!(b.summary(), Summary { total: 3, saved: 2, failed: 1, running: 0 });
        assert_eq!(b.next_alarm(Millis(7), 1000), None);
    }

    #[test]
    fn a_throttled_customer_waits_as_told_then_fails_as_throttled() {
        let mut b = batch(1);
        for n in 1..MAX_THROTTLED {
            assert!(b.begin(0, "s0".into()));
            b.throttled(0, Some(7), Millis(100));
            assert_eq!(b.rows[0].state, RowState::Waiting, "attempt {n}");
            assert_eq!(b.rows[0].not_before, Millis(7100));
            assert!(b.startable(Millis(7099)).is_empty());
            assert_eq!(b.next_alarm(Millis(100), 1000), Some(Millis(7100)));
        }
        b.begin(0, "s0".into());
        b.throttled(0, Some(u64::MAX), Millis(0));
        assert_eq!(b.rows[0].state, RowState::Failed { code: ErrorCode::Throttled });
        assert!(b.is_finished());
    }

    #[test]
    fn a_wait_is_at_least_a_second_and_at_most_two_minutes() {
        let mut b = batch(1);
        b.begin(0, "s0".into());
        b.throttled(0, Some(0), Millis(0));
        assert_eq!(b.rows[0].not_before, Millis(1000));
        b.begin(0, "s0".into());
        b.throttled(0, Some(86_400), Millis(0));
        assert_eq!(b.rows[0].not_before, Millis(MAX_WAIT_MS));
    }

    #[test]
    fn retry_runs_only_the_failed_ones() {
        let mut b = batch(3);
        for i in b.startable(Millis(0)) {
            b.begin(i, format!("s{i}"));
        }
        b.saved(0, "org0".into(), Millis(1));
        b.failed(1, ErrorCode::PartnerRolesMissing, Millis(1));
        b.failed(2, ErrorCode::PartnerConsentRefused, Millis(1));
        assert!(b.is_finished());
        // The second customer's relationship ended meanwhile; the third's now grants the roles.
        let mut now_offered = offers(3);
        now_offered.remove(1);
        b.rows[2].enough = false;
        assert_eq!(b.retry_failed(Millis(10), &now_offered), 1);
        assert_eq!(b.finished, None);
        assert_eq!(b.startable(Millis(10)), vec![2]);
        assert!(b.rows[2].enough, "the roles read now");
        assert!(matches!(b.rows[1].state, RowState::Failed { .. }), "no relationship now: stays failed");
        assert_eq!(b.rows[0].state, RowState::Saved { organization_id: "org0".into() });
        assert_eq!(b.retry_failed(Millis(10), &now_offered), 0, "nothing to run again now");
    }

    #[test]
    fn a_consent_the_batch_gave_is_withdrawn_once_its_customer_settles_and_only_then_is_it_finished() {
        let mut b = batch(2);
        b.begin(0, "s0".into());
        b.begin(1, "s1".into());
        b.consent_given(0);
        b.consent_given(1);
        b.registering(0);
        assert!(b.withdrawals(Millis(0)).is_empty(), "still needed while registering");
        b.saved(0, "org".into(), Millis(1));
        b.failed(1, ErrorCode::TrustedCertificateRequired, Millis(1));
        assert_eq!(b.withdrawals(Millis(2)), vec![0, 1]);
        assert!(!b.is_finished());
        assert_eq!(b.next_alarm(Millis(2), 1000), Some(Millis(2)));
        b.withdrawn(0, Millis(3));
        assert!(!b.is_finished());
        b.withdrawn(1, Millis(4));
        assert!(b.is_finished());
        assert_eq!(b.finished, Some(Millis(4)));
    }

    #[test]
    fn a_withdrawal_partner_center_refuses_for_now_waits_as_told_and_is_given_up_after_the_last_attempt() {
        let mut b = batch(2);
        b.begin(0, "s0".into());
        b.begin(1, "s1".into());
        b.consent_given(0);
        b.consent_given(1);
        b.saved(0, "org".into(), Millis(1));
        b.saved(1, "org1".into(), Millis(1));
        assert!(!b.withdraw_failed(1, Some(4), Millis(2)));
        assert_eq!(b.withdrawals(Millis(3)), vec![0]);
        b.withdrawn(0, Millis(3));
        assert_eq!(b.next_alarm(Millis(3), 1000), Some(Millis(4002)));
        for _ in 1..MAX_THROTTLED - 1 {
            assert!(!b.withdraw_failed(1, None, Millis(5000)));
        }
        assert!(!b.is_finished());
        assert!(b.withdraw_failed(1, None, Millis(6000)), "given up");
        assert!(b.is_finished());
    }

    #[test]
    fn a_registration_whose_sign_in_never_answers_fails_and_the_batch_ends() {
        let mut b = batch(1);
        b.begin(0, "s0".into());
        b.registering(0);
        for _ in 1..MAX_UNANSWERED {
            b.sign_in_answered(0, false, Millis(1));
        }
        b.sign_in_answered(0, true, Millis(1));
        assert_eq!(b.rows[0].unanswered, 0, "an answer starts the count again");
        for _ in 0..MAX_UNANSWERED {
            b.sign_in_answered(0, false, Millis(2));
        }
        assert_eq!(b.rows[0].state, RowState::Failed { code: ErrorCode::RegistrationFailed });
        assert!(b.is_finished());
    }

    #[test]
    fn the_batch_round_trips_through_storage() {
        let mut b = batch(3);
        b.begin(0, "s".into());
        b.registering(0);
        b.begin(1, "t".into());
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains(r#""state":"registering","sign_in":"s""#), "{json}");
        assert!(json.contains(r#""state":"consenting","sign_in":"t""#), "{json}");
        let back: Batch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        // A row stored consenting before the sign-in was chosen first.
        let older = json.replace(r#""state":"consenting","sign_in":"t""#, r#""state":"consenting""#);
        let back: Batch = serde_json::from_str(&older).unwrap();
        assert_eq!(back.rows[1].state, RowState::Consenting { sign_in: None });
    }

    #[test]
    fn a_row_a_cut_off_round_left_consenting_goes_on_with_its_sign_in_or_from_the_start() {
        let mut b = batch(3);
        for i in 0..3 {
            b.begin(i, format!("s{i}"));
        }
        b.rows[2].state = RowState::Consenting { sign_in: None };
        assert_eq!(b.cut_off(), vec![(0, Some("s0".into())), (1, Some("s1".into())), (2, None)]);
        assert!(b.resume(0, true));
        assert!(b.resume(1, false));
        assert!(b.resume(2, true), "without a sign-in it starts again");
        assert_eq!(b.rows[0].state, RowState::Registering { sign_in: "s0".into() });
        assert_eq!(b.rows[1].state, RowState::Waiting);
        assert_eq!(b.rows[2].state, RowState::Waiting);
        assert!(b.cut_off().is_empty());
        assert!(!b.resume(0, false), "only a consenting row resumes");
        assert_eq!(b.startable(Millis(0)), vec![1, 2]);
    }

    #[test]
    fn transitions_that_do_not_apply_change_nothing() {
        let mut b = batch(1);
        let before = b.clone();
        assert!(!b.registering(0));
        assert!(!b.saved(0, "o".into(), Millis(0)));
        assert!(!b.failed(0, ErrorCode::Throttled, Millis(0)));
        assert!(!b.throttled(0, None, Millis(0)));
        assert!(!b.begin(9, "s9".into()));
        assert_eq!(b, before);
    }
}
