//! The common crate: everything the frontend and the edge must say the same way.
//!
//! It compiles for `wasm32-unknown-unknown` (both the Leptos app and the Worker) and natively
//! (where its tests run). Nothing here performs I/O.
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "pfx")]
pub mod assertion;
pub mod certificate;
pub mod cloud;
pub mod design;
pub mod embed;
pub mod endpoints;
pub mod engine_token;
pub mod errors;
pub mod ids;
pub mod locale;
pub mod mailbox;
pub mod method;
pub mod roles;
pub mod secret;
#[cfg(feature = "pfx")]
pub mod selfsigned;
pub mod validate;

pub use cloud::{CloudEndpoints, CloudEnvironment};
pub use errors::ErrorCode;
pub use method::AddMethod;
pub use validate::{AppId, Domain, Field, FieldError, OrganizationName, TenantId};
