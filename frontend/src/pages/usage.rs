//! "Recent use by the backup" on the edit page: the backup engine's latest token requests for the
//! organization (when, which engine key, which application and service, and what came of it). The
//! tokens themselves are never shown or even sent to the app.

use crate::api;
use leptos::prelude::*;
use shared::api::{UsageEntry, UsageList};
use shared::endpoints::ORGANIZATION_USAGE;

/// One entry as the page lists it.
pub fn usage_text(e: &UsageEntry) -> String {
    let at = e.at.replace('T', " ");
    let at = at.get(..16).unwrap_or(&at);
    let outcome = match e.outcome.as_str() {
        "issued" => "new token from Microsoft".to_owned(),
        "cached" if e.count > 1 => format!("token reused {} times in this minute", e.count),
        "cached" => "token reused".to_owned(),
        code => format!("refused ({code})"),
    };
    let app = if e.application_id.is_empty() { "no application".to_owned() } else { e.application_id.clone() };
    format!("{at} UTC · {} · {app} · key {} · {outcome}", e.resource.as_str(), e.key_id)
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
            <h3 id="usage-heading">"Recent use by the backup"</h3>
            <Suspense fallback=|| view! { <p class="hint">"Loading…"</p> }>
                {move || usage.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.message()}</p> }.into_any(),
                    Ok(UsageList { entries }) if entries.is_empty() => {
                        view! { <p class="hint">"The backup has not asked for access to this organization yet."</p> }.into_any()
                    }
                    Ok(UsageList { entries }) => view! {
                        <ul class="usage">
                            {entries.iter().map(|e| view! { <li>{usage_text(e)}</li> }).collect_view()}
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
        assert_eq!(usage_text(&e), "2026-11-30 08:15 UTC · sharepoint · app-1 · key engine-1 · token reused");
        let counted = UsageEntry { count: 240, ..e.clone() };
        assert!(usage_text(&counted).ends_with("token reused 240 times in this minute"));
        let refused = UsageEntry { outcome: "workload_not_granted".into(), application_id: String::new(), ..e };
        assert!(usage_text(&refused).ends_with("no application · key engine-1 · refused (workload_not_granted)"));
    }
}
