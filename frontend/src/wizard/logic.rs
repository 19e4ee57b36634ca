//! The wizard's decisions as plain Rust (tested natively): which step comes next, what each
//! option says, how the countdown reads, and what Step 3 is prefilled with. Components only
//! render these and dispatch events.

use shared::api::{RegistrationResult, SignInState, SignInStatus, StepState};
use shared::{AddMethod, CloudEnvironment};

/// The wizard's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Cloud and method.
    Method,
    /// Device-code sign-in and registration.
    Authorize,
    /// Completion: name, IDs, credential.
    Complete,
}

impl Step {
    /// Heading of the step, as the original product names it.
    pub fn heading(self) -> &'static str {
        match self {
            Step::Method => "Step 1: Add method selection",
            Step::Authorize => "Step 2: Authorization",
            Step::Complete => "Step 3: Completion",
        }
    }

    /// 1-based number.
    pub fn number(self) -> u8 {
        match self {
            Step::Method => 1,
            Step::Authorize => 2,
            Step::Complete => 3,
        }
    }
}

/// The step after Step 1 for `method`: the Manual method goes straight to completion.
pub fn after_method(method: AddMethod) -> Step {
    match method {
        AddMethod::Manual => Step::Complete,
        AddMethod::DeviceCode | AddMethod::Credential => Step::Authorize,
    }
}

/// A method option as Step 1 shows it: label, description, and why it is disabled, if it is.
pub fn method_option(method: AddMethod, cloud: CloudEnvironment) -> (&'static str, &'static str, Option<&'static str>) {
    let disabled = match (method, method.availability(cloud)) {
        (_, Err(reason)) => Some(reason),
        // The pop-up sign-in has its own issue; until it lands the option says so.
        (AddMethod::Credential, Ok(())) => {
            Some("Signing in with a Microsoft pop-up is coming soon. Use Device Code or Manual.")
        }
        _ => None,
    };
    (method.label(), method.description(), disabled)
}

/// The method to select after the cloud changed: keep it if still allowed, else the default.
pub fn method_after_cloud_change(current: AddMethod, cloud: CloudEnvironment) -> AddMethod {
    match method_option(current, cloud).2 {
        None => current,
        Some(_) => AddMethod::default_for(cloud),
    }
}

/// `mm:ss` for a countdown.
pub fn countdown(seconds: u64) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

/// The sentence for the live status region (announced to screen readers).
pub fn status_line(s: &SignInStatus) -> String {
    match s.state {
        SignInState::WaitingForSignIn => "Waiting for you to sign in at Microsoft with the one-time code.".into(),
        SignInState::SignedIn => "Signed in. Confirm below to register the backup application.".into(),
        SignInState::WaitingForMicrosoft => "Waiting for Microsoft to report the sign-in.".into(),
        SignInState::Registering => s
            .progress
            .iter()
            .find(|p| matches!(p.state, StepState::Running | StepState::Waiting))
            .map(|p| format!("{}…", p.label))
            .unwrap_or_else(|| "Registering the backup applications…".into()),
        SignInState::Completed => "The backup application is registered. Continue with Step 3.".into(),
        SignInState::Failed => {
            s.error.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| "The sign-in failed.".into())
        }
        SignInState::Expired => "The one-time code has expired. Get a new code.".into(),
        SignInState::Cancelled => "The sign-in was cancelled.".into(),
    }
}

/// Whether the failure suggests switching to the Manual method.
pub fn suggests_manual(s: &SignInStatus) -> bool {
    s.error.as_ref().is_some_and(|e| e.message.contains("Manual method"))
}

/// What Step 3 is prefilled with after automatic registration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefill {
    /// Organization name.
    pub name: String,
    /// Tenant ID (read-only when prefilled).
    pub tenant_id: String,
    /// Application ID (read-only when prefilled).
    pub application_id: String,
    /// The sign-in holding the generated secret.
    pub sign_in_id: Option<String>,
}

/// Step 3's prefill from a completed registration.
pub fn prefill(sign_in_id: &str, r: &RegistrationResult) -> Prefill {
    Prefill {
        name: r.tenant_name.clone(),
        tenant_id: r.tenant_id.clone(),
        application_id: r.application_id.clone(),
        sign_in_id: Some(sign_in_id.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_skips_the_authorization_step() {
        assert_eq!(after_method(AddMethod::Manual), Step::Complete);
        assert_eq!(after_method(AddMethod::DeviceCode), Step::Authorize);
    }

    #[test]
    fn government_clouds_disable_credential_with_the_reason() {
        let (_, _, why) = method_option(AddMethod::Credential, CloudEnvironment::UsGovDod);
        assert!(why.unwrap().contains("US Government"));
        assert!(method_option(AddMethod::DeviceCode, CloudEnvironment::China).2.is_none());
        assert_eq!(method_after_cloud_change(AddMethod::Manual, CloudEnvironment::China), AddMethod::Manual);
        assert_eq!(method_after_cloud_change(AddMethod::Credential, CloudEnvironment::China), AddMethod::DeviceCode);
    }

    #[test]
    fn countdown_reads_minutes_and_seconds() {
        assert_eq!(countdown(900), "15:00");
        assert_eq!(countdown(61), "01:01");
        assert_eq!(countdown(0), "00:00");
    }
}
