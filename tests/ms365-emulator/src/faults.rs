//! The behaviours that make Microsoft hard, switched on per test through `POST /_emulator/faults`.
//!
//! All are off by default. A fault is a JSON object with a `kind`; `POST` adds one object or a list of
//! them to the active set, `DELETE` clears the set, `GET` shows it (with use counts). The per-request
//! checks here are pure functions of the active set and `now_ms`, called by the identity and Graph code
//! (throttling also by the `$batch` executor for each inner request).

use serde::{Deserialize, Serialize};

/// One programmable behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Entra's eventual consistency: objects younger than `ms` are not yet visible to `target`.
    ReplicationDelay {
        /// What lags behind.
        target: ReplicationTarget,
        /// For how long after its creation an object is invisible.
        ms: u64,
    },
    /// Answer matching requests with 429 or 503 and `Retry-After`.
    Throttle {
        /// `graph` (every `/v1.0` request, `$batch` inner requests included), `token`, `devicecode`,
        /// `identity` (every `/oauth2/v2.0/` endpoint), `*`, or a path prefix such as `/v1.0/applications`.
        route: String,
        /// 429 (default) or 503.
        #[serde(default = "default_status")]
        status: u16,
        /// The `Retry-After` value in seconds (default 1).
        #[serde(default = "default_retry_after")]
        retry_after: u64,
        /// How many requests to refuse; unlimited when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        times: Option<u32>,
        /// Let this many matching requests through first (a request budget).
        #[serde(default)]
        after: u32,
        /// Stop refusing this many milliseconds after the fault was added; unlimited when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    /// Add `ms` (plus up to `jitter_ms` at random) before answering each request.
    Latency {
        /// Fixed delay.
        ms: u64,
        /// Random extra delay, uniform in `0..=jitter_ms`.
        #[serde(default)]
        jitter_ms: u64,
        /// Same forms as [`Fault::Throttle::route`]; every route when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route: Option<String>,
        /// The delay comes after the request was carried out: the work is done and its answer is
        /// late (a caller that gives up or goes away meanwhile never hears of it).
        #[serde(default)]
        answer_late: bool,
    },
    /// The tenant's app management policy forbids password credentials: `addPassword` fails.
    SecretsForbidden {
        /// Tenant ID or domain.
        tenant: String,
    },
    /// Conditional Access blocks the device code flow in the tenant: AADSTS53003 after sign-in.
    ConditionalAccessBlock {
        /// Tenant ID or domain.
        tenant: String,
    },
    /// Microsoft's `Cross-Origin-Opener-Policy` enforcement on its sign-in pages (Learn: "Prepare
    /// your app for COOP enforcement"): every HTML page the emulator serves is sent with
    /// `Cross-Origin-Opener-Policy: same-origin`, so a sign-in window loses its opener.
    OpenerPolicy,
    /// `/devicecode` sends its OAuth errors with status 200 instead of 400/401. Microsoft has
    /// answered this endpoint so: MSAL.NET's `DeviceCodeRequest` reads errors from a 200 answer
    /// (`expectErrorsOn200OK`), a client must read the body whatever the status.
    #[serde(rename = "device_code_errors_on_200")]
    DeviceCodeErrorsOn200,
    /// Partner Center refuses consents in this customer's tenant (403), as when the customer's
    /// settings or a policy refuse the partner's application.
    ConsentRefused { tenant: String },
}

/// What a replication delay applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicationTarget {
    /// A new application is not visible to `POST /servicePrincipals` (400 `NoBackingApplicationObject`).
    ServicePrincipal,
    /// A new secret or certificate is refused at the token endpoint (AADSTS7000215 / AADSTS700027).
    Credential,
    /// A new app role assignment is missing from issued tokens.
    RoleAssignment,
}

fn default_status() -> u16 {
    429
}

fn default_retry_after() -> u64 {
    1
}

/// Faults accepted by `POST /_emulator/faults`: one object or a list.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum FaultsBody {
    /// A list of faults.
    Many(Vec<Fault>),
    /// A single fault.
    One(Fault),
}

impl FaultsBody {
    /// The faults, as a list.
    pub fn into_vec(self) -> Vec<Fault> {
        match self {
            FaultsBody::Many(v) => v,
            FaultsBody::One(f) => vec![f],
        }
    }
}

impl Fault {
    /// Refuses values that cannot be meant (a throttle status other than 429/503, an empty route).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Fault::Throttle { status, route, .. } => {
                if *status != 429 && *status != 503 {
                    return Err(format!("throttle status must be 429 or 503, not {status}"));
                }
                if route.trim().is_empty() {
                    return Err("throttle route must not be empty".into());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A fault in the active set, with its bookkeeping.
#[derive(Clone, Debug, Serialize)]
pub struct ActiveFault {
    /// The fault as programmed.
    #[serde(flatten)]
    pub fault: Fault,
    /// When it was added.
    pub added_ms: u64,
    /// Matching requests seen so far (throttle only).
    pub seen: u32,
    /// Requests refused so far (throttle only).
    pub refused: u32,
}

/// Whether a throttle/latency `route` applies to a request `path` (no query string).
pub fn route_matches(route: &str, path: &str) -> bool {
    match route {
        "*" | "all" => true,
        "graph" => path.starts_with("/v1.0/") || path == "/v1.0",
        "token" => path.ends_with("/oauth2/v2.0/token"),
        "devicecode" => path.ends_with("/oauth2/v2.0/devicecode"),
        "identity" => path.contains("/oauth2/v2.0/"),
        prefix => path.starts_with(prefix),
    }
}

/// The active faults.
#[derive(Debug, Default)]
pub struct Faults {
    active: Vec<ActiveFault>,
}

/// A refusal decided by a throttle fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// 429 or 503.
    pub status: u16,
    /// Seconds for `Retry-After`.
    pub retry_after: u64,
}

impl Faults {
    /// Adds faults to the active set.
    pub fn add(&mut self, faults: Vec<Fault>, now_ms: u64) {
        self.active.extend(faults.into_iter().map(|fault| ActiveFault {
            fault,
            added_ms: now_ms,
            seen: 0,
            refused: 0,
        }));
    }

    /// Clears every fault.
    pub fn clear(&mut self) {
        self.active.clear();
    }

    /// Whether Partner Center refuses consents in `tenant_id`.
    pub fn consent_refused(&self, tenant_id: &str) -> bool {
        self.active
            .iter()
            .any(|a| matches!(&a.fault, Fault::ConsentRefused { tenant } if tenant.eq_ignore_ascii_case(tenant_id)))
    }

    /// The active set, for `GET /_emulator/faults`.
    pub fn list(&self) -> &[ActiveFault] {
        &self.active
    }

    /// Counts a request to `path` against every throttle fault and says whether to refuse it.
    pub fn throttle(&mut self, path: &str, now_ms: u64) -> Option<Throttled> {
        let mut verdict = None;
        for a in &mut self.active {
            let Fault::Throttle { route, status, retry_after, times, after, for_ms } = &a.fault else { continue };
            if !route_matches(route, path) {
                continue;
            }
            if for_ms.is_some_and(|d| now_ms >= a.added_ms.saturating_add(d)) {
                continue;
            }
            a.seen = a.seen.saturating_add(1);
            if a.seen <= *after || times.is_some_and(|n| a.refused >= n) || verdict.is_some() {
                continue;
            }
            a.refused += 1;
            verdict = Some(Throttled { status: *status, retry_after: *retry_after });
        }
        verdict
    }

    /// The delays to add to a request to `path`, in milliseconds: before carrying it out, and
    /// after (before its answer leaves).
    pub fn latency(&self, path: &str) -> (u64, u64) {
        (self.latency_of(path, false), self.latency_of(path, true))
    }

    fn latency_of(&self, path: &str, late: bool) -> u64 {
        self.active
            .iter()
            .filter_map(|a| match &a.fault {
                Fault::Latency { ms, jitter_ms, route, answer_late }
                    if *answer_late == late && route.as_deref().is_none_or(|r| route_matches(r, path)) =>
                {
                    let jitter = if *jitter_ms == 0 {
                        0
                    } else {
                        let r = crate::util::random_bytes(8);
                        let n = u64::from_le_bytes(r.try_into().unwrap_or([0; 8]));
                        n % (jitter_ms.saturating_add(1))
                    };
                    Some(ms.saturating_add(jitter))
                }
                _ => None,
            })
            .fold(0u64, u64::saturating_add)
    }

    /// The longest replication delay programmed for `target`, in milliseconds (0 = none).
    pub fn replication_delay(&self, target: ReplicationTarget) -> u64 {
        self.active
            .iter()
            .filter_map(|a| match &a.fault {
                Fault::ReplicationDelay { target: t, ms } if *t == target => Some(*ms),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether an object created at `created_ms` is still invisible to `target` at `now_ms`.
    pub fn still_replicating(&self, target: ReplicationTarget, created_ms: u64, now_ms: u64) -> bool {
        let delay = self.replication_delay(target);
        delay > 0 && now_ms < created_ms.saturating_add(delay)
    }

    /// Whether the tenant (any of its `names`: ID and domains) forbids password credentials.
    pub fn secrets_forbidden(&self, names: &[&str]) -> bool {
        self.active.iter().any(|a| match &a.fault {
            Fault::SecretsForbidden { tenant } => names.iter().any(|n| n.eq_ignore_ascii_case(tenant)),
            _ => false,
        })
    }

    /// Whether `/devicecode` sends its errors with status 200.
    pub fn device_code_errors_on_200(&self) -> bool {
        self.active.iter().any(|a| matches!(a.fault, Fault::DeviceCodeErrorsOn200))
    }

    /// Whether the sign-in pages are sent with `Cross-Origin-Opener-Policy: same-origin`.
    pub fn opener_policy(&self) -> bool {
        self.active.iter().any(|a| matches!(a.fault, Fault::OpenerPolicy))
    }

    /// Whether Conditional Access blocks the device code flow in the tenant (any of its `names`).
    pub fn conditional_access_blocks(&self, names: &[&str]) -> bool {
        self.active.iter().any(|a| match &a.fault {
            Fault::ConditionalAccessBlock { tenant } => names.iter().any(|n| n.eq_ignore_ascii_case(tenant)),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<Fault> {
        serde_json::from_str::<FaultsBody>(json).map(FaultsBody::into_vec).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_throttle_refuses_n_times_after_its_budget() {
        let mut f = Faults::default();
        f.add(parse(r#"{"kind":"throttle","route":"graph","times":2,"after":1,"retry_after":7}"#), 0);
        assert_eq!(f.throttle("/v1.0/organization", 0), None, "budget of one");
        assert_eq!(f.throttle("/v1.0/organization", 0), Some(Throttled { status: 429, retry_after: 7 }));
        assert_eq!(f.throttle("/common/oauth2/v2.0/token", 0), None, "other route");
        assert!(f.throttle("/v1.0/users", 0).is_some());
        assert_eq!(f.throttle("/v1.0/users", 0), None, "times exhausted");
    }

    #[test]
    fn a_throttle_with_a_duration_ends() {
        let mut f = Faults::default();
        f.add(parse(r#"[{"kind":"throttle","route":"token","status":503,"for_ms":1000}]"#), 10_000);
        assert_eq!(f.throttle("/x/oauth2/v2.0/token", 10_500).map(|t| t.status), Some(503));
        assert_eq!(f.throttle("/x/oauth2/v2.0/token", 11_000), None);
    }

    #[test]
    fn a_late_answer_is_delayed_after_the_work_and_the_others_before() {
        let mut f = Faults::default();
        f.add(
            parse(r#"[{"kind":"latency","route":"graph","ms":300,"answer_late":true},{"kind":"latency","ms":20}]"#),
            0,
        );
        assert_eq!(f.latency("/v1.0/$batch"), (20, 300));
        assert_eq!(f.latency("/common/oauth2/v2.0/token"), (20, 0));
    }

    #[test]
    fn replication_delay_hides_young_objects_only() {
        let mut f = Faults::default();
        f.add(parse(r#"{"kind":"replication_delay","target":"credential","ms":5000}"#), 0);
        assert!(f.still_replicating(ReplicationTarget::Credential, 1000, 5999));
        assert!(!f.still_replicating(ReplicationTarget::Credential, 1000, 6000));
        assert!(!f.still_replicating(ReplicationTarget::ServicePrincipal, 1000, 1001));
    }

    #[test]
    fn unknown_kinds_and_bad_statuses_are_refused() {
        assert!(serde_json::from_str::<FaultsBody>(r#"{"kind":"gremlins"}"#).is_err());
        let bad = parse(r#"{"kind":"throttle","route":"graph","status":500}"#);
        assert!(bad[0].validate().is_err());
    }

    #[test]
    fn tenant_policies_match_by_id_or_domain() {
        let mut f = Faults::default();
        f.add(parse(r#"[{"kind":"secrets_forbidden","tenant":"Contoso.onmicrosoft.com"}]"#), 0);
        assert!(f.secrets_forbidden(&["8f3c", "contoso.onmicrosoft.com"]));
        assert!(!f.conditional_access_blocks(&["contoso.onmicrosoft.com"]));
    }
}
