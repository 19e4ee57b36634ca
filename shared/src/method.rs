//! The three ways to add an organization, and which clouds allow which.

use crate::cloud::CloudEnvironment;
use serde::{Deserialize, Serialize};

/// How the administrator adds an organization.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddMethod {
    /// The admin signs in with Microsoft in a pop-up; registration is then automatic.
    Credential,
    /// The admin signs in with a one-time code on another page; registration is then automatic.
    DeviceCode,
    /// The admin registers the application and types its details into Step 3.
    Manual,
}

impl AddMethod {
    /// All methods, in the order the wizard lists them.
    pub const ALL: [AddMethod; 3] = [AddMethod::Credential, AddMethod::DeviceCode, AddMethod::Manual];

    /// The wire name (as serde writes it), e.g. `device_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            AddMethod::Credential => "credential",
            AddMethod::DeviceCode => "device_code",
            AddMethod::Manual => "manual",
        }
    }

    /// The label the administrator reads.
    pub fn label(self) -> &'static str {
        match self {
            AddMethod::Credential => "Credential",
            AddMethod::DeviceCode => "Device Code",
            AddMethod::Manual => "Manual",
        }
    }

    /// One sentence on what the method does.
    pub fn description(self) -> &'static str {
        match self {
            AddMethod::Credential => {
                "Sign in in a Microsoft window as a Privileged Role Administrator who is also Cloud Application Administrator or Application Administrator, or as a Global Administrator; the backup applications are then registered for you."
            }
            AddMethod::DeviceCode => {
                "Sign in with a one-time code on Microsoft's page as a Privileged Role Administrator who is also Cloud Application Administrator or Application Administrator, or as a Global Administrator; the backup applications are then registered for you."
            }
            AddMethod::Manual => {
                "Register the application in the Azure portal yourself (as a Cloud Application Administrator or Application Administrator; its Microsoft Graph permissions are then granted by a Privileged Role Administrator or a Global Administrator) and enter its tenant ID, application ID and password or certificate."
            }
        }
    }

    /// Whether `cloud` allows this method by the original product's rule (Credential in the Global
    /// cloud only); if not, the sentence that explains why.
    pub fn availability(self, cloud: CloudEnvironment) -> Result<(), &'static str> {
        self.availability_with(cloud, &[])
    }

    /// Like [`Self::availability`], where the operator has also set up the Credential method (its
    /// public client's redirect URI) in `credential_clouds`: Microsoft's sign-in page works in every
    /// cloud, and where device code is blocked by Conditional Access it is the way in.
    pub fn availability_with(
        self,
        cloud: CloudEnvironment,
        credential_clouds: &[CloudEnvironment],
    ) -> Result<(), &'static str> {
        match (self, cloud) {
            (AddMethod::Credential, CloudEnvironment::Global) => Ok(()),
            (AddMethod::Credential, c) if credential_clouds.contains(&c) => Ok(()),
            (AddMethod::Credential, CloudEnvironment::UsGovGccHigh | CloudEnvironment::UsGovDod) => Err(
                "The Credential method is not set up for US Government clouds by this service's operator. Use Device Code or Manual.",
            ),
            (AddMethod::Credential, CloudEnvironment::China) => Err(
                "The Credential method is not set up for Azure China by this service's operator. Use Device Code or Manual.",
            ),
            _ => Ok(()),
        }
    }

    /// The method preselected for `cloud`: Device Code everywhere (it works in every cloud).
    pub fn default_for(_cloud: CloudEnvironment) -> AddMethod {
        AddMethod::DeviceCode
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CloudEnvironment::*;

    #[test]
    fn global_allows_every_method() {
        for m in AddMethod::ALL {
            assert!(m.availability(Global).is_ok(), "{m:?}");
        }
    }

    #[test]
    fn the_credential_method_is_offered_in_every_cloud_the_operator_set_it_up_for() {
        assert!(AddMethod::Credential.availability_with(UsGovGccHigh, &[UsGovGccHigh, China]).is_ok());
        assert!(AddMethod::Credential.availability_with(China, &[UsGovGccHigh, China]).is_ok());
        let reason = AddMethod::Credential.availability_with(UsGovDod, &[UsGovGccHigh, China]).unwrap_err();
        assert!(reason.contains("not set up"), "{reason}");
        assert!(AddMethod::Credential.availability_with(Global, &[]).is_ok());
    }

    #[test]
    fn government_and_china_allow_only_device_code_and_manual() {
        for cloud in [UsGovGccHigh, UsGovDod, China] {
            assert!(AddMethod::DeviceCode.availability(cloud).is_ok());
            assert!(AddMethod::Manual.availability(cloud).is_ok());
            let reason = AddMethod::Credential.availability(cloud).unwrap_err();
            assert!(reason.contains("Use Device Code or Manual"), "{reason}");
        }
    }

    #[test]
    fn the_default_method_is_available_in_every_cloud() {
        for cloud in CloudEnvironment::ALL {
            assert!(AddMethod::default_for(cloud).availability(cloud).is_ok());
        }
    }
}
