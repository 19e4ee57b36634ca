//! The Worker's configuration, read once per request from its variables and secrets.
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `PORTAL_SESSION_SECRET` | secret | HS256 key shared with the portal (at least 32 bytes) |
//! | `PORTAL_ISSUER` | var, optional | the `iss` session tokens must carry |
//! | `PORTAL_ORIGINS` | var, optional | space-separated origins allowed to frame the app |
//! | `PUBLIC_CLIENT_ID_GLOBAL`, `_USGOV_GCC_HIGH`, `_USGOV_DOD`, `_CHINA` | var | the operator's multi-tenant public client per cloud |
//! | `BACKUP_APP_NAME` | var, optional | display name of the registered applications (default "M365 Backup") |
//! | `PUBLIC_ORIGIN` | var, optional | the origin administrators reach the app on; the Credential method's redirect URI is built from it (default: the request's origin, https or loopback only) |
//! | `DEV_MICROSOFT_BASE_URL` | var, dev only | send every cloud's identity and Graph calls to this loopback URL (the local emulator) |
//!
//! `DEV_MICROSOFT_BASE_URL` weakens security (it redirects tokens), so it is honoured only for a
//! loopback host (`127.0.0.1`, `localhost`, `[::1]`), which a deployed Worker cannot reach.

use shared::{CloudEndpoints, CloudEnvironment};

/// Default display name of the registered applications.
pub const DEFAULT_APP_NAME: &str = "M365 Backup";
/// How many sign-ins one portal account may have under way at once.
pub const MAX_ACTIVE_SIGNINS: u32 = 3;

/// The configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Portal session secret (bytes).
    pub session_secret: Vec<u8>,
    /// Expected session issuer.
    pub portal_issuer: Option<String>,
    /// Origins allowed to embed the app.
    pub portal_origins: Vec<String>,
    /// Public client per cloud, in [`CloudEnvironment::ALL`] order.
    pub public_clients: [Option<String>; 4],
    /// Application display name.
    pub app_name: String,
    /// Loopback base URL replacing Microsoft's hosts (dev only).
    pub dev_microsoft_base: Option<String>,
    /// The app's public origin, for the Credential method's redirect URI.
    pub public_origin: Option<String>,
}

/// A setting that is present but unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

fn cloud_suffix(c: CloudEnvironment) -> &'static str {
    match c {
        CloudEnvironment::Global => "GLOBAL",
        CloudEnvironment::UsGovGccHigh => "USGOV_GCC_HIGH",
        CloudEnvironment::UsGovDod => "USGOV_DOD",
        CloudEnvironment::China => "CHINA",
    }
}

/// Whether `url` is `http(s)://` on a loopback host.
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Normalizes an origin (`scheme://host[:port]`, no path); `https` only, except loopback for dev.
pub fn origin(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('/');
    let (scheme, rest) = s.split_once("://")?;
    let host_ok = !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' ', '*'])
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    let allowed = scheme == "https" || (scheme == "http" && is_loopback_url(s));
    (host_ok && allowed).then(|| format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

impl Config {
    /// The `Content-Security-Policy` for the app's page: only the configured portals may frame it.
    pub fn frame_ancestors(&self) -> String {
        let mut v = String::from("frame-ancestors 'self'");
        for o in &self.portal_origins {
            v.push(' ');
            v.push_str(o);
        }
        v.push_str("; object-src 'none'; base-uri 'none'");
        v
    }

    /// Reads the configuration through `get` (variables and secrets by name).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let non_empty = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let dev_microsoft_base = match non_empty("DEV_MICROSOFT_BASE_URL") {
            Some(url) if is_loopback_url(&url) => Some(url.trim_end_matches('/').to_owned()),
            Some(_) => {
                return Err(ConfigError(
                    "DEV_MICROSOFT_BASE_URL must be a loopback URL (http://127.0.0.1:PORT); remove it in deployed configurations".into(),
                ))
            }
            None => None,
        };
        Ok(Config {
            session_secret: non_empty("PORTAL_SESSION_SECRET").map(String::into_bytes).unwrap_or_default(),
            portal_issuer: non_empty("PORTAL_ISSUER"),
            portal_origins: match non_empty("PORTAL_ORIGINS") {
                None => vec![],
                Some(list) => list
                    .split_whitespace()
                    .map(|o| {
                        origin(o).ok_or_else(|| {
                            ConfigError(format!(
                                "PORTAL_ORIGINS: {o:?} is not an origin such as https://portal.example.com"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            public_clients: CloudEnvironment::ALL.map(|c| non_empty(&format!("PUBLIC_CLIENT_ID_{}", cloud_suffix(c)))),
            app_name: non_empty("BACKUP_APP_NAME").unwrap_or_else(|| DEFAULT_APP_NAME.to_owned()),
            dev_microsoft_base,
            public_origin: match non_empty("PUBLIC_ORIGIN") {
                None => None,
                Some(o) => Some(origin(&o).ok_or_else(|| {
                    ConfigError(format!("PUBLIC_ORIGIN: {o:?} is not an origin such as https://backup.example.com"))
                })?),
            },
        })
    }

    /// The public client registered for `cloud`.
    pub fn public_client(&self, cloud: CloudEnvironment) -> Option<&str> {
        let i = CloudEnvironment::ALL.iter().position(|c| *c == cloud)?;
        self.public_clients[i].as_deref()
    }

    /// The Credential method's redirect URI: `PUBLIC_ORIGIN` (or else the origin the request came
    /// to, when it is https or loopback) + `/api/signin/callback`. It must be registered, exactly, on
    /// the operator's public client.
    pub fn redirect_uri(&self, request_origin: Option<&str>) -> Option<String> {
        let base = match &self.public_origin {
            Some(o) => o.clone(),
            None => origin(request_origin?)?,
        };
        Some(format!("{base}{}", shared::api::paths::SIGNIN_CALLBACK))
    }

    /// Where `cloud`'s requests go.
    pub fn endpoints(&self, cloud: CloudEnvironment) -> CloudEndpoints {
        match &self.dev_microsoft_base {
            Some(base) => CloudEndpoints::with_bases(cloud, base, base),
            None => CloudEndpoints::official(cloud),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::read(|k| map.get(k).cloned())
    }

    #[test]
    fn official_endpoints_by_default() {
        let c = read(&[("PUBLIC_CLIENT_ID_USGOV_DOD", "abc")]).unwrap();
        assert_eq!(c.public_client(CloudEnvironment::UsGovDod), Some("abc"));
        assert_eq!(c.public_client(CloudEnvironment::Global), None);
        assert_eq!(c.endpoints(CloudEnvironment::UsGovDod).graph_base, "https://dod-graph.microsoft.us");
        assert_eq!(c.app_name, DEFAULT_APP_NAME);
    }

    #[test]
    fn the_dev_override_is_loopback_only() {
        let c = read(&[("DEV_MICROSOFT_BASE_URL", "http://127.0.0.1:8790/")]).unwrap();
        assert_eq!(c.endpoints(CloudEnvironment::China).authority_base, "http://127.0.0.1:8790");
        assert!(read(&[("DEV_MICROSOFT_BASE_URL", "https://evil.example")]).is_err());
        assert!(read(&[("DEV_MICROSOFT_BASE_URL", "http://127.0.0.1.evil.example")]).is_err());
        assert!(is_loopback_url("http://localhost:1/x"));
        assert!(is_loopback_url("http://[::1]:8790"));
    }

    #[test]
    fn the_redirect_uri_comes_from_the_public_origin_or_a_safe_request_origin() {
        let c = read(&[]).unwrap();
        assert_eq!(
            c.redirect_uri(Some("https://backup.example")).as_deref(),
            Some("https://backup.example/api/signin/callback")
        );
        assert_eq!(
            c.redirect_uri(Some("http://127.0.0.1:8787")).as_deref(),
            Some("http://127.0.0.1:8787/api/signin/callback")
        );
        assert_eq!(c.redirect_uri(Some("http://backup.example")), None, "plain http only on loopback");
        assert_eq!(c.redirect_uri(None), None);
        let c = read(&[("PUBLIC_ORIGIN", "https://Backup.example/")]).unwrap();
        assert_eq!(
            c.redirect_uri(Some("https://m365.workers.dev")).as_deref(),
            Some("https://backup.example/api/signin/callback")
        );
        assert!(read(&[("PUBLIC_ORIGIN", "https://backup.example/path")]).is_err());
    }

    #[test]
    fn origins_are_checked_and_make_the_frame_ancestors() {
        let c = read(&[("PORTAL_ORIGINS", "https://a.example  https://B.example:8443/")]).unwrap();
        assert_eq!(c.portal_origins, vec!["https://a.example", "https://b.example:8443"]);
        assert_eq!(
            c.frame_ancestors(),
            "frame-ancestors 'self' https://a.example https://b.example:8443; object-src 'none'; base-uri 'none'"
        );
        assert!(read(&[("PORTAL_ORIGINS", "http://localhost:8788")]).is_ok(), "loopback http for dev");
        for bad in ["http://portal.example", "https://a.example/path", "*", "https://*.example", "javascript:alert(1)"]
        {
            assert!(read(&[("PORTAL_ORIGINS", bad)]).is_err(), "{bad}");
        }
        assert_eq!(read(&[]).unwrap().frame_ancestors(), "frame-ancestors 'self'; object-src 'none'; base-uri 'none'");
    }
}
