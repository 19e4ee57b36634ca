//! Step 1: the Azure cloud environment and the add method. Options a cloud does not allow are
//! disabled, with the reason shown beside them.

use super::logic::{method_after_cloud_change, method_option};
use leptos::prelude::*;
use shared::{AddMethod, CloudEnvironment};

/// Step 1. `on_next` is called with the chosen cloud and method.
#[component]
pub fn Step1(
    cloud: RwSignal<CloudEnvironment>,
    method: RwSignal<AddMethod>,
    busy: Signal<bool>,
    on_next: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <form class="step" on:submit=move |ev| { ev.prevent_default(); on_next.run(()); }>
            <fieldset>
                <legend>"Azure cloud environment"</legend>
                <p class="hint">"Microsoft 365 must be reached in the same Azure cloud your organization was created in."</p>
                {CloudEnvironment::ALL.into_iter().map(|c| {
                    let id = format!("cloud-{}", c.as_str());
                    view! {
                        <div class="option">
                            <input type="radio" name="cloud" id=id.clone() value=c.as_str()
                                prop:checked=move || cloud.get() == c
                                on:change=move |_| {
                                    cloud.set(c);
                                    method.update(|m| *m = method_after_cloud_change(*m, c));
                                } />
                            <label for=id>{c.label()}</label>
                            <p class="hint">{c.explanation()}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset>
                <legend>"Method to add the Microsoft 365 organization"</legend>
                {AddMethod::ALL.into_iter().map(|m| {
                    let id = match m {
                        AddMethod::Credential => "method-credential",
                        AddMethod::DeviceCode => "method-device-code",
                        AddMethod::Manual => "method-manual",
                    };
                    let option = move || method_option(m, cloud.get());
                    let reason_id = format!("{id}-reason");
                    view! {
                        <div class="option">
                            <input type="radio" name="method" id=id
                                prop:checked=move || method.get() == m
                                prop:disabled=move || option().2.is_some()
                                aria-describedby=reason_id.clone()
                                on:change=move |_| method.set(m) />
                            <label for=id>{m.label()}</label>
                            <p class="hint">{m.description()}</p>
                            <p class="reason" id=reason_id>{move || option().2.unwrap_or_default()}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="submit" prop:disabled=move || busy.get()>"Next"</button>
            </div>
        </form>
    }
}
