//! The current language as a reactive context: [`I18n::t`] and friends read it, so every text on
//! the screen changes when the portal changes the language. English is compiled in; another
//! language's catalogue is fetched from the build's own folder the first time it is asked for
//! (content-named, so cached for good), and English shows until it has arrived (never a key).

use super::catalogue::Catalogue;
use super::text::fill;
use leptos::prelude::*;
use shared::locale::Locale;
use std::sync::Arc;

/// The English source, as the build compiled it in.
const ENGLISH: &str = include_str!("../../locales/en.json");

thread_local! {
    static ENGLISH_CATALOGUE: Catalogue = parse(ENGLISH).unwrap_or_default();
    static FETCHED: std::cell::RefCell<Vec<(Locale, Arc<Catalogue>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn parse(text: &str) -> Option<Catalogue> {
    #[cfg(target_arch = "wasm32")]
    {
        let value = js_sys::JSON::parse(text).ok()?;
        serde_wasm_bindgen::from_value(value).ok()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::from_str(text).ok()
    }
}

/// The language and its catalogue.
#[derive(Clone, Copy)]
pub struct I18n {
    locale: RwSignal<Locale>,
    catalogue: RwSignal<Option<Arc<Catalogue>>>,
}

impl I18n {
    /// Provides English to the components below.
    pub fn provide() -> Self {
        let i18n = I18n { locale: RwSignal::new(Locale::En), catalogue: RwSignal::new(None) };
        provide_context(i18n);
        i18n
    }

    /// The context, or English when none was provided (a component mounted on its own).
    pub fn get() -> Self {
        use_context::<I18n>()
            .unwrap_or_else(|| I18n { locale: RwSignal::new(Locale::En), catalogue: RwSignal::new(None) })
    }

    /// The language shown.
    pub fn locale(self) -> Locale {
        self.locale.get()
    }

    /// The text of `key` with `args` filled in.
    pub fn tr(self, key: &str, args: &[(&str, String)]) -> String {
        self.text(key, "other", args)
    }

    /// The text of `key`.
    pub fn t(self, key: &str) -> String {
        self.tr(key, &[])
    }

    /// The text of `key` for `count` (its plural form in the language, `{count}` written as the
    /// language writes numbers).
    pub fn tn(self, key: &str, count: f64, args: &[(&str, String)]) -> String {
        let tag = self.locale.get().tag();
        let category = super::intl::plural_category(tag, count);
        let mut all: Vec<(&str, String)> = args.to_vec();
        all.push(("count", super::intl::number(tag, count)));
        self.text(key, &category, &all)
    }

    fn text(self, key: &str, category: &str, args: &[(&str, String)]) -> String {
        let catalogue = self.catalogue.get();
        let own = catalogue.as_ref().and_then(|c| c.get(key)).and_then(|e| e.text(category)).map(str::to_owned);
        let text =
            own.or_else(|| ENGLISH_CATALOGUE.with(|en| en.get(key).and_then(|e| e.text(category)).map(str::to_owned)));
        fill(text.as_deref().unwrap_or(key), args)
    }

    /// Shows the language for the portal's `requested` BCP 47 locale (see
    /// [`Locale::negotiate`]): at once when it is English or already fetched, else once its
    /// catalogue has arrived from `assets` (the build's folder).
    pub fn request(self, requested: &str, assets: &str) {
        let locale = Locale::negotiate(requested);
        if locale == Locale::En {
            self.locale.set(locale);
            self.catalogue.set(None);
            return;
        }
        if let Some(c) = FETCHED.with(|f| f.borrow().iter().find(|(l, _)| *l == locale).map(|(_, c)| c.clone())) {
            self.locale.set(locale);
            self.catalogue.set(Some(c));
            return;
        }
        let url = format!("{assets}locales/{}.json", locale.tag());
        leptos::task::spawn_local(async move {
            let Ok(resp) = gloo_net::http::Request::get(&url).send().await else { return };
            let Ok(text) = resp.text().await else { return };
            let Some(c) = resp.ok().then(|| parse(&text)).flatten() else { return };
            let c = Arc::new(c);
            FETCHED.with(|f| f.borrow_mut().push((locale, c.clone())));
            self.locale.set(locale);
            self.catalogue.set(Some(c));
        });
    }
}

/// The build's folder of content-named files (`./app-<hash>/`), from the page's
/// `<meta name="m365-assets">` (the build writes it; `./app/` when the page has none).
pub fn assets() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("meta[name=m365-assets]").ok().flatten())
        .and_then(|m| m.get_attribute("content"))
        .unwrap_or_else(|| "./app/".to_owned())
}

/// The English source catalogue (for the pseudo-locale and the catalogue test).
pub fn english() -> Catalogue {
    ENGLISH_CATALOGUE.with(Clone::clone)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_english_source_is_read() {
        assert!(super::english().get("app.heading").is_some());
    }
}
