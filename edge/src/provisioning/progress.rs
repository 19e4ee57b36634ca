//! What the browser shows of a registration run: its four steps and the state of each.

use super::plan::{Phase, Registration};
use shared::api::{ProgressStep, StepState};

impl Registration {
    /// Progress for the browser.
    pub fn progress(&self, total_apps: usize) -> Vec<ProgressStep> {
        let order = [Phase::Discover, Phase::Credentials, Phase::Grant, Phase::Verify];
        let at = order.iter().position(|p| *p == self.phase);
        let waiting = self.wait_until.is_some();
        let failed = matches!(self.phase, Phase::Cleanup | Phase::Failed);
        let created = self.apps.iter().filter(|a| a.object_id().is_some()).count();
        let labels = [
            ("create_applications", format!("Creating applications {created}/{total_apps}")),
            ("create_credentials", "Creating service principals and client secrets".to_owned()),
            ("grant_permissions", "Granting permissions (admin consent)".to_owned()),
            (
                "verify",
                if waiting && self.phase == Phase::Verify {
                    "Waiting for Microsoft to replicate the new credentials".to_owned()
                } else {
                    "Checking that the applications work".to_owned()
                },
            ),
        ];
        labels
            .into_iter()
            .enumerate()
            .map(|(i, (key, label))| {
                let state = match (self.phase, at) {
                    (Phase::Done, _) => StepState::Done,
                    (_, Some(a)) if i < a => StepState::Done,
                    (_, Some(a)) if i == a && waiting => StepState::Waiting,
                    (_, Some(a)) if i == a => StepState::Running,
                    (_, None) if failed => StepState::Failed,
                    _ => StepState::Pending,
                };
                ProgressStep { key: key.to_owned(), label, state }
            })
            .collect()
    }
}
