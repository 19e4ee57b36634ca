//! What the app shows when a sign-in could not be started: for "too many sign-ins under way", the
//! account's running sign-ins (`GET /api/signins`) with a Cancel button each, and "Try again"; for
//! the hourly limit, the catalogue's sentence. Which is which is decided by the error code
//! ([`crate::signins::start_problem`]).

use crate::api;
use crate::signins::{self, started_label, StartProblem};
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
    let note = RwSignal::new(None::<String>);
    let cancel = Callback::new(move |id: String| {
        note.set(None);
        spawn_local(async move {
            match signins::cancel_listed(&id).await {
                // Already ended by itself: as good as cancelled.
                Ok(()) => note.set(Some("The sign-in was cancelled. You can try again now.".into())),
                Err(e) if e.code() == Some(ErrorCode::NotFound) => {
                    note.set(Some("The sign-in had already ended. You can try again now.".into()))
                }
                Err(e) => note.set(Some(e.message())),
            }
            reload.update(|n| *n += 1);
        });
    });
    view! {
        <section class="dialog running-signins" data-testid="running-signins" aria-labelledby="running-signins-heading">
            <h3 id="running-signins-heading">"Sign-ins under way for this account"</h3>
            <p class="hint">
                "Cancel a sign-in that nobody is going to finish (for example one left open in another window), then try again. A sign-in that is not finished ends by itself after 15 minutes."
            </p>
            <Suspense fallback=|| view! { <p>"Loading the sign-ins under way…"</p> }>
                {move || list.get().map(|r| match r {
                    Ok(l) if l.sign_ins.is_empty() => {
                        view! { <p>"No sign-in is under way any more. Try again."</p> }.into_any()
                    }
                    Ok(l) => view! { <SignInTable list=l on_cancel=cancel /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                })}
            </Suspense>
            <p role="status" data-testid="running-signins-note">{move || note.get().unwrap_or_default()}</p>
            <div class="actions">
                <button type="button" data-testid="signin-try-again" on:click=move |_| on_retry.run(())>"Try again"</button>
            </div>
        </section>
    }
}

/// The table of sign-ins under way.
#[component]
fn SignInTable(list: SignInList, on_cancel: Callback<String>) -> impl IntoView {
    let now = js_sys::Date::now();
    let caption = format!("{} of at most {} sign-ins are under way.", list.sign_ins.len(), list.limit);
    view! {
        <table>
            <caption>{caption}</caption>
            <thead><tr><th scope="col">"Method"</th><th scope="col">"Cloud"</th><th scope="col">"Started"</th><th scope="col"><span class="visually-hidden">"Action"</span></th></tr></thead>
            <tbody>
                {list.sign_ins.into_iter().map(|s| view! { <SignInRow s now on_cancel /> }).collect_view()}
            </tbody>
        </table>
    }
}

/// One sign-in under way.
#[component]
fn SignInRow(s: SignInSummary, now: f64, on_cancel: Callback<String>) -> impl IntoView {
    let started = started_label(&s.started_at, now);
    let label = format!("Cancel the {} sign-in started {started}", s.method.label());
    let id = s.id.clone();
    view! {
        <tr data-testid="running-signin">
            <td>{s.method.label()}</td>
            <td>{s.cloud.label()}</td>
            <td>{started}</td>
            <td>
                <button type="button" class="secondary cancel-signin" aria-label=label
                    on:click=move |_| on_cancel.run(id.clone())>"Cancel"</button>
            </td>
        </tr>
    }
}
