//! Step 2 with the Credential method: the Microsoft sign-in window, with "open it again", the
//! confirmation code typed from the window, "try again" and "use Device Code instead"; then the
//! live status and registration progress.

use super::{state_of, CancelButton, Failure, Progress, StatusLine};
use crate::i18n::t;
use crate::signin_model::Event;
use crate::wizard::signin_loop::SignIn;
use leptos::prelude::*;
use shared::api::SignInState;

/// Step 2 of the Credential method, showing `signin`.
#[component]
pub fn CredentialStep(
    signin: SignIn,
    /// Switch to the Device Code method.
    on_device_code: Callback<()>,
    /// "Switch to the Manual method" after a failure that suggests it.
    on_manual: Callback<()>,
    /// Cancel (not shown without it).
    #[prop(optional)]
    on_cancel: Option<Callback<()>>,
) -> impl IntoView {
    let status = signin.status();
    let notice = signin.notice();
    let typed_code = RwSignal::new(String::new());
    let state = move || state_of(signin);
    let can_retry = move || {
        notice.get().is_some()
            || matches!(state(), Some(SignInState::Failed | SignInState::Expired | SignInState::SignedIn))
    };
    view! {
        <div class="step">
            <Show when=move || state() == Some(SignInState::WaitingForSignIn) && notice.get().is_none()
                && status.get().is_some_and(|s| s.authorize_url.is_some())>
                <p>{t(key!("signin.window.instructions"))}</p>
                <p><button type="button" class="secondary" data-testid="reopen-signin" on:click=move |_| { signin.dispatch(Event::Reopen); }>{t(key!("signin.window.reopen"))}</button></p>
            </Show>
            <Show when=move || state() == Some(SignInState::SignedIn)>
                <form class="code-row" on:submit=move |ev| {
                    ev.prevent_default();
                    signin.dispatch(Event::Claim(typed_code.get_untracked()));
                }>
                    <label for="confirmation-code">{t(key!("signin.window.code_label"))}</label>
                    <input id="confirmation-code" autocomplete="off" spellcheck="false" maxlength="12"
                        prop:value=move || typed_code.get() on:input=move |ev| typed_code.set(event_target_value(&ev)) />
                    <button type="submit">{t(key!("signin.window.continue"))}</button>
                </form>
            </Show>
            <Show when=move || notice.get().is_some()>
                <p class="error" role="alert" data-testid="signin-notice">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            <Show when=can_retry>
                <div class="actions">
                    <button type="button" data-testid="retry-signin" on:click=move |_| { signin.dispatch(Event::Retry); }>{t(key!("signin.try_again"))}</button>
                    <button type="button" class="secondary" data-testid="use-device-code" on:click=move |_| on_device_code.run(())>{t(key!("signin.use_device_code"))}</button>
                </div>
            </Show>
            <StatusLine signin />
            <Progress signin />
            <Failure signin on_manual />
            {on_cancel.map(|on_cancel| view! { <CancelButton on_cancel /> })}
        </div>
    }
}
