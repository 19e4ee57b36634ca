//! The current language as a reactive context: [`I18n::t`] and friends read it, so every text on
//! the screen changes when the portal changes the language. English is compiled in; another
//! language's catalogue is fetched from the build's own folder the first time it is asked for
//! (content-named, so cached for good), and English shows until it has arrived (never a key).

use super::text::fill;
use leptos::prelude::*;
use shared::locale::Locale;
use wasm_bindgen::JsCast;

/// The English source, as the build compiled it in.
const ENGLISH: &str = include_str!("../../locales/en.json");

/// A catalogue as the browser parsed it: a JavaScript object read with `Reflect`, so that the app
/// carries no deserializer for it (the first load stays as small as without languages).
#[derive(Clone)]
struct JsCatalogue(js_sys::Object);

impl JsCatalogue {
    fn parse(text: &str) -> Option<JsCatalogue> {
        js_sys::JSON::parse(text).ok().and_then(|v| v.dyn_into::<js_sys::Object>().ok()).map(JsCatalogue)
    }

    /// The text of `key` for plural `category` (`other` when the entry has no such form).
    fn text(&self, key: &str, category: &str) -> Option<String> {
        let entry = js_sys::Reflect::get(&self.0, &key.into()).ok()?;
        if let Some(t) = entry.as_string() {
            return Some(t);
        }
        let form = |c: &str| js_sys::Reflect::get(&entry, &c.into()).ok().and_then(|v| v.as_string());
        form(category).or_else(|| form("other"))
    }
}

thread_local! {
    static ENGLISH_CATALOGUE: Option<JsCatalogue> = JsCatalogue::parse(ENGLISH);
    static FETCHED: std::cell::RefCell<Vec<(Locale, JsCatalogue)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The language and its catalogue.
#[derive(Clone, Copy)]
pub struct I18n {
    locale: RwSignal<Locale>,
    /// A JavaScript value: kept in the thread's own storage.
    catalogue: RwSignal<Option<JsCatalogue>, LocalStorage>,
}

impl I18n {
    /// Provides English to the components below.
    pub fn provide() -> Self {
        let i18n = I18n { locale: RwSignal::new(Locale::En), catalogue: RwSignal::new_local(None) };
        provide_context(i18n);
        i18n
    }

    /// The context, or English when none was provided (a component mounted on its own).
    pub fn get() -> Self {
        use_context::<I18n>()
            .unwrap_or_else(|| I18n { locale: RwSignal::new(Locale::En), catalogue: RwSignal::new_local(None) })
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
        let own = catalogue.as_ref().and_then(|c| c.text(key, category));
        let text = own.or_else(|| ENGLISH_CATALOGUE.with(|en| en.as_ref().and_then(|en| en.text(key, category))));
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
            let Some(c) = resp.ok().then(|| JsCatalogue::parse(&text)).flatten() else { return };
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
