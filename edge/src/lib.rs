//! The Worker that serves `/api/*`. Static assets (the Leptos app) are served by the Workers
//! assets binding before this code runs (`run_worker_first = ["/api/*", "/"]` in `wrangler.toml`: the page runs through the Worker for
//! its `frame-ancestors` header).
//!
//! Layout: [`routes`] is the one route table (pure, tested natively); [`error`] turns every
//! failure into a status and the common error body in one place; the `worker` adapter below is
//! kept thin so that logic never depends on the JavaScript runtime.

pub mod certificates;
pub mod config;
pub mod engine;
pub mod error;
pub mod handover;
pub mod health;
pub mod ids;
pub mod keys;
pub mod lookup;
pub mod mac;
pub mod microsoft;
pub mod openapi;
pub mod organizations;
pub mod partner;
pub mod provisioning;
pub mod routes;
pub mod seal;
pub mod session;
pub mod signin;
pub mod time;
pub mod webhooks;

#[cfg(target_arch = "wasm32")]
mod adapter;
