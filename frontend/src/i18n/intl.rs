//! The browser's `Intl` for the current language: plural categories and numbers, as the browser
//! writes them (never hand-written rules).

use js_sys::{Array, Function, Object};
use wasm_bindgen::JsValue;

fn locales(tag: &str) -> Array {
    Array::of1(&JsValue::from_str(tag))
}

/// `Intl.PluralRules(tag).select(n)`: `zero`, `one`, `two`, `few`, `many` or `other`.
pub fn plural_category(tag: &str, n: f64) -> String {
    js_sys::Intl::PluralRules::new(&locales(tag), &Object::new()).select(n).into()
}

/// `Intl.NumberFormat(tag).format(n)`.
pub fn number(tag: &str, n: f64) -> String {
    let format: Function = js_sys::Intl::NumberFormat::new(&locales(tag), &Object::new()).format();
    format
        .call1(&JsValue::UNDEFINED, &JsValue::from_f64(n))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| n.to_string())
}

/// `Intl.RelativeTimeFormat(tag, {numeric: "auto"}).format(value, unit)` ("5 minutes ago",
/// "vor 5 Minuten"); `unit` is one of `second`, `minute`, `hour`, `day`.
pub fn relative(tag: &str, value: f64, unit: &str) -> String {
    let options = Object::new();
    let _ = js_sys::Reflect::set(&options, &"numeric".into(), &"auto".into());
    js_sys::Intl::RelativeTimeFormat::new(&locales(tag), &options).format(value, unit).into()
}

/// `Intl.DateTimeFormat(tag, {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"})` of
/// `epoch_ms` ("Dec 6, 2026, 3:04 PM", "06.12.2026, 15:04", "2026/12/06 15:04"): the date, the
/// time of day, or both.
pub fn date_time(tag: &str, epoch_ms: f64, date: bool, time: bool) -> String {
    let options = Object::new();
    let _ = js_sys::Reflect::set(&options, &"timeZone".into(), &"UTC".into());
    if date {
        let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    }
    if time {
        let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    }
    let format: Function = js_sys::Intl::DateTimeFormat::new(&locales(tag), &options).format();
    format
        .call1(&JsValue::UNDEFINED, &js_sys::Date::new(&JsValue::from_f64(epoch_ms)))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// How long ago (negative `seconds`) or from now, in the largest whole unit that fits ("5 minutes
/// ago", "vor 5 Minuten", "5 分前", "in 2 days"), as `Intl.RelativeTimeFormat` writes it.
pub fn since(tag: &str, seconds: f64) -> String {
    let (value, unit) = super::text::relative_unit(seconds);
    relative(tag, value, unit)
}
