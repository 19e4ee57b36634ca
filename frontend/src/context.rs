//! What the app shares with every screen through Leptos' context: [`SessionEpoch`] and
//! [`CredentialClouds`].

use leptos::prelude::*;
use shared::CloudEnvironment;

/// The clouds besides Global where the operator set up the Credential method (from
/// `GET /api/health`); empty until the edge has answered, and where no context is provided.
#[derive(Debug, Clone, Copy)]
pub struct CredentialClouds(pub Signal<Vec<CloudEnvironment>>);

impl CredentialClouds {
    /// The app's list (empty without a context).
    pub fn get() -> Vec<CloudEnvironment> {
        use_context::<CredentialClouds>().map(|c| c.0.get()).unwrap_or_default()
    }
}

/// Counts the sessions the portal has handed over: bumped when a session for another administrator
/// or account arrives (not when a token is renewed), so that everything that read data with the old
/// one reads again. Provided once by the app.
#[derive(Debug, Clone, Copy)]
pub struct SessionEpoch(RwSignal<u32>);

impl SessionEpoch {
    /// A new epoch, provided to the components below the current one.
    pub fn provide() -> Self {
        let epoch = SessionEpoch(RwSignal::new(0));
        provide_context(epoch);
        epoch
    }

    /// The app's epoch, when there is one (a component mounted on its own has none).
    pub fn from_context() -> Option<Self> {
        use_context::<SessionEpoch>()
    }

    /// Makes the running effect or resource read again when a new session arrives.
    pub fn track(self) {
        self.0.track();
    }

    /// A new session arrived.
    pub fn new_session(self) {
        self.0.update(|e| *e += 1);
    }
}
