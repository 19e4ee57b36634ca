//! The current language as a reactive context: [`I18n::t`] and friends read it, so every text on
//! the screen changes when the portal changes the language. English is compiled in (each
//! [`Key`] carries its text) and needs nothing else; another language, its negotiation and its
//! catalogue come with their own wasm chunk ([`super::languages`]) the first time a portal asks
//! for one, and English shows until they have arrived (never a key).

use super::text::{fill, Key, Msg};
use leptos::prelude::*;
use shared::locale::Locale;
use std::cell::RefCell;

/// The portal's locale that shows the pseudo-locale (Microsoft's pseudo-locale tag): English
/// accented and 40% longer, for the layout tests (see [`super::pseudo`]).
pub const PSEUDO_TAG: &str = "qps-ploc";

/// What the page shows: a language, or the pseudo-locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A language (English until another one's catalogue has arrived).
    Language(Locale),
    /// The pseudo-locale.
    Pseudo,
}

impl Shown {
    /// The BCP 47 tag of the page (`lang`) and of `Intl`.
    pub fn tag(self) -> &'static str {
        match self {
            Shown::Language(l) => l.tag(),
            Shown::Pseudo => "en",
        }
    }
}

thread_local! {
    /// The app's language, for code that runs outside the components (an answer handled in a
    /// task), where there is no context to read.
    static CURRENT: std::cell::Cell<Option<I18n>> = const { std::cell::Cell::new(None) };
    /// The other languages, once their chunk has loaded.
    static OTHERS: RefCell<Option<Box<dyn Catalogues>>> = const { RefCell::new(None) };
    /// The number of the portal's latest request for a language: an earlier one that arrives
    /// later is not shown.
    static LATEST: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The languages other than English, which their own wasm chunk provides ([`super::languages`]):
/// a text of what `shown` shows, `None` when its catalogue lacks it (English is shown then).
pub trait Catalogues {
    /// The text of `key` (whose English is `english`) for plural `category`.
    fn text(&self, shown: Shown, key: Key, category: &str, english: &str) -> Option<String>;
    /// The text named `name` (`error.<code>`, `field.<name>`, `permission.<value>`), whose
    /// English is `english`.
    fn named(&self, shown: Shown, name: &str, english: &str) -> Option<String>;
}

/// Makes the other languages' texts available (their chunk does, when it loads).
pub fn install(catalogues: Box<dyn Catalogues>) {
    OTHERS.with(|o| *o.borrow_mut() = Some(catalogues));
}

/// The other languages' text for `shown`, if their chunk is here and has one.
fn other(shown: Shown, read: impl FnOnce(&dyn Catalogues) -> Option<String>) -> Option<String> {
    if shown == Shown::Language(Locale::En) {
        return None;
    }
    OTHERS.with(|o| o.borrow().as_deref().and_then(read))
}

/// Whether the portal's `requested` locale is English at once (its language subtag is `en`, or
/// none), so that English needs nothing loaded.
fn plainly_english(requested: &str) -> bool {
    requested.trim().split(['-', '_']).next().is_none_or(|l| l.is_empty() || l.eq_ignore_ascii_case("en"))
}

/// The language shown.
#[derive(Clone, Copy)]
pub struct I18n {
    shown: RwSignal<Shown>,
}

impl I18n {
    /// Provides English to the components below.
    pub fn provide() -> Self {
        let i18n = I18n { shown: RwSignal::new(Shown::Language(Locale::En)) };
        provide_context(i18n);
        CURRENT.with(|c| c.set(Some(i18n)));
        i18n
    }

    /// The context (or the app's, in a task outside the components), or English when none was
    /// provided (a component mounted on its own).
    pub fn get() -> Self {
        use_context::<I18n>()
            .or_else(|| CURRENT.with(|c| c.get()))
            .unwrap_or_else(|| I18n { shown: RwSignal::new(Shown::Language(Locale::En)) })
    }

    /// What the page shows.
    pub fn shown(self) -> Shown {
        self.shown.get()
    }

    /// The text of `key` with `args` filled in.
    pub fn tr(self, key: Key, args: &[(&str, String)]) -> String {
        self.text(key, "other", args)
    }

    /// The text of `key`.
    pub fn t(self, key: Key) -> String {
        self.tr(key, &[])
    }

    /// The text of `key` for `count` (its plural form in the language, `{count}` written as the
    /// language writes numbers).
    pub fn tn(self, key: Key, count: f64, args: &[(&str, String)]) -> String {
        let tag = self.shown.get().tag();
        let category = super::intl::plural_category(tag, count);
        let mut all: Vec<(&str, String)> = args.to_vec();
        all.push(("count", super::intl::number(tag, count)));
        self.text(key, &category, &all)
    }

    /// The text of `msg`.
    pub fn msg(self, msg: &Msg) -> String {
        let mut args = msg.args.clone();
        args.extend(msg.times.iter().map(|(n, w)| (*n, self.when(w))));
        match msg.count {
            Some(n) => self.tn(msg.key, n, &args),
            None => self.tr(msg.key, &args),
        }
    }

    /// A time as the language shown writes it (`Intl`, UTC); an unreadable one as it is.
    pub fn when(self, when: &super::When) -> String {
        use super::When;
        let tag = self.shown.get().tag();
        let at = |s: &str| Some(js_sys::Date::parse(s)).filter(|ms| ms.is_finite());
        let written = match when {
            When::Date(s) => at(s).map(|ms| super::intl::date_time(tag, ms, true, false)),
            When::DateTime(s) => at(s).map(|ms| super::intl::date_time(tag, ms, true, true)),
            When::Time(s) => at(s).map(|ms| super::intl::date_time(tag, ms, false, true)),
            When::Ago(seconds) => Some(super::intl::since(tag, -seconds)),
        };
        written.unwrap_or_else(|| when.plain())
    }

    fn text(self, key: Key, category: &str, args: &[(&str, String)]) -> String {
        let english = key.english.text(category);
        let shown = self.shown.get();
        let text = other(shown, |o| o.text(shown, key, category, english)).unwrap_or_else(|| english.to_owned());
        fill(&text, args)
    }

    /// The text the language's catalogue has under `name` (`error.<code>`, `field.<name>`,
    /// `permission.<value>`), else `english` (the edge's or the validator's own sentence); the
    /// pseudo-locale's version of `english` in the pseudo-locale.
    fn named(self, name: &str, english: impl FnOnce() -> String) -> String {
        let shown = self.shown.get();
        if shown == Shown::Language(Locale::En) {
            return english();
        }
        let english = english();
        other(shown, |o| o.named(shown, name, &english)).unwrap_or(english)
    }

    /// The sentence of the edge's error: in English as the edge wrote it (with its named values);
    /// in another language the catalogue's sentence for its code (a refused field's for
    /// `invalid_input`); English when the catalogue has none. The permissions an error names are
    /// listed beside it as Microsoft names them.
    pub fn error(self, detail: &shared::api::ErrorDetail) -> String {
        let field = detail.field.filter(|_| detail.code == shared::ErrorCode::InvalidInput);
        let name = match field {
            Some(f) => format!("field.{}", f.as_str()),
            None => format!("error.{}", detail.code.as_str()),
        };
        self.named(&name, || detail.message.clone())
    }

    /// The catalogue's sentence for error `code`: the error catalogue's English, or its
    /// translation.
    pub fn code(self, code: shared::ErrorCode) -> String {
        self.named(&format!("error.{}", code.as_str()), || code.message().to_owned())
    }

    /// Why the backup needs a permission: in English as the edge wrote it, in another language
    /// the catalogue's sentence for the permission's name.
    pub fn permission_reason(self, p: &shared::api::RequiredPermission) -> String {
        self.named(&format!("permission.{}", p.value), || p.reason.clone())
    }

    /// A permission's type as the Azure portal names it (the edge writes `Application`).
    pub fn permission_type(self, kind: &str) -> String {
        match kind {
            "Application" => self.t(key!("permissions.type.application")),
            other => other.to_owned(),
        }
    }

    /// A refusal of the shared validators: in English as they wrote it, in another language the
    /// catalogue's sentence for the field.
    pub fn field_error(self, error: &shared::validate::FieldError) -> String {
        self.named(&format!("field.{}", error.field.as_str()), || error.message.clone())
    }

    /// Shows `shown`, and makes it the page's `lang`.
    fn show(self, shown: Shown) {
        self.shown.set(shown);
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", shown.tag());
        }
    }

    /// Shows the language for the portal's `requested` BCP 47 locale: English at once; another
    /// language (see [`Locale::negotiate`]) once its chunk and catalogue have arrived from
    /// `assets` (the build's folder), English meanwhile, and English when they cannot be fetched
    /// (nothing is said to the administrator). Only the latest request is shown.
    pub fn request(self, requested: &str, assets: &str) {
        let ticket = LATEST.with(|l| {
            l.set(l.get().wrapping_add(1));
            l.get()
        });
        if plainly_english(requested) {
            self.show(Shown::Language(Locale::En));
            return;
        }
        let (requested, assets) = (requested.to_owned(), assets.to_owned());
        leptos::task::spawn_local(async move {
            let Ok(load) = crate::chunks::languages(requested, assets).await else { return };
            let shown = load.await;
            if LATEST.with(|l| l.get()) == ticket {
                self.show(shown);
            }
        });
    }
}

/// The text of `key` in the language shown, as a view's child or an attribute's value (it changes
/// with the language). One function for every text, so the app carries its rendering once.
pub fn t(key: Key) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let i18n = I18n::get();
    move || i18n.t(key)
}

/// [`t`] with named values.
pub fn tr(key: Key, args: Vec<(&'static str, String)>) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let i18n = I18n::get();
    move || i18n.tr(key, &args)
}

/// A [`Msg`] in the language shown, as a view's child or an attribute's value.
pub fn msg(msg: Msg) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let i18n = I18n::get();
    move || i18n.msg(&msg)
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

#[cfg(test)]
mod tests {
    use super::plainly_english;

    #[test]
    fn english_and_no_locale_need_nothing_loaded_and_anything_else_asks_the_languages_chunk() {
        for english in ["", " ", "en", "EN", "en-US", "en_GB", "en-x-portal"] {
            assert!(plainly_english(english), "{english:?}");
        }
        for other in ["de-CH", "ja", "zh-TW", "qps-ploc", "eng", "x-en", "e"] {
            assert!(!plainly_english(other), "{other:?}");
        }
    }
}
