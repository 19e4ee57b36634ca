//! The error catalogue: every error the administrator can meet, with a stable machine code, the
//! HTTP status the edge answers with, and one sentence that says what happened and what to do.
//!
//! Microsoft's identity platform reports `AADSTSnnnnn` codes and Graph reports string codes;
//! [`ErrorCode::from_aadsts`], [`ErrorCode::from_oauth_error`] and [`ErrorCode::from_graph`] turn
//! them into catalogue entries. Codes are stable: the frontend and portal integrators may match
//! on them.

use serde::{Deserialize, Serialize};

macro_rules! catalogue {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $message:literal;)*) => {
        /// A catalogued error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $code)] $variant,)*
        }

        impl ErrorCode {
            /// Every catalogued error.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable machine code, e.g. `blocked_by_conditional_access`.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the edge answers with.
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The sentence the administrator reads.
            pub fn message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message,)* }
            }
        }
    };
}

catalogue! {
    // --- Requests to this product -------------------------------------------------------------
    /// Input refused by a validator; the error names the field.
    InvalidInput = "invalid_input", 422, "Some of the information entered is not valid. Correct the highlighted field.";
    /// Body is not JSON or not the expected shape.
    MalformedRequest = "malformed_request", 400, "The request could not be read. Reload the page and try again.";
    /// Wrong `Content-Type`.
    UnsupportedMediaType = "unsupported_media_type", 415, "The request must be sent as JSON (Content-Type: application/json).";
    /// Body above the size limit.
    PayloadTooLarge = "payload_too_large", 413, "The request is too large. A certificate file must be smaller than 64 KB.";
    /// No, expired, or invalid portal session.
    Unauthenticated = "unauthenticated", 401, "Your session has expired or is not valid. Reload the page from the portal to sign in again.";
    /// No such endpoint or no such object in this account.
    NotFound = "not_found", 404, "This item does not exist or was deleted. Go back to the list and reload it.";
    /// The backup engine's token is missing, expired, or not signed by a registered engine key
    /// for this account (one answer, whatever the reason).
    EngineUnauthenticated = "engine_unauthenticated", 401, "The engine's token is missing, expired or not signed by an engine key registered for this account. Sign a new ES256 token (at most 5 minutes) with a key listed in ENGINE_KEYS.";
    /// Too many requests from one address failed engine authentication: refused before their
    /// signature is checked until the window ends.
    EngineAuthenticationRateLimited = "engine_authentication_rate_limited", 429, "Too many engine requests from this address failed authentication. Check the engine's key ID, its key and its clock, then wait as Retry-After says.";
    /// The backup engine asked for more tokens than the account's limit.
    EngineRateLimited = "engine_rate_limited", 429, "Too many token requests for this account. Reuse each token until shortly before it expires, and wait as Retry-After says.";
    /// Too many domain look-ups for the account.
    LookupRateLimited = "lookup_rate_limited", 429, "Too many domain look-ups for this account. Wait a minute, or choose the cloud yourself.";
    /// "Check now" was asked for one organization more often than its limit.
    ChecksRateLimited = "checks_rate_limited", 429, "This organization was checked too often in the last minute. Its health stays as shown; wait a minute, then check or repair it again.";
    /// The organization's applications lack the permissions the workload or resource needs.
    WorkloadNotGranted = "workload_not_granted", 409, "The organization's applications lack the permissions this workload needs. Repair the organization on its edit page, then ask again.";
    /// The endpoint exists but not with this method.
    MethodNotAllowed = "method_not_allowed", 405, "This action is not available on this endpoint.";
    /// The tenant was already added by this account.
    OrganizationExists = "organization_exists", 409, "This Microsoft 365 organization has already been added. Edit the existing entry instead.";
    /// Someone else changed the organization since it was loaded.
    EditConflict = "edit_conflict", 409, "This organization was changed by someone else since you opened it. Reload it and make your change again.";
    /// Too many sign-ins under way for this account.
    TooManySignIns = "too_many_sign_ins", 429, "Too many sign-ins are under way for this account. Finish or cancel one, or wait a few minutes, then try again.";
    /// A destructive request without its confirmation.
    ConfirmationRequired = "confirmation_required", 422, "Confirm that you want to do this.";
    /// Too many sign-ins were started for this account recently (a rate limit, not the limit of
    /// sign-ins under way).
    SignInsRateLimited = "sign_ins_rate_limited", 429, "Too many sign-ins were started for this account in the last hour. Wait a few minutes, then try again.";
    /// Failure inside the product.
    Internal = "internal_error", 500, "Something went wrong on our side. Try again; if it keeps failing, contact support.";

    // --- Device-code and authorization-code sign-in ------------------------------------------
    /// The admin has not finished signing in yet (not a failure).
    AuthorizationPending = "authorization_pending", 409, "Waiting for you to sign in at Microsoft with the one-time code.";
    /// The admin declined the sign-in or the consent.
    SignInDeclined = "sign_in_declined", 422, "The sign-in or the permissions were declined at Microsoft. Try again and accept the permissions, or use the Manual method.";
    /// The device code expired before the admin signed in.
    CodeExpired = "code_expired", 410, "The one-time code has expired. Get a new code and sign in within 15 minutes.";
    /// Microsoft did not recognize the code.
    CodeInvalid = "code_invalid", 422, "Microsoft did not accept the one-time code. Get a new code and enter it exactly as shown.";
    /// Conditional Access or security defaults blocked the device-code sign-in.
    BlockedByConditionalAccess = "blocked_by_conditional_access", 422, "Your organization's Conditional Access policy blocks sign-in with a device code. Use the Manual method, or ask your administrator to allow the device code flow for this sign-in.";
    /// Microsoft is waiting for an interactive confirmation.
    ConfirmationPrompt = "confirmation_prompt", 409, "Microsoft is asking you to confirm the sign-in. Finish it in the Microsoft window.";
    /// Our own public client is misconfigured for this cloud (operator error).
    ClientMisconfigured = "client_misconfigured", 502, "This service's sign-in application is not set up correctly for this cloud. Use the Manual method and tell your service provider (public client flows must be allowed, and the sign-in window's redirect URI registered for mobile and desktop applications).";
    /// The signed-in user lacks the admin role or consent for registering applications.
    AdminConsentRequired = "admin_consent_required", 403, "The account that signed in cannot grant these permissions. Sign in as a Privileged Role Administrator together with a Cloud Application Administrator or Application Administrator, or as a Global Administrator, and accept the permissions.";
    /// The signed-in admin's directory roles cannot do what the sign-in is for: refused before
    /// anything is created or deleted (the detail's message names the roles for the task).
    AdminRolesMissing = "admin_roles_missing", 403, "The account that signed in does not have the admin roles for this, so nothing was changed in Microsoft 365. Registering the backup applications and granting their Microsoft Graph permissions needs Privileged Role Administrator together with Cloud Application Administrator or Application Administrator; or Global Administrator. Sign in again with such an account (activate an eligible role in Privileged Identity Management first).";
    /// A partner sign-in was asked for in a cloud without Partner Center's consent API.
    PartnerNotAvailable = "partner_not_available", 422, "Adding customers' organizations through a partner sign-in is available only in the Global cloud. Add each organization of this cloud on its own.";
    /// The partner's sign-in cannot get Partner Center tokens: nobody consented to Partner
    /// Center's permission for this service in the partner's tenant.
    PartnerCenterConsentMissing = "partner_center_consent_missing", 409, "Partner Center has not been consented for this service in your partner organization. Sign in again with Microsoft's sign-in page (Sign in with Microsoft), which asks for that consent, or have an administrator of your partner organization grant admin consent to this service's application for Partner Center.";
    /// The partner's relationship with a customer does not grant the roles the registration needs.
    PartnerRolesMissing = "partner_roles_missing", 403, "Your GDAP relationship with this customer does not grant the roles the registration needs: Privileged Role Administrator together with Cloud Application Administrator or Application Administrator, or Global Administrator, assigned to your Admin Agents. Ask the customer to approve such a relationship, then retry the failed ones.";
    /// A new batch, or "Retry the failed ones", while a batch of the account still runs (one runs
    /// at a time, so that no customer is in two).
    PartnerBatchRunning = "partner_batch_running", 409, "A batch of this account is still adding customers' organizations. Wait until each of its customers is saved or failed, then start another batch or retry its failed ones.";
    /// "Retry the failed ones" with nothing that could run again.
    PartnerNothingToRetry = "partner_nothing_to_retry", 409, "No failed customer of this batch can run again: none failed, or their GDAP relationships with your organization are no longer active.";
    /// Partner Center refused to put the sign-in application into a customer's tenant.
    PartnerConsentRefused = "partner_consent_refused", 403, "Partner Center refused to add this service's sign-in application to the customer's tenant. Check that the account that signed in is in your Admin Agents group and that the customer's policies allow partner consent, then retry the failed ones.";
    /// The Credential pop-up sign-in failed for another reason Microsoft gave.
    SignInFailed = "sign_in_failed", 422, "The sign-in did not complete. Try again, or use the Device Code method.";
    /// The browser did not open the Credential pop-up (a pop-up blocker, or a sandboxed iframe).
    PopupBlocked = "popup_blocked", 422, "Your browser blocked the Microsoft sign-in window. Allow pop-ups for this page and try again, or use the Device Code method.";
    /// The Credential pop-up was closed before Microsoft sent the admin back.
    PopupClosed = "popup_closed", 409, "The Microsoft sign-in window was closed before the sign-in finished. Open it again, or use the Device Code method.";
    /// The answer in the pop-up carried a `state` that is not this sign-in's: it was ignored.
    StateMismatch = "state_mismatch", 400, "The answer from Microsoft did not belong to this sign-in, so it was ignored. Try again in a new sign-in window, or use the Device Code method.";
    /// The pop-up's authorization code was used before (or Microsoft says it was already redeemed).
    CodeAlreadyUsed = "code_already_used", 400, "This answer from Microsoft was already used and cannot be used again. If the sign-in is not finished, try again in a new sign-in window, or use the Device Code method.";
    /// The confirmation code typed does not match the one the sign-in window shows.
    ConfirmationCodeWrong = "confirmation_code_wrong", 422, "This confirmation code does not match the one shown in the Microsoft sign-in window. Check it and enter it again.";
    /// The sign-in was cancelled (or ended) before Microsoft's answer could be used.
    SignInCancelled = "sign_in_cancelled", 409, "This sign-in was cancelled or has ended. Start again from the portal.";
    /// The Manual method's credential (and permissions) were checked; the 3 additional applications
    /// now need the administrator's sign-in, which the request did not name.
    SignInRequired = "sign_in_required", 409, "The application and its credential work. Creating the 3 additional applications needs one sign-in as a Privileged Role Administrator together with a Cloud Application Administrator or Application Administrator, or as a Global Administrator: sign in below, or untick \"Create multiple applications\".";
    /// A Credential sign-in holds Microsoft's answer but its owner has not claimed it (the handle
    /// the window posts to the app, or the code it shows): nothing is registered or shown until then.
    SignInNotClaimed = "sign_in_not_claimed", 409, "Waiting for the confirmation code: enter the code shown in the Microsoft sign-in window, then try again.";
    /// The sign-in was made in another tenant or cloud than the organization it is used for.
    SignInTenantMismatch = "sign_in_tenant_mismatch", 409, "The sign-in was made in a different Microsoft 365 organization or Azure cloud than this one. Sign in again as an administrator of this organization's tenant.";
    /// Deleting an organization with its applications: another organization in the backup service
    /// uses some of them, so nothing was deleted.
    ApplicationsShared = "applications_shared", 409, "Another organization in the backup service uses some of these applications, so nothing was deleted: deleting them would stop its backup. Keep the applications, or delete that organization first.";
    /// Deleting an organization with its applications: Microsoft did not delete every one of them,
    /// so the organization was kept (sending the request again retries; gone ones count as removed).
    ApplicationsNotRemoved = "applications_not_removed", 502, "Microsoft did not delete every application of this organization, so the organization was kept. Try again, or delete the applications named here in App registrations.";
    /// The Credential pop-up sign-in was not finished in time.
    SignInWindowExpired = "sign_in_window_expired", 410, "The Microsoft sign-in was not finished within 15 minutes. Try again, or use the Device Code method.";
    /// A sign-in was signed in but not used within 15 minutes: the admin's token was forgotten.
    SignInUnused = "sign_in_unused", 410, "The sign-in was not used within 15 minutes, so the service forgot the administrator's Microsoft token. Sign in again when you are ready to continue.";

    // --- Tenant and cloud --------------------------------------------------------------------
    /// The tenant lives in another national cloud.
    WrongCloud = "wrong_cloud", 422, "This tenant belongs to a different Azure cloud. Go back to Step 1 and choose the cloud your tenant was created in.";
    /// No such tenant in this cloud.
    TenantNotFound = "tenant_not_found", 422, "Microsoft does not know this tenant ID in the chosen cloud. Check the tenant ID and the Azure cloud environment.";
    /// The application's service principal is disabled (AADSTS7000112).
    ApplicationDisabled = "application_disabled", 422, "The application is disabled in this tenant. Enable it again in Enterprise applications (Properties, Enabled for users to sign in), then try again.";
    /// The application ID is not registered in this tenant and cloud.
    ApplicationNotFound = "application_not_found", 422, "Microsoft does not know this application ID in this tenant. Check the application ID, the tenant ID and the Azure cloud environment.";

    /// A resource in the tenant does not offer one of the manifest's application permissions (a
    /// national cloud, or a resource without its service principal): nothing is left in the tenant.
    PermissionUnavailable = "permission_unavailable", 422, "Your tenant does not offer an application permission the backup needs, so no application was registered. Register the application yourself with the Manual method, or contact support with the permission named here.";

    // --- Credentials -------------------------------------------------------------------------
    /// Wrong client secret.
    InvalidClientSecret = "invalid_client_secret", 422, "Microsoft refused the application password. Copy the secret's Value (not its ID) from Certificates & secrets, or create a new secret.";
    /// Expired client secret.
    ExpiredClientSecret = "expired_client_secret", 422, "The application password has expired. Create a new client secret in Certificates & secrets and enter its Value.";
    /// Certificate not registered or signature refused.
    InvalidCertificate = "invalid_certificate", 422, "Microsoft refused the certificate. Upload the .pfx whose certificate is registered on this application (Certificates & secrets).";
    /// The application has no admin consent for the permissions the backup needs.
    PermissionsNotGranted = "permissions_not_granted", 422, "The application works but its permissions have not been granted. In API permissions, choose Grant admin consent, then try again.";
    /// An application the administrator registered works, but lacks permissions the backup needs
    /// (listed in the answer's `missing_permissions`).
    PermissionsMissing = "permissions_missing", 422, "The application works, but it lacks permissions the backup needs (listed below). Grant them with admin consent and choose Check again, or save anyway and grant them later.";
    /// The tenant's app management policy caps a credential's lifetime below what was asked for.
    CredentialLifetimeRefusedByPolicy = "credential_lifetime_refused_by_policy", 422, "Your tenant's app management policy allows a shorter lifetime for this credential. Create a credential that ends sooner (the policy's maximum lifetime), then try again.";
    /// The tenant's app management policy forbids client secrets.
    SecretsForbiddenByPolicy = "secrets_forbidden_by_policy", 422, "Your tenant's policy does not allow application passwords. Use an application certificate (.pfx) instead.";
    /// The tenant's app management policy accepts only certificates from trusted authorities.
    TrustedCertificateRequired = "trusted_certificate_required", 422, "Your tenant's policy accepts only certificates issued by a certificate authority it trusts. Register the application with such a certificate and upload its .pfx with the Manual method.";

    // --- Certificates (.pfx) -----------------------------------------------------------------
    /// Wrong .pfx password.
    CertificateWrongPassword = "certificate_wrong_password", 422, "The certificate password is wrong. Enter the password you set when the .pfx file was exported.";
    /// Not a PKCS#12 file.
    CertificateNotPfx = "certificate_not_pfx", 422, "This file is not a .pfx (PKCS#12) certificate. Export the certificate with its private key as a .pfx file.";
    /// PKCS#12 without private key.
    CertificateNoPrivateKey = "certificate_no_private_key", 422, "The .pfx file has no private key. Export the certificate again and choose to include the private key.";
    /// Key is not RSA or RSA under 2048 bits.
    CertificateUnsupportedKey = "certificate_unsupported_key", 422, "The certificate's key is not supported. Microsoft Entra application certificates need an RSA key of at least 2048 bits.";
    /// Certificate expired.
    CertificateExpired = "certificate_expired", 422, "The certificate has expired. Create or renew the certificate and upload the new .pfx file.";
    /// Certificate not valid yet.
    CertificateNotYetValid = "certificate_not_yet_valid", 422, "The certificate is not valid yet. Check its start date, or the clock of the computer that created it.";
    /// Hostile or unusually expensive key derivation.
    CertificateTooCostly = "certificate_too_costly", 422, "The .pfx file asks for too much work to open (key-derivation iterations far above what Windows and OpenSSL use). Export it again with default settings.";
    /// Too large.
    CertificateTooLarge = "certificate_too_large", 413, "The certificate file is larger than 64 KB. Export the certificate without extra certificates in the chain.";
    /// Damaged or truncated.
    CertificateCorrupt = "certificate_corrupt", 422, "The .pfx file is damaged or incomplete. Export it again and upload the new file.";
    /// Uses an algorithm this product does not read.
    CertificateUnsupportedFormat = "certificate_unsupported_format", 422, "The .pfx file uses an encryption this service does not read. Export it again with AES-256 (or TripleDES) and SHA-256.";

    // --- Microsoft's services ------------------------------------------------------------------
    /// Throttled by Microsoft; retried automatically first.
    Throttled = "throttled", 503, "Microsoft is limiting requests right now. We retried for a while; wait a few minutes and try again.";
    /// A new object is not yet visible everywhere in Entra; retried automatically.
    ReplicationDelay = "replication_delay", 503, "Microsoft is still replicating the new application across its data centers. We kept retrying; try again in a minute.";
    /// Microsoft did not answer or answered with an unexpected error.
    MicrosoftUnavailable = "microsoft_unavailable", 502, "Microsoft's service did not answer as expected. Try again in a few minutes; if it keeps failing, quote the correlation ID to support.";
    /// Registering the applications failed and was rolled back.
    RegistrationFailed = "registration_failed", 502, "The backup applications could not be registered; anything created was removed again. Try again, or use the Manual method.";
}

impl ErrorCode {
    /// Whether the operation should be retried with back-off before this counts as a failure.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorCode::Throttled | ErrorCode::ReplicationDelay | ErrorCode::MicrosoftUnavailable)
    }

    /// Whether the administrator is told to switch to the Manual method: the codes whose sentence
    /// says "use the Manual method" (the app offers the switch on these codes, never on the text).
    pub fn suggests_manual(self) -> bool {
        matches!(
            self,
            ErrorCode::SignInDeclined
                | ErrorCode::BlockedByConditionalAccess
                | ErrorCode::ClientMisconfigured
                | ErrorCode::RegistrationFailed
                | ErrorCode::PermissionUnavailable
                | ErrorCode::TrustedCertificateRequired
        )
    }

    /// The catalogue entry for an `AADSTSnnnnn` code, or `None` for a code not catalogued.
    pub fn from_aadsts(code: u32) -> Option<ErrorCode> {
        Some(match code {
            70016 => ErrorCode::AuthorizationPending,
            70018 => ErrorCode::CodeInvalid,
            70019 | 70020 => ErrorCode::CodeExpired,
            50199 => ErrorCode::ConfirmationPrompt,
            53003 | 53000 | 53001 | 530033 | 530035 => ErrorCode::BlockedByConditionalAccess,
            7000218 | 700025 | 70002 | 9002327 => ErrorCode::ClientMisconfigured,
            700016 => ErrorCode::ApplicationNotFound,
            7000112 => ErrorCode::ApplicationDisabled,
            90038 => ErrorCode::WrongCloud,
            90002 => ErrorCode::TenantNotFound,
            65001 | 90094 | 90099 | 50105 => ErrorCode::AdminConsentRequired,
            65004 => ErrorCode::SignInDeclined,
            54005 => ErrorCode::CodeAlreadyUsed,
            70008 => ErrorCode::SignInWindowExpired,
            7000215 => ErrorCode::InvalidClientSecret,
            7000222 => ErrorCode::ExpiredClientSecret,
            700027 | 700024 | 50012 => ErrorCode::InvalidCertificate,
            90055 | 90024 | 50196 => ErrorCode::Throttled,
            _ => return None,
        })
    }

    /// The catalogue entry for an OAuth error response: the `AADSTS` code wins when it is known,
    /// then the RFC 6749/8628 `error` value.
    pub fn from_oauth_error(error: &str, error_codes: &[u32]) -> ErrorCode {
        if let Some(c) = error_codes.iter().find_map(|c| ErrorCode::from_aadsts(*c)) {
            return c;
        }
        match error {
            "authorization_pending" => ErrorCode::AuthorizationPending,
            "authorization_declined" | "access_denied" => ErrorCode::SignInDeclined,
            "expired_token" => ErrorCode::CodeExpired,
            "bad_verification_code" => ErrorCode::CodeInvalid,
            "invalid_client" | "unauthorized_client" => ErrorCode::ClientMisconfigured,
            "temporarily_unavailable" => ErrorCode::MicrosoftUnavailable,
            _ => ErrorCode::MicrosoftUnavailable,
        }
    }

    /// The catalogue entry for a Graph error (`status` and `error.code`).
    pub fn from_graph(status: u16, code: &str) -> ErrorCode {
        match (status, code) {
            (429, _) => ErrorCode::Throttled,
            (_, "NoBackingApplicationObject") => ErrorCode::ReplicationDelay,
            // The tenant's app management policy (default or applied to the application); Microsoft
            // has used both spellings.
            (_, "CredentialTypeNotAllowedAsPerAssignedPolicy" | "CredentialTypeNotAllowedAsPerAppPolicy") => {
                ErrorCode::SecretsForbiddenByPolicy
            }
            (_, "CredentialInvalidLifetimeAsPerAppPolicy" | "CredentialInvalidLifetimeAsPerAssignedPolicy") => {
                ErrorCode::CredentialLifetimeRefusedByPolicy
            }
            (403, _) | (_, "Authorization_RequestDenied") => ErrorCode::AdminConsentRequired,
            (401, _) | (_, "InvalidAuthenticationToken") => ErrorCode::Unauthenticated,
            (503 | 504 | 500 | 502, _) => ErrorCode::MicrosoftUnavailable,
            (404, _) | (_, "Request_ResourceNotFound") => ErrorCode::NotFound,
            _ => ErrorCode::MicrosoftUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_messages_say_what_to_do() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()), "serde name equals the stable code");
            assert!(c.message().ends_with('.'), "{c:?}");
            assert!((400..600).contains(&c.http_status()));
        }
    }

    #[test]
    fn a_public_client_set_up_for_another_flow_or_platform_is_the_operators_to_fix() {
        // 7000218: public client flows not allowed, or a code issued for a "Web" redirect URI;
        // 9002327: a code issued for a "Single-page application" redirect URI, redeemed by the edge.
        for code in [7000218, 700025, 9002327] {
            assert_eq!(ErrorCode::from_aadsts(code), Some(ErrorCode::ClientMisconfigured), "{code}");
        }
        assert!(ErrorCode::ClientMisconfigured.message().contains("mobile and desktop applications"));
    }

    #[test]
    fn conditional_access_points_to_the_manual_method() {
        for code in [53003, 530035, 53000] {
            let c = ErrorCode::from_aadsts(code).unwrap();
            assert_eq!(c, ErrorCode::BlockedByConditionalAccess);
            assert!(c.message().contains("Use the Manual method"));
        }
    }

    #[test]
    fn the_codes_that_suggest_the_manual_method_are_those_whose_sentence_says_so() {
        for c in ErrorCode::ALL {
            assert_eq!(c.suggests_manual(), c.message().contains("Manual method"), "{c:?}");
        }
        assert!(ErrorCode::BlockedByConditionalAccess.suggests_manual());
        assert!(!ErrorCode::SignInFailed.suggests_manual());
    }

    #[test]
    fn oauth_errors_prefer_the_aadsts_code() {
        assert_eq!(ErrorCode::from_oauth_error("invalid_grant", &[53003]), ErrorCode::BlockedByConditionalAccess);
        assert_eq!(ErrorCode::from_oauth_error("authorization_pending", &[70016]), ErrorCode::AuthorizationPending);
        assert_eq!(ErrorCode::from_oauth_error("expired_token", &[]), ErrorCode::CodeExpired);
        assert_eq!(ErrorCode::from_oauth_error("authorization_declined", &[]), ErrorCode::SignInDeclined);
        assert_eq!(ErrorCode::from_oauth_error("invalid_client", &[7000215]), ErrorCode::InvalidClientSecret);
        assert_eq!(ErrorCode::from_oauth_error("invalid_client", &[7000222]), ErrorCode::ExpiredClientSecret);
        assert_eq!(ErrorCode::from_oauth_error("unauthorized_client", &[700016]), ErrorCode::ApplicationNotFound);
        assert_eq!(ErrorCode::from_oauth_error("invalid_request", &[90038]), ErrorCode::WrongCloud);
        assert_eq!(ErrorCode::from_oauth_error("weird", &[1]), ErrorCode::MicrosoftUnavailable);
        assert_eq!(ErrorCode::from_oauth_error("invalid_grant", &[54005]), ErrorCode::CodeAlreadyUsed);
        assert_eq!(ErrorCode::from_oauth_error("access_denied", &[65004]), ErrorCode::SignInDeclined);
    }

    #[test]
    fn graph_errors() {
        assert_eq!(ErrorCode::from_graph(400, "NoBackingApplicationObject"), ErrorCode::ReplicationDelay);
        assert!(ErrorCode::ReplicationDelay.is_transient());
        assert_eq!(ErrorCode::from_graph(403, "Authorization_RequestDenied"), ErrorCode::AdminConsentRequired);
        assert!(ErrorCode::AdminConsentRequired.message().contains("Global Administrator"));
        assert_eq!(ErrorCode::from_graph(429, "TooManyRequests"), ErrorCode::Throttled);
        assert_eq!(
            ErrorCode::from_graph(400, "CredentialTypeNotAllowedAsPerAssignedPolicy"),
            ErrorCode::SecretsForbiddenByPolicy
        );
        assert_eq!(
            ErrorCode::from_graph(400, "CredentialTypeNotAllowedAsPerAppPolicy"),
            ErrorCode::SecretsForbiddenByPolicy
        );
        assert_eq!(
            ErrorCode::from_graph(400, "CredentialInvalidLifetimeAsPerAppPolicy"),
            ErrorCode::CredentialLifetimeRefusedByPolicy
        );
        assert_eq!(ErrorCode::from_graph(503, "serviceNotAvailable"), ErrorCode::MicrosoftUnavailable);
    }
}
