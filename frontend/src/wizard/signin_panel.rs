//! A sign-in on its own, for creating the 3 additional applications outside the automatic
//! registration (the Manual method's Save, "Recreate multiple applications" on the edit page). Where
//! the cloud allows the Credential method the admin chooses Microsoft's sign-in page in a window or a
//! device code (tenants that block device codes need the first); elsewhere the device code starts at
//! once. It shows Step 2's display without the confirmation, and reports the sign-in's ID once: a
//! device code when Microsoft has reported the sign-in, a window once this browser has claimed its
//! answer (which registers nothing: the save does). The panel owns its sign-in
//! ([`crate::signins::Owned`]): when the panel goes away (Cancel, unticking the box, leaving the
//! page) the sign-in is cancelled, unless its applications were saved ([`crate::signins::saved`]).

use super::running::StartRefused;
use super::signin_loop::SignIn;
use super::step2::{CredentialStep, DeviceCodeStep, StatusLine};
use crate::i18n::t;
use crate::pages::repair::repair_methods;
use crate::signin_model::{Event, Outcome, Purpose};
use crate::signins::{self, StartProblem};
use leptos::prelude::*;
use shared::{AddMethod, CloudEnvironment};

/// A sign-in in `cloud`; `on_signed_in` gets its ID once.
#[component]
pub fn SignInPanel(
    cloud: CloudEnvironment,
    on_signed_in: Callback<String>,
    /// The message that says what the sign-in is for (default: creating the 3 additional
    /// applications).
    #[prop(optional)]
    intro: Option<crate::i18n::Key>,
    /// A sign-in for deleting this saved organization's applications from Microsoft 365 (the
    /// delete dialog's), which registers nothing; the only kind the edge deletes with.
    #[prop(optional)]
    removes: Option<String>,
    /// A partner's sign-in to its own tenant, for adding its customers' organizations.
    #[prop(optional)]
    partner: bool,
) -> impl IntoView {
    let i18n = crate::i18n::I18n::get();
    let problem = RwSignal::new(None::<StartProblem>);
    let blocked = RwSignal::new(None::<String>);
    let started = RwSignal::new(None::<AddMethod>);
    let signed_in = RwSignal::new(false);
    let signin = SignIn::new(
        Purpose::SignInOnly,
        Callback::new(move |outcome| match outcome {
            Outcome::StartRefused(e) | Outcome::Refused(e) => problem.set(Some(signins::start_problem(&e))),
            Outcome::Requesting => problem.set(None),
            Outcome::SignedIn(id) => {
                signed_in.set(true);
                on_signed_in.run(id);
            }
            Outcome::Completed(_) => {}
        }),
    );
    // The Credential window is opened during the click (browsers allow a pop-up only then).
    let removes = StoredValue::new(removes);
    let start = move |method: AddMethod| {
        blocked.set(None);
        let started_now = match removes.get_value() {
            Some(organization) => signin.start_removal(cloud, method, &organization),
            None if partner => signin.start_partner(cloud, method),
            None => signin.start(cloud, method),
        };
        match started_now {
            Ok(()) => started.set(Some(method)),
            Err(sentence) => blocked.set(Some(sentence)),
        }
    };
    let choose = repair_methods(cloud, &crate::context::CredentialClouds::get()).contains(&AddMethod::Credential);
    if !choose {
        start(AddMethod::DeviceCode);
    }
    let back = Callback::new(move |_: ()| {
        signin.dispatch(Event::Leave);
        started.set(None);
    });
    view! {
        <div class="signin-panel" data-testid="signin-panel">
            <p>{move || i18n.t(intro.unwrap_or(key!("signin.panel.intro")))}</p>
            <Show when=move || started.get().is_none()>
                <div class="actions">
                    <button type="button" data-testid="panel-credential" on:click=move |_| start(AddMethod::Credential)>
                        {t(key!("signin.panel.credential"))}
                    </button>
                    <button type="button" class="secondary" data-testid="panel-device-code" on:click=move |_| start(AddMethod::DeviceCode)>
                        {t(key!("signin.panel.device_code"))}
                    </button>
                </div>
                <p class="hint">{t(key!("signin.panel.hint"))}</p>
            </Show>
            <p class="error" role="alert" data-testid="panel-notice">{move || blocked.get().unwrap_or_default()}</p>
            {move || problem.get().map(|problem| view! {
                <StartRefused problem on_retry=Callback::new(move |_| start(started.get_untracked().unwrap_or(AddMethod::DeviceCode))) />
            })}
            {move || match (started.get(), signed_in.get()) {
                (Some(AddMethod::Credential), false) => view! {
                    <CredentialStep signin on_device_code=Callback::new(move |_| start(AddMethod::DeviceCode))
                        on_manual=Callback::new(|_| ()) />
                }.into_any(),
                (Some(AddMethod::Credential), true) => view! { <StatusLine signin sign_in_only=true /> }.into_any(),
                (Some(_), _) => view! { <DeviceCodeStep signin sign_in_only=true /> }.into_any(),
                (None, _) => ().into_any(),
            }}
            <Show when=move || choose && started.get().is_some() && !signed_in.get()>
                <button type="button" class="secondary" data-testid="panel-back" on:click=move |_| back.run(())>
                    {t(key!("signin.panel.other_way"))}
                </button>
            </Show>
        </div>
    }
}
