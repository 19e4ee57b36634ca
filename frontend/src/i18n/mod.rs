//! The app in the portal's language: the languages ([`shared::locale::Locale`]), messages with
//! named values ([`text`]), and the catalogues ([`catalogue`]). English is the source and is
//! compiled in; the other catalogues are fetched when a portal asks for their language.

pub mod catalogue;
pub mod pseudo;
pub mod text;
