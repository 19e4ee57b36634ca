//! The record as it was stored before sign-ins became a state machine (one struct of optional
//! fields), read once and turned into a [`SignInRecord`], so that a sign-in under way during the
//! deploy that changed the format goes on, and the applications it registered are still deleted at
//! the end of its hold unless an organization holds them.

use super::{DeviceState, Ending, HeldToken, Holding, SignInRecord, Stage};
use crate::provisioning::plan::Registration;
use crate::signin::browser::{BrowserSignIn, Claim};
use crate::signin::poller::Poller;
use crate::time::Millis;
use serde::Deserialize;
use shared::api::{ErrorDetail, SignInState};
use shared::{AddMethod, CloudEnvironment, ErrorCode};

/// What the Durable Object finds in its storage: the current record or the one before it.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Stored {
    /// The current format.
    Current(Box<SignInRecord>),
    /// The format before stages.
    Legacy(Box<LegacyRecord>),
}

impl From<Stored> for SignInRecord {
    fn from(s: Stored) -> Self {
        match s {
            Stored::Current(r) => *r,
            Stored::Legacy(r) => (*r).into(),
        }
    }
}

fn device_code() -> AddMethod {
    AddMethod::DeviceCode
}

/// The record before stages (read only).
#[derive(Deserialize)]
pub struct LegacyRecord {
    id: String,
    account: String,
    cloud: CloudEnvironment,
    client_id: String,
    #[serde(default = "device_code")]
    method: AddMethod,
    state: SignInState,
    device: Option<DeviceState>,
    #[serde(default)]
    browser: Option<BrowserSignIn>,
    #[serde(default)]
    state_digest: Option<String>,
    #[serde(default)]
    redeeming_until: Option<Millis>,
    #[serde(default)]
    claim: Option<Claim>,
    poller: Option<Poller>,
    confirmed: bool,
    token: Option<HeldToken>,
    main: Option<Registration>,
    additional: Option<Registration>,
    error: Option<ErrorDetail>,
    created_at: Millis,
    discard_at: Option<Millis>,
    saved: bool,
    #[serde(default)]
    hold_ms: Option<i64>,
    #[serde(default)]
    save_lease_until: Option<Millis>,
}

impl From<LegacyRecord> for SignInRecord {
    fn from(r: LegacyRecord) -> Self {
        let registered = r.main.is_some() || r.additional.is_some();
        let holding = registered.then(|| Holding {
            token: r.token.clone(),
            main: r.main,
            additional: r.additional,
            discard_at: r.discard_at,
            save_lease_until: r.save_lease_until,
            saved: r.saved,
        });
        let ended = |ending, error: Option<ErrorDetail>, holding| Stage::Ended { ending, error, holding };
        let stage = match (r.state, holding) {
            (SignInState::WaitingForSignIn | SignInState::WaitingForMicrosoft, None) => {
                match (r.device, r.poller, r.browser, r.redeeming_until) {
                    (Some(device), Some(poller), _, _) => Stage::Polling { device, poller, confirmed: r.confirmed },
                    (_, _, Some(browser), _) => Stage::Window { browser },
                    (_, _, _, Some(until)) => Stage::Redeeming { until },
                    _ => ended(Ending::Failed, Some(ErrorDetail::new(ErrorCode::SignInFailed)), None),
                }
            }
            (SignInState::SignedIn, None) => match r.token {
                Some(token) => Stage::SignedIn { token, claim: r.claim },
                None => ended(Ending::Expired, Some(ErrorDetail::new(ErrorCode::CodeExpired)), None),
            },
            (SignInState::Registering, Some(h)) => Stage::Registering(h),
            (SignInState::Completed, Some(h)) => Stage::Completed(h),
            (SignInState::Expired, h) => ended(Ending::Expired, r.error, h),
            (SignInState::Cancelled, h) => ended(Ending::Cancelled, r.error, h),
            (_, h) => ended(Ending::Failed, r.error, h),
        };
        SignInRecord {
            id: r.id,
            account: r.account,
            cloud: r.cloud,
            client_id: r.client_id,
            method: r.method,
            created_at: r.created_at,
            hold_ms: r.hold_ms,
            state_digest: r.state_digest,
            purpose: super::Purpose::Register,
            stage,
        }
    }
}
