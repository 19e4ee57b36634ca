//! `GET /api/openapi.json` serves `edge/openapi.json`. This test generates the document from the
//! contract types (`shared::api`, through `schemars`) and the route table (`edge::routes::ENDPOINTS`)
//! and fails if the committed file differs, so the document cannot drift from the code.
//! After changing the contract: `UPDATE_OPENAPI=1 cargo test -p edge --test openapi`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};
use shared::api::*;
use shared::certificate::CertificateInfo;

struct Op {
    summary: &'static str,
    request: Option<Value>,
    ok: (u16, Option<Value>),
    errors: &'static [u16],
}

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
    g.subschema_for::<T>().to_value()
}

fn op(summary: &'static str, request: Option<Value>, ok: (u16, Option<Value>), errors: &'static [u16]) -> Op {
    Op { summary, request, ok, errors }
}

fn operation(method: &str, path: &str, g: &mut SchemaGenerator) -> Op {
    match (method, path) {
        ("GET", "/api/health") => {
            op("Liveness and version (no session needed)", None, (200, Some(schema::<HealthResponse>(g))), &[])
        }
        ("GET", "/api/session") => {
            op("The portal session as the edge read it", None, (200, Some(schema::<SessionInfo>(g))), &[401])
        }
        ("GET", "/api/openapi.json") => op("This document", None, (200, None), &[401]),
        ("GET", "/api/signin/callback") => op(
            "Microsoft sends the Credential pop-up back here (no session; the state names the sign-in). Answers an HTML page that tells the app and closes itself",
            None,
            (200, None),
            &[],
        ),
        ("POST", "/api/signins") => op(
            "Start a sign-in: device code, or the Credential pop-up (at most 3 under way per account)",
            Some(schema::<StartSignIn>(g)),
            (201, Some(schema::<SignInStatus>(g))),
            &[400, 401, 415, 422, 429, 502],
        ),
        ("GET", "/api/signins") => op(
            "The account's sign-ins under way (each counts against the limit of 3 until it ends or is cancelled)",
            None,
            (200, Some(schema::<SignInList>(g))),
            &[401],
        ),
        ("GET", "/api/signins/{id}") => {
            op("Sign-in status and registration progress", None, (200, Some(schema::<SignInStatus>(g))), &[401, 404])
        }
        ("DELETE", "/api/signins/{id}") => {
            op("Cancel a sign-in: its last status; afterwards it is gone for the API (404)", None, (200, Some(schema::<SignInStatus>(g))), &[401, 404])
        }
        ("POST", "/api/signins/{id}/confirm") => op(
            "Start registration: the admin ticked the confirmation (device code), or the browser presents the sign-in window's claim or confirmation code (Credential)",
            Some(schema::<ConfirmSignIn>(g)),
            (200, Some(schema::<SignInStatus>(g))),
            &[400, 401, 404, 409, 410, 413, 415, 422],
        ),
        ("POST", "/api/signins/{id}/renew") => op(
            "A new one-time code after the previous one expired",
            None,
            (200, Some(schema::<SignInStatus>(g))),
            &[401, 404, 409, 410, 429, 502],
        ),
        ("POST", "/api/signins/{id}/applications") => op(
            "Create the 3 additional applications with this sign-in (409 until a Credential sign-in's answer is claimed)",
            None,
            (200, Some(schema::<SignInStatus>(g))),
            &[401, 404, 409, 410, 422],
        ),
        ("POST", "/api/certificates/inspect") => op(
            "Describe a .pfx before saving (nothing is stored)",
            Some(schema::<InspectCertificate>(g)),
            (200, Some(schema::<CertificateInfo>(g))),
            &[400, 401, 413, 415, 422],
        ),
        ("GET", "/api/organizations") => {
            op("The account's organizations", None, (200, Some(schema::<OrganizationList>(g))), &[401])
        }
        ("POST", "/api/organizations") => op(
            "Add an organization after checking its credential against Microsoft",
            Some(schema::<CreateOrganization>(g)),
            (201, Some(schema::<Organization>(g))),
            &[400, 401, 409, 410, 413, 415, 422, 502, 503],
        ),
        ("GET", "/api/organizations/{id}") => {
            op("One organization", None, (200, Some(schema::<Organization>(g))), &[401, 404])
        }
        ("PATCH", "/api/organizations/{id}") => op(
            "Edit; application ID and credential changes are checked against Microsoft first",
            Some(schema::<UpdateOrganization>(g)),
            (200, Some(schema::<Organization>(g))),
            &[400, 401, 404, 409, 410, 413, 415, 422, 502, 503],
        ),
        ("DELETE", "/api/organizations/{id}") => op(
            "Delete (requires {\"confirm\": true})",
            Some(schema::<DeleteOrganization>(g)),
            (204, None),
            &[400, 401, 404, 413, 415, 422],
        ),
        other => panic!("{other:?} is in ENDPOINTS but not documented here"),
    }
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
    for (method, path) in edge::routes::ENDPOINTS {
        let op = operation(method, path, &mut g);
        let mut responses = Map::new();
        let ok = match op.ok.1 {
            Some(s) => json!({"description": "Success", "content": {"application/json": {"schema": s}}}),
            None => json!({"description": "Success"}),
        };
        let mut ok = ok;
        if let Some(links) = links(method, path) {
            ok["links"] = links;
        }
        responses.insert(op.ok.0.to_string(), ok);
        for status in op.errors {
            responses.insert(
                status.to_string(),
                json!({"description": "The common error body", "content": {"application/json": {"schema": error}}}),
            );
        }
        let mut o = json!({"summary": op.summary, "responses": responses});
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
        } else if *path != "/api/health" {
            o["security"] = json!([{"portalSession": []}]);
        }
        if path.contains("{id}") {
            o["parameters"] =
                json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
        }
        if let Some(req) = op.request {
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
            "description": "The edge API behind the onboarding wizard. Every route except /api/health needs the portal session token (HS256 JWT, see README). Errors share one body: {\"error\": {code, message, field?, microsoft?}}."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"portalSession": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
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
