//! A local emulator of the Microsoft identity platform (Entra ID v2.0 endpoints) and the slice of
//! Microsoft Graph v1.0 the product uses, so that the product runs offline and its tests talk to
//! something that behaves like Microsoft, including the parts that make Microsoft hard (eventual
//! consistency, throttling, tenant policies, four clouds) switched on per test.
//!
//! Layout: [`identity`] (sign-in protocols and tokens), [`signin`] (the HTML sign-in pages), [`graph`]
//! (Graph routes and `$batch`), [`control`] (the `/_emulator/` API), [`faults`], [`state`] (everything in
//! memory), [`fixture`] (the starting directory), [`log`] (request log and fault middleware),
//! [`server`] (listener and route table). See README.md for the wire-level documentation.
//!
//! This is test support: it never runs in production and protects nothing. It still refuses hostile
//! input without panicking, since tests feed it deliberately broken requests.

pub mod cli;
pub mod cloud;
pub mod control;
pub mod faults;
pub mod fixture;
pub mod graph;
pub mod identity;
pub mod log;
pub mod partner;
pub mod roles;
pub mod server;
pub mod sharepoint;
pub mod signin;
pub mod state;
pub mod util;
