//! What the browser may see of a sign-in (never the device code or a token).

use super::*;

impl SignInRecord {
    /// What the browser may see.
    pub fn status(&self, now: Millis) -> SignInStatus {
        let state = self.state();
        let (user_code, verification_uri, expires_at, expires_in) = match &self.stage {
            Stage::Polling { device, poller, .. } => (
                Some(device.user_code.clone()),
                Some(device.verification_uri.clone()),
                Some(crate::time::rfc3339_ms(poller.expires_at)),
                Some(((poller.expires_at - now).max(0) / 1000) as u64),
            ),
            _ => (None, None, None, None),
        };
        let authorize_url = match &self.stage {
            Stage::Window { browser } => Some(browser.authorize_url.clone()),
            _ => None,
        };
        let holding = self.holding();
        let (main, additional) = holding.map_or((None, None), |h| (h.main.as_ref(), h.additional.as_ref()));
        let total = 1 + additional.map_or(0, |a| a.apps.len());
        let mut progress: Vec<ProgressStep> = match (main, additional) {
            (_, Some(a)) => a.progress(total),
            (Some(m), None) => m.progress(total),
            (None, None) => vec![],
        };
        if state == SignInState::Failed {
            for s in &mut progress {
                if matches!(s.state, StepState::Running | StepState::Waiting) {
                    s.state = StepState::Failed;
                }
            }
        }
        let result = match (main.or(additional), &self.stage) {
            (Some(m), Stage::Completed(h)) => {
                m.tenant.as_ref().zip(m.apps.first()).map(|(t, app)| RegistrationResult {
                    tenant_id: t.id.clone(),
                    tenant_name: t.display_name.clone(),
                    default_domain: t.default_domain.clone(),
                    application_id: app.app_id().unwrap_or_default().to_owned(),
                    secret_stored: app.secret().is_some() || app.certificate().is_some() || h.saved,
                    applications: self.applications_done(),
                    application_ids: [&h.main, &h.additional]
                        .into_iter()
                        .flatten()
                        .filter(|r| r.phase == Phase::Done)
                        .flat_map(|r| r.apps.iter().filter_map(|a| a.app_id().map(str::to_owned)))
                        .collect(),
                    certificates: [&h.main, &h.additional]
                        .into_iter()
                        .flatten()
                        .filter(|r| r.phase == Phase::Done)
                        .flat_map(|r| r.apps.iter())
                        .filter_map(|a| {
                            let c = a.certificate()?;
                            Some(GeneratedCertificateView {
                                application_id: a.app_id()?.to_owned(),
                                info: c.info.clone(),
                                certificate_base64: c.der_base64.clone(),
                            })
                        })
                        .collect(),
                })
            }
            _ => None,
        };
        let error = match &self.stage {
            Stage::Ended { error, .. } => error.clone(),
            _ => None,
        };
        // Credential: signed in and claimed (the claim is gone), or past that stage.
        let claimed = self.method == AddMethod::Credential
            && match &self.stage {
                Stage::SignedIn { claim, .. } => claim.is_none(),
                _ => matches!(state, SignInState::Registering | SignInState::Completed),
            };
        SignInStatus {
            claimed,
            id: self.id.clone(),
            cloud: self.cloud,
            method: self.method,
            state,
            authorize_url,
            user_code,
            verification_uri,
            expires_at,
            expires_in,
            poll_after: STATUS_POLL_SECS,
            progress,
            error,
            result,
        }
    }
}
