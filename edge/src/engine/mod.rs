//! The backup engine's side (`/api/engine/*`): its own authentication ([`auth`]), and access
//! tokens for onboarded organizations minted with their stored credentials, which never leave the
//! edge ([`tokens`]), with the cache hits counted per minute for the audit ([`hits`]).

pub mod auth;
pub mod hits;
pub mod tokens;
