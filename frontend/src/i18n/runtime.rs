//! The current language as a reactive context: [`I18n::t`] and friends read it, so every text on
//! the screen changes when the portal changes the language. English is compiled in (each
//! [`Key`] carries its text); another language's catalogue is fetched from the build's
//! own folder the first time it is asked for (content-named, so cached for good), and English shows
//! until it has arrived (never a key).

use super::text::{fill, Key, Msg};
use leptos::prelude::*;
use shared::locale::Locale;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

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

/// A language's catalogue as the browser parsed it, read with `Reflect` (the app carries no JSON
/// deserializer for it): its texts in the English catalogue's order, and the object itself for the
/// sentences named by an error's code or a field's name.
struct Fetched {
    locale: Locale,
    texts: js_sys::Array,
    named: js_sys::Object,
}

thread_local! {
    /// The app's language, for code that runs outside the components (an answer handled in a
    /// task), where there is no context to read.
    static CURRENT: std::cell::Cell<Option<I18n>> = const { std::cell::Cell::new(None) };
    static FETCHED: RefCell<Vec<Fetched>> = const { RefCell::new(Vec::new()) };
}

/// A text of a catalogue entry: a string, or plural forms by `Intl.PluralRules` category.
fn entry_text(entry: &JsValue, category: &str) -> Option<String> {
    if let Some(t) = entry.as_string() {
        return Some(t);
    }
    if !entry.is_object() {
        return None;
    }
    let form = |c: &str| js_sys::Reflect::get(entry, &c.into()).ok().and_then(|v| v.as_string());
    form(category).or_else(|| form("other"))
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
        let text = match self.shown.get() {
            Shown::Language(Locale::En) => english.to_owned(),
            Shown::Pseudo => super::pseudo::pseudo(english),
            Shown::Language(locale) => FETCHED
                .with(|f| {
                    let f = f.borrow();
                    let own = f.iter().find(|c| c.locale == locale)?;
                    entry_text(&own.texts.get(u32::from(key.id)), category)
                })
                .unwrap_or_else(|| english.to_owned()),
        };
        fill(&text, args)
    }

    /// The text the language's catalogue has under `name` (`error.<code>`, `field.<name>`,
    /// `permission.<value>`), else `english` (the edge's or the validator's own sentence); the
    /// pseudo-locale's version of `english` in the pseudo-locale.
    fn named(self, name: &str, english: impl FnOnce() -> String) -> String {
        let locale = match self.shown.get() {
            Shown::Pseudo => return super::pseudo::pseudo(&english()),
            Shown::Language(Locale::En) => return english(),
            Shown::Language(locale) => locale,
        };
        FETCHED
            .with(|f| {
                let f = f.borrow();
                let own = f.iter().find(|c| c.locale == locale)?;
                entry_text(&js_sys::Reflect::get(&own.named, &name.into()).ok()?, "other")
            })
            .unwrap_or_else(english)
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

    /// Shows the language for the portal's `requested` BCP 47 locale (see
    /// [`Locale::negotiate`]): at once when it is English or already fetched, else once its
    /// catalogue has arrived from `assets` (the build's folder); English meanwhile, and English
    /// when it cannot be fetched (nothing is said to the administrator).
    pub fn request(self, requested: &str, assets: &str) {
        if requested.eq_ignore_ascii_case(PSEUDO_TAG) {
            self.shown.set(Shown::Pseudo);
            return;
        }
        let locale = Locale::negotiate(requested);
        if locale == Locale::En || FETCHED.with(|f| f.borrow().iter().any(|c| c.locale == locale)) {
            self.shown.set(Shown::Language(locale));
            return;
        }
        let assets = assets.to_owned();
        leptos::task::spawn_local(async move {
            if let Some(fetched) = fetch(locale, &assets).await {
                FETCHED.with(|f| f.borrow_mut().push(fetched));
                self.shown.set(Shown::Language(locale));
            }
        });
    }
}

/// A JSON file of the build's folder, as the browser parsed it.
async fn json(url: &str) -> Option<js_sys::Object> {
    let resp = gloo_net::http::Request::get(url).send().await.ok()?;
    if !resp.ok() {
        return None;
    }
    let text = resp.text().await.ok()?;
    js_sys::JSON::parse(&text).ok()?.dyn_into::<js_sys::Object>().ok()
}

/// `locale`'s catalogue, its texts put in the English catalogue's order (the build serves
/// `en.json` beside the others: its keys, sorted, are the numbers [`Key`] holds; keys are ASCII, so
/// JavaScript's sort and the build's agree).
async fn fetch(locale: Locale, assets: &str) -> Option<Fetched> {
    let keys = js_sys::Object::keys(&json(&format!("{assets}locales/en.json")).await?).sort();
    let named = json(&format!("{assets}locales/{}.json", locale.tag())).await?;
    let texts = keys.map(&mut |key, _, _| js_sys::Reflect::get(&named, &key).unwrap_or(JsValue::UNDEFINED));
    Some(Fetched { locale, texts, named })
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
