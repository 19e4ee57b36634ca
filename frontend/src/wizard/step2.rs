//! Step 2: the device-code sign-in. The one-time code (large, with a copy button), the link to
//! Microsoft's page, a countdown with "get a new code", the live status and registration progress,
//! and the confirmation checkbox in the original product's words.

use super::logic::{countdown, status_line, suggests_manual};
use leptos::prelude::*;
use shared::api::{SignInState, SignInStatus, StepState};

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
) -> impl IntoView {
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
                    view! { <li class=format!("progress-{:?}", p.state).to_lowercase()>{mark} " " {p.label}</li> }
                }).collect_view()}
            </ol>
            <Show when=move || !sign_in_only && matches!(state(), Some(SignInState::WaitingForSignIn | SignInState::SignedIn | SignInState::WaitingForMicrosoft))>
                <div class="option">
                    <input type="checkbox" id="confirm-authorization" prop:checked=move || confirmed.get()
                        prop:disabled=move || confirmed.get()
                        on:change=move |_| { confirmed.set(true); on_confirm.run(()); } />
                    <label for="confirm-authorization">{CONFIRMATION}</label>
                </div>
            </Show>
            <Show when=move || state() == Some(SignInState::Expired)>
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
