//! The admin's token put to a use other than registering: deleting a saved organization's
//! applications, a partner's reading of its customers and its hand-over to a batch, and a
//! customer's sign-in started by such a batch.

use super::*;

impl SignInRecord {
    /// The admin's token while the sign-in is signed in and its answer claimed by its owner;
    /// before that, why not; once it is past signing in (registering, completed, ended), `after`.
    fn signed_in_token(&self, after: ErrorCode) -> Result<SecretString, ErrorCode> {
        match &self.stage {
            Stage::SignedIn { claim: Some(_), .. } => Err(ErrorCode::SignInNotClaimed),
            Stage::SignedIn { token, claim: None } => Ok(token.access_token.clone()),
            Stage::Starting | Stage::Polling { .. } | Stage::Window { .. } | Stage::Redeeming { .. } => {
                Err(ErrorCode::AuthorizationPending)
            }
            Stage::Registering(_) | Stage::Completed(_) | Stage::Ended { .. } => Err(after),
        }
    }

    /// The admin's token for deleting saved organization `organization`'s applications in `cloud`:
    /// only from the sign-in started for that (signed in, a Credential answer claimed by its owner).
    /// The tenant is checked with the token before anything is deleted.
    pub fn removal_token(&self, organization: &str, cloud: CloudEnvironment) -> Result<SecretString, ErrorCode> {
        // A sign-in started for anything else (the wizard's, a panel's, a repair) never deletes.
        if self.purpose != Purpose::Remove(organization.to_owned()) {
            return Err(ErrorCode::NotFound);
        }
        if cloud != self.cloud {
            return Err(ErrorCode::SignInTenantMismatch);
        }
        let after = match &self.stage {
            Stage::Ended { .. } if self.method == AddMethod::Credential => ErrorCode::SignInCancelled,
            Stage::Ended { .. } => ErrorCode::CodeExpired,
            // A sign-in that registers applications is not also used to delete some.
            _ => ErrorCode::NotFound,
        };
        self.signed_in_token(after)
    }

    /// A partner's sign-in's token for reading its customers: signed in, its answer claimed.
    pub fn partner_token(&self) -> Result<SecretString, ErrorCode> {
        if self.purpose != Purpose::Partner {
            return Err(ErrorCode::NotFound);
        }
        // Handed to a batch, or ended: a new partner sign-in is needed.
        self.signed_in_token(ErrorCode::SignInCancelled)
    }

    /// A partner's sign-in's refresh token, while it holds one (not taken).
    pub fn partner_refresh_token(&self) -> Option<&SecretString> {
        self.partner_token().ok()?;
        match &self.stage {
            Stage::SignedIn { token, .. } => token.refresh_token.as_ref(),
            _ => None,
        }
    }

    /// A partner's sign-in hands its refresh token to a batch and ends: the token and the
    /// refresh token are forgotten here.
    pub fn hand_over(&mut self) -> Result<SecretString, ErrorCode> {
        self.partner_token()?;
        let Stage::SignedIn { token, .. } = &self.stage else { return Err(ErrorCode::NotFound) };
        // Microsoft sends one with `offline_access`; without it there is nothing a batch could use.
        let refresh = token.refresh_token.clone().ok_or(ErrorCode::SignInFailed)?;
        self.stage = Stage::Ended { ending: Ending::HandedOver, error: None, holding: None };
        Ok(refresh)
    }

    /// A customer's sign-in started by a partner's batch with the token it got at the customer's
    /// authority: the roles in the token are checked as for an admin's sign-in, then the main
    /// application's registration starts at once.
    pub fn on_delegated_token(&mut self, t: AccessToken, app_name: &str, now: Millis) {
        if let Some(refused) = self.purpose.refuse_roles(&t) {
            self.end(Ending::Failed, Some(refused));
            return;
        }
        let window = self.signed_in_window();
        self.stage = Stage::SignedIn { token: HeldToken::from(t, now, window), claim: None };
        self.start_main(app_name);
    }
}
