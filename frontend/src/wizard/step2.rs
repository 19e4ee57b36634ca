//! Step 2: the sign-in. Device code: the one-time code (large, with a copy button), the link to
//! Microsoft's page, a countdown with "get a new code", and the confirmation checkbox in the
//! original product's words. Credential: the Microsoft sign-in window, with "open it again", "try
//! again" and "use Device Code instead". Both: the live status and registration progress.

use super::logic::{countdown, status_line, suggests_manual};
use super::popup;
use leptos::prelude::*;
use shared::api::{SignInState, SignInStatus, StepState};
use shared::AddMethod;

/// The confirmation sentence of the original product.
pub const CONFIRMATION: &str = "I have completed the authorization process using the one-time authorization code";

/// Step 2, showing `status` (kept fresh by the wizard).
#[component]
pub fn Step2(
    status: RwSignal<Option<SignInStatus>>,
    seconds_left: RwSignal<u64>,
    on_confirm: Callback<()>,
    on_renew: Callback<()>,
    on_manual: Callback<()>,
    on_cancel: Callback<()>,
    /// Only the sign-in (for creating applications elsewhere): no confirmation, no Cancel.
    #[prop(optional)]
    sign_in_only: bool,
    /// Credential: what went wrong with the sign-in window that the status cannot show.
    #[prop(optional)]
    notice: Option<RwSignal<Option<String>>>,
    /// Credential: start the sign-in window again.
    #[prop(optional)]
    on_retry: Option<Callback<()>>,
    /// Credential: switch to the Device Code method.
    #[prop(optional)]
    on_device_code: Option<Callback<()>>,
    /// Credential: the confirmation code typed from the sign-in window.
    #[prop(optional)]
    on_claim: Option<Callback<String>>,
) -> impl IntoView {
    let typed_code = RwSignal::new(String::new());
    let notice = notice.unwrap_or_else(|| RwSignal::new(None));
    let popup_method = move || status.get().is_some_and(|s| s.method == AddMethod::Credential);
    let reopen = move |_| {
        let Some(url) = status.get_untracked().and_then(|s| s.authorize_url) else { return };
        notice.set(None);
        if let Err(blocked) = popup::open(&url) {
            notice.set(Some(blocked));
        }
    };
    let can_retry = move || {
        popup_method()
            && (notice.get().is_some()
                || matches!(state_of(status), Some(SignInState::Failed | SignInState::Expired | SignInState::SignedIn)))
    };
    let copied = RwSignal::new(false);
    let confirmed = RwSignal::new(false);
    let state = move || status.get().map(|s| s.state);
    let code = move || status.get().and_then(|s| s.user_code).unwrap_or_default();
    let copy = move |_| {
        let text = code();
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <div class="step">
            <Show when=move || status.get().is_some_and(|s| s.user_code.is_some())>
                <p>"Copy the one-time authorization code, open Microsoft's page, enter the code and sign in with a Global Administrator account."</p>
                <div class="code-row">
                    <output class="code" data-testid="user-code" aria-label="One-time authorization code">{code}</output>
                    <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy code" }}</button>
                    <span class="visually-hidden" aria-live="polite">{move || if copied.get() { "The code was copied." } else { "" }}</span>
                </div>
                <p>
                    <a data-testid="verification-link" target="_blank" rel="noopener noreferrer"
                        href=move || status.get().and_then(|s| s.verification_uri).unwrap_or_default()>
                        {move || status.get().and_then(|s| s.verification_uri).unwrap_or_default()}
                    </a>
                    " (opens in a new tab)"
                </p>
                <p class="hint">"The code expires in " <span data-testid="countdown">{move || countdown(seconds_left.get())}</span> "."</p>
            </Show>
            <Show when=move || popup_method() && state() == Some(SignInState::WaitingForSignIn) && notice.get().is_none()
                && status.get().is_some_and(|s| s.authorize_url.is_some())>
                <p>"Sign in with a Global Administrator account in the Microsoft window and accept the permissions. This page continues by itself."</p>
                <p><button type="button" class="secondary" data-testid="reopen-signin" on:click=reopen>"Open the sign-in window again"</button></p>
            </Show>
            <Show when=move || popup_method() && state() == Some(SignInState::SignedIn)>
                <form class="code-row" on:submit=move |ev| {
                    ev.prevent_default();
                    notice.set(None);
                    if let Some(c) = on_claim { c.run(typed_code.get_untracked()) }
                }>
                    <label for="confirmation-code">"Confirmation code from the sign-in window"</label>
                    <input id="confirmation-code" autocomplete="off" spellcheck="false" maxlength="12"
                        prop:value=move || typed_code.get() on:input=move |ev| typed_code.set(event_target_value(&ev)) />
                    <button type="submit">"Continue"</button>
                </form>
            </Show>
            <Show when=move || notice.get().is_some()>
                <p class="error" role="alert" data-testid="signin-notice">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            <Show when=can_retry>
                <div class="actions">
                    <button type="button" data-testid="retry-signin" on:click=move |_| if let Some(c) = on_retry { c.run(()) }>"Try again"</button>
                    <button type="button" class="secondary" data-testid="use-device-code" on:click=move |_| if let Some(c) = on_device_code { c.run(()) }>"Use Device Code instead"</button>
                </div>
            </Show>
            <p class="status" role="status" aria-live="polite" data-testid="signin-status">
                {move || match status.get() {
                    Some(s) if sign_in_only && s.state == SignInState::SignedIn => "Signed in as an administrator.".to_owned(),
                    Some(s) => status_line(&s),
                    None => "Requesting a one-time code from Microsoft…".into(),
                }}
            </p>
            <ol class="progress">
                {move || status.get().map(|s| s.progress).unwrap_or_default().into_iter().map(|p| {
                    let mark = match p.state {
                        StepState::Done => "✓",
                        StepState::Running | StepState::Waiting => "…",
                        StepState::Failed => "✗",
                        StepState::Pending => "○",
                    };
                    let class = match p.state {
                        StepState::Done => "progress-done",
                        StepState::Running => "progress-running",
                        StepState::Waiting => "progress-waiting",
                        StepState::Failed => "progress-failed",
                        StepState::Pending => "progress-pending",
                    };
                    view! { <li class=class>{mark} " " {p.label}</li> }
                }).collect_view()}
            </ol>
            <Show when=move || !sign_in_only && !popup_method() && matches!(state(), Some(SignInState::WaitingForSignIn | SignInState::SignedIn | SignInState::WaitingForMicrosoft))>
                <div class="option">
                    <input type="checkbox" id="confirm-authorization" prop:checked=move || confirmed.get()
                        prop:disabled=move || confirmed.get()
                        on:change=move |_| { confirmed.set(true); on_confirm.run(()); } />
                    <label for="confirm-authorization">{CONFIRMATION}</label>
                </div>
            </Show>
            <Show when=move || state() == Some(SignInState::Expired) && !popup_method()>
                <button type="button" on:click=move |_| { confirmed.set(false); on_renew.run(()); }>"Get a new code"</button>
            </Show>
            <Show when=move || state() == Some(SignInState::Failed)>
                <p class="error" role="alert" data-testid="signin-error">{move || status.get().and_then(|s| s.error).map(|e| e.message).unwrap_or_default()}</p>
                <Show when=move || status.get().is_some_and(|s| suggests_manual(&s))>
                    <button type="button" on:click=move |_| on_manual.run(())>"Switch to the Manual method"</button>
                </Show>
            </Show>
            <Show when=move || !sign_in_only>
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </Show>
        </div>
    }
}

fn state_of(status: RwSignal<Option<SignInStatus>>) -> Option<SignInState> {
    status.get().map(|s| s.state)
}
