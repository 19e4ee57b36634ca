//! One sign-in as the app follows it, as plain Rust (tested natively): the wizard's Step 2 and the
//! sign-in panel feed it [`Event`]s (answers of the edge, timers, the sign-in window, the
//! administrator's clicks) and carry out the [`Effect`]s it returns ([`crate::wizard::signin_loop`]
//! does, in the browser). It holds the status shown, the notice the status cannot show, the
//! countdown, and the one status loop: the next read is scheduled after the server's `poll_after`
//! (clamped), with back-off while reads fail; a newer schedule replaces any older one.

use crate::api::ApiFailure;
use crate::wizard::logic::{prefill, window_message_notice, Prefill};
use shared::api::{SignInPurpose, SignInState, SignInStatus, StartSignIn};
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
    /// Credential: the sign-in window's claim, or the confirmation code typed from it (a sign-in
    /// started with [`SignInPurpose::SignInOnly`] registers nothing when it is claimed).
    Claim {
        /// The handle or the code.
        claim: String,
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
            // A Credential answer not claimed yet may still be claimed by its window.
            Purpose::SignInOnly => {
                s.state.is_final()
                    || (s.state == SignInState::SignedIn && (s.method != AddMethod::Credential || s.claimed))
            }
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
        Post::Claim { claim }
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
        // A Credential answer claimed by the window the app opened (its opener cut off), as the
        // app's own claim is (see `Event::Answered`).
        if self.purpose == Purpose::SignInOnly
            && s.method == AddMethod::Credential
            && s.state == SignInState::SignedIn
            && s.claimed
            && !self.reported
        {
            self.reported = true;
            out.push(Effect::ClosePopup);
            out.push(Effect::Report(Outcome::SignedIn(s.id.clone())));
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
            Event::Start(mut body) => {
                // The panel's sign-in is for creating applications elsewhere: it registers nothing.
                if self.purpose == Purpose::SignInOnly && body.purpose.is_register() {
                    body.purpose = SignInPurpose::SignInOnly;
                }
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
#[path = "signin_model_tests.rs"]
mod tests;
