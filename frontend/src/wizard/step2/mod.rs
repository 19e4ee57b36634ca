//! Step 2: the sign-in, one component per method ([`device_code`], [`credential`]) built from the
//! small pieces here: the live status, the registration progress, the failure (with "Switch to the
//! Manual method" when its code suggests it) and Cancel. Each shows the [`SignIn`] the screen
//! follows and dispatches the administrator's clicks to it.

pub mod credential;
pub mod device_code;

use super::logic::{status_line, suggests_manual, StatusText};
use super::signin_loop::SignIn;
use crate::i18n::t;
use leptos::prelude::*;
use shared::api::{SignInState, StepState};

pub use credential::CredentialStep;
pub use device_code::DeviceCodeStep;

/// The state of the sign-in shown, if any.
fn state_of(signin: SignIn) -> Option<SignInState> {
    signin.status().with(|s| s.as_ref().map(|s| s.state))
}

/// The live status region (announced to screen readers).
#[component]
pub fn StatusLine(
    signin: SignIn,
    /// Only the sign-in (for creating applications elsewhere): "signed in" is the end.
    #[prop(optional)]
    sign_in_only: bool,
) -> impl IntoView {
    let status = signin.status();
    let i18n = crate::i18n::I18n::get();
    view! {
        <p class="status" role="status" aria-live="polite" data-testid="signin-status">
            {move || match status.get() {
                Some(s) if sign_in_only && s.state == SignInState::SignedIn => i18n.t(key!("signin.status.signed_in_admin")),
                Some(s) => match status_line(&s) {
                    StatusText::Say(m) => i18n.msg(&m),
                    StatusText::Edge(detail) => detail.map(|d| i18n.error(&d)).unwrap_or_default(),
                },
                None => i18n.t(key!("signin.status.requesting")),
            }}
        </p>
    }
}

/// The registration's steps, each with its mark.
#[component]
pub fn Progress(signin: SignIn) -> impl IntoView {
    let status = signin.status();
    view! {
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
    }
}

/// A failed sign-in's sentence, and "Switch to the Manual method" when its code suggests it.
#[component]
pub fn Failure(
    signin: SignIn,
    /// "Switch to the Manual method".
    on_manual: Callback<()>,
) -> impl IntoView {
    let status = signin.status();
    view! {
        <Show when=move || state_of(signin) == Some(SignInState::Failed)>
            <p class="error" role="alert" data-testid="signin-error">{move || status.get().and_then(|s| s.error).map(|e| crate::i18n::I18n::get().error(&e)).unwrap_or_default()}</p>
            <Show when=move || status.get().is_some_and(|s| suggests_manual(&s))>
                <button type="button" on:click=move |_| on_manual.run(())>{t(key!("signin.switch_manual"))}</button>
            </Show>
        </Show>
    }
}

/// Cancel: leave the sign-in (and the wizard).
#[component]
pub fn CancelButton(on_cancel: Callback<()>) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{t(key!("common.cancel"))}</button>
        </div>
    }
}
