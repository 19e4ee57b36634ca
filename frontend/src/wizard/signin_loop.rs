//! The browser's side of [`crate::signin_model`]: one [`SignIn`] per screen that follows a
//! sign-in (the wizard's Step 2, the sign-in panel). It feeds the model the answers of the edge,
//! its timers, the sign-in window and the administrator's clicks, carries out the effects the
//! model returns (requests, the one status loop's timer, the window), and mirrors what the model
//! shows into signals for the views. It owns the screen's sign-ins ([`crate::signins::Owned`]).

use super::popup;
use crate::api;
use crate::i18n::I18n;
use crate::signin_model::{Effect, Event, Outcome, Post, Purpose, SignInModel};
use crate::signins::Owned;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ConfirmSignIn, SignInMethod, SignInPurpose, SignInStatus, StartSignIn};
use shared::endpoints::{CONFIRM_SIGN_IN, RENEW_SIGN_IN, SIGN_IN, START_SIGN_IN};
use shared::ids::OrganizationId;
use shared::secret::SecretString;
use shared::{AddMethod, CloudEnvironment};
use std::time::Duration;

/// A screen's sign-in: the model, what the views read, and the screen's claim on its sign-ins.
#[derive(Clone, Copy)]
pub struct SignIn {
    model: StoredValue<SignInModel>,
    status: RwSignal<Option<SignInStatus>>,
    notice: RwSignal<Option<String>>,
    seconds_left: RwSignal<u64>,
    starting: RwSignal<bool>,
    owned: Owned,
    on_outcome: Callback<Outcome>,
    /// The page's language, for the sentences this returns.
    i18n: I18n,
}

/// `organization` as the edge issued it (the list's IDs always are).
fn known(organization: &str, i18n: I18n) -> Result<OrganizationId, String> {
    OrganizationId::parse(organization).ok_or_else(|| i18n.t(key!("signin.organization_not_found")))
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl SignIn {
    /// Follows sign-ins for the current component, which hears of `on_outcome`; stops (and
    /// cancels what is not saved) when the component goes away.
    pub fn new(purpose: Purpose, on_outcome: Callback<Outcome>) -> Self {
        let signin = SignIn {
            model: StoredValue::new(SignInModel::new(purpose)),
            status: RwSignal::new(None),
            notice: RwSignal::new(None),
            seconds_left: RwSignal::new(0),
            starting: RwSignal::new(false),
            owned: Owned::new(),
            on_outcome,
            i18n: I18n::get(),
        };
        // The countdown's clock (the status loop is the model's timer, not this).
        if let Ok(handle) =
            set_interval_with_handle(move || _ = signin.dispatch(Event::Tick), Duration::from_millis(1000))
        {
            on_cleanup(move || handle.clear());
        }
        {
            // The sign-in window's last page tells us at once (when it still can: see `popup`).
            let listener = window_event_listener(leptos::ev::message, move |ev| {
                let Some(msg) = popup::read_message(&ev) else { return };
                signin.dispatch(Event::WindowMessage { id: msg.id, failure: msg.failure, claim: msg.claim });
            });
            on_cleanup(move || listener.remove());
        }
        signin
    }

    /// The status shown (`None` while the start is under way).
    pub fn status(self) -> RwSignal<Option<SignInStatus>> {
        self.status
    }

    /// What went wrong with the sign-in window that the status cannot show.
    pub fn notice(self) -> RwSignal<Option<String>> {
        self.notice
    }

    /// Seconds until the one-time code expires.
    pub fn seconds_left(self) -> RwSignal<u64> {
        self.seconds_left
    }

    /// Whether a start is under way.
    pub fn starting(self) -> Signal<bool> {
        self.starting.into()
    }

    /// Starts a sign-in. The Credential method's window is opened now, during the click (browsers
    /// allow a pop-up only then), and sent to Microsoft when the edge has answered; `Err` is the
    /// sentence to show when the browser blocked it (nothing was started).
    pub fn start(self, cloud: CloudEnvironment, method: AddMethod) -> Result<(), String> {
        self.start_for(cloud, method, SignInPurpose::Register)
    }

    /// Starts a sign-in that repairs saved organization `organization` (see [`Self::start`]).
    pub fn start_repair(self, cloud: CloudEnvironment, method: AddMethod, organization: &str) -> Result<(), String> {
        self.start_for(cloud, method, SignInPurpose::Repair(known(organization, self.i18n)?))
    }

    /// Starts a sign-in that deletes saved organization `organization`'s applications from
    /// Microsoft 365 when it is deleted (see [`Self::start`]).
    pub fn start_removal(self, cloud: CloudEnvironment, method: AddMethod, organization: &str) -> Result<(), String> {
        self.start_for(cloud, method, SignInPurpose::Remove(known(organization, self.i18n)?))
    }

    /// Starts a partner's sign-in to its own tenant (see [`Self::start`]).
    pub fn start_partner(self, cloud: CloudEnvironment, method: AddMethod) -> Result<(), String> {
        self.start_for(cloud, method, SignInPurpose::Partner)
    }

    fn start_for(self, cloud: CloudEnvironment, method: AddMethod, purpose: SignInPurpose) -> Result<(), String> {
        let Some(method) = SignInMethod::of(method) else {
            return Err(self.i18n.t(key!("signin.manual_needs_none")));
        };
        let body = StartSignIn { purpose, ..StartSignIn::new(cloud, method) };
        if body.method == SignInMethod::Credential {
            popup::open("about:blank")?;
        }
        self.dispatch(Event::Start(body));
        Ok(())
    }

    /// Handles `event`; `false` when the screen has gone away (nothing was done).
    pub fn dispatch(self, event: Event) -> bool {
        let Some(effects) = self.model.try_update_value(|m| m.handle(event, now_ms())) else { return false };
        self.show();
        for effect in effects {
            self.run(effect);
        }
        true
    }

    /// Mirrors the model into the views' signals (only what changed).
    fn show(self) {
        let Some((status, notice, left, starting)) = self
            .model
            .try_with_value(|m| (m.status().cloned(), m.notice().map(str::to_owned), m.seconds_left(), m.starting()))
        else {
            return;
        };
        if self.status.try_with_untracked(|s| *s != status) == Some(true) {
            self.status.try_set(status);
        }
        if self.notice.try_with_untracked(|n| *n != notice) == Some(true) {
            self.notice.try_set(notice);
        }
        if self.seconds_left.try_get_untracked() != Some(left) {
            self.seconds_left.try_set(left);
        }
        if self.starting.try_get_untracked() != Some(starting) {
            self.starting.try_set(starting);
        }
    }

    /// Carries out one effect; answers come back as events.
    fn run(self, effect: Effect) {
        match effect {
            Effect::Start(body) => spawn_local(async move {
                match api::send(&START_SIGN_IN, "", &body).await {
                    Ok(s) => {
                        let id = s.id.clone();
                        // A start that answers after its screen went away is cancelled at once.
                        if !self.dispatch(Event::Started(s)) {
                            self.owned.started(&id);
                        }
                    }
                    Err(e) => {
                        self.dispatch(Event::StartRefused(e));
                    }
                }
            }),
            Effect::ScheduleFetch { seq, after_ms } => {
                set_timeout(move || _ = self.dispatch(Event::TimerFired { seq }), Duration::from_millis(after_ms))
            }
            Effect::FetchStatus { id } => spawn_local(async move {
                match api::fetch(&SIGN_IN, &id).await {
                    Ok(s) => self.dispatch(Event::Status(s)),
                    Err(_) => self.dispatch(Event::FetchFailed { id }),
                };
            }),
            Effect::CheckPopup => {
                if popup::take_closed() {
                    self.dispatch(Event::PopupClosed);
                }
            }
            Effect::Post { id, post } => spawn_local(async move {
                let kind = post.kind();
                let answer = match post {
                    Post::Confirm => api::send(&CONFIRM_SIGN_IN, &id, &ConfirmSignIn::default()).await,
                    Post::Claim { claim } => {
                        let body = ConfirmSignIn { claim: Some(SecretString::new(claim)) };
                        api::send(&CONFIRM_SIGN_IN, &id, &body).await
                    }
                    Post::Renew => api::fetch(&RENEW_SIGN_IN, &id).await,
                };
                match answer {
                    Ok(s) => self.dispatch(Event::Answered(kind, s)),
                    Err(e) => self.dispatch(Event::Refused(kind, e)),
                };
            }),
            Effect::OpenPopup { url, then_renew } => match popup::open(&url) {
                Err(blocked) => {
                    self.dispatch(Event::PopupBlocked(blocked));
                }
                Ok(()) => {
                    if let Some(id) = then_renew {
                        self.run(Effect::Post { id, post: Post::Renew });
                    }
                }
            },
            Effect::FollowPopup { url } => popup::follow(&url),
            Effect::ClosePopup => popup::close(),
            Effect::Own(id) => self.owned.started(&id),
            Effect::Release => self.owned.release(),
            Effect::Report(outcome) => {
                self.on_outcome.try_run(outcome);
            }
        }
    }
}
