//! What a sign-in start must satisfy before anything is stored or asked of Microsoft: the method is
//! enabled for the cloud by the operator, and the cloud has a public client to sign in with.
//! (Whether a repair's or a removal's organization is the account's is asked of the database by
//! the adapter; the account's slots too.)

use crate::config::Config;
use crate::error::AppError;
use shared::api::StartSignIn;
use shared::{AddMethod, ErrorCode, Field, FieldError};

/// The add method of `start`, when the operator's configuration allows it in its cloud.
pub fn admit(config: &Config, start: &StartSignIn) -> Result<AddMethod, AppError> {
    let method = AddMethod::from(start.method);
    method
        .availability_with(start.cloud, &config.credential_clouds)
        .map_err(|reason| FieldError::new(Field::Method, reason))?;
    if start.purpose == shared::api::SignInPurpose::Partner
        && config.endpoints(start.cloud).partner_center_base.is_none()
    {
        // Partner Center's consent API is in the Global cloud only.
        return Err(ErrorCode::PartnerNotAvailable.into());
    }
    if config.public_client(start.cloud).is_none() {
        return Err(ErrorCode::ClientMisconfigured.into());
    }
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::SignInMethod;
    use shared::CloudEnvironment;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::read(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())).unwrap()
    }

    fn refusal(r: Result<AddMethod, AppError>) -> (ErrorCode, Option<Field>) {
        let body = r.unwrap_err().body();
        (body.error.code, body.error.field)
    }

    #[test]
    fn a_method_the_operator_did_not_enable_or_a_cloud_without_a_client_starts_nothing() {
        let start = |cloud, method| StartSignIn::new(cloud, method);
        let global = config(&[("PUBLIC_CLIENT_ID_GLOBAL", "g"), ("PUBLIC_CLIENT_ID_CHINA", "c")]);
        let credential = SignInMethod::Credential;
        assert_eq!(admit(&global, &start(CloudEnvironment::Global, credential)).unwrap(), AddMethod::Credential);
        assert_eq!(
            refusal(admit(&global, &start(CloudEnvironment::China, credential))),
            (ErrorCode::InvalidInput, Some(Field::Method)),
            "Credential is the operator's choice outside Global"
        );
        let device = SignInMethod::DeviceCode;
        assert_eq!(admit(&global, &start(CloudEnvironment::China, device)).unwrap(), AddMethod::DeviceCode);
        assert_eq!(
            refusal(admit(&global, &start(CloudEnvironment::UsGovDod, device))),
            (ErrorCode::ClientMisconfigured, None),
            "no public client for the cloud"
        );
        let china = config(&[
            ("PUBLIC_CLIENT_ID_GLOBAL", "g"),
            ("PUBLIC_CLIENT_ID_CHINA", "c"),
            ("CREDENTIAL_CLOUDS", "china"),
        ]);
        assert_eq!(admit(&china, &start(CloudEnvironment::China, credential)).unwrap(), AddMethod::Credential);
    }

    #[test]
    fn a_partner_sign_in_is_only_in_the_global_cloud() {
        let all = config(&[
            ("PUBLIC_CLIENT_ID_GLOBAL", "g"),
            ("PUBLIC_CLIENT_ID_USGOV_GCC_HIGH", "h"),
            ("PUBLIC_CLIENT_ID_USGOV_DOD", "d"),
            ("PUBLIC_CLIENT_ID_CHINA", "c"),
        ]);
        let partner = |cloud| StartSignIn {
            purpose: shared::api::SignInPurpose::Partner,
            ..StartSignIn::new(cloud, SignInMethod::DeviceCode)
        };
        assert_eq!(admit(&all, &partner(CloudEnvironment::Global)).unwrap(), AddMethod::DeviceCode);
        for cloud in [CloudEnvironment::UsGovGccHigh, CloudEnvironment::UsGovDod, CloudEnvironment::China] {
            assert_eq!(refusal(admit(&all, &partner(cloud))), (ErrorCode::PartnerNotAvailable, None), "{cloud:?}");
        }
    }
}
