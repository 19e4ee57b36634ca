//! A device-code sign-in on its own, for creating the 3 additional applications outside the
//! automatic registration (the Manual method's Save, "Recreate multiple applications" on the edit
//! page). It shows the same Step 2 display without the confirmation, and reports the sign-in's ID
//! once Microsoft has reported the sign-in. The panel owns its sign-in ([`crate::signins::Owned`]):
//! when the panel goes away (Cancel, unticking the box, leaving the page) the sign-in is cancelled,
//! unless its applications were saved ([`crate::signins::saved`]).

use super::running::StartRefused;
use super::signin_loop::SignIn;
use super::step2::DeviceCodeStep;
use crate::signin_model::{Outcome, Purpose};
use crate::signins::{self, StartProblem};
use leptos::prelude::*;
use shared::{AddMethod, CloudEnvironment};

/// Starts a sign-in in `cloud` when shown; `on_signed_in` gets its ID once.
#[component]
pub fn SignInPanel(cloud: CloudEnvironment, on_signed_in: Callback<String>) -> impl IntoView {
    let problem = RwSignal::new(None::<StartProblem>);
    let signin = SignIn::new(
        Purpose::SignInOnly,
        Callback::new(move |outcome| match outcome {
            Outcome::StartRefused(e) | Outcome::Refused(e) => problem.set(Some(signins::start_problem(&e))),
            Outcome::Requesting => problem.set(None),
            Outcome::SignedIn(id) => on_signed_in.run(id),
            Outcome::Completed(_) => {}
        }),
    );
    // A device code cannot be blocked like a window.
    let start = move || _ = signin.start(cloud, AddMethod::DeviceCode);
    start();
    view! {
        <div class="signin-panel" data-testid="signin-panel">
            <p>"Creating the 3 additional applications needs a sign-in as a Global Administrator."</p>
            {move || problem.get().map(|problem| view! {
                <StartRefused problem on_retry=Callback::new(move |_| start()) />
            })}
            <DeviceCodeStep signin sign_in_only=true />
        </div>
    }
}
