//! The IDs the edge issues (random version-4 UUIDs), as types: an ID that arrives from outside (a
//! path, a request body) is checked for the issued shape before anything is looked up with it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether `s` has the shape of an issued ID (36 characters, hyphens at 8, 13, 18 and 23, hex
/// digits elsewhere).
pub fn is_issued_id(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A saved organization's ID.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transparent))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrganizationId(#[cfg_attr(feature = "schema", schemars(with = "uuid_schema::Uuid"))] String);

impl OrganizationId {
    /// `s`, when it has the issued shape.
    pub fn parse(s: &str) -> Option<Self> {
        is_issued_id(s).then(|| Self(s.to_owned()))
    }

    /// As text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrganizationId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("an organization ID is a UUID the service issued"))
    }
}

#[cfg(feature = "schema")]
mod uuid_schema {
    /// A string of format `uuid`, for the OpenAPI document.
    pub struct Uuid;

    impl schemars::JsonSchema for Uuid {
        fn schema_name() -> std::borrow::Cow<'static, str> {
            "Uuid".into()
        }

        fn inline_schema() -> bool {
            true
        }

        fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
            schemars::json_schema!({"type": "string", "format": "uuid"})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issued_shape_is_an_organization_id() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(OrganizationId::parse(id).unwrap().as_str(), id);
        for bad in
            ["", "x", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b_d9cb-469f-a165-70867728950e", "' or 1=1 --"]
        {
            assert!(OrganizationId::parse(bad).is_none(), "{bad:?}");
            assert!(serde_json::from_value::<OrganizationId>(serde_json::json!(bad)).is_err());
        }
        assert_eq!(serde_json::to_value(OrganizationId::parse(id).unwrap()).unwrap(), serde_json::json!(id));
    }
}
