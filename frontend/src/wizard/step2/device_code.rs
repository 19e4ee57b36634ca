//! Step 2 with a device code: the one-time code (large, with a copy button), the link to
//! Microsoft's page, a countdown with "get a new code", and the confirmation checkbox in the
//! original product's words; then the live status and registration progress.

use super::{state_of, CancelButton, Failure, Progress, StatusLine};
use crate::i18n::t;
use crate::signin_model::Event;
use crate::wizard::logic::countdown;
use crate::wizard::signin_loop::SignIn;
use leptos::prelude::*;
use shared::api::SignInState;

/// Step 2 of the Device Code method, showing `signin`.
#[component]
pub fn DeviceCodeStep(
    signin: SignIn,
    /// Only the sign-in (for creating applications elsewhere): no confirmation.
    #[prop(optional)]
    sign_in_only: bool,
    /// "Switch to the Manual method" after a failure that suggests it (does nothing without it).
    #[prop(optional)]
    on_manual: Option<Callback<()>>,
    /// Cancel (not shown without it).
    #[prop(optional)]
    on_cancel: Option<Callback<()>>,
    /// "Sign in with Microsoft instead" after Conditional Access blocked the device code.
    #[prop(optional)]
    on_credential: Option<Callback<()>>,
    /// Whether the Credential method is available in this cloud.
    #[prop(optional, into)]
    credential_available: Signal<bool>,
) -> impl IntoView {
    let status = signin.status();
    let i18n = crate::i18n::I18n::get();
    let seconds_left = signin.seconds_left();
    let copied = RwSignal::new(false);
    let confirmed = RwSignal::new(false);
    let state = move || state_of(signin);
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
                <p>{t(key!("signin.code.instructions"))}</p>
                <div class="code-block">
                <div class="code-row">
                    <output class="code" data-testid="user-code" aria-label=t(key!("signin.code.label"))>{code}</output>
                    <button type="button" on:click=copy>{move || if copied.get() { i18n.t(key!("signin.code.copied")) } else { i18n.t(key!("signin.code.copy")) }}</button>
                    <span class="visually-hidden" aria-live="polite">{move || if copied.get() { i18n.t(key!("signin.code.copied_announce")) } else { String::new() }}</span>
                </div>
                <p>
                    <a data-testid="verification-link" target="_blank" rel="noopener noreferrer"
                        href=move || status.get().and_then(|s| s.verification_uri).unwrap_or_default()>
                        {move || status.get().and_then(|s| s.verification_uri).unwrap_or_default()}
                    </a>
                    " " {t(key!("signin.code.new_tab"))}
                </p>
                // The whole sentence is the catalogue's; the countdown is shown in its place.
                <p class="hint">{move || crate::i18n::pieces(&i18n.t(key!("signin.code.expires")), &["countdown"]).into_iter().map(|p| match p {
                    crate::i18n::Piece::Text(s) => s.into_any(),
                    crate::i18n::Piece::Value(_) => view! { <span data-testid="countdown">{move || countdown(seconds_left.get())}</span> }.into_any(),
                }).collect_view()}</p>
                </div>
            </Show>
            <StatusLine signin sign_in_only />
            <Progress signin />
            <Show when=move || !sign_in_only && matches!(state(), Some(SignInState::WaitingForSignIn | SignInState::SignedIn | SignInState::WaitingForMicrosoft))>
                <div class="option">
                    <input type="checkbox" id="confirm-authorization" prop:checked=move || confirmed.get()
                        prop:disabled=move || confirmed.get()
                        on:change=move |_| { confirmed.set(true); signin.dispatch(Event::Confirm); } />
                    <label for="confirm-authorization">{t(key!("signin.code.confirmation"))}</label>
                </div>
            </Show>
            <Show when=move || state() == Some(SignInState::Expired)>
                <button type="button" on:click=move |_| { confirmed.set(false); signin.dispatch(Event::Renew); }>{t(key!("signin.code.renew"))}</button>
            </Show>
            {on_credential.map(|go| view! {
                <Show when=move || credential_available.get() && status.get().is_some_and(|s| crate::wizard::logic::suggests_credential(&s))>
                    <p>{t(key!("signin.code.blocked_hint"))}</p>
                    <button type="button" data-testid="use-credential" on:click=move |_| go.run(())>{t(key!("signin.code.use_credential"))}</button>
                </Show>
            })}
            <Failure signin on_manual=on_manual.unwrap_or_else(|| Callback::new(|_| ())) />
            {on_cancel.map(|on_cancel| view! { <CancelButton on_cancel /> })}
        </div>
    }
}
