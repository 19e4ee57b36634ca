//! A device-code sign-in on its own, for creating the 3 additional applications outside the
//! automatic registration (the Manual method's Save, "Recreate multiple applications" on the edit
//! page). It shows the same Step 2 display without the confirmation, and reports the sign-in's ID
//! once Microsoft has reported the sign-in. The panel owns its sign-in ([`crate::signins::Owned`]):
//! when the panel goes away (Cancel, unticking the box, leaving the page) the sign-in is cancelled,
//! unless its applications were saved ([`crate::signins::saved`]).

use super::running::StartRefused;
use super::step2::Step2;
use crate::api;
use crate::signins::{self, StartProblem};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{paths, SignInState, SignInStatus, StartSignIn};
use shared::{AddMethod, CloudEnvironment};

/// Starts a sign-in in `cloud` when shown; `on_signed_in` gets its ID once.
#[component]
pub fn SignInPanel(cloud: CloudEnvironment, on_signed_in: Callback<String>) -> impl IntoView {
    let owned = signins::Owned::new();
    let status = RwSignal::new(None::<SignInStatus>);
    let seconds_left = RwSignal::new(0u64);
    let problem = RwSignal::new(None::<StartProblem>);
    let reported = RwSignal::new(false);
    let apply = move |s: SignInStatus| {
        if let Some(left) = s.expires_in {
            seconds_left.set(left);
        }
        if s.state == SignInState::SignedIn && !reported.get_untracked() {
            reported.set(true);
            on_signed_in.run(s.id.clone());
        }
        status.set(Some(s));
    };
    let post = move |path: String, body: serde_json::Value| {
        problem.set(None);
        spawn_local(async move {
            match api::send_json::<_, SignInStatus>("POST", &path, &body).await {
                Ok(s) => {
                    owned.started(&s.id);
                    apply(s)
                }
                Err(e) => problem.set(Some(signins::start_problem(&e))),
            }
        });
    };
    let start = move || {
        let start = StartSignIn { cloud, method: AddMethod::DeviceCode };
        post(paths::SIGNINS.to_owned(), serde_json::to_value(&start).unwrap_or_default());
    };
    start();
    if let Ok(handle) = set_interval_with_handle(
        move || {
            seconds_left.update(|s| *s = s.saturating_sub(1));
            let Some(current) = status.get_untracked() else { return };
            if current.state.is_final() || current.state == SignInState::SignedIn {
                return;
            }
            let id = current.id.clone();
            spawn_local(async move {
                if let Ok(s) = api::get_json::<SignInStatus>(&paths::signin(&id)).await {
                    // A late answer about a sign-in this panel has replaced changes nothing.
                    if status.get_untracked().is_some_and(|c| c.id == s.id) {
                        apply(s);
                    }
                }
            });
        },
        std::time::Duration::from_millis(1000),
    ) {
        on_cleanup(move || handle.clear());
    }
    view! {
        <div class="signin-panel" data-testid="signin-panel">
            <p>"Creating the 3 additional applications needs a sign-in as a Global Administrator."</p>
            {move || problem.get().map(|problem| view! {
                <StartRefused problem on_retry=Callback::new(move |_| start()) />
            })}
            <Step2 status seconds_left sign_in_only=true
                on_confirm=Callback::new(|_| ())
                on_renew=Callback::new(move |_| if let Some(s) = status.get_untracked() { post(paths::signin_renew(&s.id), serde_json::json!({})) })
                on_manual=Callback::new(|_| ())
                on_cancel=Callback::new(|_| ()) />
        </div>
    }
}
