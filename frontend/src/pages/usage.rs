//! "Recent use by the backup" on the edit page: the backup engine's latest token requests for the
//! organization (when, which engine key, which application and service, and what came of it). The
//! tokens themselves are never shown or even sent to the app.

use crate::api;
use crate::i18n::{msg, t, Msg, When};
use leptos::prelude::*;
use shared::api::{UsageEntry, UsageList};
use shared::endpoints::ORGANIZATION_USAGE;

/// One entry as the page lists it (one message per outcome, with or without an application).
pub fn usage_text(e: &UsageEntry) -> Msg {
    let no_app = e.application_id.is_empty();
    let m = match (e.outcome.as_str(), no_app) {
        ("issued", false) => Msg::new(key!("usage.entry.issued")),
        ("issued", true) => Msg::new(key!("usage.entry.issued_no_application")),
        ("cached", false) if e.count > 1 => Msg::new(key!("usage.entry.reused_times")).count(e.count as f64),
        ("cached", true) if e.count > 1 => {
            Msg::new(key!("usage.entry.reused_times_no_application")).count(e.count as f64)
        }
        ("cached", false) => Msg::new(key!("usage.entry.reused")),
        ("cached", true) => Msg::new(key!("usage.entry.reused_no_application")),
        (code, false) => Msg::new(key!("usage.entry.refused")).arg("code", code),
        (code, true) => Msg::new(key!("usage.entry.refused_no_application")).arg("code", code),
    };
    let m =
        m.when("at", When::DateTime(e.at.clone())).arg("resource", e.resource.as_str()).arg("key", e.key_id.clone());
    if no_app {
        m
    } else {
        m.arg("application", e.application_id.clone())
    }
}

/// The list for organization `id`.
#[component]
pub fn RecentUse(id: String) -> impl IntoView {
    let usage = LocalResource::new(move || {
        let id = id.clone();
        async move { api::fetch(&ORGANIZATION_USAGE, &id).await }
    });
    view! {
        <section aria-labelledby="usage-heading" data-testid="recent-use">
            <h3 id="usage-heading">{t(key!("usage.heading"))}</h3>
            <Suspense fallback=|| view! { <p class="hint">{t(key!("usage.loading"))}</p> }>
                {move || usage.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.message()}</p> }.into_any(),
                    Ok(UsageList { entries }) if entries.is_empty() => {
                        view! { <p class="hint">{t(key!("usage.empty"))}</p> }.into_any()
                    }
                    Ok(UsageList { entries }) => view! {
                        <ul class="usage">
                            {entries.iter().map(|e| view! { <li>{msg(usage_text(e))}</li> }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::EngineResource;

    #[test]
    fn an_entry_says_when_what_with_which_key_and_how_it_went() {
        let e = UsageEntry {
            at: "2026-11-30T08:15:42.123Z".into(),
            key_id: "engine-1".into(),
            application_id: "app-1".into(),
            resource: EngineResource::Sharepoint,
            outcome: "cached".into(),
            count: 1,
        };
        let english = |e: &UsageEntry| crate::i18n::english(&usage_text(e));
        assert_eq!(english(&e), "2026-11-30 08:15 UTC · sharepoint · app-1 · key engine-1 · token reused");
        let counted = UsageEntry { count: 240, ..e.clone() };
        assert!(english(&counted).ends_with("token reused 240 times in this minute"));
        let refused = UsageEntry { outcome: "workload_not_granted".into(), application_id: String::new(), ..e };
        assert!(english(&refused).ends_with("no application · key engine-1 · refused (workload_not_granted)"));
    }
}
