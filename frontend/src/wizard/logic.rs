//! The wizard's decisions as plain Rust (tested natively): which step comes next, what each
//! option says, how the countdown reads, and what Step 3 is prefilled with. Components only
//! render these and dispatch events.

use crate::i18n::Msg;
use shared::api::{GeneratedCertificateView, RegistrationResult, SignInState, SignInStatus, StepState};
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
    pub fn heading(self) -> Msg {
        Msg::new(match self {
            Step::Method => key!("wizard.heading.method"),
            Step::Authorize => key!("wizard.heading.authorize"),
            Step::Complete => key!("wizard.heading.complete"),
        })
    }

    /// The step's name in the step indicator.
    pub fn name(self) -> Msg {
        Msg::new(match self {
            Step::Method => key!("wizard.step.method"),
            Step::Authorize => key!("wizard.step.authorize"),
            Step::Complete => key!("wizard.step.complete"),
        })
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

/// Where a step stands in the step indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Done.
    Done,
    /// The step shown now.
    Current,
    /// Still to come.
    ToCome,
    /// Not part of this method (the Manual method has no authorization step).
    Skipped,
}

impl Mark {
    /// What a screen reader hears after the step's name (with its leading comma).
    pub fn spoken(self) -> Option<Msg> {
        match self {
            Mark::Done => Some(Msg::new(key!("wizard.mark.done"))),
            // `aria-current="step"` says it already.
            Mark::Current => None,
            Mark::ToCome => Some(Msg::new(key!("wizard.mark.to_come"))),
            Mark::Skipped => Some(Msg::new(key!("wizard.mark.skipped"))),
        }
    }

    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Mark::Done => "done",
            Mark::Current => "current",
            Mark::ToCome => "todo",
            Mark::Skipped => "skipped",
        }
    }
}

/// The step indicator for `current` with `method`: each step's name and mark.
pub fn step_marks(current: Step, method: AddMethod) -> [(Msg, Mark); 3] {
    let mark = |step: Step| {
        if step == Step::Authorize && method == AddMethod::Manual && current == Step::Complete {
            Mark::Skipped
        } else if step == current {
            Mark::Current
        } else if step.number() < current.number() {
            Mark::Done
        } else {
            Mark::ToCome
        }
    };
    [Step::Method, Step::Authorize, Step::Complete].map(|step| (step.name(), mark(step)))
}

/// The step after Step 1 for `method`: the Manual method goes straight to completion.
pub fn after_method(method: AddMethod) -> Step {
    match method {
        AddMethod::Manual => Step::Complete,
        AddMethod::DeviceCode | AddMethod::Credential => Step::Authorize,
    }
}

/// The label the administrator reads for `method`.
pub fn method_label(method: AddMethod) -> Msg {
    Msg::new(match method {
        AddMethod::Credential => key!("step1.method.label.credential"),
        AddMethod::DeviceCode => key!("step1.method.label.device_code"),
        AddMethod::Manual => key!("step1.method.label.manual"),
    })
}

/// One sentence on what `method` does.
pub fn method_description(method: AddMethod) -> Msg {
    Msg::new(match method {
        AddMethod::Credential => key!("step1.method.description.credential"),
        AddMethod::DeviceCode => key!("step1.method.description.device_code"),
        AddMethod::Manual => key!("step1.method.description.manual"),
    })
}

/// What a domain look-up found: the domain, its tenant and `cloud` (the cloud's name as written
/// in the language shown).
pub fn lookup_found(found: &shared::api::TenantLookup, cloud: String) -> Msg {
    Msg::new(key!("step1.domain.found"))
        .arg("domain", found.domain.clone())
        .arg("tenant", found.tenant_id.clone())
        .arg("cloud", cloud)
}

/// The label the administrator reads for `cloud`.
pub fn cloud_label(cloud: CloudEnvironment) -> Msg {
    Msg::new(match cloud {
        CloudEnvironment::Global => key!("step1.cloud.label.global"),
        CloudEnvironment::UsGovGccHigh => key!("step1.cloud.label.usgov_gcc_high"),
        CloudEnvironment::UsGovDod => key!("step1.cloud.label.usgov_dod"),
        CloudEnvironment::China => key!("step1.cloud.label.china"),
    })
}

/// One sentence that helps the administrator choose `cloud`.
pub fn cloud_explanation(cloud: CloudEnvironment) -> Msg {
    Msg::new(match cloud {
        CloudEnvironment::Global => key!("step1.cloud.explanation.global"),
        CloudEnvironment::UsGovGccHigh => key!("step1.cloud.explanation.usgov_gcc_high"),
        CloudEnvironment::UsGovDod => key!("step1.cloud.explanation.usgov_dod"),
        CloudEnvironment::China => key!("step1.cloud.explanation.china"),
    })
}

/// A method option as Step 1 shows it: label, description, and why it is disabled, if it is.
/// `credential_clouds`: where the operator set up the Credential method besides Global.
pub fn method_option(
    method: AddMethod,
    cloud: CloudEnvironment,
    credential_clouds: &[CloudEnvironment],
) -> (Msg, Msg, Option<Msg>) {
    // Whether it is allowed is `shared`'s rule; the sentence follows the cloud that refused it.
    let why = method.availability_with(cloud, credential_clouds).err().map(|_| {
        Msg::new(match cloud {
            CloudEnvironment::China => key!("step1.method.unavailable.china"),
            _ => key!("step1.method.unavailable.usgov"),
        })
    });
    (method_label(method), method_description(method), why)
}

/// The method to select after the cloud changed: keep it if still allowed, else the default.
pub fn method_after_cloud_change(
    current: AddMethod,
    cloud: CloudEnvironment,
    credential_clouds: &[CloudEnvironment],
) -> AddMethod {
    match method_option(current, cloud, credential_clouds).2 {
        None => current,
        Some(_) => AddMethod::default_for(cloud),
    }
}

/// `mm:ss` for a countdown (the digits and colon every language of the app writes it with).
pub fn countdown(seconds: u64) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

/// What the live status region says: a message of the app, or the edge's own sentence of a
/// failure (shown as the edge wrote it).
#[derive(Debug, Clone, PartialEq)]
pub enum StatusText {
    /// A message of the app.
    Say(Msg),
    /// The edge's error (its sentence in the language shown), if it gave one.
    Edge(Option<shared::api::ErrorDetail>),
}

/// The sentence for the live status region (announced to screen readers).
pub fn status_line(s: &SignInStatus) -> StatusText {
    let popup = s.method == AddMethod::Credential;
    let say = |key| StatusText::Say(Msg::new(key));
    match s.state {
        SignInState::WaitingForSignIn if popup => say(key!("signin.status.waiting_window")),
        SignInState::WaitingForSignIn => say(key!("signin.status.waiting_code")),
        SignInState::SignedIn if popup => say(key!("signin.status.signed_in_window")),
        SignInState::SignedIn => say(key!("signin.status.signed_in")),
        SignInState::WaitingForMicrosoft => say(key!("signin.status.waiting_microsoft")),
        SignInState::Registering => s
            .progress
            .iter()
            .find(|p| matches!(p.state, StepState::Running | StepState::Waiting))
            .map(|p| StatusText::Say(Msg::new(key!("signin.status.step")).arg("step", p.label.clone())))
            .unwrap_or_else(|| say(key!("signin.status.registering"))),
        SignInState::Completed => say(key!("signin.status.completed")),
        SignInState::Failed => match &s.error {
            Some(e) => StatusText::Edge(Some(e.clone())),
            None => say(key!("signin.status.failed")),
        },
        SignInState::Expired if popup => StatusText::Edge(s.error.clone()),
        SignInState::Expired => say(key!("signin.status.expired")),
        SignInState::Cancelled => say(key!("signin.status.cancelled")),
    }
}

/// What the app does with the sign-in window's message about sign-in `id` (with the sentence of
/// its failure, if any) while `current` is shown: `None` to only read the status again (the status
/// is the truth: an answer replayed after a successful sign-in must not disturb it); `Some` to show
/// a failure the status cannot show (an answer refused without changing the sign-in).
pub fn window_message_notice(current: &SignInStatus, id: &str, failure: Option<&str>) -> Option<String> {
    if current.id != id || current.state != SignInState::WaitingForSignIn {
        return None;
    }
    failure.filter(|m| !m.is_empty()).map(str::to_owned)
}

/// Whether the failure suggests switching to the Manual method (decided by its error code, never
/// by its sentence).
pub fn suggests_manual(s: &SignInStatus) -> bool {
    s.error.as_ref().is_some_and(|e| e.code.suggests_manual())
}

/// Whether a failed device-code sign-in should offer Microsoft's sign-in page instead (Conditional
/// Access blocks the device code flow, not an interactive sign-in).
pub fn suggests_credential(s: &SignInStatus) -> bool {
    s.method == AddMethod::DeviceCode
        && s.state == SignInState::Failed
        && s.error.as_ref().is_some_and(|e| e.code == shared::ErrorCode::BlockedByConditionalAccess)
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
    /// Every registered application's ID, main first (empty for Manual).
    pub application_ids: Vec<String>,
    /// The certificates the service created, main first (empty for Manual, and for a registration
    /// that generated secrets).
    pub certificates: Vec<GeneratedCertificateView>,
}

/// Step 3's prefill from a completed registration.
pub fn prefill(sign_in_id: &str, r: &RegistrationResult) -> Prefill {
    Prefill {
        name: r.tenant_name.clone(),
        tenant_id: r.tenant_id.clone(),
        application_id: r.application_id.clone(),
        sign_in_id: Some(sign_in_id.to_owned()),
        application_ids: r.application_ids.clone(),
        certificates: r.certificates.clone(),
    }
}

/// The `state` parameter of an authorization URL, decoded.
pub fn state_of(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    let raw = query.split('&').find_map(|pair| pair.strip_prefix("state="))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'%' => return None,
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_indicator_marks_done_current_to_come_and_skipped() {
        let marks = |step, method| step_marks(step, method).map(|(_, m)| m);
        assert_eq!(marks(Step::Method, AddMethod::DeviceCode), [Mark::Current, Mark::ToCome, Mark::ToCome]);
        assert_eq!(marks(Step::Authorize, AddMethod::Credential), [Mark::Done, Mark::Current, Mark::ToCome]);
        assert_eq!(marks(Step::Complete, AddMethod::DeviceCode), [Mark::Done, Mark::Done, Mark::Current]);
        assert_eq!(marks(Step::Complete, AddMethod::Manual), [Mark::Done, Mark::Skipped, Mark::Current]);
        assert_eq!(crate::i18n::english(&step_marks(Step::Method, AddMethod::Manual)[1].0), "Authorization");
    }

    #[test]
    fn manual_skips_the_authorization_step() {
        assert_eq!(after_method(AddMethod::Manual), Step::Complete);
        assert_eq!(after_method(AddMethod::DeviceCode), Step::Authorize);
    }

    #[test]
    fn government_clouds_disable_credential_with_the_reason() {
        let (_, _, why) = method_option(AddMethod::Credential, CloudEnvironment::UsGovDod, &[]);
        assert!(crate::i18n::english(&why.unwrap()).contains("US Government"));
        assert!(method_option(AddMethod::DeviceCode, CloudEnvironment::China, &[]).2.is_none());
        assert_eq!(method_after_cloud_change(AddMethod::Manual, CloudEnvironment::China, &[]), AddMethod::Manual);
        assert_eq!(
            method_after_cloud_change(AddMethod::Credential, CloudEnvironment::China, &[]),
            AddMethod::DeviceCode
        );
        // Where the operator set it up, Credential stays.
        assert_eq!(
            method_after_cloud_change(AddMethod::Credential, CloudEnvironment::China, &[CloudEnvironment::China]),
            AddMethod::Credential
        );
    }

    #[test]
    fn credential_is_offered_on_global_only() {
        assert!(method_option(AddMethod::Credential, CloudEnvironment::Global, &[]).2.is_none());
        for cloud in [CloudEnvironment::UsGovGccHigh, CloudEnvironment::UsGovDod, CloudEnvironment::China] {
            let why = method_option(AddMethod::Credential, cloud, &[]).2.unwrap();
            assert!(crate::i18n::english(&why).contains("Use Device Code or Manual"));
            assert!(method_option(AddMethod::Credential, cloud, &[cloud]).2.is_none());
        }
        assert_eq!(after_method(AddMethod::Credential), Step::Authorize);
    }

    #[test]
    fn a_device_code_blocked_by_conditional_access_suggests_microsofts_sign_in_page() {
        let blocked = SignInStatus {
            method: AddMethod::DeviceCode,
            error: Some(shared::api::ErrorDetail::new(shared::ErrorCode::BlockedByConditionalAccess)),
            ..status(SignInState::Failed)
        };
        assert!(suggests_credential(&blocked));
        let declined = SignInStatus {
            error: Some(shared::api::ErrorDetail::new(shared::ErrorCode::SignInDeclined)),
            ..blocked.clone()
        };
        assert!(!suggests_credential(&declined));
        assert!(!suggests_credential(&SignInStatus { method: AddMethod::Credential, ..blocked }));
    }

    fn status(state: SignInState) -> SignInStatus {
        SignInStatus {
            id: "s1".into(),
            cloud: CloudEnvironment::Global,
            method: AddMethod::Credential,
            state,
            authorize_url: None,
            user_code: None,
            verification_uri: None,
            expires_at: None,
            expires_in: None,
            poll_after: 2,
            progress: vec![],
            error: None,
            result: None,
            claimed: false,
        }
    }

    #[test]
    fn the_state_is_read_from_an_authorization_url() {
        let url = "https://login.example/organizations/oauth2/v2.0/authorize?client_id=c&state=0f8fad5b-d9cb.AbC_-9&code_challenge=x";
        assert_eq!(state_of(url).as_deref(), Some("0f8fad5b-d9cb.AbC_-9"));
        assert_eq!(state_of("https://x/authorize?state=a%2Eb&y=1").as_deref(), Some("a.b"));
        assert_eq!(state_of("https://x/authorize?nostate=1"), None);
        assert_eq!(state_of("about:blank"), None);
        assert_eq!(state_of("https://x/?state=%zz"), None);
        assert_eq!(state_of("https://x/?state=%4"), None);
        assert_eq!(state_of("https://x/?state="), None);
    }

    #[test]
    fn window_messages_show_only_refusals_of_a_waiting_sign_in() {
        let waiting = status(SignInState::WaitingForSignIn);
        let mismatch = shared::ErrorCode::StateMismatch.message();
        assert_eq!(window_message_notice(&waiting, "s1", Some(mismatch)).as_deref(), Some(mismatch));
        assert!(window_message_notice(&waiting, "s1", None).is_none(), "success: read the status");
        assert!(window_message_notice(&waiting, "other", Some(mismatch)).is_none());
        let registering = status(SignInState::Registering);
        assert!(window_message_notice(&registering, "s1", Some("already used")).is_none(), "a replay");
        let StatusText::Say(line) = status_line(&waiting) else { panic!("a message of the app") };
        assert!(crate::i18n::english(&line).contains("sign-in window"));
    }

    #[test]
    fn the_manual_method_is_suggested_by_the_error_code_not_its_sentence() {
        use shared::api::ErrorDetail;
        use shared::ErrorCode;
        let failed = |code: ErrorCode, message: &str| SignInStatus {
            error: Some(ErrorDetail { message: message.into(), ..ErrorDetail::new(code) }),
            ..status(SignInState::Failed)
        };
        assert!(suggests_manual(&failed(ErrorCode::BlockedByConditionalAccess, "reworded")));
        assert!(suggests_manual(&failed(ErrorCode::RegistrationFailed, "")));
        assert!(
            !suggests_manual(&failed(ErrorCode::SignInFailed, "use the Manual method")),
            "the text decides nothing"
        );
        assert!(!suggests_manual(&status(SignInState::Failed)), "no error");
    }

    #[test]
    fn countdown_reads_minutes_and_seconds() {
        assert_eq!(countdown(900), "15:00");
        assert_eq!(countdown(61), "01:01");
        assert_eq!(countdown(0), "00:00");
    }
}
