//! "Add customers' organizations (partner)": a service provider's administrator signs in once to
//! the partner's own tenant, chooses customers with GDAP relationships, and follows the batch that
//! adds them, a row per customer. The batch runs on the service: closing the page does not stop
//! it, and the first step lists the recent batches to come back to. Decisions are in
//! [`super::partner_logic`].

use super::partner_logic as logic;
use crate::api;
use crate::i18n::{msg, t, tr, I18n};
use crate::wizard::signin_panel::SignInPanel;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{PartnerBatchStatus, PartnerCustomerState, RetryPartnerBatch, StartPartnerBatch};
use shared::endpoints::{
    CANCEL_SIGN_IN, LIST_PARTNER_BATCHES, PARTNER_BATCH, PARTNER_CUSTOMERS, RETRY_PARTNER_BATCH, START_PARTNER_BATCH,
};
use shared::CloudEnvironment;
use std::collections::BTreeSet;
use std::time::Duration;

/// Where the flow is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// The partner's sign-in.
    SignIn,
    /// Choosing customers with this sign-in.
    Choose(String),
    /// Following this batch.
    Progress(String),
}

impl Step {
    fn number(&self) -> usize {
        match self {
            Step::SignIn => 1,
            Step::Choose(_) => 2,
            Step::Progress(_) => 3,
        }
    }

    /// The catalogue key of the step's heading.
    fn heading(&self) -> crate::i18n::Key {
        match self {
            Step::SignIn => key!("partner.heading.sign_in"),
            Step::Choose(_) => key!("partner.heading.choose"),
            Step::Progress(_) => key!("partner.heading.progress"),
        }
    }
}

/// The catalogue keys of the steps' names.
const STEP_NAMES: [crate::i18n::Key; 3] =
    [key!("partner.step.sign_in"), key!("partner.step.choose"), key!("partner.step.add")];

/// What the partner sign-in asks of the administrator (a catalogue key: the panel shows its text).
const SIGN_IN_INTRO: crate::i18n::Key = key!("partner.sign_in.intro");

/// The whole flow; `on_done` goes back to the list.
#[component]
pub fn PartnerOnboarding(on_done: Callback<()>) -> impl IntoView {
    let step = RwSignal::new(Step::SignIn);
    let heading: NodeRef<html::H2> = NodeRef::new();
    let i18n = I18n::get();
    Effect::new(move |_| {
        step.track();
        if let Some(h) = heading.get() {
            request_animation_frame(move || {
                let _ = h.focus();
            });
        }
    });
    view! {
        <section class="wizard" aria-labelledby="partner-heading" data-testid="partner">
            <ol class="stepper" aria-label=t(key!("partner.stepper.label"))>
                {move || {
                    let current = step.get().number();
                    STEP_NAMES.iter().enumerate().map(|(i, name)| {
                        let n = i + 1;
                        let (class, spoken) = match n.cmp(&current) {
                            std::cmp::Ordering::Less => ("done", Some(key!("partner.stepper.done"))),
                            std::cmp::Ordering::Equal => ("current", None),
                            std::cmp::Ordering::Greater => ("todo", Some(key!("partner.stepper.to_come"))),
                        };
                        view! {
                            <li class=class aria-current=(n == current).then_some("step")>
                                <span class="stepper-number" aria-hidden="true">{n}</span>
                                <span class="stepper-name">{i18n.t(*name)}</span>
                                {spoken.map(|k| view! { <span class="visually-hidden">{i18n.t(k)}</span> })}
                            </li>
                        }
                    }).collect_view()
                }}
            </ol>
            <h2 id="partner-heading" tabindex="-1" node_ref=heading>{move || i18n.t(step.get().heading())}</h2>
            {move || match step.get() {
                Step::SignIn => view! {
                    <p>{t(key!("partner.sign_in.lead"))}</p>
                    <SignInPanel cloud=CloudEnvironment::Global partner=true intro=SIGN_IN_INTRO
                        on_signed_in=Callback::new(move |id: String| {
                            // Kept when this step goes away: the next step hands it to the batch.
                            crate::signins::saved(&id);
                            step.set(Step::Choose(id));
                        }) />
                    <RecentBatches on_open=Callback::new(move |id| step.set(Step::Progress(id))) />
                    <div class="actions">
                        <button type="button" class="secondary" on:click=move |_| on_done.run(())>{t(key!("common.cancel"))}</button>
                    </div>
                }.into_any(),
                Step::Choose(sign_in) => {
                    let cancel_id = sign_in.clone();
                    view! {
                        <Choose sign_in
                            on_started=Callback::new(move |b: PartnerBatchStatus| step.set(Step::Progress(b.id)))
                            on_cancel=Callback::new(move |_| {
                                let id = cancel_id.clone();
                                // The partner's token is not kept waiting.
                                spawn_local(async move { let _ = api::fetch(&CANCEL_SIGN_IN, &id).await; });
                                on_done.run(());
                            }) />
                    }.into_any()
                }
                Step::Progress(batch) => view! { <Progress batch on_done /> }.into_any(),
            }}
        </section>
    }
}

/// The account's recent batches, to come back to one.
#[component]
fn RecentBatches(on_open: Callback<String>) -> impl IntoView {
    let batches = LocalResource::new(|| api::fetch(&LIST_PARTNER_BATCHES, ""));
    let i18n = I18n::get();
    view! {
        <Suspense fallback=|| ()>
            {move || batches.get().and_then(|r| r.ok()).filter(|l| !l.batches.is_empty()).map(|l| view! {
                <h3>{t(key!("partner.recent"))}</h3>
                <ul data-testid="recent-batches">
                    {l.batches.into_iter().map(|b| {
                        let id = b.id.clone();
                        let when = crate::i18n::When::DateTime(b.created_at.clone());
                        let line = if b.finished_at.is_some() {
                            crate::i18n::Msg::new(key!("partner.batch.finished")).arg("saved", b.saved.to_string()).arg("failed", b.failed.to_string())
                        } else {
                            crate::i18n::Msg::new(key!("partner.batch.running"))
                        };
                        let line = line.when("when", when).count(b.total as f64);
                        let text = move || i18n.msg(&line);
                        view! {
                            <li>{text}" "
                                <button type="button" class="secondary" on:click=move |_| on_open.run(id.clone())>{t(key!("partner.show"))}</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
        </Suspense>
    }
}

/// Step 2: the customers of the partner sign-in `sign_in`.
#[component]
fn Choose(sign_in: String, on_started: Callback<PartnerBatchStatus>, on_cancel: Callback<()>) -> impl IntoView {
    let sign_in = StoredValue::new(sign_in);
    let i18n = I18n::get();
    let customers = LocalResource::new(move || {
        let id = sign_in.get_value();
        async move { api::fetch(&PARTNER_CUSTOMERS, &id).await }
    });
    let query = RwSignal::new(String::new());
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let multiple = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let all = move || customers.get().and_then(|r| r.ok()).map(|l| l.customers).unwrap_or_default();
    let start = move |_| {
        error.set(None);
        busy.set(true);
        let body = StartPartnerBatch {
            sign_in_id: sign_in.get_value(),
            customers: selected.get_untracked().into_iter().collect(),
            create_multiple_applications: multiple.get_untracked(),
        };
        spawn_local(async move {
            match api::send(&START_PARTNER_BATCH, "", &body).await {
                Ok(b) => on_started.run(b),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.message()));
                }
            }
        });
    };
    view! {
        <Suspense fallback=move || view! { <p class="hint">{t(key!("partner.reading"))}</p> }>
            {move || customers.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                Ok(l) if l.customers.is_empty() => view! {
                    <p data-testid="no-customers">{t(key!("partner.no_customers"))}</p>
                }.into_any(),
                Ok(_) => view! {
                    <label for="customer-search">{t(key!("partner.search"))}</label>
                    <input id="customer-search" type="search" data-testid="customer-search"
                        prop:value=move || query.get() on:input=move |e| query.set(event_target_value(&e)) />
                    <table data-testid="customers">
                        <caption class="visually-hidden">{t(key!("partner.customers.caption"))}</caption>
                        <thead><tr>
                            <th scope="col">
                                <input type="checkbox" aria-label=t(key!("partner.select_all")) data-testid="select-all"
                                    prop:checked=move || logic::all_selected(&all(), &query.get(), &selected.get())
                                    on:change=move |e| {
                                        let on = event_target_checked(&e);
                                        let q = query.get_untracked();
                                        let list = all();
                                        selected.update(|s| logic::select_all(&list, &q, s, on));
                                    } />
                            </th>
                            <th scope="col">{t(key!("partner.col.customer"))}</th>
                            <th scope="col">{t(key!("list.col.tenant"))}</th>
                            <th scope="col">{t(key!("partner.col.roles"))}</th>
                        </tr></thead>
                        <tbody>
                            {move || all().into_iter().filter(|c| logic::matches(c, &query.get())).map(|c| {
                                let id = c.tenant_id.clone();
                                let checked_id = id.clone();
                                let enabled = logic::selectable(&c);
                                let roles = logic::roles_text(&c);
                                view! {
                                    <tr>
                                        <td><input type="checkbox" aria-label=tr(key!("partner.add_customer"), vec![("name", c.name.clone())]) prop:disabled=!enabled
                                            prop:checked=move || selected.get().contains(&checked_id)
                                            on:change=move |e| {
                                                let on = event_target_checked(&e);
                                                let id = id.clone();
                                                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                            } /></td>
                                        <td>{c.name.clone()}</td>
                                        <td class="hint">{c.tenant_id.clone()}</td>
                                        <td class=if c.roles_enough || c.onboarded { "hint" } else { "error" }>{msg(roles)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    <label class="check">
                        <input type="checkbox" prop:checked=move || multiple.get()
                            on:change=move |e| multiple.set(event_target_checked(&e)) />
                        " "{t(key!("partner.multiple"))}
                    </label>
                }.into_any(),
            })}
        </Suspense>
        <p class="error" role="alert" data-testid="partner-error">{move || error.get().unwrap_or_default()}</p>
        <div class="actions">
            <button type="button" data-testid="start-batch" prop:disabled=move || busy.get() || selected.get().is_empty()
                on:click=start>
                {move || i18n.tn(key!("partner.start"), selected.get().len() as f64, &[])}
            </button>
            <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{t(key!("common.cancel"))}</button>
        </div>
    }
}

/// Step 3: batch `batch`, read again as long as it runs.
#[component]
fn Progress(batch: String, on_done: Callback<()>) -> impl IntoView {
    let batch = StoredValue::new(batch);
    let i18n = I18n::get();
    let status = RwSignal::new(None::<PartnerBatchStatus>);
    let error = RwSignal::new(None::<String>);
    let retrying = RwSignal::new(false);
    // Each read schedules the next while the batch runs and this step is shown.
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    fn read(
        batch: StoredValue<String>,
        status: RwSignal<Option<PartnerBatchStatus>>,
        error: RwSignal<Option<String>>,
        alive: StoredValue<bool>,
    ) {
        spawn_local(async move {
            if !alive.try_get_value().unwrap_or(false) {
                return;
            }
            let id = batch.get_value();
            let next = match api::fetch(&PARTNER_BATCH, &id).await {
                Ok(b) => {
                    let after = b.poll_after;
                    error.try_set(None);
                    status.try_set(Some(b));
                    after
                }
                Err(e) => {
                    error.try_set(Some(e.message()));
                    Some(5)
                }
            };
            if let Some(secs) = next {
                set_timeout(move || read(batch, status, error, alive), Duration::from_secs(secs));
            }
        });
    }
    read(batch, status, error, alive);
    let retry_signed_in = Callback::new(move |sign_in: String| {
        crate::signins::saved(&sign_in);
        let id = batch.get_value();
        spawn_local(async move {
            match api::send(&RETRY_PARTNER_BATCH, &id, &RetryPartnerBatch { sign_in_id: sign_in }).await {
                Ok(b) => {
                    retrying.set(false);
                    status.set(Some(b));
                    read(batch, status, error, alive);
                }
                Err(e) => {
                    retrying.set(false);
                    error.set(Some(e.message()));
                }
            }
        });
    });
    view! {
        <p role="status" data-testid="batch-summary">
            {move || status.get().map(|b| i18n.msg(&logic::summary_text(&b))).unwrap_or_else(|| i18n.t(key!("partner.starting")))}
        </p>
        <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
        <table data-testid="batch">
            <caption class="visually-hidden">{t(key!("partner.progress.caption"))}</caption>
            <thead><tr>
                <th scope="col">{t(key!("partner.col.customer"))}</th>
                <th scope="col">{t(key!("partner.col.state"))}</th>
                <th scope="col">{t(key!("partner.col.detail"))}</th>
            </tr></thead>
            <tbody>
                {move || status.get().map(|b| b.customers.into_iter().map(|r| {
                    let failed = r.state == PartnerCustomerState::Failed;
                    view! {
                        <tr data-state=format!("{:?}", r.state)>
                            <td>{r.name.clone()}<br /><span class="hint">{r.tenant_id.clone()}</span></td>
                            <td class=if failed { "error" } else { "" }>{msg(logic::state_text(&r))}</td>
                            <td>{logic::detail_text(&r, |e| crate::i18n::I18n::get().error(e))}</td>
                        </tr>
                    }
                }).collect_view())}
            </tbody>
        </table>
        <Show when=move || retrying.get()>
            <SignInPanel cloud=CloudEnvironment::Global partner=true intro=SIGN_IN_INTRO on_signed_in=retry_signed_in />
        </Show>
        <div class="actions">
            <Show when=move || !retrying.get() && status.get().is_some_and(|b| b.finished_at.is_some() && b.failed > 0)>
                <button type="button" data-testid="retry-failed" on:click=move |_| retrying.set(true)>{t(key!("partner.retry"))}</button>
            </Show>
            <button type="button" class="secondary" data-testid="partner-done" on:click=move |_| on_done.run(())>{t(key!("partner.back"))}</button>
        </div>
    }
}
