//! Microsoft Graph v1.0: single requests, `$batch` (up to 20 requests, `dependsOn` for order),
//! and Graph's error shape mapped to the catalogue.

use super::{retry_after, HttpRequest, HttpResponse, MicrosoftError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::api::MicrosoftCorrelation;
use shared::secret::SecretString;
use shared::{CloudEndpoints, ErrorCode};

/// The most requests Graph accepts in one `$batch`.
pub const MAX_BATCH: usize = 20;

/// One request inside a `$batch`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItem {
    /// Unique within the batch.
    pub id: String,
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// Relative URL, e.g. `/applications`.
    pub url: String,
    /// JSON body, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// `Content-Type` when there is a body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Value>,
    /// IDs that must complete first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl BatchItem {
    /// A request without a body.
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self { id: id.into(), method: "GET", url: url.into(), body: None, headers: None, depends_on: vec![] }
    }

    /// A `DELETE` (no body).
    pub fn delete(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self { method: "DELETE", ..Self::get(id, url) }
    }

    /// A request with a JSON body (a typed one: [`serde_json::to_value`] of a product type cannot
    /// fail, as none of them has a map with non-string keys).
    pub fn with_body(
        id: impl Into<String>,
        method: &'static str,
        url: impl Into<String>,
        body: impl Serialize,
    ) -> Self {
        Self {
            id: id.into(),
            method,
            url: url.into(),
            body: Some(serde_json::to_value(body).unwrap_or(Value::Null)),
            headers: Some(serde_json::json!({"Content-Type": "application/json"})),
            depends_on: vec![],
        }
    }

    /// The same request, sent only after `first` succeeded.
    pub fn after(mut self, first: &BatchItem) -> Self {
        self.depends_on = vec![first.id.clone()];
        self
    }
}

/// `value` as an OData string literal inside a `$filter` or a key: single-quoted, a quote inside
/// doubled (OData ABNF `SQUOTE-in-string`), so that no value can end the literal early.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A Graph collection answer: `{"value": [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Collection<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
}

/// One response inside a `$batch` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BatchResult {
    /// The request's ID.
    pub id: String,
    /// Its HTTP status.
    pub status: u16,
    /// Its headers.
    #[serde(default)]
    pub headers: serde_json::Map<String, Value>,
    /// Its body.
    #[serde(default)]
    pub body: Value,
}

impl BatchResult {
    /// Whether the inner request succeeded.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The inner failure, mapped.
    pub fn error(&self) -> MicrosoftError {
        let retry = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_u64()));
        error_from_body(self.status, &self.body, retry)
    }

    /// The inner answer's body as `T`; `None` when it has another shape.
    pub fn read<T: DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(&self.body).ok()
    }

    /// The message of the inner failure's Graph error body (empty when it has none).
    pub fn error_message(&self) -> String {
        ErrorBody::deserialize(&self.body).unwrap_or_default().error.message
    }

    /// The first item of a collection answer: `Some(None)` when the collection is empty (nothing
    /// matched the filter), `None` when the answer is not a collection of `T`.
    pub fn first<T: DeserializeOwned>(&self) -> Option<Option<T>> {
        self.read::<Collection<T>>().map(|c| c.value.into_iter().next())
    }
}

pub(crate) fn json_request(method: http::Method, url: &str, token: &SecretString, body: Option<&Value>) -> HttpRequest {
    let builder = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::AUTHORIZATION, format!("Bearer {}", token.expose()))
        .header(http::header::ACCEPT, "application/json");
    match body {
        Some(b) => builder
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(b).unwrap_or_default()),
        None => builder.body(Vec::new()),
    }
    .expect("method, URL and headers are valid")
}

/// A single Graph request: `{graph}/v1.0{path}`.
pub fn request(
    endpoints: &CloudEndpoints,
    token: &SecretString,
    method: http::Method,
    path: &str,
    body: Option<&Value>,
) -> HttpRequest {
    json_request(method, &endpoints.graph_url(path), token, body)
}

/// `POST {graph}/v1.0/$batch` with `items` (at most [`MAX_BATCH`]).
pub fn batch(endpoints: &CloudEndpoints, token: &SecretString, items: &[BatchItem]) -> HttpRequest {
    debug_assert!(items.len() <= MAX_BATCH);
    let body = serde_json::json!({ "requests": items });
    json_request(http::Method::POST, &endpoints.graph_url("/$batch"), token, Some(&body))
}

/// Reads a `$batch` answer; the outer request failing is an error, inner failures are results.
pub fn read_batch(resp: &HttpResponse) -> Result<Vec<BatchResult>, MicrosoftError> {
    if !resp.status().is_success() {
        return Err(read_error(resp));
    }
    #[derive(Deserialize)]
    struct Answer {
        responses: Vec<BatchResult>,
    }
    serde_json::from_slice::<Answer>(resp.body())
        .map(|a| a.responses)
        .map_err(|_| MicrosoftError::unreadable(resp.status().as_u16()))
}

/// Reads a single Graph response's JSON body, or its error.
pub fn read_json(resp: &HttpResponse) -> Result<Value, MicrosoftError> {
    if resp.status().is_success() {
        if resp.body().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(resp.body()).map_err(|_| MicrosoftError::unreadable(resp.status().as_u16()))
    } else {
        Err(read_error(resp))
    }
}

/// Graph's error body, mapped.
pub fn read_error(resp: &HttpResponse) -> MicrosoftError {
    let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    error_from_body(resp.status().as_u16(), &body, retry_after(resp))
}

/// Graph's error body (learn.microsoft.com/graph/errors): `{"error": {"code", "message",
/// "innerError": {"request-id", "client-request-id", "date"}}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorObject,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorObject {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    inner_error: InnerError,
}

#[derive(Debug, Default, Deserialize)]
struct InnerError {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
    #[serde(rename = "client-request-id")]
    client_request_id: Option<String>,
    date: Option<String>,
}

fn error_from_body(status: u16, body: &Value, retry_after: Option<u64>) -> MicrosoftError {
    let ErrorObject { code, inner_error: inner, .. } = ErrorBody::deserialize(body).unwrap_or_default().error;
    MicrosoftError {
        code: ErrorCode::from_graph(status, &code),
        status,
        correlation: MicrosoftCorrelation {
            correlation_id: inner.client_request_id,
            trace_id: inner.request_id,
            timestamp: inner.date,
            code: (!code.is_empty()).then_some(code),
        },
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CloudEnvironment;

    #[test]
    fn batch_body_has_graphs_shape() {
        let e = CloudEndpoints::with_bases(CloudEnvironment::Global, "http://a", "http://g");
        let mut sp = BatchItem::with_body("2", "POST", "/servicePrincipals", serde_json::json!({"appId": "x"}));
        sp.depends_on = vec!["1".into()];
        let req = batch(&e, &SecretString::new("tok".into()), &[BatchItem::get("1", "/organization"), sp]);
        assert_eq!(req.uri(), "http://g/v1.0/$batch");
        assert_eq!(req.headers()["authorization"], "Bearer tok");
        let body: Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body["requests"][0], serde_json::json!({"id": "1", "method": "GET", "url": "/organization"}));
        assert_eq!(body["requests"][1]["dependsOn"], serde_json::json!(["1"]));
        assert_eq!(body["requests"][1]["headers"]["Content-Type"], "application/json");
    }

    #[test]
    fn inner_errors_are_mapped_with_retry_after() {
        let resp = http::Response::builder()
            .status(200)
            .body(
                serde_json::to_vec(&serde_json::json!({"responses": [
                    {"id": "1", "status": 429, "headers": {"Retry-After": "3"}, "body": {"error": {"code": "TooManyRequests", "message": "slow"}}},
                    {"id": "2", "status": 400, "body": {"error": {"code": "NoBackingApplicationObject", "message": "x",
                        "innerError": {"request-id": "r", "client-request-id": "c", "date": "d"}}}},
                    {"id": "3", "status": 201, "body": {"id": "obj"}}
                ]}))
                .unwrap(),
            )
            .unwrap();
        let results = read_batch(&resp).unwrap();
        assert_eq!(results[0].error().code, ErrorCode::Throttled);
        assert_eq!(results[0].error().retry_after, Some(3));
        assert_eq!(results[1].error().code, ErrorCode::ReplicationDelay);
        assert_eq!(results[1].error().correlation.trace_id.as_deref(), Some("r"));
        assert!(results[2].ok());
    }

    #[test]
    fn an_odata_string_cannot_end_its_literal_early() {
        assert_eq!(odata_string("m365onb-s1-0"), "'m365onb-s1-0'");
        assert_eq!(odata_string("x') or (1 eq 1"), "'x'') or (1 eq 1'");
    }

    #[test]
    fn a_403_is_a_missing_admin_role() {
        let resp = http::Response::builder()
            .status(403)
            .body(br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#.to_vec())
            .unwrap();
        assert_eq!(read_json(&resp).unwrap_err().code, ErrorCode::AdminConsentRequired);
    }
}
