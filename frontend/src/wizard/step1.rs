//! Step 1: the Azure cloud environment and the add method. Options a cloud does not allow are
//! disabled, with the reason shown beside them.

use super::logic::{
    cloud_explanation, cloud_label, method_after_cloud_change, method_description, method_label, method_option,
};
use crate::i18n::{msg, t, Msg};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{TenantLookup, TenantLookupRequest};
use shared::endpoints::TENANT_LOOKUP;
use shared::{AddMethod, CloudEnvironment};

/// How long a look-up may take before the page says so and lets the admin carry on by hand.
const SLOW_LOOKUP_MS: u64 = 3_000;

/// What the page says when the chosen cloud is not the one Microsoft named for the domain; `label`
/// writes a cloud's label in the language shown.
pub fn cloud_warning(
    found: &TenantLookup,
    chosen: CloudEnvironment,
    label: impl Fn(CloudEnvironment) -> String,
) -> Option<Msg> {
    (found.cloud != chosen).then(|| {
        Msg::new(key!("step1.domain.cloud_warning"))
            .arg("domain", found.domain.clone())
            .arg("found", label(found.cloud))
            .arg("chosen", label(chosen))
    })
}

/// "Your organization's domain": looks the domain up and preselects its cloud.
#[component]
fn DomainLookup(cloud: RwSignal<CloudEnvironment>, method: RwSignal<AddMethod>) -> impl IntoView {
    let domain = RwSignal::new(String::new());
    let found = RwSignal::new(None::<TenantLookup>);
    let message = RwSignal::new(None::<String>);
    let looking = RwSignal::new(0u32);
    let slow = RwSignal::new(false);
    let look_up = move || {
        let text = domain.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        if let Err(e) = shared::Domain::parse(&text) {
            message.set(Some(crate::i18n::I18n::get().field_error(&e)));
            return;
        }
        let seq = looking.get_untracked() + 1;
        looking.set(seq);
        slow.set(false);
        message.set(None);
        set_timeout(
            move || {
                if looking.get_untracked() == seq {
                    slow.set(true);
                }
            },
            std::time::Duration::from_millis(SLOW_LOOKUP_MS),
        );
        spawn_local(async move {
            let r = crate::api::send(&TENANT_LOOKUP, "", &TenantLookupRequest { domain: text }).await;
            if looking.get_untracked() != seq {
                return; // a newer look-up, or the admin went on
            }
            looking.set(0);
            slow.set(false);
            match r {
                Ok(f) => {
                    cloud.set(f.cloud);
                    let clouds = crate::context::CredentialClouds::get();
                    method.update(|m| *m = method_after_cloud_change(*m, f.cloud, &clouds));
                    message.set(None);
                    found.set(Some(f));
                }
                Err(e) => {
                    found.set(None);
                    message.set(Some(e.message()));
                }
            }
        });
    };
    let i18n = crate::i18n::I18n::get();
    view! {
        <div class="field">
            <label for="org-domain">{t(key!("step1.domain.label"))}</label>
            <div class="code-row">
                <input id="org-domain" type="text" autocomplete="off" spellcheck="false" placeholder="contoso.onmicrosoft.com"
                    aria-describedby="org-domain-hint org-domain-result"
                    prop:value=move || domain.get() on:input=move |ev| domain.set(event_target_value(&ev))
                    on:change=move |_| look_up()
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); look_up(); } />
                <button type="button" class="secondary" data-testid="find-cloud" on:click=move |_| look_up()>{t(key!("step1.domain.find"))}</button>
            </div>
            <p class="hint" id="org-domain-hint">{t(key!("step1.domain.hint"))}</p>
            <div id="org-domain-result" role="status" aria-live="polite" data-testid="domain-result">
                {move || (looking.get() != 0 && !slow.get()).then(|| view! { <p class="hint">{i18n.t(key!("step1.domain.looking"))}</p> })}
                {move || slow.get().then(|| view! { <p class="hint">{i18n.t(key!("step1.domain.slow"))}</p> })}
                {move || found.get().map(|f| { let i18n = crate::i18n::I18n::get(); view! { <p>{i18n.msg(&super::logic::lookup_found(&f, i18n.msg(&super::logic::cloud_label(f.cloud))))}</p> } })}
                {move || found.get().and_then(|f| cloud_warning(&f, cloud.get(), |c| i18n.msg(&cloud_label(c)))).map(|w| view! { <p class="reason" data-testid="cloud-warning">{i18n.msg(&w)}</p> })}
                {move || message.get().map(|m| view! { <p class="error">{m}</p> })}
            </div>
        </div>
    }
}

/// Step 1. `on_next` is called with the chosen cloud and method.
#[component]
pub fn Step1(
    cloud: RwSignal<CloudEnvironment>,
    method: RwSignal<AddMethod>,
    busy: Signal<bool>,
    on_next: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let i18n = crate::i18n::I18n::get();
    view! {
        <form class="step" on:submit=move |ev| { ev.prevent_default(); on_next.run(()); }>
            <DomainLookup cloud method />
            <fieldset>
                <legend>{t(key!("step1.cloud.legend"))}</legend>
                <p class="hint">{t(key!("step1.cloud.hint"))}</p>
                {CloudEnvironment::ALL.into_iter().map(|c| {
                    let id = format!("cloud-{}", c.as_str());
                    view! {
                        <div class="option">
                            <input type="radio" name="cloud" id=id.clone() value=c.as_str()
                                prop:checked=move || cloud.get() == c
                                on:change=move |_| {
                                    cloud.set(c);
                                    let clouds = crate::context::CredentialClouds::get();
                                    method.update(|m| *m = method_after_cloud_change(*m, c, &clouds));
                                } />
                            <label for=id>{msg(cloud_label(c))}</label>
                            <p class="hint">{msg(cloud_explanation(c))}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset>
                <legend>{t(key!("step1.method.legend"))}</legend>
                {AddMethod::ALL.into_iter().map(|m| {
                    let id = match m {
                        AddMethod::Credential => "method-credential",
                        AddMethod::DeviceCode => "method-device-code",
                        AddMethod::Manual => "method-manual",
                    };
                    let option = move || method_option(m, cloud.get(), &crate::context::CredentialClouds::get());
                    let reason_id = format!("{id}-reason");
                    view! {
                        <div class="option">
                            <input type="radio" name="method" id=id
                                prop:checked=move || method.get() == m
                                prop:disabled=move || option().2.is_some()
                                aria-describedby=reason_id.clone()
                                on:change=move |_| method.set(m) />
                            <label for=id>{msg(method_label(m))}</label>
                            <p class="hint">{msg(method_description(m))}</p>
                            <p class="reason" id=reason_id>{move || option().2.map(|why| i18n.msg(&why)).unwrap_or_default()}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{t(key!("common.cancel"))}</button>
                <button type="submit" prop:disabled=move || busy.get()>{t(key!("common.next"))}</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_cloud_than_the_domains_is_warned_about() {
        let found = TenantLookup {
            domain: "fabrikam.us".into(),
            tenant_id: "t".into(),
            cloud: CloudEnvironment::UsGovGccHigh,
            message: String::new(),
        };
        let label = |c: CloudEnvironment| crate::i18n::english(&crate::wizard::logic::cloud_label(c));
        assert_eq!(cloud_warning(&found, CloudEnvironment::UsGovGccHigh, label), None);
        let w = crate::i18n::english(&cloud_warning(&found, CloudEnvironment::Global, label).unwrap());
        assert!(w.starts_with("fabrikam.us is in US Government"), "{w}");
    }
}
