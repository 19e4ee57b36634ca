//! Repair on the edit page: one sign-in (Device Code, or Credential where the cloud allows it) whose
//! registration does only what the organization is missing (the edge decides what: see
//! `POST /api/signins` with the purpose `repair`), the same progress as the wizard's Step 2, and
//! then `POST /api/organizations/{id}/repair`. The organization keeps its ID and name.

use crate::api::{self, ApiFailure};
use crate::i18n::t;
use crate::signin_model::{Outcome, Purpose};
use crate::signins;
use crate::wizard::signin_loop::SignIn;
use crate::wizard::step2::{CredentialStep, DeviceCodeStep};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{Health, HealthStatus, Organization, RepairOrganization};
use shared::endpoints::REPAIR_ORGANIZATION;
use shared::{AddMethod, CloudEnvironment};

/// Whether the edit page offers Repair: the organization needs attention or is failing.
pub fn offers_repair(health: &HealthStatus) -> bool {
    matches!(health.state, Health::NeedsAttention | Health::Failing)
}

/// The methods a repair may sign in with in `cloud`.
pub fn repair_methods(cloud: CloudEnvironment, credential_clouds: &[CloudEnvironment]) -> Vec<AddMethod> {
    [AddMethod::DeviceCode, AddMethod::Credential]
        .into_iter()
        .filter(|m| m.availability_with(cloud, credential_clouds).is_ok())
        .collect()
}

/// Repair of organization `organization` (at `version`): choose a method, sign in, follow the
/// registration, store it. `on_repaired` gets the organization as stored and checked again.
#[component]
pub fn RepairPanel(
    organization: String,
    version: i64,
    cloud: CloudEnvironment,
    on_repaired: Callback<Organization>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let method = RwSignal::new(AddMethod::DeviceCode);
    let started = RwSignal::new(None::<AddMethod>);
    let message = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let id = organization.clone();
    let signin = SignIn::new(
        Purpose::Register,
        Callback::new(move |outcome| match outcome {
            Outcome::StartRefused(e) | Outcome::Refused(e) => message.set(Some(e.message())),
            Outcome::Requesting | Outcome::SignedIn(_) => message.set(None),
            Outcome::Completed(prefill) => {
                let Some(sign_in) = prefill.sign_in_id else { return };
                let body = RepairOrganization { version, sign_in_id: sign_in.clone() };
                let id = id.clone();
                saving.set(true);
                spawn_local(async move {
                    let r: Result<Organization, ApiFailure> = api::send(&REPAIR_ORGANIZATION, &id, &body).await;
                    saving.set(false);
                    match r {
                        Ok(o) => {
                            // Stored: leaving the page must not cancel the sign-in.
                            signins::saved(&sign_in);
                            on_repaired.run(o);
                        }
                        Err(e) => message.set(Some(e.message())),
                    }
                });
            }
        }),
    );
    let begin = move |_| {
        let m = method.get_untracked();
        match signin.start_repair(cloud, m, &organization) {
            Ok(()) => started.set(Some(m)),
            Err(blocked) => message.set(Some(blocked)),
        }
    };
    let methods = repair_methods(cloud, &crate::context::CredentialClouds::get());
    view! {
        <section class="signin-panel" data-testid="repair-panel" aria-labelledby="repair-heading">
            <h3 id="repair-heading">{t(key!("repair.heading"))}</h3>
            <p>{t(key!("repair.intro"))}</p>
            <Show when=move || started.get().is_none()>
                <fieldset>
                    <legend>{t(key!("repair.method.legend"))}</legend>
                    {methods.iter().map(|m| {
                        let m = *m;
                        let input_id = format!("repair-{}", m.as_str());
                        view! {
                            <div class="option">
                                <input type="radio" name="repair-method" id=input_id.clone()
                                    prop:checked=move || method.get() == m on:change=move |_| method.set(m) />
                                <label for=input_id>{crate::i18n::msg(crate::wizard::logic::method_label(m))}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="actions">
                    <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{t(key!("common.cancel"))}</button>
                    <button type="button" data-testid="repair-start" on:click=begin.clone()>{t(key!("repair.start"))}</button>
                </div>
            </Show>
            {move || match started.get() {
                Some(AddMethod::Credential) => view! {
                    <CredentialStep signin
                        on_device_code=Callback::new(move |_| { started.set(None); method.set(AddMethod::DeviceCode); })
                        on_manual=Callback::new(|_| ())
                        on_cancel=Callback::new(move |_| on_cancel.run(())) />
                }.into_any(),
                Some(_) => view! { <DeviceCodeStep signin on_cancel=Callback::new(move |_| on_cancel.run(())) /> }.into_any(),
                None => ().into_any(),
            }}
            <Show when=move || saving.get()>
                <p class="status" role="status">{t(key!("repair.saving"))}</p>
            </Show>
            <p class="error" role="alert" data-testid="repair-error">{move || message.get().unwrap_or_default()}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_is_offered_to_organizations_that_need_it_in_the_methods_of_their_cloud() {
        let h = |state| HealthStatus { state, ..Default::default() };
        assert!(offers_repair(&h(Health::Failing)) && offers_repair(&h(Health::NeedsAttention)));
        assert!(!offers_repair(&h(Health::Healthy)) && !offers_repair(&h(Health::Unchecked)));
        assert_eq!(repair_methods(CloudEnvironment::Global, &[]), vec![AddMethod::DeviceCode, AddMethod::Credential]);
        assert_eq!(repair_methods(CloudEnvironment::UsGovGccHigh, &[]), vec![AddMethod::DeviceCode]);
        assert_eq!(repair_methods(CloudEnvironment::China, &[]), vec![AddMethod::DeviceCode]);
        let china = [CloudEnvironment::China];
        assert_eq!(repair_methods(CloudEnvironment::China, &china), vec![AddMethod::DeviceCode, AddMethod::Credential]);
    }
}
