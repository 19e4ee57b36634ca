//! The Microsoft emulator (`tests/ms365-emulator`) as a child process on a free port, with helpers
//! for its control API.

use crate::process::Guarded;
use crate::repo_root;
use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

/// The default fixture's IDs (see tests/ms365-emulator/README.md).
pub mod fixture {
    /// The product's public client per cloud, in `CloudEnvironment::ALL` order.
    pub const PUBLIC_CLIENTS: [(&str, &str); 4] = [
        ("GLOBAL", "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d01"),
        ("USGOV_GCC_HIGH", "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d02"),
        ("USGOV_DOD", "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d03"),
        ("CHINA", "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d04"),
    ];
    /// Contoso (Global).
    pub const CONTOSO: &str = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60";
    /// Contoso's Global Administrator.
    pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";
    /// Contoso's user without admin roles.
    pub const USER: &str = "user@contoso.onmicrosoft.com";
    /// Contoso's Privileged Role Administrator who is also Cloud Application Administrator: the
    /// least-privileged account that registers the backup applications.
    pub const LEAST_PRIVILEGED: &str = "apps-and-roles@contoso.onmicrosoft.com";
    /// Contoso's Application Administrator (no other role).
    pub const APP_ADMIN: &str = "app-admin@contoso.onmicrosoft.com";
    /// Contoso's Privileged Role Administrator (no other role).
    pub const ROLE_ADMIN: &str = "role-admin@contoso.onmicrosoft.com";
    /// Password of every fixture user.
    pub const PASSWORD: &str = "Passw0rd!";
}

/// A running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    _process: Guarded,
    _dir: tempfile::TempDir,
}

/// Path of the emulator binary built by `cargo build -p ms365-emulator`.
pub fn binary() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(Into::into).unwrap_or_else(|| repo_root().join("target"));
    target.join("debug/ms365-emulator")
}

impl Emulator {
    /// Starts the emulator with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Self {
        let bin = binary();
        assert!(bin.exists(), "the emulator is not built ({}): run `cargo build -p ms365-emulator`", bin.display());
        let dir = tempfile::Builder::new().prefix("m365-emulator-").tempdir().expect("temp dir");
        let mut cmd = Command::new(&bin);
        cmd.args(["--listen", "127.0.0.1:0"]).args(args);
        let log = dir.path().join("emulator.log");
        // The first stdout line names the port; read it from a pipe, the rest is drained.
        let mut guarded = Guarded::spawn_piped("ms365-emulator", cmd, &log);
        let stdout = guarded.take_stdout().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
            guarded.assert_running();
            panic!("the emulator printed nothing within 20 s")
        });
        let base_url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the emulator: {first:?}"))
            .trim()
            .to_owned();
        Self { base_url, _process: guarded, _dir: dir }
    }

    /// Starts the emulator with its default fixture.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `POST /_emulator/{path}` with a JSON body.
    pub fn control(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}/_emulator/{path}", self.base_url);
        match ureq::post(&url).send_json(body) {
            Ok(r) => r.into_json().unwrap_or(serde_json::Value::Null),
            Err(ureq::Error::Status(code, r)) => {
                panic!("{url} answered {code}: {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{url}: {e}"),
        }
    }

    /// `GET /_emulator/{path}`.
    pub fn get(&self, path: &str) -> serde_json::Value {
        ureq::get(&format!("{}/_emulator/{path}", self.base_url))
            .call()
            .expect("emulator control API")
            .into_json()
            .unwrap()
    }

    /// Starts over from the built-in fixture (`--print-default-fixture`) with each of its product
    /// public clients changed by `edit`, as an operator's registration might differ.
    pub fn reset_with_public_clients(&self, mut edit: impl FnMut(&mut serde_json::Value)) {
        let out =
            Command::new(binary()).arg("--print-default-fixture").output().expect("the emulator's default fixture");
        let mut fixture: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the default fixture is JSON");
        for client in fixture["public_clients"].as_array_mut().expect("public clients") {
            edit(client);
        }
        self.control("reset", fixture);
    }

    /// The applications registered in every tenant (`GET /_emulator/state`).
    pub fn applications(&self) -> Vec<serde_json::Value> {
        let state = self.get("state");
        state["applications"].as_array().cloned().unwrap_or_else(|| panic!("the emulator's state: {state}"))
    }

    /// The request log (`GET /_emulator/requests`), oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let log = self.get("requests");
        log["requests"].as_array().cloned().unwrap_or_else(|| panic!("the emulator's request log: {log}"))
    }

    /// `DELETE /_emulator/{path}`.
    pub fn delete(&self, path: &str) {
        ureq::delete(&format!("{}/_emulator/{path}", self.base_url)).call().expect("emulator control API");
    }

    /// Signs `user` in with `user_code` without a browser.
    pub fn approve(&self, user_code: &str, user: &str) {
        self.control("device/approve", serde_json::json!({"user_code": user_code, "user": user}));
    }

    /// Declines `user_code`.
    pub fn decline(&self, user_code: &str) {
        self.control("device/decline", serde_json::json!({"user_code": user_code}));
    }

    /// A delegated Graph token of `user` (device code approved through the control API).
    pub fn admin_token(&self, user: &str) -> String {
        let scope = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All https://graph.microsoft.com/Organization.Read.All";
        let dc: serde_json::Value = ureq::post(&format!("{}/organizations/oauth2/v2.0/devicecode", self.base_url))
            .send_form(&[("client_id", fixture::PUBLIC_CLIENTS[0].1), ("scope", scope)])
            .expect("device code")
            .into_json()
            .unwrap();
        self.approve(dc["user_code"].as_str().unwrap(), user);
        let t: serde_json::Value = ureq::post(&format!("{}/organizations/oauth2/v2.0/token", self.base_url))
            .send_form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", fixture::PUBLIC_CLIENTS[0].1),
                ("device_code", dc["device_code"].as_str().unwrap()),
            ])
            .expect("token")
            .into_json()
            .unwrap();
        t["access_token"].as_str().unwrap().to_owned()
    }

    /// A Graph call with `token`.
    pub fn graph(&self, token: &str, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let req = ureq::request(method, &format!("{}/v1.0{path}", self.base_url))
            .set("authorization", &format!("Bearer {token}"));
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => r.into_json().unwrap_or(serde_json::Value::Null),
            Err(ureq::Error::Status(c, r)) => {
                panic!("Graph {method} {path}: {c} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("Graph {method} {path}: {e}"),
        }
    }

    /// A Graph call with `token` that may be refused: the status and the body.
    pub fn graph_status(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let req = ureq::request(method, &format!("{}/v1.0{path}", self.base_url))
            .set("authorization", &format!("Bearer {token}"));
        match req.send_json(body) {
            Ok(r) => (r.status(), r.into_json().unwrap_or(serde_json::Value::Null)),
            Err(ureq::Error::Status(c, r)) => (c, r.into_json().unwrap_or(serde_json::Value::Null)),
            Err(e) => panic!("Graph {method} {path}: {e}"),
        }
    }

    /// Moves the emulator's clock forward by `days` (credentials expire, tokens age).
    pub fn advance_days(&self, days: u64) {
        self.control("clock", serde_json::json!({"advance_seconds": days * 86_400}));
    }

    /// Registers an application in Contoso as an admin would by hand: application, service principal,
    /// a client secret, optionally a certificate (base64 DER), and (if `grant`) admin consent for
    /// every permission of the manifest (Graph, SharePoint, Exchange). Returns (app ID, object ID,
    /// secret).
    pub fn register_app(&self, name: &str, certificate_b64: Option<&str>, grant: bool) -> (String, String, String) {
        let token = self.admin_token(fixture::ADMIN);
        let app = self.graph(
            &token,
            "POST",
            "/applications",
            Some(serde_json::json!({"displayName": name, "signInAudience": "AzureADMyOrg"})),
        );
        let (app_id, oid) = (app["appId"].as_str().unwrap().to_owned(), app["id"].as_str().unwrap().to_owned());
        let sp = self.graph(&token, "POST", "/servicePrincipals", Some(serde_json::json!({"appId": app_id})));
        let pw = self.graph(
            &token,
            "POST",
            &format!("/applications/{oid}/addPassword"),
            Some(serde_json::json!({"passwordCredential": {"displayName": "test"}})),
        );
        if let Some(cert) = certificate_b64 {
            self.graph(
                &token,
                "PATCH",
                &format!("/applications/{oid}"),
                Some(serde_json::json!({"keyCredentials": [
                {"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert, "displayName": "test cert"}]})),
            );
        }
        if grant {
            let everything = edge::provisioning::manifest::required_permissions(
                shared::CloudEnvironment::Global,
                shared::api::Workload::All,
            );
            self.grant(sp["id"].as_str().unwrap(), &everything.iter().map(String::as_str).collect::<Vec<_>>());
        }
        (app_id, oid, pw["secretText"].as_str().unwrap().to_owned())
    }

    /// Admin consent in Contoso for the application permissions `values` (app role values of
    /// Microsoft Graph, SharePoint Online or Exchange Online) to the service principal `sp_id`.
    pub fn grant(&self, sp_id: &str, values: &[&str]) {
        let token = self.admin_token(fixture::ADMIN);
        let mut granted = 0;
        for resource in edge::provisioning::manifest::RESOURCES.map(|r| r.app_id) {
            let found = self.graph(
                &token,
                "GET",
                &format!("/servicePrincipals?$filter=appId eq '{resource}'&$select=id,appRoles"),
                None,
            );
            let resource_sp = &found["value"][0];
            for role in resource_sp["appRoles"].as_array().unwrap() {
                if values.contains(&role["value"].as_str().unwrap_or_default()) {
                    self.graph(
                        &token,
                        "POST",
                        &format!("/servicePrincipals/{}/appRoleAssignedTo", resource_sp["id"].as_str().unwrap()),
                        Some(serde_json::json!({
                        "principalId": sp_id, "resourceId": resource_sp["id"], "appRoleId": role["id"]})),
                    );
                    granted += 1;
                }
            }
        }
        assert_eq!(granted, values.len(), "every permission exists in the tenant: {values:?}");
    }

    /// The object ID of the service principal of application `app_id` in Contoso.
    pub fn service_principal_of(&self, app_id: &str) -> String {
        let token = self.admin_token(fixture::ADMIN);
        let found =
            self.graph(&token, "GET", &format!("/servicePrincipals?$filter=appId eq '{app_id}'&$select=id"), None);
        found["value"][0]["id"].as_str().unwrap().to_owned()
    }

    /// The worker variables that point the product at this emulator.
    pub fn worker_vars(&self) -> Vec<(String, String)> {
        let mut vars = vec![("DEV_MICROSOFT_BASE_URL".to_owned(), self.base_url.clone())];
        for (cloud, id) in fixture::PUBLIC_CLIENTS {
            vars.push((format!("PUBLIC_CLIENT_ID_{cloud}"), id.to_owned()));
        }
        vars
    }
}
