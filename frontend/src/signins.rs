//! The sign-ins the app starts, and cancelling them when nobody needs them any more.
//!
//! An account may have only 3 sign-ins under way, so a sign-in the app starts and then leaves
//! running would lock the administrator out for up to 15 minutes. Every screen that starts one
//! (the wizard's Step 2, the sign-in panel of the Manual method's Save and of "Recreate multiple
//! applications") owns it through an [`Owned`] handle: when the screen goes away (Cancel, unticking
//! the box, leaving the page), when it is abandoned (switching to Manual) or replaced by a newer
//! one, it is cancelled (`DELETE /api/signins/{id}`); on page unload, with a `keepalive` request.
//! A sign-in whose applications were just saved ([`saved`]) is never cancelled.
//!
//! The bookkeeping is [`SignInRegistry`], plain Rust tested natively; [`Owned`] and the unload
//! hook only apply its answers in the browser. [`start_problem`] and [`started_label`] are the
//! decisions of the "sign-ins under way" list ([`crate::wizard::running`]).

use crate::api::{self, ApiFailure};
use crate::i18n::{Msg, When};
use shared::endpoints::CANCEL_SIGN_IN;
use shared::ErrorCode;
use std::cell::{Cell, RefCell};

/// A screen that may own sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerId(u32);

/// Which screen owns which sign-in, and which sign-ins to cancel on each event. Each method
/// returns the IDs to cancel now.
#[derive(Debug, Default)]
pub struct SignInRegistry {
    next: u32,
    /// Screens still shown.
    open: Vec<OwnerId>,
    /// Sign-ins started and not yet cancelled or saved, with their screen.
    owned: Vec<(OwnerId, String)>,
}

impl SignInRegistry {
    /// A new screen.
    pub fn open(&mut self) -> OwnerId {
        self.next += 1;
        let owner = OwnerId(self.next);
        self.open.push(owner);
        owner
    }

    /// `owner` started sign-in `id`: it replaces the screen's earlier ones (cancel those). A start
    /// that answers after its screen went away is cancelled at once.
    #[must_use]
    pub fn started(&mut self, owner: OwnerId, id: &str) -> Vec<String> {
        let mut cancel = self.release(owner);
        cancel.retain(|c| c != id);
        if self.open.contains(&owner) {
            self.owned.push((owner, id.to_owned()));
        } else {
            cancel.push(id.to_owned());
        }
        cancel
    }

    /// The applications of sign-in `id` were saved: it must never be cancelled.
    pub fn saved(&mut self, id: &str) {
        self.forget(id);
    }

    /// Sign-in `id` was cancelled some other way (the list of sign-ins under way).
    pub fn forget(&mut self, id: &str) {
        self.owned.retain(|(_, i)| i != id);
    }

    /// `owner` abandons its sign-ins but stays shown (going back, switching to Manual, unticking).
    #[must_use]
    pub fn release(&mut self, owner: OwnerId) -> Vec<String> {
        let (mine, rest) = std::mem::take(&mut self.owned).into_iter().partition(|(o, _)| *o == owner);
        self.owned = rest;
        mine.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    }

    /// `owner` went away: its sign-ins are cancelled.
    #[must_use]
    pub fn close(&mut self, owner: OwnerId) -> Vec<String> {
        self.open.retain(|o| *o != owner);
        self.release(owner)
    }

    /// The page is being closed or left: every sign-in still owned (kept, in case the page comes
    /// back from the browser's back-forward cache and its screens go away later).
    pub fn unloading(&self) -> Vec<String> {
        self.owned.iter().map(|(_, id)| id.clone()).collect()
    }

    /// Whether `owner` owns sign-in `id`.
    pub fn owns(&self, owner: OwnerId, id: &str) -> bool {
        self.owned.iter().any(|(o, i)| *o == owner && i == id)
    }
}

thread_local! {
    static REGISTRY: RefCell<SignInRegistry> = RefCell::new(SignInRegistry::default());
    static UNLOAD_HOOKED: Cell<bool> = const { Cell::new(false) };
}

fn with_registry<T>(f: impl FnOnce(&mut SignInRegistry) -> T) -> T {
    REGISTRY.with(|r| f(&mut r.borrow_mut()))
}

/// Cancels each sign-in (`DELETE`, `keepalive`: it is sent even if the page goes away meanwhile).
fn cancel(ids: Vec<String>) {
    for id in ids {
        api::send_keepalive(&CANCEL_SIGN_IN, &id);
    }
}

/// Once per page: on `pagehide` (closing the tab, reloading, navigating away), cancel every
/// sign-in still owned. Best effort: a browser may drop requests of a page being discarded.
fn hook_unload() {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    if UNLOAD_HOOKED.with(|h| h.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else { return };
    let handler = Closure::<dyn Fn()>::new(|| cancel(with_registry(|r| r.unloading())));
    let _ = window.add_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
    handler.forget();
}

/// A screen's claim on the sign-ins it starts. Created inside a component: when the component
/// goes away, its unsaved sign-ins are cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned(OwnerId);

impl Owned {
    /// Opens a claim for the current component (cancelled on its cleanup).
    pub fn new() -> Self {
        hook_unload();
        let owner = with_registry(|r| r.open());
        leptos::prelude::on_cleanup(move || cancel(with_registry(|r| r.close(owner))));
        Owned(owner)
    }

    /// This screen started sign-in `id` (replacing its earlier ones, which are cancelled).
    pub fn started(self, id: &str) {
        cancel(with_registry(|r| r.started(self.0, id)));
    }

    /// This screen abandons its sign-ins: cancel them.
    pub fn release(self) {
        cancel(with_registry(|r| r.release(self.0)));
    }
}

impl Default for Owned {
    fn default() -> Self {
        Self::new()
    }
}

/// The applications of sign-in `id` were saved with an organization: never cancel it.
pub fn saved(id: &str) {
    with_registry(|r| r.saved(id));
}

/// Cancels sign-in `id` from the list of sign-ins under way; answers whether the edge accepted.
pub async fn cancel_listed(id: &str) -> Result<(), ApiFailure> {
    with_registry(|r| r.forget(id));
    api::fetch(&CANCEL_SIGN_IN, id).await.map(drop)
}

/// Why starting a sign-in was refused, as the app handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartProblem {
    /// The account's sign-ins under way are at the limit: list them, offer to cancel one.
    TooMany,
    /// Too many sign-ins were started in the last hour: only waiting helps.
    RateLimited,
    /// Anything else: the edge's sentence.
    Other(String),
}

impl StartProblem {
    /// The sentence shown to the administrator, in the language shown.
    pub fn message(&self) -> String {
        match self {
            StartProblem::TooMany => crate::i18n::I18n::get().code(ErrorCode::TooManySignIns),
            StartProblem::RateLimited => crate::i18n::I18n::get().code(ErrorCode::SignInsRateLimited),
            StartProblem::Other(m) => m.clone(),
        }
    }
}

/// Classifies a refused start by its error code (never by its text).
pub fn start_problem(failure: &ApiFailure) -> StartProblem {
    match failure.code() {
        Some(ErrorCode::TooManySignIns) => StartProblem::TooMany,
        Some(ErrorCode::SignInsRateLimited) => StartProblem::RateLimited,
        _ => StartProblem::Other(failure.message()),
    }
}

/// When a listed sign-in started, for the administrator: "3 minutes ago (10:22 UTC)", in whole
/// minutes ("now" in the first one); `None` when the time cannot be read (shown as given).
pub fn started_label(started_at: &str, now_ms: f64) -> Option<Msg> {
    let at = shared::certificate::parse_rfc3339(started_at)? * 1000;
    let minutes = ((now_ms as i64 - at) / 60_000).max(0);
    Some(
        Msg::new(key!("signin.running.started"))
            .when("ago", When::Ago((minutes * 60) as f64))
            .when("time", When::Time(started_at.to_owned())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::ErrorBody;

    #[test]
    fn a_screen_that_goes_away_cancels_what_it_started() {
        let mut r = SignInRegistry::default();
        let wizard = r.open();
        assert_eq!(r.started(wizard, "s1"), Vec::<String>::new());
        assert!(r.owns(wizard, "s1"));
        assert_eq!(r.close(wizard), vec!["s1".to_owned()]);
        assert_eq!(r.close(wizard), Vec::<String>::new(), "cancelled once");
        assert!(r.unloading().is_empty());
    }

    #[test]
    fn a_new_sign_in_replaces_the_screens_earlier_one() {
        let mut r = SignInRegistry::default();
        let wizard = r.open();
        let _ = r.started(wizard, "s1");
        assert_eq!(r.started(wizard, "s2"), vec!["s1".to_owned()]);
        assert_eq!(r.started(wizard, "s2"), Vec::<String>::new(), "the same sign-in again is not cancelled");
        assert_eq!(r.close(wizard), vec!["s2".to_owned()]);
    }

    #[test]
    fn a_saved_sign_in_is_never_cancelled() {
        let mut r = SignInRegistry::default();
        let step3 = r.open();
        let _ = r.started(step3, "s1");
        r.saved("s1");
        assert_eq!(r.close(step3), Vec::<String>::new());
        assert!(r.unloading().is_empty(), "nor on page unload");
    }

    #[test]
    fn screens_cancel_only_their_own() {
        let mut r = SignInRegistry::default();
        let (panel, edit) = (r.open(), r.open());
        let _ = r.started(panel, "p");
        let _ = r.started(edit, "e");
        assert_eq!(r.release(panel), vec!["p".to_owned()], "unticking the box");
        assert!(r.owns(edit, "e"));
        assert_eq!(r.unloading(), vec!["e".to_owned()]);
        // The panel is still shown: it can start again.
        assert_eq!(r.started(panel, "p2"), Vec::<String>::new());
        assert_eq!(r.unloading(), vec!["e".to_owned(), "p2".to_owned()]);
        assert_eq!(r.unloading().len(), 2, "unloading keeps the list");
    }

    #[test]
    fn a_start_answered_after_its_screen_went_away_is_cancelled_at_once() {
        let mut r = SignInRegistry::default();
        let panel = r.open();
        assert!(r.close(panel).is_empty());
        assert_eq!(r.started(panel, "late"), vec!["late".to_owned()]);
        assert!(r.unloading().is_empty());
    }

    #[test]
    fn one_cancelled_from_the_list_is_forgotten() {
        let mut r = SignInRegistry::default();
        let wizard = r.open();
        let _ = r.started(wizard, "s1");
        r.forget("s1");
        assert!(r.close(wizard).is_empty());
    }

    #[test]
    fn refusals_are_told_apart_by_code_not_text() {
        let api = |code, msg: &str| ApiFailure::Api(Box::new(ErrorBody::with_message(code, msg)));
        assert_eq!(start_problem(&api(ErrorCode::TooManySignIns, "anything")), StartProblem::TooMany);
        assert_eq!(start_problem(&api(ErrorCode::SignInsRateLimited, "x")), StartProblem::RateLimited);
        assert_eq!(StartProblem::RateLimited.message(), ErrorCode::SignInsRateLimited.message());
        // A message that merely reads like the limit is not the limit.
        let lookalike = api(ErrorCode::Internal, ErrorCode::TooManySignIns.message());
        assert!(matches!(start_problem(&lookalike), StartProblem::Other(_)));
        assert!(matches!(start_problem(&ApiFailure::Transport("down".into())), StartProblem::Other(_)));
    }

    #[test]
    fn started_times_read_as_minutes_ago_and_utc_clock() {
        let utc_ms = |s: &str| shared::certificate::parse_rfc3339(s).map(|secs| secs * 1000);
        let at = utc_ms("2025-01-31T10:22:33Z").unwrap();
        assert_eq!(at, 1_738_318_953_000);
        assert_eq!(utc_ms("2025-01-31T10:22:33.250Z"), Some(at));
        let label = |now: f64| crate::i18n::english(&started_label("2025-01-31T10:22:33Z", now).unwrap());
        assert_eq!(label(at as f64 + 5_000.0), "now (10:22 UTC)");
        assert_eq!(label(at as f64 + 61_000.0), "1 minute ago (10:22 UTC)");
        assert_eq!(label(at as f64 + 14.0 * 60_000.0), "14 minutes ago (10:22 UTC)");
        assert_eq!(label(at as f64 - 9_000.0), "now (10:22 UTC)");
        assert_eq!(started_label("yesterday", 0.0), None);
    }
}
