//! What the app shares with every screen through Leptos' context: [`SessionEpoch`].

use leptos::prelude::*;

/// Counts the sessions the portal has handed over: bumped when a new session arrives, so that
/// everything that read data with the old one reads again. Provided once by the app.
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
