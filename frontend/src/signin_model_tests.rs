//! The sign-in model, natively: each event against each state.

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
        claimed: false,
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
    StartSignIn::new(CloudEnvironment::Global, shared::api::SignInMethod::of(method).unwrap())
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
    assert_eq!(fx, vec![Effect::ClosePopup, Effect::Report(Outcome::StartRefused(refusal(ErrorCode::TooManySignIns)))]);
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
        scheduled(&m.handle(Event::Answered(PostKind::Confirm, device(SignInState::WaitingForMicrosoft)), T0)).unwrap();
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
    let _ = m.handle(Event::Status(SignInStatus { expires_in: Some(10), ..device(SignInState::WaitingForSignIn) }), T0);
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
    assert!(scheduled(&fx).is_some(), "followed until claimed: the window may claim it itself");
    let fx = m.handle(Event::WindowMessage { id: "s1".into(), failure: None, claim: Some("h".into()) }, T0);
    let claim = Post::Claim { claim: "h".into() };
    assert_eq!(fx, vec![Effect::Post { id: "s1".into(), post: claim }]);
    let fx = m.handle(Event::Claim("AAAA-AAAA".into()), T0);
    assert!(matches!(&fx[..], [Effect::Post { post: Post::Claim { .. }, .. }]), "{fx:?}");

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
fn a_panels_credential_answer_claimed_by_its_window_is_reported_once_and_no_longer_followed() {
    let mut m = showing(Purpose::SignInOnly, popup(SignInState::WaitingForSignIn));
    let claimed = SignInStatus { claimed: true, ..popup(SignInState::SignedIn) };
    let fx = m.handle(Event::Status(claimed.clone()), T0);
    assert_eq!(reports(&fx), vec![&Outcome::SignedIn("s1".into())]);
    assert!(fx.contains(&Effect::ClosePopup));
    assert!(scheduled(&fx).is_none(), "claimed: nothing more to wait for");
    assert!(reports(&m.handle(Event::Status(claimed), T0)).is_empty(), "once");
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
    assert_eq!(fx, vec![Effect::Post { id: "s1".into(), post: Post::Claim { claim: "h".into() } }]);
    let fx = m.handle(Event::WindowMessage { id: "s1".into(), failure: None, claim: None }, T0);
    assert_eq!(fx, vec![Effect::FetchStatus { id: "s1".into() }], "read the status at once");
    let declined = ErrorCode::SignInDeclined.message();
    let _ = m.handle(Event::WindowMessage { id: "s1".into(), failure: Some(declined.into()), claim: None }, T0);
    assert_eq!(m.notice(), Some(declined));
    assert!(m.handle(Event::WindowMessage { id: "x".into(), failure: None, claim: Some("h".into()) }, T0).is_empty());
}

#[test]
fn a_typed_code_clears_the_notice_and_a_wrong_one_is_shown() {
    let mut m = showing(Purpose::Register, popup(SignInState::SignedIn));
    let _ = m.handle(Event::PopupBlocked("old".into()), T0);
    let fx = m.handle(Event::Claim("AAAA-AAAA".into()), T0);
    assert_eq!(fx, vec![Effect::Post { id: "s1".into(), post: Post::Claim { claim: "AAAA-AAAA".into() } }]);
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

#[test]
fn the_panels_start_asks_for_a_sign_in_that_registers_nothing() {
    use shared::api::SignInPurpose;
    let started = |purpose| {
        let mut m = SignInModel::new(purpose);
        let fx = m.handle(Event::Start(start_body(AddMethod::Credential)), T0);
        fx.into_iter().find_map(|e| match e {
            Effect::Start(body) => Some(body.purpose),
            _ => None,
        })
    };
    assert_eq!(started(Purpose::SignInOnly), Some(SignInPurpose::SignInOnly));
    assert_eq!(started(Purpose::Register), Some(SignInPurpose::Register));
}
