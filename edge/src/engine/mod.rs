//! The backup engine's side (`/api/engine/*`): its own authentication ([`auth`]), and access
//! tokens for onboarded organizations minted with their stored credentials, which never leave the
//! edge ([`tokens`]).

pub mod auth;
pub mod tokens;
