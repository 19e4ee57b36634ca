//! One sign-in as the app follows it, as plain Rust (tested natively): the wizard's Step 2 and the
//! sign-in panel feed it [`Event`]s (answers of the edge, timers, the sign-in window, the
//! administrator's clicks) and carry out the [`Effect`]s it returns ([`crate::wizard::signin_loop`]
//! does, in the browser). It holds the status shown, the notice the status cannot show, the
//! countdown, and the one status loop: the next read is scheduled after the server's `poll_after`
//! (clamped), with back-off while reads fail; a newer schedule replaces any older one.

use crate::api::ApiFailure;
use crate::wizard::logic::{prefill, window_message_notice, Prefill};
use shared::api::{SignInState, SignInStatus, StartSignIn};
use shared::{AddMethod, ErrorCode};

/// The soonest the status is read again, whatever the server says.
pub const MIN_POLL_MS: u64 = 1_000;
/// The latest the status is read again while the server answers, whatever it says.
pub const MAX_POLL_MS: u64 = 10_000;
/// When the server names no interval (`poll_after` 0).
pub const FALLBACK_POLL_MS: u64 = 2_000;
/// The longest wait between reads while they keep failing.
pub const MAX_BACKOFF_MS: u64 = 30_000;

/// What the sign-in is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The wizard: sign in and register; followed until it ends (completed, failed, ...).
    Register,
    /// The sign-in panel: only the sign-in, for creating applications elsewhere; followed until
    /// Microsoft reports the sign-in (Credential: until the window's answer is claimed, which
    /// registers nothing), which is reported once.
    SignInOnly,
}

/// A request about the current sign-in that the administrator made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Post {
    /// Device code: "I have completed the authorization process".
    Confirm,
    /// Credential: the sign-in window's claim, or the confirmation code typed from it; with
    /// [`Purpose::SignInOnly`] it only proves the answer (`ConfirmSignIn::sign_in_only`).
    Claim {
        /// The handle or the code.
        claim: String,
        /// Register nothing now.
        sign_in_only: bool,
    },
    /// A new code (device code) or a new sign-in window (Credential) for the same sign-in.
    Renew,
}

impl Post {
    /// Which request, without its content.
    pub fn kind(&self) -> PostKind {
        match self {
            Post::Confirm => PostKind::Confirm,
            Post::Claim { .. } => PostKind::Claim,
            Post::Renew => PostKind::Renew,
        }
    }
}

/// Which [`Post`] an answer is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    /// [`Post::Confirm`].
    Confirm,
    /// [`Post::Claim`].
    Claim,
    /// [`Post::Renew`].
    Renew,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The administrator starts a new sign-in (the previous one, if any, was left).
    Start(StartSignIn),
    /// The start answered: this sign-in is now the one shown.
    Started(SignInStatus),
    /// The start was refused (or did not get through).
    StartRefused(ApiFailure),
    /// A status read answered.
    Status(SignInStatus),
    /// A status read of sign-in `id` failed (network, or the edge refused).
    FetchFailed {
        /// The sign-in read.
        id: String,
    },
    /// A scheduled read is due.
    TimerFired {
        /// The schedule's number ([`Effect::ScheduleFetch`]).
        seq: u64,
    },
    /// The countdown's clock ticked.
    Tick,
    /// The sign-in window was found closed.
    PopupClosed,
    /// The browser did not open the sign-in window; the sentence to show.
    PopupBlocked(String),
    /// The sign-in window's last page posted its message.
    WindowMessage {
        /// The sign-in it is about.
        id: String,
        /// The sentence of a failure; `None` when signed in.
        failure: Option<String>,
        /// On success: the handle that starts registration.
        claim: Option<String>,
    },
    /// Device code: the administrator ticked the confirmation.
    Confirm,
    /// Credential: the administrator typed the confirmation code from the sign-in window.
    Claim(String),
    /// Device code: "Get a new code".
    Renew,
    /// Credential: "Try again" (open the window again; a sign-in that ended gets a new one).
    Retry,
    /// Credential: "Open the sign-in window again".
    Reopen,
    /// A [`Post`] answered.
    Answered(PostKind, SignInStatus),
    /// A [`Post`] was refused.
    Refused(PostKind, ApiFailure),
    /// The administrator leaves the sign-in (Cancel, another method, back to Step 1): stop
    /// following it and cancel it.
    Leave,
}

/// What the screen has to know (the rest the model handles itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Starting the sign-in was refused.
    StartRefused(ApiFailure),
    /// A device-code confirmation or a new code was refused.
    Refused(ApiFailure),
    /// A request that may be refused is on its way: the last refusal no longer holds.
    Requesting,
    /// The registration completed: Step 3's prefill.
    Completed(Prefill),
    /// Microsoft reported the sign-in ([`Purpose::SignInOnly`], once).
    SignedIn(String),
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `POST /api/signins`; answer with [`Event::Started`] or [`Event::StartRefused`].
    Start(StartSignIn),
    /// Fire [`Event::TimerFired`] with `seq` after `after_ms`.
    ScheduleFetch {
        /// The schedule's number: a newer one makes it stale.
        seq: u64,
        /// Milliseconds to wait.
        after_ms: u64,
    },
    /// Read the status now; answer with [`Event::Status`] or [`Event::FetchFailed`].
    FetchStatus {
        /// The sign-in.
        id: String,
    },
    /// Fire [`Event::PopupClosed`] if the sign-in window was closed since it was opened.
    CheckPopup,
    /// Send `post` about sign-in `id`; answer with [`Event::Answered`] or [`Event::Refused`].
    Post {
        /// The sign-in.
        id: String,
        /// The request.
        post: Post,
    },
    /// Open (or reuse) the sign-in window at `url`; fire [`Event::PopupBlocked`] if the browser
    /// refused, else carry out `then` (a renew) if any.
    OpenPopup {
        /// Where.
        url: String,
        /// The renew of this sign-in to send once the window is open.
        then_renew: Option<String>,
    },
    /// Send the open sign-in window to `url`.
    FollowPopup {
        /// Microsoft's authorization URL.
        url: String,
    },
    /// Close the sign-in window, if open.
    ClosePopup,
    /// This screen owns sign-in `id` (cancelled when the screen goes away).
    Own(String),
    /// Cancel the sign-ins this screen owns.
    Release,
    /// Tell the screen.
    Report(Outcome),
}

/// The sign-in shown and what the app knows about it.
#[derive(Debug, Clone)]
pub struct SignInModel {
    purpose: Purpose,
    status: Option<SignInStatus>,
    notice: Option<String>,
    starting: bool,
    /// When the code expires, in the caller's clock (ms).
    deadline_ms: Option<u64>,
    seconds_left: u64,
    /// The number of the latest schedule; older timers are stale.
    seq: u64,
    /// Status reads failed in a row.
    failures: u32,
    /// The sign-in window was found closed: say so if the next status still waits for it.
    window_closed: bool,
    /// [`Outcome::SignedIn`] was reported.
    reported: bool,
    /// [`Outcome::Completed`] was reported for the current sign-in.
    completed: bool,
}

impl SignInModel {
    /// Nothing shown yet.
    pub fn new(purpose: Purpose) -> Self {
        SignInModel {
            purpose,
            status: None,
            notice: None,
            starting: false,
            deadline_ms: None,
            seconds_left: 0,
            seq: 0,
            failures: 0,
            window_closed: false,
            reported: false,
            completed: false,
        }
    }

    /// The status shown (`None` while the start is under way, or before).
    pub fn status(&self) -> Option<&SignInStatus> {
        self.status.as_ref()
    }

    /// Credential: what went wrong with the sign-in window that the status cannot show.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether a start is under way.
    pub fn starting(&self) -> bool {
        self.starting
    }

    /// Seconds until the code expires, as of the last event.
    pub fn seconds_left(&self) -> u64 {
        self.seconds_left
    }

    /// How long to wait before the next read after an answer that asked for `poll_after` seconds.
    pub fn poll_interval_ms(poll_after: u64) -> u64 {
        if poll_after == 0 {
            return FALLBACK_POLL_MS;
        }
        poll_after.saturating_mul(1000).clamp(MIN_POLL_MS, MAX_POLL_MS)
    }

    /// How long to wait after `failures` failed reads in a row (the first failure waits twice the
    /// server's interval, then twice as long each time, up to [`MAX_BACKOFF_MS`]).
    pub fn backoff_ms(poll_after: u64, failures: u32) -> u64 {
        let base = Self::poll_interval_ms(poll_after);
        base.saturating_mul(1u64 << failures.min(16)).min(MAX_BACKOFF_MS)
    }

    /// Whether sign-in `s` is still followed.
    fn follows(&self, s: &SignInStatus) -> bool {
        let done = match self.purpose {
            Purpose::Register => s.state.is_final(),
            Purpose::SignInOnly => s.state.is_final() || s.state == SignInState::SignedIn,
        };
        !done
    }

    fn current_id(&self) -> Option<String> {
        self.status.as_ref().map(|s| s.id.clone())
    }

    fn is_current(&self, id: &str) -> bool {
        self.status.as_ref().is_some_and(|s| s.id == id)
    }

    fn popup_method(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.method == AddMethod::Credential)
    }

    fn count_down(&mut self, now_ms: u64) {
        if let Some(deadline) = self.deadline_ms {
            self.seconds_left = deadline.saturating_sub(now_ms).div_ceil(1000);
        }
    }

    /// Stops following: every timer scheduled so far is stale.
    fn stop(&mut self) {
        self.seq += 1;
    }

    /// Stops the loop and forgets the sign-in shown (a new start, or leaving the screen).
    fn clear(&mut self) {
        self.stop();
        self.status = None;
        self.notice = None;
        self.deadline_ms = None;
        self.window_closed = false;
    }

    /// The request that presents `claim` for this screen's purpose.
    fn claim(&self, claim: String) -> Post {
        Post::Claim { claim, sign_in_only: self.purpose == Purpose::SignInOnly }
    }

    fn schedule(&mut self, after_ms: u64) -> Effect {
        self.seq += 1;
        Effect::ScheduleFetch { seq: self.seq, after_ms }
    }

    /// Shows `s` (the current sign-in's, or a new one's).
    fn apply(&mut self, s: SignInStatus, now_ms: u64, out: &mut Vec<Effect>) {
        if let Some(left) = s.expires_in {
            self.deadline_ms = Some(now_ms.saturating_add(left.saturating_mul(1000)));
            self.count_down(now_ms);
        }
        let waiting = s.state == SignInState::WaitingForSignIn;
        if !waiting {
            self.notice = None;
            // Not while signed in and unclaimed: the window may still have to show its code.
            if s.method == AddMethod::Credential && matches!(s.state, SignInState::Registering | SignInState::Completed)
            {
                out.push(Effect::ClosePopup);
            }
        }
        // A closed window matters only if the sign-in still waits for it once the status is read
        // (the window closes itself only after Microsoft's answer was redeemed and handed over).
        if std::mem::take(&mut self.window_closed) && waiting && self.notice.is_none() {
            self.notice = Some(ErrorCode::PopupClosed.message().to_owned());
        }
        if s.state == SignInState::Completed && !self.completed {
            if let Some(r) = &s.result {
                self.completed = true;
                out.push(Effect::Report(Outcome::Completed(prefill(&s.id, r))));
            }
        }
        // A Credential answer is reported once claimed (see `Event::Answered`).
        if self.purpose == Purpose::SignInOnly
            && s.state == SignInState::SignedIn
            && s.method != AddMethod::Credential
            && !self.reported
        {
            self.reported = true;
            out.push(Effect::Report(Outcome::SignedIn(s.id.clone())));
        }
        self.failures = 0;
        if self.follows(&s) {
            out.push(self.schedule(Self::poll_interval_ms(s.poll_after)));
        } else {
            self.stop();
        }
        self.status = Some(s);
    }

    /// Handles `event` at `now_ms` (any clock in milliseconds); returns what to do, in order.
    pub fn handle(&mut self, event: Event, now_ms: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        match event {
            Event::Start(body) => {
                self.clear();
                self.completed = false;
                self.starting = true;
                out.push(Effect::Report(Outcome::Requesting));
                out.push(Effect::Start(body));
            }
            Event::Started(s) => {
                self.starting = false;
                self.completed = false;
                out.push(Effect::Own(s.id.clone()));
                if let (AddMethod::Credential, Some(url)) = (s.method, &s.authorize_url) {
                    out.push(Effect::FollowPopup { url: url.clone() });
                }
                self.apply(s, now_ms, &mut out);
            }
            Event::StartRefused(failure) => {
                self.starting = false;
                out.push(Effect::ClosePopup);
                out.push(Effect::Report(Outcome::StartRefused(failure)));
            }
            // An answer about another sign-in (a slow read of one the admin has left) changes nothing.
            Event::Status(s) if self.is_current(&s.id) => self.apply(s, now_ms, &mut out),
            Event::Status(_) => {}
            Event::FetchFailed { id } => {
                if let Some(s) = self.status.as_ref().filter(|s| s.id == id && self.follows(s)) {
                    let poll_after = s.poll_after;
                    self.failures = self.failures.saturating_add(1);
                    out.push(self.schedule(Self::backoff_ms(poll_after, self.failures)));
                }
            }
            Event::TimerFired { seq } => {
                if let Some(s) = self.status.as_ref().filter(|s| seq == self.seq && self.follows(s)) {
                    if s.method == AddMethod::Credential {
                        out.push(Effect::CheckPopup);
                    }
                    out.push(Effect::FetchStatus { id: s.id.clone() });
                }
            }
            Event::Tick => self.count_down(now_ms),
            Event::PopupClosed => self.window_closed = true,
            Event::PopupBlocked(sentence) => self.notice = Some(sentence),
            Event::WindowMessage { id, failure, claim } => {
                let Some(current) = self.status.as_ref().filter(|c| c.id == id) else { return out };
                if let Some(text) = window_message_notice(current, &id, failure.as_deref()) {
                    self.notice = Some(text);
                }
                out.push(match claim {
                    Some(handle) => Effect::Post { id, post: self.claim(handle) },
                    None => Effect::FetchStatus { id },
                });
            }
            Event::Confirm => {
                if let Some(id) = self.current_id() {
                    out.push(Effect::Report(Outcome::Requesting));
                    out.push(Effect::Post { id, post: Post::Confirm });
                }
            }
            Event::Claim(code) => {
                if let Some(id) = self.current_id() {
                    self.notice = None;
                    out.push(Effect::Post { id, post: self.claim(code) });
                }
            }
            Event::Renew => {
                if let Some(id) = self.current_id() {
                    out.push(Effect::Report(Outcome::Requesting));
                    out.push(Effect::Post { id, post: Post::Renew });
                }
            }
            Event::Retry => {
                let Some(current) = &self.status else { return out };
                let (id, url) = (current.id.clone(), current.authorize_url.clone());
                let waiting = current.state == SignInState::WaitingForSignIn;
                self.notice = None;
                out.push(match (waiting, url) {
                    (true, Some(url)) => Effect::OpenPopup { url, then_renew: None },
                    // A pop-up is allowed only during the click: open it now, send it to Microsoft
                    // once the sign-in has a new state and verifier.
                    _ => Effect::OpenPopup { url: "about:blank".into(), then_renew: Some(id) },
                });
            }
            Event::Reopen => {
                if let Some(url) = self.status.as_ref().and_then(|s| s.authorize_url.clone()) {
                    self.notice = None;
                    out.push(Effect::OpenPopup { url, then_renew: None });
                }
            }
            Event::Answered(kind, s) => {
                if !self.is_current(&s.id) {
                    return out;
                }
                if let (PostKind::Renew, AddMethod::Credential, Some(url)) = (kind, s.method, &s.authorize_url) {
                    out.push(Effect::FollowPopup { url: url.clone() });
                }
                let claimed = kind == PostKind::Claim && s.state == SignInState::SignedIn;
                if claimed && self.purpose == Purpose::SignInOnly && !self.reported {
                    self.reported = true;
                    out.push(Effect::ClosePopup);
                    out.push(Effect::Report(Outcome::SignedIn(s.id.clone())));
                }
                self.apply(s, now_ms, &mut out);
            }
            Event::Refused(kind, failure) => match kind {
                PostKind::Claim => self.notice = Some(failure.message()),
                PostKind::Renew if self.popup_method() => {
                    out.push(Effect::ClosePopup);
                    self.notice = Some(failure.message());
                }
                PostKind::Renew | PostKind::Confirm => out.push(Effect::Report(Outcome::Refused(failure))),
            },
            Event::Leave => {
                self.clear();
                self.starting = false;
                out.push(Effect::ClosePopup);
                out.push(Effect::Release);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::{ErrorBody, ErrorDetail, RegistrationResult};
    use shared::CloudEnvironment;

    const T0: u64 = 1_000_000;

    fn status(id: &str, method: AddMethod, state: SignInState) -> SignInStatus {
        SignInStatus {
            id: id.into(),
            cloud: CloudEnvironment::Global,
            method,
            state,
            authorize_url: (method == AddMethod::Credential && state == SignInState::WaitingForSignIn)
                .then(|| format!("https://login.example/authorize?state={id}")),
            user_code: (method == AddMethod::DeviceCode).then(|| "ABCD1234".into()),
            verification_uri: None,
            expires_at: None,
            expires_in: Some(900),
            poll_after: 2,
            progress: vec![],
            error: None,
            result: None,
        }
    }

    fn device(state: SignInState) -> SignInStatus {
        status("s1", AddMethod::DeviceCode, state)
    }

    fn popup(state: SignInState) -> SignInStatus {
        status("s1", AddMethod::Credential, state)
    }

    fn completed(method: AddMethod) -> SignInStatus {
        SignInStatus {
            result: Some(RegistrationResult {
                tenant_id: "t".into(),
                tenant_name: "Contoso".into(),
                default_domain: "contoso.example".into(),
                application_id: "a".into(),
                secret_stored: true,
                applications: 1,
                application_ids: vec!["a".into()],
                certificates: vec![],
            }),
            ..status("s1", method, SignInState::Completed)
        }
    }

    fn refusal(code: ErrorCode) -> ApiFailure {
        ApiFailure::Api(Box::new(ErrorBody::with_message(code, code.message())))
    }

    fn start_body(method: AddMethod) -> StartSignIn {
        StartSignIn::new(CloudEnvironment::Global, method)
    }

    /// A model showing `s`, as after its start answered at `T0`.
    fn showing(purpose: Purpose, s: SignInStatus) -> SignInModel {
        let mut m = SignInModel::new(purpose);
        let _ = m.handle(Event::Start(start_body(s.method)), T0);
        let _ = m.handle(Event::Started(s), T0);
        m
    }

    fn scheduled(effects: &[Effect]) -> Option<(u64, u64)> {
        effects.iter().find_map(|e| match e {
            Effect::ScheduleFetch { seq, after_ms } => Some((*seq, *after_ms)),
            _ => None,
        })
    }

    fn reports(effects: &[Effect]) -> Vec<&Outcome> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Report(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    // --- The interval -----------------------------------------------------------------------

    #[test]
    fn the_interval_is_the_servers_poll_after_clamped_with_a_fallback() {
        assert_eq!(SignInModel::poll_interval_ms(2), 2_000);
        assert_eq!(SignInModel::poll_interval_ms(5), 5_000);
        assert_eq!(SignInModel::poll_interval_ms(0), FALLBACK_POLL_MS, "absent");
        assert_eq!(SignInModel::poll_interval_ms(3_600), MAX_POLL_MS);
        assert_eq!(SignInModel::poll_interval_ms(u64::MAX), MAX_POLL_MS);
        assert!(SignInModel::poll_interval_ms(1) >= MIN_POLL_MS);
    }

    #[test]
    fn failed_reads_back_off_up_to_a_ceiling() {
        assert_eq!(SignInModel::backoff_ms(2, 1), 4_000);
        assert_eq!(SignInModel::backoff_ms(2, 2), 8_000);
        assert_eq!(SignInModel::backoff_ms(2, 3), 16_000);
        assert_eq!(SignInModel::backoff_ms(2, 4), MAX_BACKOFF_MS);
        assert_eq!(SignInModel::backoff_ms(2, u32::MAX), MAX_BACKOFF_MS);
    }

    // --- Start --------------------------------------------------------------------------------

    #[test]
    fn a_start_forgets_the_sign_in_shown_and_asks_the_edge() {
        let mut m = showing(Purpose::Register, device(SignInState::Expired));
        let fx = m.handle(Event::Start(start_body(AddMethod::DeviceCode)), T0);
        assert_eq!(fx, vec![Effect::Report(Outcome::Requesting), Effect::Start(start_body(AddMethod::DeviceCode))]);
        assert!(m.status().is_none() && m.notice().is_none() && m.starting());
    }

    #[test]
    fn the_started_sign_in_is_owned_shown_and_read_again_after_poll_after() {
        let mut m = SignInModel::new(Purpose::Register);
        let _ = m.handle(Event::Start(start_body(AddMethod::DeviceCode)), T0);
        let s = SignInStatus { poll_after: 5, ..device(SignInState::WaitingForSignIn) };
        let fx = m.handle(Event::Started(s), T0);
        assert_eq!(fx[0], Effect::Own("s1".into()));
        assert_eq!(scheduled(&fx).map(|(_, after)| after), Some(5_000));
        assert!(!m.starting());
        assert_eq!(m.status().map(|s| s.state), Some(SignInState::WaitingForSignIn));
        assert_eq!(m.seconds_left(), 900);
    }

    #[test]
    fn a_started_credential_sign_in_sends_the_open_window_to_microsoft() {
        let mut m = SignInModel::new(Purpose::Register);
        let s = popup(SignInState::WaitingForSignIn);
        let url = s.authorize_url.clone().unwrap();
        let fx = m.handle(Event::Started(s), T0);
        assert_eq!(fx[..2], [Effect::Own("s1".into()), Effect::FollowPopup { url }]);
    }

    #[test]
    fn a_refused_start_closes_the_window_and_tells_the_screen() {
        let mut m = SignInModel::new(Purpose::Register);
        let _ = m.handle(Event::Start(start_body(AddMethod::Credential)), T0);
        let fx = m.handle(Event::StartRefused(refusal(ErrorCode::TooManySignIns)), T0);
        assert_eq!(
            fx,
            vec![Effect::ClosePopup, Effect::Report(Outcome::StartRefused(refusal(ErrorCode::TooManySignIns)))]
        );
        assert!(!m.starting() && m.status().is_none());
    }

    // --- The status loop ------------------------------------------------------------------------

    #[test]
    fn a_due_timer_reads_the_status_and_a_stale_one_does_nothing() {
        let mut m = SignInModel::new(Purpose::Register);
        let (first, _) = scheduled(&m.handle(Event::Started(device(SignInState::WaitingForSignIn)), T0)).unwrap();
        assert_eq!(m.handle(Event::TimerFired { seq: first }, T0), vec![Effect::FetchStatus { id: "s1".into() }]);
        // A confirmation's answer schedules anew: the first timer is stale.
        let (second, _) =
            scheduled(&m.handle(Event::Answered(PostKind::Confirm, device(SignInState::WaitingForMicrosoft)), T0))
                .unwrap();
        assert!(second > first);
        assert!(m.handle(Event::TimerFired { seq: first }, T0).is_empty(), "one loop, not two");
        assert_eq!(m.handle(Event::TimerFired { seq: second }, T0).len(), 1);
    }

    #[test]
    fn a_credential_read_first_checks_the_window() {
        let mut m = SignInModel::new(Purpose::Register);
        let (seq, _) = scheduled(&m.handle(Event::Started(popup(SignInState::WaitingForSignIn)), T0)).unwrap();
        assert_eq!(
            m.handle(Event::TimerFired { seq }, T0),
            vec![Effect::CheckPopup, Effect::FetchStatus { id: "s1".into() }]
        );
    }

    #[test]
    fn each_status_read_schedules_the_next_after_its_poll_after() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        let s = SignInStatus { poll_after: 7, ..device(SignInState::SignedIn) };
        assert_eq!(scheduled(&m.handle(Event::Status(s), T0)).map(|(_, a)| a), Some(7_000));
        let s = SignInStatus { poll_after: 0, ..device(SignInState::Registering) };
        assert_eq!(scheduled(&m.handle(Event::Status(s), T0)).map(|(_, a)| a), Some(FALLBACK_POLL_MS));
    }

    #[test]
    fn failed_reads_back_off_and_an_answer_resets_the_pace() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        let fail = |m: &mut SignInModel| scheduled(&m.handle(Event::FetchFailed { id: "s1".into() }, T0)).unwrap();
        let (seq1, a1) = fail(&mut m);
        let (seq2, a2) = fail(&mut m);
        assert_eq!((a1, a2), (4_000, 8_000));
        assert!(seq2 > seq1);
        assert!(m.handle(Event::TimerFired { seq: seq1 }, T0).is_empty());
        assert_eq!(m.handle(Event::TimerFired { seq: seq2 }, T0), vec![Effect::FetchStatus { id: "s1".into() }]);
        let fx = m.handle(Event::Status(device(SignInState::WaitingForSignIn)), T0);
        assert_eq!(scheduled(&fx).map(|(_, a)| a), Some(2_000));
        assert_eq!(fail(&mut m).1, 4_000, "counted again from the start");
    }

    #[test]
    fn a_failed_read_of_another_sign_in_or_of_an_ended_one_schedules_nothing() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        assert!(m.handle(Event::FetchFailed { id: "old".into() }, T0).is_empty());
        let _ = m.handle(Event::Status(device(SignInState::Expired)), T0);
        assert!(m.handle(Event::FetchFailed { id: "s1".into() }, T0).is_empty());
    }

    #[test]
    fn an_answer_about_another_sign_in_changes_nothing() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        assert!(m.handle(Event::Status(status("old", AddMethod::DeviceCode, SignInState::Failed)), T0).is_empty());
        let other = status("old", AddMethod::DeviceCode, SignInState::Failed);
        assert!(m.handle(Event::Answered(PostKind::Renew, other), T0).is_empty());
        assert_eq!(m.status().map(|s| s.state), Some(SignInState::WaitingForSignIn));
        let mut fresh = SignInModel::new(Purpose::Register);
        assert!(fresh.handle(Event::Status(device(SignInState::WaitingForSignIn)), T0).is_empty(), "none shown");
        assert!(fresh.status().is_none());
    }

    #[test]
    fn the_wizard_follows_until_the_sign_in_ends() {
        for state in [
            SignInState::WaitingForSignIn,
            SignInState::SignedIn,
            SignInState::WaitingForMicrosoft,
            SignInState::Registering,
        ] {
            let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
            assert!(scheduled(&m.handle(Event::Status(device(state)), T0)).is_some(), "{state:?}");
        }
        for state in [SignInState::Failed, SignInState::Expired, SignInState::Cancelled] {
            let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
            let seq = m.seq;
            assert!(scheduled(&m.handle(Event::Status(device(state)), T0)).is_none(), "{state:?}");
            assert!(m.handle(Event::TimerFired { seq }, T0).is_empty(), "{state:?}: the pending timer is stale");
            assert!(m.handle(Event::TimerFired { seq: m.seq }, T0).is_empty(), "{state:?}");
        }
    }

    #[test]
    fn the_panel_stops_at_the_sign_in_and_reports_it_once() {
        let mut m = showing(Purpose::SignInOnly, device(SignInState::WaitingForSignIn));
        let fx = m.handle(Event::Status(device(SignInState::SignedIn)), T0);
        assert_eq!(reports(&fx), vec![&Outcome::SignedIn("s1".into())]);
        assert!(scheduled(&fx).is_none(), "nothing more to wait for");
        assert!(m.handle(Event::TimerFired { seq: m.seq }, T0).is_empty());
        assert!(reports(&m.handle(Event::Status(device(SignInState::SignedIn)), T0)).is_empty(), "once");
        // The wizard does not report it and goes on.
        let mut w = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        let fx = w.handle(Event::Status(device(SignInState::SignedIn)), T0);
        assert!(reports(&fx).is_empty() && scheduled(&fx).is_some());
    }

    #[test]
    fn completion_reports_the_prefill_once_and_stops() {
        let mut m = showing(Purpose::Register, device(SignInState::Registering));
        let fx = m.handle(Event::Status(completed(AddMethod::DeviceCode)), T0);
        match reports(&fx)[..] {
            [Outcome::Completed(p)] => {
                assert_eq!(p.name, "Contoso");
                assert_eq!(p.sign_in_id.as_deref(), Some("s1"));
            }
            ref other => panic!("{other:?}"),
        }
        assert!(scheduled(&fx).is_none());
        assert!(reports(&m.handle(Event::Status(completed(AddMethod::DeviceCode)), T0)).is_empty(), "once");
    }

    #[test]
    fn the_countdown_follows_the_clock_from_each_answer() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        assert_eq!(m.seconds_left(), 900);
        let _ = m.handle(Event::Tick, T0 + 1_000);
        assert_eq!(m.seconds_left(), 899);
        let _ = m.handle(Event::Tick, T0 + 61_500);
        assert_eq!(m.seconds_left(), 839, "rounded up");
        let _ =
            m.handle(Event::Status(SignInStatus { expires_in: Some(10), ..device(SignInState::WaitingForSignIn) }), T0);
        let _ = m.handle(Event::Tick, T0 + 60_000);
        assert_eq!(m.seconds_left(), 0, "never below zero");
        let _ = m.handle(Event::Status(SignInStatus { expires_in: None, ..device(SignInState::Expired) }), T0);
        assert_eq!(m.seconds_left(), 0, "kept when the answer has none");
    }

    // --- Device code --------------------------------------------------------------------------

    #[test]
    fn confirm_and_renew_post_about_the_current_sign_in() {
        let mut m = showing(Purpose::Register, device(SignInState::SignedIn));
        let post = |post| Effect::Post { id: "s1".into(), post };
        assert_eq!(m.handle(Event::Confirm, T0), vec![Effect::Report(Outcome::Requesting), post(Post::Confirm)]);
        assert_eq!(m.handle(Event::Renew, T0), vec![Effect::Report(Outcome::Requesting), post(Post::Renew)]);
        let mut none = SignInModel::new(Purpose::Register);
        assert!(none.handle(Event::Confirm, T0).is_empty() && none.handle(Event::Renew, T0).is_empty());
    }

    #[test]
    fn a_renewed_code_is_shown_and_followed_again() {
        let mut m = showing(Purpose::Register, device(SignInState::Expired));
        let fx = m.handle(Event::Answered(PostKind::Renew, device(SignInState::WaitingForSignIn)), T0 + 5_000);
        assert!(scheduled(&fx).is_some());
        assert!(!fx.iter().any(|e| matches!(e, Effect::FollowPopup { .. })), "no window for a device code");
        assert_eq!(m.seconds_left(), 900);
    }

    #[test]
    fn a_refused_confirmation_or_new_code_goes_to_the_screen() {
        let mut m = showing(Purpose::Register, device(SignInState::Expired));
        let failure = refusal(ErrorCode::TooManySignIns);
        let fx = m.handle(Event::Refused(PostKind::Renew, failure.clone()), T0);
        assert_eq!(fx, vec![Effect::Report(Outcome::Refused(failure.clone()))]);
        let fx = m.handle(Event::Refused(PostKind::Confirm, failure.clone()), T0);
        assert_eq!(fx, vec![Effect::Report(Outcome::Refused(failure))]);
        assert!(m.notice().is_none());
    }

    // --- Credential ---------------------------------------------------------------------------

    #[test]
    fn a_closed_window_is_reported_only_if_the_sign_in_still_waits() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let _ = m.handle(Event::PopupClosed, T0);
        let _ = m.handle(Event::Status(popup(SignInState::WaitingForSignIn)), T0);
        assert_eq!(m.notice(), Some(ErrorCode::PopupClosed.message()));
        // Reported once: the next answer does not repeat it (the notice stays until acted on).
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let _ = m.handle(Event::PopupClosed, T0);
        let _ = m.handle(Event::Status(popup(SignInState::Registering)), T0);
        assert!(m.notice().is_none(), "the window closed itself after the sign-in");
        let _ = m.handle(Event::Status(popup(SignInState::WaitingForSignIn)), T0);
        assert!(m.notice().is_none(), "the flag was used up");
    }

    #[test]
    fn a_closed_window_does_not_hide_an_earlier_notice() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let mismatch = ErrorCode::StateMismatch.message();
        let _ = m.handle(Event::WindowMessage { id: "s1".into(), failure: Some(mismatch.into()), claim: None }, T0);
        let _ = m.handle(Event::PopupClosed, T0);
        let _ = m.handle(Event::Status(popup(SignInState::WaitingForSignIn)), T0);
        assert_eq!(m.notice(), Some(mismatch));
    }

    #[test]
    fn the_panels_credential_sign_in_is_reported_once_its_claim_is_accepted_and_registers_nothing() {
        let mut m = showing(Purpose::SignInOnly, popup(SignInState::WaitingForSignIn));
        let fx = m.handle(Event::Status(popup(SignInState::SignedIn)), T0);
        assert!(reports(&fx).is_empty(), "signed in, but this browser has not claimed the answer yet");
        assert!(scheduled(&fx).is_none(), "the claim comes from the window or the typed code, not the status");
        let fx = m.handle(Event::WindowMessage { id: "s1".into(), failure: None, claim: Some("h".into()) }, T0);
        let only = Post::Claim { claim: "h".into(), sign_in_only: true };
        assert_eq!(fx, vec![Effect::Post { id: "s1".into(), post: only }]);
        let fx = m.handle(Event::Claim("AAAA-AAAA".into()), T0);
        assert!(matches!(&fx[..], [Effect::Post { post: Post::Claim { sign_in_only: true, .. }, .. }]), "{fx:?}");

        // A refused claim is a notice, not a sign-in.
        let fx = m.handle(Event::Refused(PostKind::Claim, refusal(ErrorCode::ConfirmationCodeWrong)), T0);
        assert!(reports(&fx).is_empty() && m.notice().is_some());
        let fx = m.handle(Event::Answered(PostKind::Claim, popup(SignInState::SignedIn)), T0);
        assert_eq!(reports(&fx), vec![&Outcome::SignedIn("s1".into())]);
        assert!(fx.contains(&Effect::ClosePopup));
        let fx = m.handle(Event::Answered(PostKind::Claim, popup(SignInState::SignedIn)), T0);
        assert!(reports(&fx).is_empty(), "once");
        // The wizard's claim starts registration and reports nothing yet.
        let mut w = showing(Purpose::Register, popup(SignInState::SignedIn));
        assert!(reports(&w.handle(Event::Answered(PostKind::Claim, popup(SignInState::Registering)), T0)).is_empty());
    }

    #[test]
    fn the_window_closes_once_registration_starts_but_not_while_signed_in() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        assert!(!m.handle(Event::Status(popup(SignInState::SignedIn)), T0).contains(&Effect::ClosePopup));
        assert!(m.handle(Event::Status(popup(SignInState::Registering)), T0).contains(&Effect::ClosePopup));
        assert!(m.handle(Event::Status(completed(AddMethod::Credential)), T0).contains(&Effect::ClosePopup));
        let mut d = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        assert!(!d.handle(Event::Status(device(SignInState::Registering)), T0).contains(&Effect::ClosePopup));
    }

    #[test]
    fn a_status_past_waiting_clears_the_notice() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let _ = m.handle(Event::PopupBlocked("blocked".into()), T0);
        let _ = m.handle(Event::Status(popup(SignInState::WaitingForSignIn)), T0);
        assert_eq!(m.notice(), Some("blocked"), "kept while waiting");
        let _ = m.handle(Event::Status(popup(SignInState::SignedIn)), T0);
        assert!(m.notice().is_none());
    }

    #[test]
    fn the_windows_claim_starts_registration_and_its_failure_is_shown() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let fx = m.handle(Event::WindowMessage { id: "s1".into(), failure: None, claim: Some("h".into()) }, T0);
        assert_eq!(
            fx,
            vec![Effect::Post { id: "s1".into(), post: Post::Claim { claim: "h".into(), sign_in_only: false } }]
        );
        let fx = m.handle(Event::WindowMessage { id: "s1".into(), failure: None, claim: None }, T0);
        assert_eq!(fx, vec![Effect::FetchStatus { id: "s1".into() }], "read the status at once");
        let declined = ErrorCode::SignInDeclined.message();
        let _ = m.handle(Event::WindowMessage { id: "s1".into(), failure: Some(declined.into()), claim: None }, T0);
        assert_eq!(m.notice(), Some(declined));
        assert!(m
            .handle(Event::WindowMessage { id: "x".into(), failure: None, claim: Some("h".into()) }, T0)
            .is_empty());
    }

    #[test]
    fn a_typed_code_clears_the_notice_and_a_wrong_one_is_shown() {
        let mut m = showing(Purpose::Register, popup(SignInState::SignedIn));
        let _ = m.handle(Event::PopupBlocked("old".into()), T0);
        let fx = m.handle(Event::Claim("AAAA-AAAA".into()), T0);
        assert_eq!(
            fx,
            vec![Effect::Post {
                id: "s1".into(),
                post: Post::Claim { claim: "AAAA-AAAA".into(), sign_in_only: false }
            }]
        );
        assert!(m.notice().is_none());
        let fx = m.handle(Event::Refused(PostKind::Claim, refusal(ErrorCode::ConfirmationCodeWrong)), T0);
        assert!(fx.is_empty());
        assert_eq!(m.notice(), Some(ErrorCode::ConfirmationCodeWrong.message()));
        let fx = m.handle(Event::Answered(PostKind::Claim, popup(SignInState::Registering)), T0);
        assert!(fx.contains(&Effect::ClosePopup) && scheduled(&fx).is_some());
    }

    #[test]
    fn retry_reopens_a_waiting_sign_ins_window_or_renews_an_ended_one() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let url = m.status().and_then(|s| s.authorize_url.clone()).unwrap();
        let _ = m.handle(Event::PopupBlocked("x".into()), T0);
        assert_eq!(m.handle(Event::Retry, T0), vec![Effect::OpenPopup { url, then_renew: None }]);
        assert!(m.notice().is_none());
        let _ = m.handle(Event::Status(popup(SignInState::Failed)), T0);
        assert_eq!(
            m.handle(Event::Retry, T0),
            vec![Effect::OpenPopup { url: "about:blank".into(), then_renew: Some("s1".into()) }]
        );
        // The renewed sign-in's window goes to Microsoft, and the sign-in is followed again.
        let renewed = popup(SignInState::WaitingForSignIn);
        let url = renewed.authorize_url.clone().unwrap();
        let fx = m.handle(Event::Answered(PostKind::Renew, renewed), T0);
        assert_eq!(fx[0], Effect::FollowPopup { url });
        assert!(scheduled(&fx).is_some());
        assert!(SignInModel::new(Purpose::Register).handle(Event::Retry, T0).is_empty());
    }

    #[test]
    fn a_refused_renew_closes_the_empty_window_and_says_why() {
        let mut m = showing(Purpose::Register, popup(SignInState::Failed));
        let fx = m.handle(Event::Refused(PostKind::Renew, refusal(ErrorCode::SignInCancelled)), T0);
        assert_eq!(fx, vec![Effect::ClosePopup]);
        assert_eq!(m.notice(), Some(ErrorCode::SignInCancelled.message()));
    }

    #[test]
    fn reopen_opens_the_authorization_url_and_a_blocked_window_is_said() {
        let mut m = showing(Purpose::Register, popup(SignInState::WaitingForSignIn));
        let url = m.status().and_then(|s| s.authorize_url.clone()).unwrap();
        assert_eq!(m.handle(Event::Reopen, T0), vec![Effect::OpenPopup { url, then_renew: None }]);
        let blocked = ErrorCode::PopupBlocked.message();
        assert!(m.handle(Event::PopupBlocked(blocked.into()), T0).is_empty());
        assert_eq!(m.notice(), Some(blocked));
        let mut signed_in = showing(Purpose::Register, popup(SignInState::SignedIn));
        assert!(signed_in.handle(Event::Reopen, T0).is_empty(), "no URL once signed in");
    }

    // --- Leaving ----------------------------------------------------------------------------------

    #[test]
    fn leaving_closes_the_window_cancels_and_stops_the_loop() {
        let mut m = SignInModel::new(Purpose::Register);
        let (seq, _) = scheduled(&m.handle(Event::Started(popup(SignInState::WaitingForSignIn)), T0)).unwrap();
        let _ = m.handle(Event::PopupBlocked("x".into()), T0);
        assert_eq!(m.handle(Event::Leave, T0), vec![Effect::ClosePopup, Effect::Release]);
        assert!(m.status().is_none() && m.notice().is_none());
        assert!(m.handle(Event::TimerFired { seq }, T0).is_empty());
        assert!(m.handle(Event::Status(popup(SignInState::WaitingForSignIn)), T0).is_empty(), "a late read");
        assert!(m.handle(Event::FetchFailed { id: "s1".into() }, T0).is_empty());
    }

    #[test]
    fn a_late_start_answer_after_leaving_is_still_owned_so_that_it_is_cancelled() {
        // The registry cancels a sign-in owned by a screen that went away (see `signins`); a
        // screen still shown owns it and shows it, as before.
        let mut m = SignInModel::new(Purpose::SignInOnly);
        let _ = m.handle(Event::Start(start_body(AddMethod::DeviceCode)), T0);
        let fx = m.handle(Event::Started(device(SignInState::WaitingForSignIn)), T0);
        assert_eq!(fx[0], Effect::Own("s1".into()));
    }

    #[test]
    fn failed_sign_ins_keep_their_error_for_the_screen() {
        let mut m = showing(Purpose::Register, device(SignInState::WaitingForSignIn));
        let code = ErrorCode::BlockedByConditionalAccess;
        let failed = SignInStatus { error: Some(ErrorDetail::new(code)), ..device(SignInState::Failed) };
        let fx = m.handle(Event::Status(failed), T0);
        assert!(fx.is_empty(), "{fx:?}");
        assert!(crate::wizard::logic::suggests_manual(m.status().unwrap()));
    }
}
