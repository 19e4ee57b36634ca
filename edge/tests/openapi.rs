//! `GET /api/openapi.json` serves `edge/openapi.json`. This test generates the document from the
//! contract types (`shared::api`, through `schemars`) and the endpoints (`shared::endpoints`: method, path,
//! body types, statuses and summary, each described once)
//! and fails if the committed file differs, so the document cannot drift from the code.
//! After changing the contract: `UPDATE_OPENAPI=1 cargo test -p edge --test openapi`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};
use shared::api::*;
use shared::endpoints::{Access, Parameter};

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

/// Where the answer of `method path` leads (OpenAPI links): the created object's ID is the path
/// parameter of the operations on it. Peers' tools (schemathesis' stateful phase) follow them.
fn links(method: &str, path: &str) -> Option<Value> {
    let (targets, base): (&[(&str, &str)], &str) = match (method, path) {
        ("POST", "/api/signins") => (
            &[
                ("status", "get"),
                ("cancel", "delete"),
                ("confirm", "post:/confirm"),
                ("renew", "post:/renew"),
                ("applications", "post:/applications"),
            ],
            "/api/signins/{id}",
        ),
        ("POST", "/api/organizations") => {
            (&[("get", "get"), ("edit", "patch"), ("delete", "delete")], "/api/organizations/{id}")
        }
        _ => return None,
    };
    let mut links = Map::new();
    for (name, target) in targets {
        let (verb, suffix) = target.split_once(':').unwrap_or((target, ""));
        let pointer = format!("{base}{suffix}").replace('~', "~0").replace('/', "~1");
        links.insert(
            (*name).to_owned(),
            json!({"operationRef": format!("#/paths/{pointer}/{verb}"), "parameters": {"id": "$response.body#/id"}}),
        );
    }
    Some(Value::Object(links))
}

fn document() -> Value {
    let mut g = SchemaSettings::openapi3().into_generator();
    let error = schema::<ErrorBody>(&mut g);
    let mut paths = Map::new();
    for e in shared::endpoints::ALL {
        let (method, path) = (&e.method.as_str(), &e.path);
        let (request, response) = shared::endpoints::schemas(e.name, &mut g);
        let mut responses = Map::new();
        let ok = match response.map(|s| s.to_value()) {
            Some(s) => json!({"description": "Success", "content": {"application/json": {"schema": s}}}),
            None => json!({"description": "Success"}),
        };
        let mut ok = ok;
        if let Some(links) = links(method, path) {
            ok["links"] = links;
        }
        responses.insert(e.ok.to_string(), ok);
        for status in e.errors {
            responses.insert(
                status.to_string(),
                json!({"description": "The common error body", "content": {"application/json": {"schema": error}}}),
            );
        }
        let mut o = json!({"summary": e.summary, "responses": responses});
        if *path == "/api/signin/callback" {
            o["responses"] = json!({
                "200": {"description": "Signed in: a page that tells the app and closes itself", "content": {"text/html": {}}},
                "400": {"description": "Declined, refused, state mismatch, code already used, or an internal failure: a page that says so", "content": {"text/html": {}}},
                "404": {"description": "The state names no sign-in this service issued: a page that says the answer did not belong to a sign-in", "content": {"text/html": {}}}
            });
            // `state` is "{sign-in ID}.{43-character secret}"; anything else is not an answer to us.
            let state = json!({"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.[A-Za-z0-9_-]{43}$"});
            o["parameters"] = json!(["state", "code", "error", "error_description"]
                .iter()
                .map(|n| {
                    let schema = if *n == "state" { state.clone() } else { json!({"type": "string"}) };
                    json!({"name": n, "in": "query", "required": *n == "state", "schema": schema})
                })
                .collect::<Vec<_>>());
        }
        match e.access() {
            Access::Engine => o["security"] = json!([{"engineToken": []}]),
            Access::Session => o["security"] = json!([{"portalSession": []}]),
            Access::Public => {}
        }
        match e.parameter() {
            // The cloud's wire name, not an object's ID.
            Some(Parameter::Cloud) => {
                let clouds: Vec<&str> = shared::CloudEnvironment::ALL.iter().map(|c| c.as_str()).collect();
                o["parameters"] = json!([{"name": Parameter::Cloud.name(), "in": "path", "required": true,
                                          "schema": {"type": "string", "enum": clouds}}]);
            }
            Some(Parameter::Id) => {
                o["parameters"] = json!([{"name": Parameter::Id.name(), "in": "path", "required": true,
                                          "schema": {"type": "string", "format": "uuid"}}]);
            }
            None => {}
        }
        if let Some(req) = request.map(|s| s.to_value()) {
            // Confirming a device-code sign-in needs no body; a Credential sign-in sends its claim.
            let required = *path != "/api/signins/{id}/confirm";
            o["requestBody"] = json!({"required": required, "content": {"application/json": {"schema": req}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_lowercase()] = o;
    }
    let schemas: Map<String, Value> = g.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "M365 Backup Onboarding API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The edge API behind the onboarding wizard, and the backup engine's API. Every route except /api/health and /api/engine/* needs the portal session token (HS256 JWT, see README); /api/engine/* needs an engine token (ES256 JWT signed with a key listed in ENGINE_KEYS, see README) and refuses portal sessions. Errors share one body: {\"error\": {code, message, field?, microsoft?}}."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "portalSession": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "engineToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (ES256)"}
            }
        }
    })
}

#[test]
fn the_committed_document_matches_the_contract() {
    let generated = serde_json::to_string_pretty(&document()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "edge/openapi.json is out of date with the contract types: run `UPDATE_OPENAPI=1 cargo test -p edge --test openapi` and commit it"
    );
}

#[test]
fn secrets_are_write_only_and_never_in_responses() {
    let doc = document();
    assert!(doc.to_string().contains("\"writeOnly\":true"));
    let schemas = &doc["components"]["schemas"];
    for response in ["Organization", "SignInStatus", "CertificateInfo", "OrganizationList"] {
        assert!(schemas[response].is_object(), "{response} is documented");
        assert!(!schemas[response].to_string().contains("SecretString"), "{response} never carries a secret");
    }
}
