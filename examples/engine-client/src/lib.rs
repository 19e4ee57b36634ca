//! What a backup engine does with this service, end to end: it holds a P-256 key (its public half
//! listed in the Worker's `ENGINE_KEYS`), signs a short-lived ES256 token for the portal account it
//! works for, lists that account's organizations, and for each one asks the edge for access tokens
//! and uses them at Microsoft: Graph's users, a mailbox's folders through Graph's mailbox API
//! (where the organization has it), and SharePoint's root site. It never sees a credential.

use serde_json::{json, Value};
use shared::api::{EngineToken, OrganizationList};
use shared::engine_token::EngineSigner;
use std::time::{SystemTime, UNIX_EPOCH};

/// The engine's key (the common crate's signer).
pub struct Key(EngineSigner);

impl Key {
    /// Reads a PKCS#8 (DER) P-256 private key.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<Self, String> {
        EngineSigner::from_pkcs8(kid, der).map(Key)
    }

    /// A new key: the PKCS#8 to keep (secret) and the key itself.
    pub fn generate(kid: &str) -> Result<(Vec<u8>, Self), String> {
        EngineSigner::generate(kid).map(|(der, k)| (der, Key(k)))
    }

    /// Its ID in `ENGINE_KEYS`.
    pub fn kid(&self) -> &str {
        &self.0.kid
    }

    /// Its entry of `ENGINE_KEYS`: the public key and the accounts it may act for.
    pub fn public_jwk(&self, accounts: &[String]) -> Value {
        self.0.public_jwk(accounts)
    }

    /// A token for `account`, valid for 2 minutes.
    pub fn token(&self, account: &str) -> Result<String, String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs();
        Ok(self.0.token(account, now as i64))
    }
}

/// Where things are.
pub struct Config {
    /// The edge, e.g. `https://backup.example.com` (or `http://127.0.0.1:8787` under `make dev`).
    pub edge: String,
    /// The portal account the engine works for.
    pub account: String,
    /// Microsoft's hosts replaced by this base URL (the local emulator); `None` for Microsoft.
    pub microsoft_base: Option<String>,
}

/// What the engine did for one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationReport {
    /// Its name.
    pub name: String,
    /// The users Graph listed.
    pub users: usize,
    /// The folders of the first user's mailbox, read through Graph's mailbox API; `Err` says why not.
    pub mailbox_folders: Result<Vec<String>, String>,
    /// The title of SharePoint's root site; `Err` says why not.
    pub sharepoint_title: Result<String, String>,
}

fn get(url: &str, bearer: &str, accept: &str) -> Result<Value, String> {
    match ureq::get(url).set("authorization", &format!("Bearer {bearer}")).set("accept", accept).call() {
        Ok(r) => r.into_json().map_err(|e| format!("{url}: {e}")),
        Err(ureq::Error::Status(code, r)) => Err(format!("{url}: {code} {}", r.into_string().unwrap_or_default())),
        Err(e) => Err(format!("{url}: {e}")),
    }
}

/// The engine's token request for `resource`.
fn token(
    config: &Config,
    engine: &str,
    org: &str,
    resource: &str,
    workload: Option<&str>,
) -> Result<EngineToken, String> {
    let url = format!("{}/api/engine/organizations/{org}/token", config.edge);
    let body = match workload {
        Some(w) => json!({"resource": resource, "workload": w}),
        None => json!({"resource": resource}),
    };
    match ureq::post(&url).set("authorization", &format!("Bearer {engine}")).send_json(body) {
        Ok(r) => r.into_json().map_err(|e| format!("{url}: {e}")),
        Err(ureq::Error::Status(code, r)) => {
            Err(format!("{resource} token: {code} {}", r.into_string().unwrap_or_default()))
        }
        Err(e) => Err(format!("{url}: {e}")),
    }
}

/// Lists the account's organizations and uses each one's tokens.
pub fn run(config: &Config, key: &Key) -> Result<Vec<OrganizationReport>, String> {
    let engine = key.token(&config.account)?;
    let list: OrganizationList =
        serde_json::from_value(get(&format!("{}/api/engine/organizations", config.edge), &engine, "application/json")?)
            .map_err(|e| format!("the organizations: {e}"))?;
    let mut reports = vec![];
    for org in &list.organizations {
        let graph_base = config.microsoft_base.clone().unwrap_or_else(|| org.cloud.graph_host().to_owned());
        let graph = token(config, &engine, &org.id, "graph", None)?;
        let users = get(
            &format!("{graph_base}/v1.0/users?$select=id,userPrincipalName"),
            &graph.access_token,
            "application/json",
        )?;
        let users = users["value"].as_array().cloned().unwrap_or_default();
        // The mailbox: the mailbox workload's application where there is one.
        let mailbox_folders = (|| {
            let user = users.first().and_then(|u| u["id"].as_str()).ok_or("no user")?;
            let t = token(config, &engine, &org.id, "graph", Some("exchange"))?;
            let settings =
                get(&format!("{graph_base}/beta/users/{user}/settings/exchange"), &t.access_token, "application/json")?;
            let mailbox = settings["primaryMailboxId"].as_str().ok_or("no mailbox ID")?;
            let folders = get(
                &format!("{graph_base}/beta/admin/exchange/mailboxes/{mailbox}/folders/delta"),
                &t.access_token,
                "application/json",
            )?;
            Ok::<Vec<String>, String>(
                folders["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["displayName"].as_str().map(str::to_owned))
                    .collect(),
            )
        })();
        let sharepoint_title = (|| {
            let t = token(config, &engine, &org.id, "sharepoint", Some("files"))?;
            let root = t.scope.trim_end_matches("/.default");
            let base = config.microsoft_base.as_deref().unwrap_or(root);
            let web = get(&format!("{base}/_api/web"), &t.access_token, "application/json;odata=nometadata")?;
            web["Title"].as_str().map(str::to_owned).ok_or_else(|| "no title".to_owned())
        })();
        reports.push(OrganizationReport {
            name: org.name.clone(),
            users: users.len(),
            mailbox_folders,
            sharepoint_title,
        });
    }
    Ok(reports)
}
