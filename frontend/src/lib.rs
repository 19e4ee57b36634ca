//! The administrator's app, a Leptos CSR app served by the Worker's assets binding.
//!
//! Components live here and in [`pages`] and [`wizard`] (one module per screen) so that
//! `wasm-bindgen-test` can mount them; `main.rs` only mounts [`App`]. The decisions of the wizard
//! are plain Rust in [`wizard::logic`], and a sign-in with its status loop is [`signin_model`]
//! (events in, effects out), both tested natively; [`wizard::signin_loop`] runs the model's effects
//! in the browser. All data comes from the edge API through
//! the common crate's contract types ([`shared::api`]).

use leptos::html;
use leptos::prelude::*;
use session::SessionSource;
use shared::api::{HealthResponse, SessionInfo};
use shared::embed::AppMessage;
use shared::endpoints::{HEALTH, SESSION};
use shared::{AddMethod, CloudEnvironment};
use signin_model::{Event, Outcome, Purpose};
use signins::StartProblem;
use wizard::logic::{after_method, Prefill, Step};
use wizard::signin_loop::SignIn;

// `key!("list.add")`: a key of the English catalogue, checked by the compiler (build.rs).
include!(concat!(env!("OUT_DIR"), "/keys.rs"));

pub mod api;
pub mod chunks;
pub mod context;
pub mod embed;
pub mod i18n;
pub mod pages;
pub mod session;
pub mod signin_model;
pub mod signins;
pub mod wizard;

/// Removes the page's frame (the heading and the list's outline that `index.html` draws while the
/// app loads), once the app is mounted.
pub fn remove_page_frame() {
    if let Some(frame) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("frame")) {
        frame.remove();
    }
}

/// The page shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The organization list.
    Manage,
    /// The add wizard.
    Add,
    /// The edit page of one organization.
    Edit(String),
    /// Adding a partner's customers' organizations.
    Partner,
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    // Off the address bar at once, whatever happens next; used only if the edge allows it.
    let fragment_token = session::take_fragment_token();
    let top_level = embed::is_top_level();
    let page = RwSignal::new(Page::Manage);
    let i18n = i18n::runtime::I18n::provide();
    // Bumped when a session for another administrator or account arrives from the portal:
    // everything that read data reads again (a renewed token changes nothing on the screen).
    let epoch = context::SessionEpoch::provide();
    let health = LocalResource::new(|| api::fetch::<HealthResponse>(&HEALTH, ""));
    provide_context(context::CredentialClouds(Signal::derive(move || {
        health.get().and_then(|h| h.ok()).map(|h| h.credential_clouds).unwrap_or_default()
    })));
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
            Some(api::fetch::<SessionInfo>(&SESSION, "").await)
        }
    });
    let listening = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(h)) = health.get() {
            if !listening.get_untracked() {
                listening.set(true);
                // Whom the last session was for: a renewal keeps what is shown.
                let holder = StoredValue::new(None::<session::Holder>);
                embed::listen(h.portal_origins.clone(), move |msg| {
                    if let Some(locale) = &msg.locale {
                        i18n.request(locale, &i18n::runtime::assets());
                    }
                    let next = session::payload_json(&msg.token)
                        .and_then(|j| js_sys::JSON::parse(&j).ok())
                        .and_then(|v| serde_wasm_bindgen::from_value::<session::Holder>(v).ok());
                    let renewal =
                        session::is_renewal(holder.get_value().as_ref(), next.as_ref(), session::was_refused());
                    holder.set_value(next);
                    session::set_token(Some(msg.token));
                    if !renewal {
                        epoch.new_session();
                    }
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
                embed::post(AppMessage::Height { height: h });
            }
        },
        std::time::Duration::from_millis(300),
    ) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |_| {
        if page.get() == Page::Manage {
            embed::post(AppMessage::Step { step: 0 });
        }
    });
    view! {
        <main>
            <h1>{crate::i18n::t(key!("app.heading"))}</h1>
            <p data-testid="session" class="hint">
                <Suspense fallback=|| ()>
                    {move || who.get().flatten().map(|r| match r {
                        Ok(s) => i18n.tr(key!("app.signed_in_for"), &[("account", s.account)]),
                        Err(e) => e.message(),
                    })}
                </Suspense>
            </p>
            {move || match source.get() {
                None => view! { <p>{crate::i18n::t(key!("app.connecting"))}</p> }.into_any(),
                Some(SessionSource::OpenFromPortal) => view! {
                    <OpenFromPortal dev=health.get().and_then(|h| h.ok()).is_some_and(|h| h.dev_session_in_url) />
                }.into_any(),
                Some(_) => view! { <Pages page /> }.into_any(),
            }}
            <footer>
                <Suspense fallback=move || view! { <span>{crate::i18n::t(key!("app.connecting"))}</span> }>
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
            <h2 id="open-from-portal-heading">{i18n::t(key!("app.open.heading"))}</h2>
            <p>{i18n::t(key!("app.open.body"))}</p>
            <p class="hint">{i18n::t(key!("app.open.link_hint"))}</p>
            {dev.then(|| view! {
                <p class="hint">{i18n::t(key!("app.open.dev"))}</p>
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
                    on_partner=Callback::new(move |_| page.set(Page::Partner))
                    on_edit=Callback::new(move |id| page.set(Page::Edit(id)))
                    on_deleted=Callback::new(|id| embed::post(AppMessage::OrganizationDeleted { id })) />
            }.into_any(),
            Page::Add => {
                let on_done = Callback::new(move |added: Option<String>| {
                    embed::post(match added {
                        Some(id) => AppMessage::OrganizationAdded { id },
                        None => AppMessage::Cancelled,
                    });
                    page.set(Page::Manage);
                });
                view! { <chunks::Deferred load=move || chunks::wizard(on_done) /> }.into_any()
            }
            Page::Partner => {
                let on_done = Callback::new(move |_: ()| page.set(Page::Manage));
                view! { <chunks::Deferred load=move || chunks::partner(on_done) /> }.into_any()
            }
            Page::Edit(id) => {
                let on_done = Callback::new(move |updated: Option<shared::api::Organization>| {
                    if let Some(o) = updated {
                        embed::post(AppMessage::OrganizationUpdated { id: o.id });
                    }
                    page.set(Page::Manage);
                });
                view! { <chunks::Deferred load=move || chunks::edit(id.clone(), on_done) /> }.into_any()
            }
        }}
    }
}

/// The three-step add wizard.
#[component]
pub fn Wizard(on_done: Callback<Option<String>>) -> impl IntoView {
    let step = RwSignal::new(Step::Method);
    let cloud = RwSignal::new(CloudEnvironment::Global);
    let method = RwSignal::new(AddMethod::DeviceCode);
    let prefilled = RwSignal::new(Prefill::default());
    let error = RwSignal::new(None::<String>);
    // Starting the sign-in was refused because too many are under way: list them to cancel one.
    let too_many = RwSignal::new(false);
    let heading: NodeRef<html::H2> = NodeRef::new();
    let i18n = i18n::I18n::get();

    // Focus moves to the new step's heading, so keyboard and screen-reader users land on it.
    Effect::new(move |_| {
        embed::post(AppMessage::Step { step: step.get().number() });
        if let Some(h) = heading.get() {
            // On the next frame: the wizard arrives in a chunk of its own, and its first heading
            // is not in the document yet when this first runs.
            request_animation_frame(move || {
                let _ = h.focus();
            });
        }
    });

    // A refused start, confirmation or new code (a new code needs a free slot too).
    let refused = move |e: api::ApiFailure| {
        let problem = signins::start_problem(&e);
        too_many.set(problem == StartProblem::TooMany);
        error.set(Some(problem.message()));
    };
    // The wizard's sign-in (cancelled when the wizard goes away, unless Step 3 saved it).
    let signin = SignIn::new(
        Purpose::Register,
        Callback::new(move |outcome| match outcome {
            Outcome::StartRefused(e) => {
                refused(e);
                step.set(Step::Method);
            }
            Outcome::Refused(e) => refused(e),
            Outcome::Completed(p) => {
                prefilled.set(p);
                step.set(Step::Complete);
            }
            Outcome::Requesting | Outcome::SignedIn(_) => {}
        }),
    );
    let next = Callback::new(move |_| {
        error.set(None);
        too_many.set(false);
        let next_step = after_method(method.get());
        if next_step != Step::Authorize {
            prefilled.set(Prefill::default());
            step.set(next_step);
            return;
        }
        if let Err(blocked) = signin.start(cloud.get(), method.get()) {
            error.set(Some(blocked));
            return;
        }
        step.set(Step::Authorize);
    });
    // The admin leaves the sign-in: cancel it (also once registered: its applications are unsaved).
    let leave = move || _ = signin.dispatch(Event::Leave);
    // Back at Step 1, no sign-in of this wizard is needed any more.
    Effect::new(move |_| {
        if step.get() == Step::Method {
            leave();
        }
    });
    let cancel = Callback::new(move |_| {
        leave();
        on_done.run(None);
    });
    // Credential → Device Code, without going back to Step 1.
    let use_device_code = Callback::new(move |_| {
        leave();
        method.set(AddMethod::DeviceCode);
        next.run(());
    });
    // Device code blocked by Conditional Access → Microsoft's sign-in page, same cloud, one click
    // (the window opens during the click).
    let use_credential = Callback::new(move |_| {
        leave();
        method.set(AddMethod::Credential);
        next.run(());
    });
    let use_manual = Callback::new(move |_| {
        leave();
        prefilled.set(Prefill::default());
        step.set(Step::Complete);
        method.set(AddMethod::Manual);
    });

    view! {
        <section class="wizard" aria-labelledby="step-heading">
            <ol class="stepper" aria-label=i18n::t(key!("wizard.stepper.label")) data-testid="stepper">
                {move || wizard::logic::step_marks(step.get(), method.get()).into_iter().enumerate().map(|(i, (name, mark))| view! {
                    <li class=mark.class() aria-current=(mark == wizard::logic::Mark::Current).then_some("step")>
                        <span class="stepper-number" aria-hidden="true">{i + 1}</span>
                        <span class="stepper-name">{i18n::msg(name)}</span>
                        {mark.spoken().map(|spoken| view! { <span class="visually-hidden">{i18n::msg(spoken)}</span> })}
                    </li>
                }).collect_view()}
            </ol>
            <h2 id="step-heading" tabindex="-1" node_ref=heading>{move || i18n.msg(&step.get().heading())}</h2>
            <p class="error" role="alert" data-testid="wizard-error">{move || error.get().unwrap_or_default()}</p>
            <Show when=move || too_many.get()>
                <wizard::running::RunningSignIns on_retry=next />
            </Show>
            {move || match step.get() {
                Step::Method => view! {
                    <wizard::step1::Step1 cloud method busy=signin.starting() on_next=next on_cancel=cancel />
                }.into_any(),
                Step::Authorize if method.get() == AddMethod::Credential => view! {
                    <wizard::step2::CredentialStep signin on_device_code=use_device_code on_manual=use_manual on_cancel=cancel />
                }.into_any(),
                Step::Authorize => view! {
                    <wizard::step2::DeviceCodeStep signin on_manual=use_manual on_cancel=cancel
                        on_credential=Callback::new(move |_| use_credential.run(()))
                        credential_available=Signal::derive(move || {
                            AddMethod::Credential.availability_with(cloud.get(), &context::CredentialClouds::get()).is_ok()
                        }) />
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
    let i18n = i18n::runtime::I18n::get();
    match result {
        Ok(h) => view! {
            <span data-testid="api-version">{move || i18n.tr(key!("app.api_version"), &[("service", h.service.clone()), ("version", h.version.clone())])}</span>
        }
        .into_any(),
        Err(e) => view! {
            <span class="error" role="alert" data-testid="api-error">
                {move || i18n.tr(key!("app.unreachable"), &[("message", e.message())])}
            </span>
        }
        .into_any(),
    }
}
