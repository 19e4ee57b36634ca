//! What the app shows when a sign-in could not be started: for "too many sign-ins under way", the
//! account's running sign-ins (`GET /api/signins`) with a Cancel button each, and "Try again"; for
//! the hourly limit, the catalogue's sentence. Which is which is decided by the error code
//! ([`crate::signins::start_problem`]).

use crate::api;
use crate::i18n::{msg, t, Msg};
use crate::signins::{self, started_label, StartProblem};
use crate::wizard::logic::{cloud_label, method_label};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{SignInList, SignInSummary};
use shared::endpoints::LIST_SIGN_INS;
use shared::ErrorCode;

/// The refusal of a sign-in start: its sentence, and for [`StartProblem::TooMany`] the list of
/// sign-ins under way. `on_retry` starts again.
#[component]
pub fn StartRefused(problem: StartProblem, on_retry: Callback<()>) -> impl IntoView {
    let too_many = problem == StartProblem::TooMany;
    view! {
        <div class="start-refused">
            <p class="error" role="alert" data-testid="signin-start-error">{problem.message()}</p>
            {too_many.then(|| view! { <RunningSignIns on_retry /> })}
        </div>
    }
}

/// The account's sign-ins under way, each with "Cancel", and "Try again".
#[component]
pub fn RunningSignIns(on_retry: Callback<()>) -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        reload.track();
        api::fetch::<SignInList>(&LIST_SIGN_INS, "")
    });
    let i18n = crate::i18n::I18n::get();
    // A message of the app, or the edge's sentence of a failure.
    let note = RwSignal::new(None::<Result<Msg, String>>);
    let cancel = Callback::new(move |id: String| {
        note.set(None);
        spawn_local(async move {
            match signins::cancel_listed(&id).await {
                // Already ended by itself: as good as cancelled.
                Ok(()) => note.set(Some(Ok(Msg::new(key!("signin.running.cancelled"))))),
                Err(e) if e.code() == Some(ErrorCode::NotFound) => {
                    note.set(Some(Ok(Msg::new(key!("signin.running.already_ended")))))
                }
                Err(e) => note.set(Some(Err(e.message()))),
            }
            reload.update(|n| *n += 1);
        });
    });
    view! {
        <section class="dialog running-signins" data-testid="running-signins" aria-labelledby="running-signins-heading">
            <h3 id="running-signins-heading">{t(key!("signin.running.heading"))}</h3>
            <p class="hint">{t(key!("signin.running.hint"))}</p>
            <Suspense fallback=|| view! { <p>{t(key!("signin.running.loading"))}</p> }>
                {move || list.get().map(|r| match r {
                    Ok(l) if l.sign_ins.is_empty() => {
                        view! { <p>{t(key!("signin.running.none"))}</p> }.into_any()
                    }
                    Ok(l) => view! { <SignInTable list=l on_cancel=cancel /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                })}
            </Suspense>
            <p role="status" data-testid="running-signins-note">{move || match note.get() {
                Some(Ok(m)) => i18n.msg(&m),
                Some(Err(sentence)) => sentence,
                None => String::new(),
            }}</p>
            <div class="actions">
                <button type="button" data-testid="signin-try-again" on:click=move |_| on_retry.run(())>{t(key!("signin.try_again"))}</button>
            </div>
        </section>
    }
}

/// The table of sign-ins under way.
#[component]
fn SignInTable(list: SignInList, on_cancel: Callback<String>) -> impl IntoView {
    let now = js_sys::Date::now();
    let caption =
        Msg::new(key!("signin.running.caption")).arg("limit", list.limit.to_string()).count(list.sign_ins.len() as f64);
    view! {
        <table>
            <caption>{msg(caption)}</caption>
            <thead><tr><th scope="col">{t(key!("signin.running.col.method"))}</th><th scope="col">{t(key!("signin.running.col.cloud"))}</th><th scope="col">{t(key!("signin.running.col.started"))}</th><th scope="col"><span class="visually-hidden">{t(key!("signin.running.col.action"))}</span></th></tr></thead>
            <tbody>
                {list.sign_ins.into_iter().map(|s| view! { <SignInRow s now on_cancel /> }).collect_view()}
            </tbody>
        </table>
    }
}

/// One sign-in under way.
#[component]
fn SignInRow(s: SignInSummary, now: f64, on_cancel: Callback<String>) -> impl IntoView {
    let i18n = crate::i18n::I18n::get();
    let started = {
        let (label, raw) = (started_label(&s.started_at, now), s.started_at.clone());
        move || label.as_ref().map_or_else(|| raw.clone(), |m| i18n.msg(m))
    };
    let method = method_label(s.method);
    let label = {
        let (started, method) = (started.clone(), method.clone());
        move || i18n.tr(key!("signin.running.cancel_label"), &[("method", i18n.msg(&method)), ("started", started())])
    };
    let id = s.id.clone();
    view! {
        <tr data-testid="running-signin">
            <td>{msg(method)}</td>
            <td>{msg(cloud_label(s.cloud))}</td>
            <td>{started}</td>
            <td>
                <button type="button" class="secondary cancel-signin" aria-label=label
                    on:click=move |_| on_cancel.run(id.clone())>{t(key!("common.cancel"))}</button>
            </td>
        </tr>
    }
}
