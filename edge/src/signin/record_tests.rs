//! The sign-in's stages and transitions, natively: each stage against each command.

use super::*;
use crate::microsoft::identity::{OAuthFailure, TokenOutcome};
use crate::microsoft::MicrosoftError;
use crate::provisioning::plan::{Credential, Object};

const APP: &str = "M365 Backup";
const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn record() -> SignInRecord {
    let mut r = SignInRecord::new("s1", "acct", CloudEnvironment::Global, "client", Millis(0));
    r.on_device_code(
        DeviceAuthorization {
            device_code: SecretString::new("DEVICE-SECRET".into()),
            user_code: "ABCDE1234".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            expires_in: 900,
            interval: 5,
        },
        Millis(0),
    );
    r
}

fn admin_token() -> AccessToken {
    AccessToken { access_token: SecretString::new("ADMIN-TOKEN".into()), expires_in: 3599, refresh_token: None }
}

fn signed_in(r: &mut SignInRecord, now: Millis) {
    r.on_poll(TokenOutcome::Token(admin_token()), now, APP, now);
}

fn pending() -> TokenOutcome {
    TokenOutcome::Error(OAuthFailure {
        error: Some(crate::microsoft::identity::OAuthError::AuthorizationPending),
        microsoft: MicrosoftError { code: ErrorCode::AuthorizationPending, status: 400, ..MicrosoftError::transport() },
    })
}

/// Finishes the running registration with one generated secret per application.
fn finish(r: &mut SignInRecord, now: Millis) {
    while let Some(run) = r.running() {
        run.phase = Phase::Done;
        run.tenant.get_or_insert(crate::provisioning::plan::TenantInfo {
            id: "tenant-a".into(),
            display_name: "A".into(),
            default_domain: "a.example".into(),
        });
        for a in &mut run.apps {
            a.credential =
                Credential::Secret { secret: SecretString::new("GEN".into()), expires_at: None, key_id: None };
            a.object = Object::Known { object_id: format!("obj{}", a.index), app_id: format!("app{}", a.index) };
        }
    }
    r.settle(now);
}

fn completed() -> SignInRecord {
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    r.confirm(APP);
    finish(&mut r, Millis(6000));
    r
}

fn credential() -> SignInRecord {
    let mut r = SignInRecord::new(ID, "acct", CloudEnvironment::Global, "client", Millis(0));
    let endpoints = shared::CloudEndpoints::official(CloudEnvironment::Global);
    let random: [u8; super::super::browser::RANDOM_BYTES] = std::array::from_fn(|i| (i * 7 + 3) as u8);
    r.on_browser_sign_in(BrowserSignIn::new(
        ID,
        &endpoints,
        "client",
        "https://x/api/signin/callback",
        &random,
        Millis(0),
    ));
    r
}

fn window_secret(r: &SignInRecord) -> String {
    match &r.stage {
        Stage::Window { browser } => browser.state_secret.expose().to_owned(),
        other => panic!("no window: {other:?}"),
    }
}

fn claim() -> Claim {
    Claim::new(&[9u8; super::super::browser::CLAIM_RANDOM_BYTES], Millis(20))
}

/// A Credential sign-in whose answer arrived, unclaimed; with the claim's handle.
fn credential_signed_in() -> (SignInRecord, String) {
    let mut r = credential();
    let secret = window_secret(&r);
    r.take_browser_answer(&secret, Millis(10)).unwrap();
    let c = claim();
    let handle = c.handle.expose().to_owned();
    r.on_browser_token(admin_token(), c, Millis(20));
    (r, handle)
}

#[test]
fn the_status_never_shows_the_device_code_or_the_token() {
    let mut r = record();
    let s = serde_json::to_string(&r.status(Millis(1000))).unwrap();
    assert!(s.contains("ABCDE1234") && !s.contains("DEVICE-SECRET"));
    assert_eq!(r.status(Millis(1000)).expires_in, Some(899));
    signed_in(&mut r, Millis(5000));
    let s = serde_json::to_string(&r.status(Millis(6000))).unwrap();
    assert!(!s.contains("ADMIN-TOKEN") && !s.contains("ABCDE1234"));
    assert_eq!(r.state(), SignInState::SignedIn);
}

#[test]
fn confirming_before_microsoft_reports_waits_then_registers() {
    let mut r = record();
    r.on_poll(pending(), Millis(5000), APP, Millis(5000));
    assert_eq!(r.state(), SignInState::WaitingForSignIn);
    assert!(!r.confirm(APP));
    assert_eq!(r.state(), SignInState::WaitingForMicrosoft);
    signed_in(&mut r, Millis(10_000));
    assert_eq!(r.state(), SignInState::Registering, "the token after the checkbox starts registration");
    assert!(r.running().is_some());
    assert!(r.device_code().is_none(), "the device code is gone");
}

#[test]
fn the_checkbox_after_the_token_starts_registration() {
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    assert_eq!(r.state(), SignInState::SignedIn);
    assert!(r.confirm(APP));
    assert_eq!(r.state(), SignInState::Registering);
    assert!(!r.confirm(APP), "once");
}

#[test]
fn expiry_without_a_poll_clears_the_code() {
    let mut r = record();
    r.tick(Millis(900_000));
    assert_eq!(r.state(), SignInState::Expired);
    assert!(r.device_code().is_none());
    assert_eq!(r.status(Millis(900_000)).error.unwrap().code, ErrorCode::CodeExpired);
    assert_eq!(
        r.next_alarm(Millis(900_000)),
        Some(Millis(super::super::limits::RETENTION_MS)),
        "then only the deletion"
    );
    assert!(!r.retention_over(Millis(900_000)) && r.retention_over(Millis(super::super::limits::RETENTION_MS)));
    assert!(r.can_renew());
}

#[test]
fn the_alarm_follows_the_poller_then_the_hold() {
    let mut r = record();
    assert_eq!(r.next_alarm(Millis(0)), Some(Millis(5250)));
    signed_in(&mut r, Millis(5000));
    r.confirm(APP);
    assert_eq!(r.next_alarm(Millis(6000)), Some(Millis(6000)));
    finish(&mut r, Millis(7000));
    assert_eq!(r.state(), SignInState::Completed);
    assert_eq!(r.next_alarm(Millis(7000)), Some(Millis(7000 + HOLD_AFTER_COMPLETION_MS)));
}

#[test]
fn additional_applications_alone_after_a_sign_in() {
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    assert!(r.start_additional(APP, None).is_ok());
    let more = r.holding().unwrap().additional.as_ref().unwrap();
    assert_eq!(more.apps.iter().map(|a| a.index).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(more.tenant.is_none(), "it reads the tenant itself");
    assert!(r.holding().unwrap().main.is_none());
    r.mark_saved(Millis(9000)).unwrap();
    assert_eq!(r.discard_at(), Some(Millis(9000)), "the database is asked what to keep, then every secret goes");
}

#[test]
fn a_save_holds_what_it_took_and_only_what_is_still_held_can_be_taken() {
    let mut r = completed();
    assert_eq!(r.take_for_save(Millis(7000)), Ok(()));
    // The page is left while the save checks the credential: the cancel deletes nothing early.
    r.cancel(Millis(8000));
    assert_eq!(r.discard_at(), Some(Millis(7000 + SAVE_LEASE_MS)));
    assert_eq!(r.take_for_save(Millis(9000)), Err(ErrorCode::NotFound), "a cancelled sign-in gives nothing");
    r.mark_saved(Millis(9500)).unwrap();
    assert!(r.holding().unwrap().saved, "a save under way when the page was left still lands");

    let mut r2 = completed();
    r2.secrets_removed(); // switched to a certificate
    assert_eq!(r2.take_for_save(Millis(9000)), Err(ErrorCode::NotFound), "nothing is taken without its secret");
    let mut r3 = completed();
    r3.forget_secrets();
    assert_eq!(r3.take_for_save(Millis(9000)), Err(ErrorCode::NotFound), "nor after the hold ended");
    // A failed save releases at once.
    let mut r4 = completed();
    r4.take_for_save(Millis(7000)).unwrap();
    r4.release(Millis(7500)).unwrap();
    assert_eq!(r4.discard_at(), Some(Millis(7500)));
    r4.mark_saved(Millis(7600)).unwrap();
    assert_eq!(r4.release(Millis(7700)), Err(ErrorCode::NotFound), "what is saved is not released");
}

#[test]
fn forgetting_secrets_clears_all_of_them() {
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    r.forget_secrets();
    let persisted = serde_json::to_string(&r).unwrap();
    assert!(!persisted.contains("ADMIN-TOKEN") && !persisted.contains("DEVICE-SECRET"));
    let mut r = completed();
    r.forget_secrets();
    let persisted = serde_json::to_string(&r).unwrap();
    assert!(!persisted.contains("ADMIN-TOKEN") && !persisted.contains("GEN"));
    assert_eq!(r.discard_at(), None);
}

#[test]
fn additional_applications_need_a_finished_main_and_the_token() {
    let mut r = record();
    assert_eq!(r.start_additional(APP, None), Err(ErrorCode::AuthorizationPending));
    signed_in(&mut r, Millis(5000));
    r.confirm(APP);
    assert_eq!(r.start_additional(APP, None), Err(ErrorCode::AuthorizationPending), "not while the main one runs");
    assert_eq!(r.state(), SignInState::Registering, "and the main one goes on");
    finish(&mut r, Millis(6000));
    assert!(r.start_additional(APP, None).is_ok());
    assert_eq!(r.holding().unwrap().additional.as_ref().unwrap().apps.len(), 3);
    assert_eq!(r.state(), SignInState::Registering);
    finish(&mut r, Millis(7000));
    assert_eq!(r.applications_done(), 4);
    assert!(r.start_additional(APP, None).is_ok(), "asked again: already there");
    assert_eq!(r.state(), SignInState::Completed);
}

#[test]
fn a_credential_sign_in_shows_its_url_but_never_the_verifier() {
    let r = credential();
    let Stage::Window { browser: b } = r.stage.clone() else { panic!() };
    let s = r.status(Millis(1000));
    assert_eq!(s.method, AddMethod::Credential);
    assert_eq!(s.state, SignInState::WaitingForSignIn);
    assert_eq!(s.authorize_url.as_deref(), Some(b.authorize_url.as_str()));
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains(b.verifier.expose()));
    assert_eq!(r.next_alarm(Millis(1000)), Some(b.expires_at));
}

#[test]
fn a_credential_answer_is_taken_once_and_a_forged_one_changes_nothing() {
    let mut r = credential();
    let secret = window_secret(&r);
    assert_eq!(r.take_browser_answer("forged", Millis(10)).unwrap_err(), ErrorCode::StateMismatch);
    assert!(matches!(r.stage, Stage::Window { .. }), "a forged answer does not end the admin's sign-in");
    let taken = r.take_browser_answer(&secret, Millis(10)).unwrap();
    assert_eq!(taken.state_secret.expose(), secret);
    assert!(r.is_redeeming());
    assert_eq!(r.next_alarm(Millis(10)), Some(Millis(10 + REDEEM_WINDOW_MS)), "a cut-off redemption still ends");
    assert_eq!(r.take_browser_answer(&secret, Millis(11)).unwrap_err(), ErrorCode::CodeAlreadyUsed);
    r.on_browser_token(admin_token(), claim(), Millis(20));
    assert_eq!(r.state(), SignInState::SignedIn);
    assert!(!r.is_redeeming());
    assert!(r.status(Millis(30)).authorize_url.is_none());
}

#[test]
fn registration_waits_for_the_owner_to_claim_the_answer() {
    let (mut r, handle) = credential_signed_in();
    let code = match &r.stage {
        Stage::SignedIn { claim: Some(c), .. } => c.display_code(),
        _ => panic!(),
    };
    assert!(!r.confirm(APP), "the checkbox does not confirm a pop-up answer");
    assert_eq!(r.state(), SignInState::SignedIn);
    assert_eq!(r.claim("wrong", Some(APP), Millis(30)), Err(ErrorCode::ConfirmationCodeWrong));
    assert_eq!(r.state(), SignInState::SignedIn);
    assert_eq!(r.claim(&code.to_lowercase(), Some(APP), Millis(31)), Ok(()));
    assert_eq!(r.state(), SignInState::Registering);
    assert_eq!(r.claim(&handle, Some(APP), Millis(32)), Err(ErrorCode::AuthorizationPending), "a claim is used once");
    let persisted = serde_json::to_string(&r).unwrap();
    assert!(persisted.contains("ADMIN-TOKEN"), "the token stays for registration");
}

#[test]
fn an_unclaimed_credential_sign_in_starts_nothing_and_shows_nothing() {
    let mut r = credential();
    assert_eq!(r.start_additional(APP, None), Err(ErrorCode::AuthorizationPending));
    let (mut r2, handle) = credential_signed_in();
    std::mem::swap(&mut r, &mut r2);
    // The token is held, but the owner has not claimed the answer: no application, no detail.
    assert_eq!(r.start_additional(APP, None), Err(ErrorCode::SignInNotClaimed));
    assert_eq!(r.start_additional(APP, Some("tid")), Err(ErrorCode::SignInNotClaimed));
    assert_eq!(r.take_for_save(Millis(30)), Err(ErrorCode::SignInNotClaimed));
    assert!(r.holding().is_none());
    assert_eq!(r.state(), SignInState::SignedIn);
    let s = r.status(Millis(30));
    assert!(s.result.is_none() && s.progress.is_empty() && s.error.is_none() && s.authorize_url.is_none());
    // Claimed: the owner may go on (after the main application).
    r.claim(&handle, Some(APP), Millis(40)).unwrap();
    finish(&mut r, Millis(50));
    assert_eq!(r.start_additional(APP, None), Ok(()));
}

#[test]
fn additional_applications_only_in_the_organizations_tenant() {
    let mut r = completed();
    assert_eq!(r.start_additional(APP, Some("tenant-b")), Err(ErrorCode::SignInTenantMismatch));
    assert!(r.holding().unwrap().additional.is_none(), "nothing started");
    assert_eq!(r.start_additional(APP, Some("TENANT-A")), Ok(()));

    // No tenant read yet (the Manual method): the run is told which tenant it may create in.
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    r.start_additional(APP, Some("tenant-a")).unwrap();
    assert_eq!(r.holding().unwrap().additional.as_ref().unwrap().expected_tenant.as_deref(), Some("tenant-a"));
    assert_eq!(r.start_additional(APP, Some("tenant-b")), Err(ErrorCode::SignInTenantMismatch));
    assert_eq!(r.start_additional(APP, Some("tenant-a")), Ok(()));
}

#[test]
fn wrong_codes_end_the_sign_in_and_an_unclaimed_answer_lapses() {
    let (mut r, _) = credential_signed_in();
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        assert_eq!(r.claim("AAAA-AAAA", Some(APP), Millis(30)), Err(ErrorCode::ConfirmationCodeWrong));
    }
    assert_eq!(r.state(), SignInState::Failed);
    assert!(r.token().is_none());
    assert!(r.can_renew(), "the admin may open a new window");

    let (mut r, _) = credential_signed_in();
    let Stage::SignedIn { claim: Some(c), .. } = &r.stage else { panic!() };
    let until = c.until;
    assert_eq!(r.next_alarm(Millis(20)), Some(until));
    r.tick(until);
    assert_eq!(r.state(), SignInState::Expired);
    assert!(r.token().is_none(), "an unclaimed token is dropped");
}

#[test]
fn a_redemption_cut_off_or_cancelled_does_not_land() {
    let mut r = credential();
    let secret = window_secret(&r);
    r.take_browser_answer(&secret, Millis(10)).unwrap();
    r.tick(Millis(10 + REDEEM_WINDOW_MS));
    assert_eq!(r.state(), SignInState::Failed);
    assert_eq!(r.status(Millis(0)).error.unwrap().code, ErrorCode::MicrosoftUnavailable);
    assert!(!r.is_redeeming());

    let mut r = credential();
    let secret = window_secret(&r);
    r.take_browser_answer(&secret, Millis(10)).unwrap();
    r.cancel(Millis(11));
    assert!(!r.is_redeeming(), "the Durable Object drops a token that arrives after a cancel");
    r.on_browser_token(admin_token(), claim(), Millis(12));
    assert!(r.token().is_none());
    assert_eq!(r.take_browser_answer(&secret, Millis(12)).unwrap_err(), ErrorCode::SignInCancelled);
    assert!(!r.can_renew(), "a cancelled sign-in stays cancelled");
}

#[test]
fn a_wrong_state_secret_gets_one_answer_whatever_the_state() {
    let mut r = credential();
    let secret = window_secret(&r);
    r.cancel(Millis(5));
    let before = serde_json::to_string(&r).unwrap();
    assert_eq!(r.take_browser_answer("wrong", Millis(6)).unwrap_err(), ErrorCode::StateMismatch);
    assert_eq!(serde_json::to_string(&r).unwrap(), before, "a wrong secret changes nothing");
    assert_eq!(r.take_browser_answer(&secret, Millis(6)).unwrap_err(), ErrorCode::SignInCancelled);
    let mut device = record();
    assert_eq!(device.take_browser_answer("", Millis(1)).unwrap_err(), ErrorCode::StateMismatch);
    let persisted = serde_json::to_string(&r).unwrap();
    assert!(!persisted.contains(&secret), "only a digest of the secret is kept");
}

#[test]
fn a_credential_sign_in_can_be_renewed_until_its_answer_is_claimed() {
    let mut r = credential();
    assert!(r.can_renew());
    let secret = window_secret(&r);
    let (mut r2, handle) = credential_signed_in();
    assert!(r2.can_renew(), "the window with the code was closed: start over");
    let endpoints = shared::CloudEndpoints::official(CloudEnvironment::Global);
    let random: [u8; super::super::browser::RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
    r.on_browser_sign_in(BrowserSignIn::new(ID, &endpoints, "client", "https://x/cb", &random, Millis(30)));
    assert_eq!(
        r.take_browser_answer(&secret, Millis(31)).unwrap_err(),
        ErrorCode::StateMismatch,
        "the old state is dead"
    );
    r2.on_browser_sign_in(BrowserSignIn::new(ID, &endpoints, "client", "https://x/cb", &random, Millis(30)));
    assert!(r2.token().is_none(), "the unclaimed token is dropped");
    let (mut r3, handle3) = credential_signed_in();
    let _ = handle;
    r3.claim(&handle3, Some(APP), Millis(21)).unwrap();
    assert!(!r3.can_renew(), "not once registration has started");
}

#[test]
fn a_credential_sign_in_expires_and_can_fail() {
    let mut r = credential();
    let secret = window_secret(&r);
    let Stage::Window { browser } = &r.stage else { panic!() };
    let end = browser.expires_at;
    r.tick(end);
    assert_eq!(r.state(), SignInState::Expired);
    assert_eq!(r.take_browser_answer(&secret, end).unwrap_err(), ErrorCode::SignInWindowExpired);
    let mut r = credential();
    r.on_browser_failed(ErrorDetail::new(ErrorCode::SignInDeclined));
    assert_eq!(r.state(), SignInState::Failed);
    assert_eq!(r.next_alarm(Millis(0)), Some(Millis(super::super::limits::RETENTION_MS)));
}

#[test]
fn a_failed_registration_ends_the_sign_in_and_holds_what_it_created_until_deleted() {
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    r.confirm(APP);
    let run = r.running().unwrap();
    run.apps[0].object = Object::Known { object_id: "obj0".into(), app_id: String::new() };
    run.phase = Phase::Failed;
    run.error = Some(ErrorDetail::new(ErrorCode::RegistrationFailed));
    r.settle(Millis(6000));
    assert_eq!(r.state(), SignInState::Failed);
    assert_eq!(r.status(Millis(6000)).error.unwrap().code, ErrorCode::RegistrationFailed);
    assert_eq!(r.discard_at(), Some(Millis(6000 + HOLD_AFTER_COMPLETION_MS)));
    assert!(r.token().is_some(), "kept to delete what was created");
    assert!(!r.can_renew(), "not after registering");
    assert_eq!(r.take_for_save(Millis(7000)), Err(ErrorCode::NotFound));
}

/// Every stage against every command: what is refused, with which code, and that a refusal
/// changes nothing.
#[test]
fn each_stage_against_each_command() {
    type Make = fn() -> SignInRecord;
    let stages: Vec<(&str, Make)> = vec![
        ("polling", record),
        ("polling, confirmed", || {
            let mut r = record();
            r.confirm(APP);
            r
        }),
        ("window", credential),
        ("redeeming", || {
            let mut r = credential();
            let s = window_secret(&r);
            r.take_browser_answer(&s, Millis(10)).unwrap();
            r
        }),
        ("signed in (device code)", || {
            let mut r = record();
            signed_in(&mut r, Millis(5000));
            r
        }),
        ("signed in (credential, unclaimed)", || credential_signed_in().0),
        ("registering", || {
            let mut r = record();
            signed_in(&mut r, Millis(5000));
            r.confirm(APP);
            r
        }),
        ("completed", completed),
        ("completed, saved", || {
            let mut r = completed();
            r.mark_saved(Millis(7000)).unwrap();
            r
        }),
        ("expired", || {
            let mut r = record();
            r.tick(Millis(900_000));
            r
        }),
        ("cancelled", || {
            let mut r = completed();
            r.cancel(Millis(7000));
            r
        }),
    ];
    type Op = fn(&mut SignInRecord) -> Result<(), ErrorCode>;
    let ops: Vec<(&str, Op)> = vec![
        ("claim", |r| r.claim("AAAA-AAAA", Some(APP), Millis(100))),
        ("additional", |r| r.start_additional(APP, None)),
        ("take for save", |r| r.take_for_save(Millis(100))),
        ("saved", |r| r.mark_saved(Millis(100))),
        ("release", |r| r.release(Millis(100))),
    ];
    use ErrorCode::*;
    #[rustfmt::skip]
    let expected: [[Result<(), ErrorCode>; 5]; 11] = [
        // claim                          additional                     take for save            saved             release
        [Err(AuthorizationPending),       Err(AuthorizationPending),     Err(NotFound),           Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Err(AuthorizationPending),     Err(NotFound),           Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Err(AuthorizationPending),     Err(SignInNotClaimed),   Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Err(AuthorizationPending),     Err(SignInNotClaimed),   Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Ok(()),                        Err(NotFound),           Err(NotFound),    Err(NotFound)],
        [Err(ConfirmationCodeWrong),      Err(SignInNotClaimed),         Err(SignInNotClaimed),   Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Err(AuthorizationPending),     Err(NotFound),           Ok(()),           Err(NotFound)],
        [Err(AuthorizationPending),       Ok(()),                        Ok(()),                  Ok(()),           Ok(())],
        [Err(AuthorizationPending),       Err(NotFound),                 Err(NotFound),           Ok(()),           Err(NotFound)],
        [Err(AuthorizationPending),       Err(CodeExpired),              Err(NotFound),           Err(NotFound),    Err(NotFound)],
        [Err(AuthorizationPending),       Err(CodeExpired),              Err(NotFound),           Ok(()),           Err(NotFound)],
    ];
    for ((stage, make), row) in stages.iter().zip(expected) {
        for ((op, run), want) in ops.iter().zip(row) {
            let mut r = make();
            let before = serde_json::to_string(&r).unwrap();
            assert_eq!(run(&mut r), want, "{op} in stage {stage}");
            // A refusal changes nothing (a wrong claim only counts the attempt).
            if want.is_err() && *op != "claim" {
                assert_eq!(serde_json::to_string(&r).unwrap(), before, "{op} refused in stage {stage} changed it");
            }
        }
    }
}

#[test]
fn a_record_stored_before_the_stages_is_read_in_its_old_shape() {
    let mut run = Registration::new(CloudEnvironment::Global, APP, "m365onb-s1", 0, 1);
    run.phase = Phase::Done;
    run.apps[0].object = Object::Known { object_id: "obj0".into(), app_id: "app0".into() };
    let old = serde_json::json!({
        "id": "s1", "account": "acct", "cloud": "global", "client_id": "client", "method": "device_code",
        "state": "completed", "device": null, "poller": null, "confirmed": true,
        "token": {"access_token": "ADMIN-TOKEN", "expires_at": 99},
        "main": run, "additional": null, "error": null, "created_at": 0, "discard_at": 1800,
        "saved": false
    });
    let r: SignInRecord = serde_json::from_value::<legacy::Stored>(old).unwrap().into();
    assert_eq!(r.state(), SignInState::Completed);
    assert_eq!(r.discard_at(), Some(Millis(1800)), "its hold still ends, and deletes what is not saved");
    assert!(r.token().is_some(), "with the token to delete with");
    assert_eq!(r.applications_done(), 1);

    let polling = serde_json::json!({
        "id": "s2", "account": "acct", "cloud": "global", "client_id": "client",
        "state": "waiting_for_microsoft",
        "device": {"device_code": "DC", "user_code": "U", "verification_uri": "https://microsoft.com/devicelogin"},
        "poller": Poller::new(5, 900, Millis(0)), "confirmed": true, "token": null, "main": null,
        "additional": null, "error": null, "created_at": 0, "discard_at": null, "saved": false
    });
    let r: SignInRecord = serde_json::from_value::<legacy::Stored>(polling).unwrap().into();
    assert_eq!(r.state(), SignInState::WaitingForMicrosoft);
    assert!(r.device_code().is_some());

    // The current shape reads as itself.
    let now = completed();
    let back: SignInRecord =
        serde_json::from_value::<legacy::Stored>(serde_json::to_value(&now).unwrap()).unwrap().into();
    assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&now).unwrap());
}

/// A token signed in and never used is forgotten with its sign-in when the window closes (the
/// alarm is set for it), or at its expiry when that comes first; a registration's token is kept
/// for the hold, never past its expiry.
#[test]
fn an_unused_token_is_forgotten_at_the_end_of_its_window_or_at_its_expiry() {
    // Device code, signed in, the checkbox never ticked.
    let mut r = record();
    signed_in(&mut r, Millis(5000));
    let forget = 5000 + SIGNED_IN_WINDOW_MS;
    assert_eq!(r.next_alarm(Millis(6000)), Some(Millis(forget)), "the alarm comes for it");
    r.tick(Millis(forget - 1));
    assert!(r.token().is_some());
    r.tick(Millis(forget));
    assert!(r.token().is_none(), "forgotten");
    assert_eq!(r.state(), SignInState::Expired);
    assert_eq!(r.status(Millis(forget)).error.map(|e| e.code), Some(ErrorCode::SignInUnused));

    // A removal's sign-in waits in the same way.
    let mut r = record();
    r.purpose = crate::signin::command::Purpose::Remove("org-1".into());
    signed_in(&mut r, Millis(5000));
    assert!(r.removal_token("org-1", CloudEnvironment::Global).is_ok());
    r.tick(Millis(forget));
    assert!(r.token().is_none() && r.removal_token("org-1", CloudEnvironment::Global).is_err());

    // A token that expires before the window closes goes at its expiry.
    let mut r = record();
    r.on_poll(
        TokenOutcome::Token(AccessToken {
            access_token: SecretString::new("SHORT".into()),
            expires_in: 60,
            refresh_token: None,
        }),
        Millis(5000),
        APP,
        Millis(5000),
    );
    assert_eq!(r.next_alarm(Millis(6000)), Some(Millis(65_000)));
    r.tick(Millis(65_000));
    assert!(r.token().is_none());

    // The tests' shortened hold shortens the window with it.
    let mut r = record();
    r.hold_ms = Some(5000);
    signed_in(&mut r, Millis(5000));
    assert_eq!(r.next_alarm(Millis(6000)), Some(Millis(10_000)));

    // Credential: signed in, claimed for a save elsewhere, never used.
    let mut r = credential();
    let secret = window_secret(&r);
    r.take_browser_answer(&secret, Millis(1000)).unwrap();
    r.on_browser_token(
        admin_token(),
        Claim::new(&[9; super::super::browser::CLAIM_RANDOM_BYTES], Millis(1000)),
        Millis(1000),
    );
    let code = match &r.stage {
        Stage::SignedIn { claim: Some(c), .. } => c.code.expose().to_owned(),
        other => panic!("{other:?}"),
    };
    r.claim(&code, None, Millis(2000)).unwrap();
    assert_eq!(r.next_alarm(Millis(3000)), Some(Millis(1000 + SIGNED_IN_WINDOW_MS)));
    r.tick(Millis(1000 + SIGNED_IN_WINDOW_MS));
    assert!(r.token().is_none());

    // A registration takes the token for the hold, never past its expiry (3599 s).
    let mut r = completed();
    assert!(r.token().is_some());
    r.tick(Millis(5000 + SIGNED_IN_WINDOW_MS + 1));
    assert!(r.token().is_some(), "in use: kept for the hold");
    let expiry = 5000 + 3_599_000;
    assert!(r.next_alarm(Millis(6000)).unwrap() <= Millis(expiry));
    r.tick(Millis(expiry));
    assert!(r.token().is_none(), "never past its expiry");
}

/// A token that expires while the applications are held does not end the hold: the save still
/// takes them (it needs their credentials, not the admin's token).
#[test]
fn a_save_during_the_hold_works_after_the_admins_token_expired() {
    let mut r = record();
    r.on_poll(
        TokenOutcome::Token(AccessToken {
            access_token: SecretString::new("SHORT".into()),
            expires_in: 600,
            refresh_token: None,
        }),
        Millis(5000),
        APP,
        Millis(5000),
    );
    r.confirm(APP);
    finish(&mut r, Millis(6000));
    r.tick(Millis(5000 + 600_000));
    assert!(r.token().is_none(), "forgotten at its expiry");
    assert_eq!(r.take_for_save(Millis(5000 + 600_001)), Ok(()));
    // Once the hold ended (its secrets forgotten), nothing is taken.
    let mut r = completed();
    r.forget_secrets();
    assert!(r.take_for_save(Millis(7000)).is_err());
}

/// A token whose `wids` claim lists `roles` (a JWT's shape; the signature is not read).
fn token_with_roles(roles: &[shared::roles::DirectoryRole]) -> AccessToken {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let wids: Vec<&str> = roles.iter().map(|r| r.template_id()).collect();
    let jwt = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"typ": "JWT", "alg": "RS256"})),
        b64(serde_json::json!({"wids": wids, "tid": "t"}))
    );
    AccessToken { access_token: SecretString::new(jwt), expires_in: 3599, refresh_token: None }
}

#[test]
fn an_account_whose_roles_cannot_do_the_task_is_refused_before_anything_starts() {
    use shared::roles::DirectoryRole::*;
    // Registration: an Application Administrator alone cannot grant Graph's application permissions.
    let mut r = record();
    r.confirm(APP);
    r.on_poll(TokenOutcome::Token(token_with_roles(&[ApplicationAdministrator])), Millis(5_000), APP, Millis(5_000));
    assert_eq!(r.state(), SignInState::Failed);
    let e = r.status(Millis(5_000)).error.expect("the refusal is shown");
    assert_eq!(e.code, ErrorCode::AdminRolesMissing);
    assert!(e.message.contains("Privileged Role Administrator together with"), "{}", e.message);
    assert!(r.token().is_none(), "the token is dropped with the sign-in");

    // The least-privileged pair, and a token that does not say, go on.
    for token in [token_with_roles(&[PrivilegedRoleAdministrator, CloudApplicationAdministrator]), admin_token()] {
        let mut r = record();
        r.on_poll(TokenOutcome::Token(token), Millis(5_000), APP, Millis(5_000));
        assert_eq!(r.state(), SignInState::SignedIn);
    }

    // Removal needs only application management.
    let mut r = record();
    r.purpose = Purpose::Remove("org-1".into());
    r.on_poll(
        TokenOutcome::Token(token_with_roles(&[CloudApplicationAdministrator])),
        Millis(5_000),
        APP,
        Millis(5_000),
    );
    assert_eq!(r.state(), SignInState::SignedIn);
    let mut r = record();
    r.purpose = Purpose::Remove("org-1".into());
    r.on_poll(TokenOutcome::Token(token_with_roles(&[PrivilegedRoleAdministrator])), Millis(5_000), APP, Millis(5_000));
    let e = r.status(Millis(5_000)).error.expect("refused");
    assert!(e.message.starts_with("The account that signed in") && e.message.contains("Deleting"), "{}", e.message);
}

#[test]
fn the_window_the_app_opened_claims_with_its_state_and_nothing_else_does() {
    let mut r = credential();
    let secret = window_secret(&r);
    r.take_browser_answer(&secret, Millis(10)).unwrap();
    let mut c = claim();
    c.window = Some(super::super::browser::state_digest(&secret));
    let handle = c.handle.expose().to_owned();
    r.on_browser_token(admin_token(), c, Millis(20));
    let state = format!("{ID}.{secret}");

    // Refused without counting: a wrong state, another sign-in's, the code instead of the handle.
    for (h, proof) in [
        (handle.as_str(), format!("{ID}.wrong")),
        (handle.as_str(), secret.clone()),
        ("AAAA-AAAA", state.clone()),
        ("", state.clone()),
    ] {
        for _ in 0..10 {
            assert_eq!(r.claim_from_window(h, &proof, Some(APP), Millis(30)), Err(ErrorCode::NotFound));
        }
    }
    assert_eq!(r.state(), SignInState::SignedIn, "no attempt was counted: whoever knows the ID cannot end it");
    assert!(!r.status(Millis(30)).claimed);

    r.claim_from_window(&handle, &state, Some(APP), Millis(30)).unwrap();
    assert_eq!(r.state(), SignInState::Registering);
    assert!(r.status(Millis(30)).claimed);
    assert_eq!(r.claim_from_window(&handle, &state, Some(APP), Millis(31)), Err(ErrorCode::NotFound), "once");

    // A sign-in only: claimed, nothing registered.
    let (mut r, handle) = credential_signed_in();
    r.purpose = Purpose::SignInOnly;
    assert_eq!(
        r.claim_from_window(&handle, &format!("{ID}.x"), None, Millis(30)),
        Err(ErrorCode::NotFound),
        "a claim from before windows were recorded has no window to prove"
    );
}

#[test]
fn a_partner_sign_in_lends_its_token_for_the_customers_and_hands_its_refresh_token_over_once() {
    let mut r = record();
    r.purpose = Purpose::Partner;
    assert_eq!(r.partner_token(), Err(ErrorCode::AuthorizationPending));
    let token = AccessToken { refresh_token: Some(SecretString::new("1.REFRESH".into())), ..admin_token() };
    r.on_poll(TokenOutcome::Token(token), Millis(5000), APP, Millis(5000));
    assert_eq!(r.state(), SignInState::SignedIn, "no partner-tenant role is asked for");
    assert!(!r.confirm(APP), "a partner sign-in registers nothing");
    assert_eq!(r.start_additional(APP, None), Err(ErrorCode::NotFound), "not even the additional applications");
    assert_eq!(r.partner_token().map(|t| t.expose().to_owned()), Ok("ADMIN-TOKEN".to_owned()));
    let stored = serde_json::to_string(&r).unwrap();
    assert!(stored.contains("1.REFRESH"), "held (the record is sealed whole at rest)");
    assert_eq!(r.hand_over().map(|t| t.expose().to_owned()), Ok("1.REFRESH".to_owned()));
    assert_eq!(r.state(), SignInState::Completed);
    assert!(r.token().is_none());
    assert!(!serde_json::to_string(&r).unwrap().contains("REFRESH"), "forgotten once handed over");
    assert_eq!(r.hand_over().err(), Some(ErrorCode::SignInCancelled), "only once");
    assert_eq!(r.partner_token().err(), Some(ErrorCode::SignInCancelled));
    // Any other sign-in lends nothing.
    let mut other = record();
    signed_in(&mut other, Millis(5000));
    assert_eq!(other.partner_token().err(), Some(ErrorCode::NotFound));
    assert_eq!(other.hand_over().err(), Some(ErrorCode::NotFound));
}

#[test]
fn a_customer_sign_in_from_a_batch_registers_at_once_unless_its_roles_cannot() {
    use shared::roles::DirectoryRole::*;
    let mut r = SignInRecord::new("c1", "acct", CloudEnvironment::Global, "client", Millis(0));
    r.on_delegated_token(
        token_with_roles(&[CloudApplicationAdministrator, PrivilegedRoleAdministrator]),
        APP,
        Millis(1),
    );
    assert_eq!(r.state(), SignInState::Registering);
    let mut refused = SignInRecord::new("c2", "acct", CloudEnvironment::Global, "client", Millis(0));
    refused.on_delegated_token(token_with_roles(&[PrivilegedRoleAdministrator]), APP, Millis(1));
    assert_eq!(refused.state(), SignInState::Failed);
    assert!(refused.token().is_none());
}
