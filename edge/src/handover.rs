//! What the sign-in feature hands over to the organizations feature and back: the applications of
//! a completed sign-in (to save), a repair's order (to start it), a removal's outcome. Both features
//! depend on this contract, neither on the other's modules.

use serde::{Deserialize, Serialize};
use shared::CloudEnvironment;

/// How many additional applications an organization has (one per workload).
pub const ADDITIONAL_APPLICATIONS: u8 = 3;

/// What a repair sign-in is for: a saved organization of the same account, its tenant (a sign-in
/// in another tenant changes nothing there), and its applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairOrder {
    /// The organization's ID.
    pub organization_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its applications, main first.
    pub apps: Vec<crate::provisioning::plan::RepairApp>,
}

/// The applications of a completed sign-in, with their secrets (Worker-internal).
#[derive(Clone, Serialize, Deserialize)]
pub struct Exported {
    /// The cloud of the sign-in.
    pub cloud: CloudEnvironment,
    /// Tenant ID.
    pub tenant_id: String,
    /// The applications, main first.
    pub apps: Vec<ExportedApp>,
    /// The organization a repair sign-in repaired.
    #[serde(default)]
    pub repair_of: Option<String>,
}

impl std::fmt::Debug for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets are never printed.
        let apps: Vec<(u8, &str)> = self.apps.iter().map(|a| (a.index, a.app_id.as_str())).collect();
        f.debug_struct("Exported")
            .field("cloud", &self.cloud)
            .field("tenant_id", &self.tenant_id)
            .field("apps", &apps)
            .finish()
    }
}

/// One exported application. (No `Debug`: it carries a secret.)
#[derive(Clone, Serialize, Deserialize)]
pub struct ExportedApp {
    /// The registration's number for it (see [`ExportedApp::slot`]).
    pub index: u8,
    /// Application (client) ID.
    pub app_id: String,
    /// Object ID.
    pub object_id: String,
    /// The generated secret, for an application registered before certificates (Worker-internal;
    /// sealed before it is stored).
    #[serde(default)]
    pub secret: Option<String>,
    /// The generated certificate and its key (Worker-internal; sealed before it is stored).
    #[serde(default)]
    pub certificate: Option<crate::provisioning::plan::GeneratedCertificate>,
    /// Secret end, Unix seconds.
    pub secret_expires_at: Option<i64>,
    /// The permission manifest's version the application was granted from (a Durable Object
    /// still running the code before versions answers without it: version 1).
    #[serde(default = "first_manifest")]
    pub manifest_version: u32,
    /// The application permissions granted (app role values).
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl ExportedApp {
    /// Which application of the organization it is.
    pub fn slot(&self) -> shared::api::AppSlot {
        shared::api::AppSlot::of_index(self.index)
    }
}

/// What `Command::Remove` (the sign-in's Durable Object) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// The application IDs still in the tenant (Microsoft refused or did not answer for them).
    pub not_removed: Vec<String>,
    /// Microsoft refused some of them to the signed-in account (403): its role may not delete
    /// applications, so the same sign-in cannot do it on a second try.
    #[serde(default)]
    pub denied: bool,
}

fn first_manifest() -> u32 {
    1
}
