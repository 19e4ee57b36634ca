//! Onboarding a partner's customers with one partner sign-in (GDAP): the customers to choose from,
//! the batch that onboards the chosen ones, and where each customer stands.

use super::ErrorDetail;
use serde::{Deserialize, Serialize};

/// One customer the partner may choose (`GET /api/signins/{id}/customers`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerCustomer {
    /// The customer's tenant ID.
    pub tenant_id: String,
    /// The customer's name, as the GDAP relationship gives it.
    pub name: String,
    /// The directory roles the partner's Admin Agents hold there through relationships in force.
    pub roles: Vec<String>,
    /// Whether those roles are enough to register the backup applications.
    pub roles_enough: bool,
    /// Whether this portal account already holds the customer's organization.
    pub onboarded: bool,
}

/// The customers with a GDAP relationship in force, by name.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartnerCustomerList {
    /// The customers.
    pub customers: Vec<PartnerCustomer>,
}

/// `POST /api/partner-batches`: onboard `customers` with the partner sign-in `sign_in_id`, which
/// ends (its token is handed to the batch, sealed, until the batch finishes).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartPartnerBatch {
    /// The partner sign-in (signed in, purpose `partner`).
    pub sign_in_id: String,
    /// The chosen customers' tenant IDs (1 to 200).
    pub customers: Vec<String>,
    /// Create the 3 additional applications for each customer too.
    #[serde(default)]
    pub create_multiple_applications: bool,
}

/// `POST /api/partner-batches/{id}/retry`: run the failed customers again with a new partner
/// sign-in.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPartnerBatch {
    /// The new partner sign-in (signed in, purpose `partner`).
    pub sign_in_id: String,
}

/// Where one customer of a batch stands.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerCustomerState {
    /// Not started yet (or waiting after Microsoft asked to slow down).
    Waiting,
    /// Partner Center's consent and the registration are under way.
    Registering,
    /// Saved as an organization of this account.
    Saved,
    /// Failed; nothing was left in its tenant. `error` says why and what to do.
    Failed,
}

/// One customer of a batch.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerBatchRow {
    /// The customer's tenant ID.
    pub tenant_id: String,
    /// Its name.
    pub name: String,
    /// Where it stands.
    pub state: PartnerCustomerState,
    /// The saved organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// A batch (`GET /api/partner-batches/{id}`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerBatchStatus {
    /// Its ID.
    pub id: String,
    /// When it was started, RFC 3339.
    pub created_at: String,
    /// When its last customer was settled (absent while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Customers in all.
    pub total: u32,
    /// Saved.
    pub saved: u32,
    /// Failed.
    pub failed: u32,
    /// Seconds until the status is worth reading again (absent once finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_after: Option<u64>,
    /// The customers, in the order chosen.
    pub customers: Vec<PartnerBatchRow>,
}

/// The account's batches, newest first (`GET /api/partner-batches`; without their customers).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartnerBatchList {
    /// The batches (`customers` empty).
    pub batches: Vec<PartnerBatchStatus>,
}
