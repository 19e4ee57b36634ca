//! Registering the backup applications in the admin's tenant, after the sign-in.
//!
//! [`plan::Registration`] is the whole procedure as a pure state machine: it says which Graph
//! requests to send next (batched, up to 20 per `$batch`, parallel batches in one round trip), reads
//! their results, waits through Entra's replication delay and throttling, and rolls back what it
//! created when a step fails for good. The Durable Object persists it before and after each step,
//! so that a restarted worker resumes without creating anything twice.

mod answers;
pub mod app;
pub mod items;
pub mod manifest;
pub mod plan;
pub mod policy;
mod progress;
mod requests;

pub use items::{
    certificate_items, deletion_items, not_removed, removal_denied, removal_items, service_principal_removal_items,
    ItemId,
};
