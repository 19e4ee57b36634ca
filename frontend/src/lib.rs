//! The administrator's app, a Leptos CSR app served by the Worker's assets binding.
//!
//! Components live here and in [`pages`] and [`wizard`] (one module per screen) so that
//! `wasm-bindgen-test` can mount them; `main.rs` only mounts [`App`]. The decisions of the wizard
//! are plain Rust in [`wizard::logic`], tested natively. All data comes from the edge API through
//! the common crate's contract types ([`shared::api`]).

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use session::SessionSource;
use shared::api::{paths, HealthResponse, SessionInfo, SignInState, SignInStatus, StartSignIn};
use shared::{AddMethod, CloudEnvironment, ErrorCode};
use signins::StartProblem;
use wizard::logic::{after_method, prefill, window_message_notice, Prefill, Step};
use wizard::popup;

pub mod api;
pub mod context;
pub mod embed;
pub mod pages;
pub mod session;
pub mod signin_model;
pub mod signins;
pub mod wizard;

/// The page shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The organization list.
    Manage,
    /// The add wizard.
    Add,
    /// The edit page of one organization.
    Edit(String),
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // Off the address bar at once, whatever happens next; used only if the edge allows it.
    let fragment_token = session::take_fragment_token();
    let top_level = embed::is_top_level();
    let page = RwSignal::new(Page::Manage);
    // Bumped when a new session arrives from the portal: everything that read data reads again.
    let epoch = context::SessionEpoch::provide();
    let health = LocalResource::new(|| api::get_json::<HealthResponse>(paths::HEALTH));
    // Where the session comes from: at once, or with a token in the fragment once health has
    // answered (nothing that needs a session is shown or called before).
    let source = RwSignal::new(session::session_source_now(fragment_token.as_deref(), top_level));
    let fragment_token = StoredValue::new(fragment_token);
    Effect::new(move |_| {
        let Some(h) = health.get() else { return };
        if source.get_untracked().is_some() {
            return;
        }
        let dev_allowed = h.as_ref().is_ok_and(|h| h.dev_session_in_url);
        let decided = session::session_source(fragment_token.get_value(), dev_allowed, top_level);
        fragment_token.set_value(None);
        if let SessionSource::Fragment(token) = &decided {
            session::set_token(Some(token.clone()));
        }
        source.set(Some(decided));
    });
    let signed_in_view = move || matches!(source.get(), Some(SessionSource::Fragment(_) | SessionSource::Portal));
    let who = LocalResource::new(move || {
        epoch.track();
        let ready = signed_in_view();
        async move {
            if !ready {
                return None;
            }
            Some(api::get_json::<SessionInfo>(paths::SESSION).await)
        }
    });
    let listening = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(h)) = health.get() {
            if !listening.get_untracked() {
                listening.set(true);
                embed::listen(h.portal_origins.clone(), move |msg| {
                    session::set_token(Some(msg.token));
                    epoch.new_session();
                });
            }
        }
    });
    // The iframe's height follows the content.
    let last_height = std::cell::Cell::new(0u32);
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if let Some(h) = embed::content_height().filter(|h| *h != last_height.get()) {
                last_height.set(h);
                embed::post(embed::Outbound::Height(h));
            }
        },
        std::time::Duration::from_millis(300),
    ) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |_| {
        if page.get() == Page::Manage {
            embed::post(embed::Outbound::Step(0));
        }
    });
    view! {
        <main>
            <h1>"Add & Manage Microsoft 365 Organizations"</h1>
            <p data-testid="session" class="hint">
                <Suspense fallback=|| ()>
                    {move || who.get().flatten().map(|r| match r {
                        Ok(s) => format!("Signed in for portal account {}.", s.account),
                        Err(e) => e.message(),
                    })}
                </Suspense>
            </p>
            {move || match source.get() {
                None => view! { <p>"Connecting to the service…"</p> }.into_any(),
                Some(SessionSource::OpenFromPortal) => view! {
                    <OpenFromPortal dev=health.get().and_then(|h| h.ok()).is_some_and(|h| h.dev_session_in_url) />
                }.into_any(),
                Some(_) => view! { <Pages page /> }.into_any(),
            }}
            <footer>
                <Suspense fallback=|| view! { <span>"Connecting to the service…"</span> }>
                    {move || health.get().map(|result| view! { <ServiceStatus result /> })}
                </Suspense>
            </footer>
        </main>
    }
}

/// Shown when the app was opened on its own, outside the portal, without a session it may use:
/// it takes no session and calls nothing that needs one.
#[component]
pub fn OpenFromPortal(
    /// Local development: say how to open the app with a development session.
    dev: bool,
) -> impl IntoView {
    view! {
        <section class="step" data-testid="open-from-portal" aria-labelledby="open-from-portal-heading">
            <h2 id="open-from-portal-heading">"Open this from your backup portal"</h2>
            <p>
                "This app works only inside your backup portal, which signs you in. Sign in to your backup portal and open the Microsoft 365 organizations page there."
            </p>
            <p class="hint">
                "A link to this page on its own does not sign you in, so that nobody can send you a link that works in their account."
            </p>
            {dev.then(|| view! {
                <p class="hint">"Local development: open the address that make dev printed (it ends with #token=…), or make a new token with scripts/dev-token.py."</p>
            })}
        </section>
    }
}

/// The organization list, the wizard or the edit page, as `page` says.
#[component]
fn Pages(page: RwSignal<Page>) -> impl IntoView {
    view! {
        {move || match page.get() {
            Page::Manage => view! {
                <pages::manage::Manage
                    on_add=Callback::new(move |_| page.set(Page::Add))
                    on_edit=Callback::new(move |id| page.set(Page::Edit(id)))
                    on_deleted=Callback::new(|id| embed::post(embed::Outbound::OrganizationDeleted(id))) />
            }.into_any(),
            Page::Add => view! { <Wizard on_done=Callback::new(move |added: Option<String>| {
                embed::post(match added {
                    Some(id) => embed::Outbound::OrganizationAdded(id),
                    None => embed::Outbound::Cancelled,
                });
                page.set(Page::Manage);
            }) /> }.into_any(),
            Page::Edit(id) => view! { <pages::edit::Edit id on_done=Callback::new(move |updated: Option<shared::api::Organization>| {
                if let Some(o) = updated {
                    embed::post(embed::Outbound::OrganizationUpdated(o.id));
                }
                page.set(Page::Manage);
            }) /> }.into_any(),
        }}
    }
}

/// The three-step add wizard.
#[component]
pub fn Wizard(on_done: Callback<Option<String>>) -> impl IntoView {
    let step = RwSignal::new(Step::Method);
    let cloud = RwSignal::new(CloudEnvironment::Global);
    let method = RwSignal::new(AddMethod::DeviceCode);
    let status = RwSignal::new(None::<SignInStatus>);
    let seconds_left = RwSignal::new(0u64);
    let prefilled = RwSignal::new(Prefill::default());
    let error = RwSignal::new(None::<String>);
    // Starting the sign-in was refused because too many are under way: list them to cancel one.
    let too_many = RwSignal::new(false);
    let busy = RwSignal::new(false);
    // The wizard's sign-ins are cancelled when it goes away, unless Step 3 saved them.
    let owned = signins::Owned::new();
    // Credential: what went wrong with the sign-in window that the status cannot show.
    let notice = RwSignal::new(None::<String>);
    let heading: NodeRef<html::H2> = NodeRef::new();

    // Focus moves to the new step's heading, so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        embed::post(embed::Outbound::Step(step.get().number()));
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });

    let apply = move |s: SignInStatus| {
        if let Some(left) = s.expires_in {
            seconds_left.set(left);
        }
        if s.state != SignInState::WaitingForSignIn {
            notice.set(None);
            // Not while signed in and unclaimed: the window may still have to show its code.
            if s.method == AddMethod::Credential && matches!(s.state, SignInState::Registering | SignInState::Completed)
            {
                popup::close();
            }
        }
        if s.state == SignInState::Completed {
            if let Some(r) = &s.result {
                prefilled.set(prefill(&s.id, r));
                step.set(Step::Complete);
            }
        }
        status.set(Some(s));
    };
    // An answer about another sign-in (a slow read of one the admin has left) changes nothing.
    let apply_current = move |s: SignInStatus| {
        if status.get_untracked().is_some_and(|c| c.id == s.id) {
            apply(s);
        }
    };
    // Credential: presents the window's claim (or the typed confirmation code) to start registration.
    let claim = move |id: String, claim: String| {
        spawn_local(async move {
            let body = shared::api::ConfirmSignIn { claim: Some(shared::secret::SecretString::new(claim)) };
            match api::send_json::<_, SignInStatus>("POST", &paths::signin_confirm(&id), &body).await {
                Ok(s) => apply_current(s),
                Err(e) => notice.set(Some(e.message())),
            }
        });
    };
    // While Step 2 is shown: read the status and count down every second.
    let tick = move || {
        if step.get_untracked() != Step::Authorize {
            return;
        }
        seconds_left.update(|s| *s = s.saturating_sub(1));
        let Some(current) = status.get_untracked() else { return };
        if current.state.is_final() && current.state != SignInState::Registering {
            return;
        }
        // A closed sign-in window matters only if the sign-in is still waiting once the status is
        // read (the window closes itself only after Microsoft's answer was redeemed and handed over).
        let window_closed = current.method == AddMethod::Credential && popup::take_closed();
        let id = current.id.clone();
        spawn_local(async move {
            if let Ok(s) = api::get_json::<SignInStatus>(&paths::signin(&id)).await {
                let waiting = s.state == SignInState::WaitingForSignIn;
                apply_current(s);
                if window_closed && waiting && notice.get_untracked().is_none() {
                    notice.set(Some(ErrorCode::PopupClosed.message().to_owned()));
                }
            }
        });
    };
    if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_millis(1000)) {
        on_cleanup(move || handle.clear());
    }
    // The sign-in window's last page tells us at once (when it still can: see `popup`).
    let listener = window_event_listener(leptos::ev::message, move |ev| {
        let Some(msg) = popup::read_message(&ev) else { return };
        let Some(current) = status.get_untracked().filter(|c| c.id == msg.id) else { return };
        if let Some(text) = window_message_notice(&current, &msg.id, msg.failure.as_deref()) {
            notice.set(Some(text));
        }
        match msg.claim {
            Some(handle) => claim(msg.id, handle),
            None => spawn_local(async move {
                if let Ok(s) = api::get_json::<SignInStatus>(&paths::signin(&msg.id)).await {
                    apply_current(s);
                }
            }),
        }
    });
    on_cleanup(move || listener.remove());

    let signin_op = move |path: String| {
        spawn_local(async move {
            match api::send_json::<_, SignInStatus>("POST", &path, &serde_json::json!({})).await {
                Ok(s) => apply(s),
                // A new code for an expired sign-in needs a free slot too.
                Err(e) => {
                    let problem = signins::start_problem(&e);
                    too_many.set(problem == StartProblem::TooMany);
                    error.set(Some(problem.message()));
                }
            }
        });
    };
    let next = Callback::new(move |_| {
        error.set(None);
        too_many.set(false);
        let next_step = after_method(method.get());
        if next_step != Step::Authorize {
            prefilled.set(Prefill::default());
            step.set(next_step);
            return;
        }
        // A pop-up is allowed only during the click: open it now, send it to Microsoft later.
        if method.get() == AddMethod::Credential {
            if let Err(blocked) = popup::open("about:blank") {
                error.set(Some(blocked));
                return;
            }
        }
        busy.set(true);
        status.set(None);
        notice.set(None);
        step.set(Step::Authorize);
        let body = StartSignIn { cloud: cloud.get(), method: method.get() };
        spawn_local(async move {
            let r = api::send_json::<_, SignInStatus>("POST", paths::SIGNINS, &body).await;
            busy.set(false);
            match r {
                Ok(s) => {
                    owned.started(&s.id);
                    popup::follow(&s);
                    apply(s)
                }
                Err(e) => {
                    popup::close();
                    let problem = signins::start_problem(&e);
                    too_many.set(problem == StartProblem::TooMany);
                    error.set(Some(problem.message()));
                    step.set(Step::Method);
                }
            }
        });
    });
    // Credential: open the sign-in window again; a sign-in that ended gets a new state and verifier.
    let retry = Callback::new(move |_| {
        let Some(current) = status.get_untracked() else { return };
        notice.set(None);
        if let (SignInState::WaitingForSignIn, Some(url)) = (current.state, &current.authorize_url) {
            if let Err(blocked) = popup::open(url) {
                notice.set(Some(blocked));
            }
            return;
        }
        if let Err(blocked) = popup::open("about:blank") {
            notice.set(Some(blocked));
            return;
        }
        spawn_local(async move {
            let path = paths::signin_renew(&current.id);
            match api::send_json::<_, SignInStatus>("POST", &path, &serde_json::json!({})).await {
                Ok(s) => {
                    popup::follow(&s);
                    apply_current(s)
                }
                Err(e) => {
                    popup::close();
                    notice.set(Some(e.message()));
                }
            }
        });
    });
    // The admin leaves the sign-in: cancel it (also once registered: its applications are unsaved).
    let cancel_current = move || {
        popup::close();
        owned.release();
    };
    // Back at Step 1, no sign-in of this wizard is needed any more.
    Effect::new(move |_| {
        if step.get() == Step::Method {
            owned.release();
        }
    });
    let cancel = Callback::new(move |_| {
        cancel_current();
        on_done.run(None);
    });
    // Credential → Device Code, without going back to Step 1.
    let use_device_code = Callback::new(move |_| {
        cancel_current();
        method.set(AddMethod::DeviceCode);
        next.run(());
    });

    view! {
        <section class="wizard" aria-labelledby="step-heading">
            <p class="steps" aria-hidden="true">{move || format!("Step {} of 3", step.get().number())}</p>
            <h2 id="step-heading" tabindex="-1" node_ref=heading>{move || step.get().heading()}</h2>
            <p class="error" role="alert" data-testid="wizard-error">{move || error.get().unwrap_or_default()}</p>
            <Show when=move || too_many.get()>
                <wizard::running::RunningSignIns on_retry=next />
            </Show>
            {move || match step.get() {
                Step::Method => view! {
                    <wizard::step1::Step1 cloud method busy=busy.into() on_next=next on_cancel=cancel />
                }.into_any(),
                Step::Authorize => view! {
                    <wizard::step2::Step2 status seconds_left notice on_retry=retry on_device_code=use_device_code
                        on_claim=Callback::new(move |code: String| if let Some(s) = status.get_untracked() { claim(s.id, code) })
                        on_confirm=Callback::new(move |_| if let Some(s) = status.get_untracked() { signin_op(paths::signin_confirm(&s.id)) })
                        on_renew=Callback::new(move |_| if let Some(s) = status.get_untracked() { signin_op(paths::signin_renew(&s.id)) })
                        on_manual=Callback::new(move |_| { cancel_current(); method.set(AddMethod::Manual); prefilled.set(Prefill::default()); step.set(Step::Complete); })
                        on_cancel=cancel />
                }.into_any(),
                Step::Complete => view! {
                    <wizard::step3::Step3 cloud=cloud.get_untracked() prefill=prefilled.get_untracked()
                        on_saved=Callback::new(move |o: shared::api::Organization| on_done.run(Some(o.id))) on_cancel=cancel />
                }.into_any(),
            }}
        </section>
    }
}

/// The footer line that says which API version answered, or why none did.
#[component]
pub fn ServiceStatus(result: Result<HealthResponse, api::ApiFailure>) -> impl IntoView {
    match result {
        Ok(h) => view! {
            <span data-testid="api-version">{format!("{} API version {}", h.service, h.version)}</span>
        }
        .into_any(),
        Err(e) => view! {
            <span class="error" role="alert" data-testid="api-error">
                {format!("The service could not be reached: {}", e.message())}
            </span>
        }
        .into_any(),
    }
}
