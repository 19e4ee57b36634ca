//! The OpenAPI document of the edge API, generated from the contract types by the test
//! `edge/tests/openapi.rs` and committed as `edge/openapi.json` (served as is).

/// The document.
pub const DOCUMENT: &str = include_str!("../openapi.json");
