//! The Worker's configuration, read once per request from its variables and secrets.
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `PORTAL_SESSION_SECRET` | secret | HS256 key shared with the portal (at least 32 bytes) |
//! | `PORTAL_ISSUER` | var, optional | the `iss` session tokens must carry |
//! | `PORTAL_ORIGINS` | var, optional | space-separated origins allowed to frame the app |
//! | `PUBLIC_CLIENT_ID_GLOBAL`, `_USGOV_GCC_HIGH`, `_USGOV_DOD`, `_CHINA` | var | the operator's multi-tenant public client per cloud |
//! | `CREDENTIAL_CLOUDS` | var, optional | space-separated clouds besides Global where the Credential method is set up (`usgov_gcc_high usgov_dod china`: their public client has this service's redirect URI) |
//! | `ENGINE_KEYS` | var, optional | the backup engine's public keys (JSON, see README); none: the engine API refuses everything |
//! | `ENGINE_AUDIT_DAYS` | var, optional | how long the engine's token requests are kept (default 90) |
//! | `ENGINE_AUDIT_MAX_ROWS` | var, optional | the most audit rows kept per portal account (default 500000) |
//! | `MICROSOFT_TIMEOUT_SECS` | var, optional | how long one request to Microsoft may take, answer included, before it is abandoned as a transient failure (default 30, at most 300) |
//! | `ROTATE_BEFORE_DAYS` | var, optional | how long before its end a certificate the service created is replaced (default 30) |
//! | `PORTAL_WEBHOOK_URL`, `PORTAL_WEBHOOK_SECRET` | var, secret | where signed events go, and their HMAC key |
//! | `BACKUP_APP_NAME` | var, optional | display name of the registered applications (default "M365 Backup") |
//! | `PUBLIC_ORIGIN` | var, optional | the origin administrators reach the app on; the Credential method's redirect URI is built from it (default: the request's origin, https or loopback only) |
//! | `DEV_MICROSOFT_BASE_URL` | var, dev only | send every cloud's identity and Graph calls to this loopback URL (the local emulator) |
//! | `DEV_SESSION_IN_URL` | var, dev only | `1`: the app may take its session from `#token=` in the address bar, for requests to a loopback host only (`make dev`'s printed URL) |
//! | `DEV_SIGNIN_HOLD_SECS` | var, tests only | how long a completed sign-in holds its unsaved applications (default 30 minutes); needs `DEV_MICROSOFT_BASE_URL` |
//! | `DEV_FAULTS` | var, tests only | space-separated injected faults (`saved-handover`: the "saved" hand-over to a sign-in fails); needs `DEV_MICROSOFT_BASE_URL` |
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
    /// Switches for local development and the whole-system tests (all off when deployed).
    pub dev: DevSwitches,
    /// `ROTATE_BEFORE_DAYS`: how many days before its end a certificate the service created is
    /// replaced (default [`crate::health::ROTATE_BEFORE_DAYS`]).
    pub rotate_before_days: i64,
    /// `PORTAL_WEBHOOK_URL` and `PORTAL_WEBHOOK_SECRET`: where signed events go
    /// ([`crate::webhooks`]); none without a URL.
    pub webhook: Option<Webhook>,
    /// `CREDENTIAL_CLOUDS`: the clouds besides Global where the Credential method is set up (their
    /// public client has this service's redirect URI).
    pub credential_clouds: Vec<CloudEnvironment>,
    /// `ENGINE_KEYS`: the backup engine's public keys (none: the engine API refuses everything).
    pub engine_keys: Vec<crate::engine::auth::EngineKey>,
    /// `ENGINE_AUDIT_DAYS`: how long the engine's token requests are kept (default
    /// [`DEFAULT_ENGINE_AUDIT_DAYS`]).
    pub engine_audit_days: i64,
    /// `ENGINE_AUDIT_MAX_ROWS`: the most rows of the engine's audit kept per portal account; over
    /// it, no rows are added for the account until retention makes room (its organizations' health
    /// names the warning). Default [`DEFAULT_ENGINE_AUDIT_MAX_ROWS`].
    pub engine_audit_max_rows: i64,
    /// `MICROSOFT_TIMEOUT_SECS`, in milliseconds: how long one request to Microsoft may take
    /// (default [`DEFAULT_MICROSOFT_TIMEOUT_SECS`]).
    pub microsoft_timeout_ms: u32,
}

/// How long the engine's token requests are kept by default, days.
pub const DEFAULT_ENGINE_AUDIT_DAYS: i64 = 90;
/// The default of `ENGINE_AUDIT_MAX_ROWS`: about 75 MB of D1 per account.
pub const DEFAULT_ENGINE_AUDIT_MAX_ROWS: i64 = 500_000;
/// How long one request to Microsoft may take by default. Graph's own gateway gives up on a request
/// after about 100 s; a `$batch` of 20 registrations answers in a few seconds.
pub const DEFAULT_MICROSOFT_TIMEOUT_SECS: u32 = 30;

/// The portal's webhook receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// An https URL (http only on a loopback host, for local development).
    pub url: String,
    /// The HMAC key, at least [`MIN_WEBHOOK_SECRET`] bytes.
    pub secret: shared::secret::SecretString,
}

/// The shortest `PORTAL_WEBHOOK_SECRET` accepted (bytes).
pub const MIN_WEBHOOK_SECRET: usize = 32;

/// Switches for local development and the whole-system tests. `session_in_url` is honoured only
/// for requests to a loopback host; the others only with `DEV_MICROSOFT_BASE_URL` (a loopback
/// emulator), and setting them without it is a configuration error, so none can be on in a
/// deployed Worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevSwitches {
    /// `DEV_SESSION_IN_URL=1`.
    pub session_in_url: bool,
    /// `DEV_SIGNIN_HOLD_SECS`, in milliseconds.
    pub signin_hold_ms: Option<i64>,
    /// `DEV_FAULTS` has `saved-handover`.
    pub fail_saved_handover: bool,
    /// `DEV_CLOCK=emulator`: the organizations' clock (health checks, rotation) follows the
    /// emulator's, which its control API can move forward (`GET /_emulator/clock`).
    pub clock_from_emulator: bool,
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

/// Whether `url` is an `http://` or `https://` URL on a loopback host: `localhost`, an address in
/// `127.0.0.0/8` (dotted decimal) or `[::1]`, with an optional port, path, query and fragment.
///
/// The authority (what lies between `//` and the first `/`, `?` or `#`) is parsed, not matched by
/// prefix. Userinfo (`user@host`) is refused, since the host is what follows the `@`; so is any
/// authority character a URL parser reads differently (`\` ends the host, `%` is decoded, tabs and
/// newlines are dropped), and any host spelling other than the ones above (`127.1`, `0x7f.0.0.1`,
/// `localhost.`), so that the host checked here is the host a `fetch` reaches.
pub fn is_loopback_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return false;
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !authority.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) {
        return false;
    }
    let (host_is_loopback, port) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let Some((ip, after)) = bracketed.split_once(']') else {
                return false;
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return false,
                },
            };
            (ip.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| ip == std::net::Ipv6Addr::LOCALHOST), port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
            (loopback, port)
        }
    };
    // Digits only (`u16::from_str` would take a `+`), at most 65535.
    let port_ok = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    host_is_loopback && port_ok
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
        let faults = non_empty("DEV_FAULTS").unwrap_or_default();
        let mut dev = DevSwitches {
            session_in_url: non_empty("DEV_SESSION_IN_URL").as_deref() == Some("1"),
            signin_hold_ms: None,
            fail_saved_handover: false,
            clock_from_emulator: match non_empty("DEV_CLOCK").as_deref() {
                None => false,
                Some("emulator") => true,
                Some(other) => return Err(ConfigError(format!("DEV_CLOCK: {other:?} is not \"emulator\""))),
            },
        };
        for fault in faults.split_whitespace() {
            match fault {
                "saved-handover" => dev.fail_saved_handover = true,
                other => return Err(ConfigError(format!("DEV_FAULTS: unknown fault {other:?}"))),
            }
        }
        if let Some(secs) = non_empty("DEV_SIGNIN_HOLD_SECS") {
            let secs: i64 =
                secs.parse().ok().filter(|s| (1..=86_400).contains(s)).ok_or_else(|| {
                    ConfigError("DEV_SIGNIN_HOLD_SECS must be a number of seconds (1 to 86400)".into())
                })?;
            dev.signin_hold_ms = Some(secs * 1000);
        }
        if dev_microsoft_base.is_none()
            && (dev.fail_saved_handover || dev.signin_hold_ms.is_some() || dev.clock_from_emulator)
        {
            return Err(ConfigError(
                "DEV_FAULTS, DEV_SIGNIN_HOLD_SECS and DEV_CLOCK are for tests against the local emulator only: remove them"
                    .into(),
            ));
        }
        let rotate_before_days = match non_empty("ROTATE_BEFORE_DAYS") {
            None => crate::health::ROTATE_BEFORE_DAYS,
            Some(d) => d
                .parse()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or_else(|| ConfigError("ROTATE_BEFORE_DAYS must be a number of days (1 to 365)".into()))?,
        };
        let webhook = match (non_empty("PORTAL_WEBHOOK_URL"), non_empty("PORTAL_WEBHOOK_SECRET")) {
            (None, None) => None,
            (Some(url), Some(secret)) => {
                if !(url.starts_with("https://") || is_loopback_url(&url)) {
                    return Err(ConfigError(
                        "PORTAL_WEBHOOK_URL must be an https:// URL (http only on a loopback host)".into(),
                    ));
                }
                if secret.len() < MIN_WEBHOOK_SECRET {
                    return Err(ConfigError(format!(
                        "PORTAL_WEBHOOK_SECRET must be at least {MIN_WEBHOOK_SECRET} characters (a random string)"
                    )));
                }
                Some(Webhook { url, secret: shared::secret::SecretString::new(secret) })
            }
            _ => {
                return Err(ConfigError(
                    "PORTAL_WEBHOOK_URL and PORTAL_WEBHOOK_SECRET go together: set both, or neither".into(),
                ))
            }
        };
        let engine_keys = match non_empty("ENGINE_KEYS") {
            None => vec![],
            Some(json) => crate::engine::auth::parse_keys(&json).map_err(ConfigError)?,
        };
        let engine_audit_days = match non_empty("ENGINE_AUDIT_DAYS") {
            None => DEFAULT_ENGINE_AUDIT_DAYS,
            Some(d) => d
                .parse()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| ConfigError("ENGINE_AUDIT_DAYS must be a number of days (1 to 3650)".into()))?,
        };
        let engine_audit_max_rows =
            match non_empty("ENGINE_AUDIT_MAX_ROWS") {
                None => DEFAULT_ENGINE_AUDIT_MAX_ROWS,
                Some(n) => n.parse().ok().filter(|n| (1..=100_000_000).contains(n)).ok_or_else(|| {
                    ConfigError("ENGINE_AUDIT_MAX_ROWS must be a number of rows (1 to 100000000)".into())
                })?,
            };
        let microsoft_timeout_ms =
            match non_empty("MICROSOFT_TIMEOUT_SECS") {
                None => DEFAULT_MICROSOFT_TIMEOUT_SECS,
                Some(s) => s.parse().ok().filter(|s| (1..=300).contains(s)).ok_or_else(|| {
                    ConfigError("MICROSOFT_TIMEOUT_SECS must be a number of seconds (1 to 300)".into())
                })?,
            } * 1000;
        let public_clients = CloudEnvironment::ALL.map(|c| non_empty(&format!("PUBLIC_CLIENT_ID_{}", cloud_suffix(c))));
        let mut credential_clouds = vec![];
        for name in non_empty("CREDENTIAL_CLOUDS").unwrap_or_default().split_whitespace() {
            let cloud: CloudEnvironment = name.parse().map_err(|_| {
                ConfigError(format!(
                    "CREDENTIAL_CLOUDS: {name:?} is not a cloud (usgov_gcc_high, usgov_dod or china; Global always has it)"
                ))
            })?;
            let i = CloudEnvironment::ALL.iter().position(|c| *c == cloud).unwrap_or(0);
            if public_clients[i].is_none() {
                return Err(ConfigError(format!(
                    "CREDENTIAL_CLOUDS names {name}, which has no public client: set PUBLIC_CLIENT_ID_{} first",
                    cloud_suffix(cloud)
                )));
            }
            if cloud != CloudEnvironment::Global && !credential_clouds.contains(&cloud) {
                credential_clouds.push(cloud);
            }
        }
        Ok(Config {
            dev,
            rotate_before_days,
            webhook,
            credential_clouds,
            engine_keys,
            engine_audit_days,
            engine_audit_max_rows,
            microsoft_timeout_ms,
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
            public_clients,
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
        Some(format!("{base}{}", shared::endpoints::SIGN_IN_CALLBACK.path()))
    }

    /// Where `cloud`'s requests go.
    pub fn endpoints(&self, cloud: CloudEnvironment) -> CloudEndpoints {
        match &self.dev_microsoft_base {
            // The local emulator serves Partner Center under a prefix of its one listener.
            Some(base) => CloudEndpoints::with_bases(cloud, base, base)
                .with_partner_center(&format!("{}/partnercenter", base.trim_end_matches('/'))),
            None => CloudEndpoints::official(cloud),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_credential_method_is_set_up_per_cloud_only_where_the_cloud_has_a_public_client() {
        fn vars(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
            let mut v = vec![("PUBLIC_CLIENT_ID_USGOV_GCC_HIGH", "c1"), ("PUBLIC_CLIENT_ID_CHINA", "c2")];
            v.extend_from_slice(extra);
            v
        }
        let read_with =
            |v: Vec<(&str, &str)>| Config::read(|k| v.iter().find(|(n, _)| *n == k).map(|(_, x)| (*x).to_owned()));
        let c = read_with(vars(&[("CREDENTIAL_CLOUDS", "usgov_gcc_high china")])).unwrap();
        assert_eq!(c.credential_clouds, vec![CloudEnvironment::UsGovGccHigh, CloudEnvironment::China]);
        assert!(read_with(vars(&[])).unwrap().credential_clouds.is_empty());
        let e = read_with(vars(&[("CREDENTIAL_CLOUDS", "usgov_dod")])).unwrap_err();
        assert!(e.0.contains("PUBLIC_CLIENT_ID_USGOV_DOD"), "{}", e.0);
        assert!(read_with(vars(&[("CREDENTIAL_CLOUDS", "mars")])).is_err());
    }

    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::read(|k| map.get(k).cloned())
    }

    #[test]
    fn test_switches_need_the_local_emulator() {
        let c = read(&[]).unwrap();
        assert_eq!(c.dev, DevSwitches::default(), "all off by default");
        assert!(read(&[("DEV_FAULTS", "saved-handover")]).is_err(), "not without the emulator");
        assert!(read(&[("DEV_SIGNIN_HOLD_SECS", "5")]).is_err());
        let emu = ("DEV_MICROSOFT_BASE_URL", "http://127.0.0.1:8790");
        let c = read(&[emu, ("DEV_FAULTS", "saved-handover"), ("DEV_SIGNIN_HOLD_SECS", "5")]).unwrap();
        assert!(c.dev.fail_saved_handover);
        assert_eq!(c.dev.signin_hold_ms, Some(5000));
        assert!(read(&[emu, ("DEV_FAULTS", "saved")]).is_err(), "an unknown fault is refused");
        assert!(read(&[emu, ("DEV_SIGNIN_HOLD_SECS", "0")]).is_err());
        assert!(read(&[("DEV_SESSION_IN_URL", "1")]).unwrap().dev.session_in_url, "checked per request (loopback)");
    }

    #[test]
    fn requests_to_microsoft_time_out_after_30_seconds_unless_set() {
        assert_eq!(read(&[]).unwrap().microsoft_timeout_ms, 30_000);
        assert_eq!(read(&[("MICROSOFT_TIMEOUT_SECS", "2")]).unwrap().microsoft_timeout_ms, 2_000);
        for wrong in ["0", "301", "-1", "2.5", "soon"] {
            let e = read(&[("MICROSOFT_TIMEOUT_SECS", wrong)]).unwrap_err();
            assert!(e.0.contains("MICROSOFT_TIMEOUT_SECS"), "{wrong}: {}", e.0);
        }
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
    fn loopback_urls_are_parsed_not_matched_by_prefix() {
        let accepted = [
            "http://127.0.0.1:8790",
            "http://127.0.0.1:8790/",
            "http://[::1]:8790",
            "http://[::1]",
            "http://[0:0:0:0:0:0:0:1]:8790/",
            "http://localhost",
            "http://LocalHost:8790/path?q=1#f",
            "https://localhost:8443/api",
            "http://127.0.0.1",
            "http://127.1.2.3:65535/a/b",
            "http://127.0.0.1?x=1",
            "http://127.0.0.1#top",
            "HTTP://127.0.0.1:8790",
        ];
        let refused = [
            // Userinfo: the host is what follows the `@`.
            "http://localhost:1@evil.example",
            "http://127.0.0.1@evil.example",
            "http://user:pass@127.0.0.1:8790",
            "http://@127.0.0.1",
            "http://[::1]@evil.example",
            "http://127.0.0.1:8790@evil.example/",
            // The `@` is in the fragment, the query or the path: the host is evil.example.
            "http://evil.example#@127.0.0.1",
            "http://evil.example?@127.0.0.1",
            "http://evil.example/@127.0.0.1",
            // Look-alike domains.
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.1.evil.example:8790",
            "http://localhost./",
            "http://evil-localhost",
            // Characters a URL parser reads differently (`\` ends the host, `%` decodes, tabs vanish).
            "http://127.0.0.1\\@evil.example",
            "http://127.0.0.1:8790\\@evil.example",
            "http://127.0.0.1%2f@evil.example",
            "http://127.0.0.1\t@evil.example",
            "http://127.0.0.1 .evil.example",
            // Addresses that are not (or might not be) loopback.
            "http://128.0.0.1",
            "http://0.0.0.0:8790",
            "http://0177.0.0.1",
            "http://0x7f.0.0.1",
            "http://2130706433",
            "http://127.1",
            "http://[::2]",
            "http://[::ffff:127.0.0.1]",
            "http://[::1%25lo]",
            "http://::1",
            // Broken ports and brackets.
            "http://127.0.0.1:",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:80:80",
            "http://127.0.0.1:8o",
            "http://[::1",
            "http://[::1]x",
            "http://[::1]:",
            "http://[127.0.0.1]",
            // Not http(s), or not a URL.
            "ftp://127.0.0.1",
            "javascript://127.0.0.1",
            "127.0.0.1:8790",
            "http:/127.0.0.1",
            "http:\\\\127.0.0.1",
            "http://",
            "http://:8790",
            "",
        ];
        let wrong: Vec<String> = (accepted.iter().map(|u| (u, true)))
            .chain(refused.iter().map(|u| (u, false)))
            .filter(|(url, ok)| is_loopback_url(url) != *ok)
            .map(|(url, ok)| format!("{url:?} should be {}", if ok { "accepted" } else { "refused" }))
            .collect();
        assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
        assert!(read(&[("DEV_MICROSOFT_BASE_URL", "http://localhost:1@evil.example")]).is_err());
        assert!(read(&[("DEV_MICROSOFT_BASE_URL", "http://[::1]:8790/")]).is_ok());
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
