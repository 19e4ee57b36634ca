//! The partner batch Durable Object's internal protocol: what the Worker asks of it.

use super::batch::{Batch, Offer};
use serde::{Deserialize, Serialize};
use shared::secret::{serialize_exposed, SecretString};

/// What the Worker sends to a batch's Durable Object (every command names the account; another
/// account's batch answers 404).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum BatchCommand {
    /// Stores a new batch and sets it going.
    Start {
        /// The batch (it names its account).
        batch: Batch,
        /// The partner admin's refresh token.
        #[serde(serialize_with = "serialize_exposed")]
        refresh_token: SecretString,
    },
    /// The batch as it stands (writes nothing).
    Status {
        /// The caller.
        account: String,
    },
    /// Runs the failed customers again.
    Retry {
        /// The caller.
        account: String,
        /// A new partner sign-in's refresh token.
        #[serde(serialize_with = "serialize_exposed")]
        refresh_token: SecretString,
        /// The customers that sign-in's relationships offer now.
        offered: Vec<Offer>,
    },
}
