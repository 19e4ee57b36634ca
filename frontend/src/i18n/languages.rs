//! The languages other than English, in their own wasm chunk (the split point
//! [`crate::chunks::languages`]): the portal's locale negotiated, a language's catalogue fetched
//! from the build's folder and read as the browser parsed it (with `Reflect`: the app carries no
//! JSON deserializer for it), and the pseudo-locale. English needs none of it.

use super::runtime::{Catalogues, Shown, PSEUDO_TAG};
use super::text::Key;
use shared::locale::Locale;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

/// A language's catalogue: its texts in the English catalogue's order, and the object itself for
/// the sentences named by an error's code, a field's name or a permission's value.
struct Fetched {
    locale: Locale,
    texts: js_sys::Array,
    named: js_sys::Object,
}

thread_local! {
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

/// What a fetched catalogue says, or the pseudo-locale's version of the English.
struct FetchedTexts;

impl Catalogues for FetchedTexts {
    fn text(&self, shown: Shown, key: Key, category: &str, english: &str) -> Option<String> {
        let locale = match shown {
            Shown::Pseudo => return Some(super::pseudo::pseudo(english)),
            Shown::Language(locale) => locale,
        };
        FETCHED.with(|f| {
            let f = f.borrow();
            let own = f.iter().find(|c| c.locale == locale)?;
            entry_text(&own.texts.get(u32::from(key.id)), category)
        })
    }

    fn named(&self, shown: Shown, name: &str, english: &str) -> Option<String> {
        let locale = match shown {
            Shown::Pseudo => return Some(super::pseudo::pseudo(english)),
            Shown::Language(locale) => locale,
        };
        FETCHED.with(|f| {
            let f = f.borrow();
            let own = f.iter().find(|c| c.locale == locale)?;
            entry_text(&js_sys::Reflect::get(&own.named, &name.into()).ok()?, "other")
        })
    }
}

/// What to show for the portal's `requested` locale: the pseudo-locale, English, or a language
/// whose catalogue is here (fetched from `assets` the first time); English when it cannot be
/// fetched.
pub async fn load(requested: String, assets: String) -> Shown {
    super::runtime::install(Box::new(FetchedTexts));
    if requested.trim().eq_ignore_ascii_case(PSEUDO_TAG) {
        return Shown::Pseudo;
    }
    let locale = Locale::negotiate(&requested);
    if locale == Locale::En || FETCHED.with(|f| f.borrow().iter().any(|c| c.locale == locale)) {
        return Shown::Language(locale);
    }
    match fetch(locale, &assets).await {
        Some(fetched) => {
            FETCHED.with(|f| f.borrow_mut().push(fetched));
            Shown::Language(locale)
        }
        None => Shown::Language(Locale::En),
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
