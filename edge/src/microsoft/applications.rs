//! Graph's `application` resource (learn.microsoft.com/graph/api/resources/application): the
//! requests the product sends about applications, as `$batch` items or single requests, and the
//! fields it reads back. Every URL and body about an application is written here and nowhere else.
//!
//! - create: `POST /applications` (learn.microsoft.com/graph/api/application-post-applications)
//! - find: `GET /applications?$filter=…` (…/application-list), by tag or by `appId`
//! - update: `PATCH /applications/{id}` (…/application-update), `requiredResourceAccess` and
//!   `keyCredentials`
//! - delete: `DELETE /applications/{id}` and `DELETE /applications(appId='{appId}')`
//!   (…/application-delete)
//! - `POST /applications/{id}/removePassword`, `/addKey`, `/removeKey` (…/application-removepassword,
//!   …/application-addkey, …/application-removekey)

use super::graph::{self, odata_string, BatchItem};
use super::{HttpRequest, HttpResponse, MicrosoftError};
use serde::{Deserialize, Serialize};
use shared::assertion::KeyCredential;
use shared::secret::SecretString;
use shared::CloudEndpoints;

/// The product's applications are for one tenant only.
pub const SIGN_IN_AUDIENCE: &str = "AzureADMyOrg";

/// One API's permissions in `requiredResourceAccess` (…/resources/requiredresourceaccess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The API's application ID (Microsoft Graph's, SharePoint's, Exchange's).
    pub resource_app_id: String,
    /// Its permissions.
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// One permission in `resourceAccess` (…/resources/resourceaccess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    /// The app role's ID.
    pub id: String,
    /// `Role` (an application permission); `Scope` would be a delegated one.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ResourceAccess {
    /// The application permission (app role) `id`.
    pub fn role(id: &str) -> Self {
        Self { id: id.to_owned(), kind: "Role".to_owned() }
    }
}

/// An application as the product reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Its object ID (in URLs).
    pub id: String,
    /// Its application (client) ID.
    #[serde(default)]
    pub app_id: String,
    /// The permissions it lists.
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

impl Application {
    /// Whether it lists at least one permission (an empty `resourceAccess` declares none).
    pub fn declares_permissions(&self) -> bool {
        self.required_resource_access.iter().any(|r| !r.resource_access.is_empty())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewApplication<'a> {
    display_name: &'a str,
    sign_in_audience: &'a str,
    tags: [&'a str; 1],
    required_resource_access: &'a [RequiredResourceAccess],
}

/// Creates a single-tenant application named `display_name`, tagged `tag` (so that a resumed run
/// finds it), listing `access`.
pub fn create(id: String, display_name: &str, tag: &str, access: &[RequiredResourceAccess]) -> BatchItem {
    let body = NewApplication {
        display_name,
        sign_in_audience: SIGN_IN_AUDIENCE,
        tags: [tag],
        required_resource_access: access,
    };
    BatchItem::with_body(id, "POST", "/applications", body)
}

/// Finds the application tagged `tag` (answer: a collection of [`Application`]).
pub fn find_by_tag(id: String, tag: &str) -> BatchItem {
    BatchItem::get(id, format!("/applications?$filter=tags/any(t:t eq {})&$select=id,appId", odata_string(tag)))
}

/// Finds the application with application ID `app_id` (answer: a collection of [`Application`]).
pub fn find_by_app_id(id: String, app_id: &str) -> BatchItem {
    BatchItem::get(id, format!("/applications?$filter=appId eq {}&$select=id,appId", odata_string(app_id)))
}

/// What a `PATCH` changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// The permissions it lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    /// Its certificates (replaces the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_credentials: Option<Vec<KeyCredential>>,
}

/// Updates the application with object ID `object_id`.
pub fn update(id: String, object_id: &str, update: &Update) -> BatchItem {
    BatchItem::with_body(id, "PATCH", format!("/applications/{object_id}"), update)
}

/// Deletes the application with object ID `object_id`.
pub fn delete(id: String, object_id: &str) -> BatchItem {
    BatchItem::delete(id, format!("/applications/{object_id}"))
}

/// Deletes the application with application ID `app_id` (404 when this tenant does not hold it).
pub fn delete_by_app_id(id: String, app_id: &shared::AppId) -> BatchItem {
    BatchItem::delete(id, format!("/applications(appId='{app_id}')"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyId<'a> {
    key_id: &'a str,
}

/// Removes the client secret `key_id` from the application with object ID `object_id`.
pub fn remove_password(id: String, object_id: &str, key_id: &str) -> BatchItem {
    BatchItem::with_body(id, "POST", format!("/applications/{object_id}/removePassword"), KeyId { key_id })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddKey<'a> {
    key_credential: &'a KeyCredential,
    password_credential: Option<()>,
    proof: &'a str,
}

/// `addKey`: adds `key` to the application `object_id`, proven by `proof` (a JWT signed by one
/// of its current certificates).
pub fn add_key(
    endpoints: &CloudEndpoints,
    token: &SecretString,
    object_id: &str,
    key: &KeyCredential,
    proof: &str,
) -> HttpRequest {
    let body = serde_json::to_value(AddKey { key_credential: key, password_credential: None, proof })
        .unwrap_or(serde_json::Value::Null);
    let path = format!("/applications/{object_id}/addKey");
    graph::request(endpoints, token, http::Method::POST, &path, Some(&body))
}

/// The key `addKey` added.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedKey {
    /// Its ID (to remove it again).
    pub key_id: String,
}

/// Reads `addKey`'s answer; an answer without a `keyId` counts as Microsoft unavailable.
pub fn read_added_key(resp: &HttpResponse) -> Result<AddedKey, MicrosoftError> {
    let body = graph::read_json(resp)?;
    AddedKey::deserialize(&body).map_err(|_| MicrosoftError::unreadable(resp.status().as_u16()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RemoveKey<'a> {
    key_id: &'a str,
    proof: &'a str,
}

/// `removeKey`: removes `key_id` from the application `object_id`, proven by `proof`.
pub fn remove_key(
    endpoints: &CloudEndpoints,
    token: &SecretString,
    object_id: &str,
    key_id: &str,
    proof: &str,
) -> HttpRequest {
    let body = serde_json::to_value(RemoveKey { key_id, proof }).unwrap_or(serde_json::Value::Null);
    let path = format!("/applications/{object_id}/removeKey");
    graph::request(endpoints, token, http::Method::POST, &path, Some(&body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_application_is_single_tenant_tagged_and_lists_its_permissions() {
        let access = [RequiredResourceAccess {
            resource_app_id: "00000003-0000-0000-c000-000000000000".into(),
            resource_access: vec![ResourceAccess::role("r-1")],
        }];
        let item = create("app0".into(), "Backup", "m-0", &access);
        assert_eq!((item.method, item.url.as_str()), ("POST", "/applications"));
        assert_eq!(
            item.body.unwrap(),
            json!({"displayName": "Backup", "signInAudience": "AzureADMyOrg", "tags": ["m-0"],
                   "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000",
                                               "resourceAccess": [{"id": "r-1", "type": "Role"}]}]})
        );
        let only_access = Update { required_resource_access: Some(vec![]), key_credentials: None };
        assert_eq!(update("decl0".into(), "o-1", &only_access).body.unwrap(), json!({"requiredResourceAccess": []}));
        assert_eq!(remove_password("rp0".into(), "o-1", "k").body.unwrap(), json!({"keyId": "k"}));
    }

    #[test]
    fn an_application_reads_whether_it_declares_permissions() {
        let read = |v| Application::deserialize(&v).unwrap();
        let with = read(
            json!({"id": "o", "appId": "a", "requiredResourceAccess": [{"resourceAppId": "x", "resourceAccess": [{"id": "r", "type": "Role"}]}]}),
        );
        assert!(with.declares_permissions());
        assert!(!read(json!({"id": "o", "requiredResourceAccess": [{"resourceAppId": "x", "resourceAccess": []}]}))
            .declares_permissions());
        assert!(!read(json!({"id": "o"})).declares_permissions());
    }

    #[test]
    fn add_key_sends_a_null_password_credential_and_reads_the_key_id() {
        let e = CloudEndpoints::with_bases(shared::CloudEnvironment::Global, "http://a", "http://g");
        let key = KeyCredential::for_certificate(b"der", "n", (0, 1));
        let req = add_key(&e, &SecretString::new("t".into()), "o-1", &key, "jwt");
        assert_eq!(req.uri(), "http://g/v1.0/applications/o-1/addKey");
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body["passwordCredential"], serde_json::Value::Null);
        assert_eq!(body["proof"], "jwt");
        let ok = http::Response::builder().status(200).body(br#"{"keyId":"k-1","type":"x"}"#.to_vec()).unwrap();
        assert_eq!(read_added_key(&ok).unwrap().key_id, "k-1");
        let odd = http::Response::builder().status(200).body(b"{}".to_vec()).unwrap();
        assert_eq!(read_added_key(&odd).unwrap_err().code, shared::ErrorCode::MicrosoftUnavailable);
    }
}
