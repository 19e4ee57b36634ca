//! Access tokens for the backup engine: which application and scope a request gets
//! ([`choose_application`], [`scope_for`]), and the [`Broker`] that caches each token per
//! application and scope until [`REFRESH_BEFORE_MS`] before it expires and lets concurrent
//! requests for the same token share one call to Microsoft (single flight), its failures too: a
//! refusal is shared with the requests waiting on it and remembered for [`REMEMBER_REFUSAL_MS`]
//! (or Microsoft's `Retry-After`), so that an application Microsoft no longer knows does not turn
//! every engine request into a call to Microsoft. The broker lives in
//! the organization's Durable Object, in memory only: a token is never written anywhere, and an
//! evicted object costs one more call.

use crate::microsoft::MicrosoftError;
use crate::organizations::model::{ApplicationRow, OrganizationRow};
use crate::provisioning::manifest::{EXCHANGE, GRAPH, SHAREPOINT};
use crate::time::Millis;
use futures_util::lock::Mutex;
use shared::api::{EngineResource, Workload};
use shared::secret::SecretString;
use shared::{CloudEnvironment, ErrorCode};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

/// A cached token is handed out until this long before it expires.
pub const REFRESH_BEFORE_MS: i64 = 5 * 60_000;
/// How long Microsoft's `Retry-After` is honoured at most (and assumed when it gives none).
pub const MAX_THROTTLE_MS: i64 = 120_000;
/// How long a refusal (an application Microsoft no longer knows, a revoked credential) is
/// remembered and given to every request for the same token without asking Microsoft again,
/// unless Microsoft's `Retry-After` says otherwise.
pub const REMEMBER_REFUSAL_MS: i64 = 30_000;
/// How long Microsoft being unreachable (no answer, a 5xx) is remembered.
pub const REMEMBER_UNAVAILABLE_MS: i64 = 5_000;
/// How long the organization as read from the database is used without reading it again. Every
/// change to it (edit, repair, rotation, delete) tells the object to forget it at once; this bounds
/// how long a lost notice could leave it stale.
pub const ORGANIZATION_KEPT_MS: i64 = 60_000;

/// Microsoft's `Retry-After` (any number of seconds) as milliseconds, at most [`MAX_THROTTLE_MS`].
fn seconds_capped(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000).min(MAX_THROTTLE_MS)
}

/// The organization as the engine's requests need it, read once and kept in the object.
#[derive(Debug, Clone)]
struct Kept {
    account: String,
    organization: OrganizationRow,
    applications: Vec<ApplicationRow>,
    read_at: Millis,
}

/// The scope of a token for `resource` in `cloud`; SharePoint's needs the tenant's root
/// (`https://contoso.sharepoint.com`).
pub fn scope_for(cloud: CloudEnvironment, resource: EngineResource, sharepoint_root: Option<&str>) -> Option<String> {
    match resource {
        EngineResource::Graph => Some(cloud.graph_default_scope()),
        EngineResource::Exchange => Some(format!("{}/.default", cloud.exchange_host())),
        EngineResource::Sharepoint => sharepoint_root.map(|r| format!("{r}/.default")),
    }
}

/// SharePoint's root for a tenant whose initial domain is `initial` (`contoso.onmicrosoft.com`,
/// or `contoso.onmicrosoft.us` / `.partner.onmschina.cn` in the national clouds).
pub fn sharepoint_root(cloud: CloudEnvironment, initial: &str) -> Option<String> {
    let label = initial.split('.').next()?.to_ascii_lowercase();
    let valid = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| format!("https://{label}.{}", cloud.sharepoint_suffix()))
}

/// The tenant's SharePoint root from Graph's `GET /organization` answer: the root of its initial
/// domain.
pub fn sharepoint_root_of_organization(
    cloud: CloudEnvironment,
    organization: &crate::microsoft::organization::Organization,
) -> Option<String> {
    sharepoint_root(cloud, organization.initial_domain()?)
}

/// The manifest permissions `resource` needs for `workload` in `cloud`.
pub fn required_on(cloud: CloudEnvironment, resource: EngineResource, workload: Workload) -> Vec<&'static str> {
    let r = match resource {
        EngineResource::Graph => &GRAPH,
        EngineResource::Sharepoint => &SHAREPOINT,
        EngineResource::Exchange => &EXCHANGE,
    };
    r.permissions_in(cloud).filter(|p| p.for_workload(workload)).map(|p| p.value).collect()
}

/// The application a token for `resource` and `workload` comes from: the workload's own active
/// application where the organization has one, else the main one. Refused with
/// [`ErrorCode::WorkloadNotGranted`] when the service granted that application permissions and
/// none of them, or not all, are the ones the resource needs for the workload (an application the
/// administrator registered is taken as it is: what it was granted is not on record).
pub fn choose_application(
    cloud: CloudEnvironment,
    apps: &[ApplicationRow],
    resource: EngineResource,
    workload: Option<Workload>,
) -> Result<&ApplicationRow, ErrorCode> {
    let workload = workload.unwrap_or(Workload::All);
    let own = (workload != Workload::All)
        .then(|| {
            apps.iter().find(|a| a.active == 1 && a.is_main == 0 && a.workload.as_deref() == Some(workload.as_str()))
        })
        .flatten();
    let app = own.or_else(|| apps.iter().find(|a| a.is_main == 1)).ok_or(ErrorCode::NotFound)?;
    let app_workload = app.workload.as_deref().and_then(Workload::parse).unwrap_or(Workload::All);
    let needed = required_on(cloud, resource, if app.is_main == 1 { workload } else { app_workload });
    if needed.is_empty() {
        return Err(ErrorCode::WorkloadNotGranted);
    }
    if let Some(granted) = app.granted_permissions.as_deref().and_then(|g| serde_json::from_str::<Vec<String>>(g).ok())
    {
        if !needed.iter().all(|p| granted.iter().any(|g| g == p)) {
            return Err(ErrorCode::WorkloadNotGranted);
        }
    }
    Ok(app)
}

/// A token and when it expires.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The bearer token.
    pub token: SecretString,
    /// Expiry, Unix milliseconds.
    pub expires_at_ms: Millis,
}

/// What the broker answered.
#[derive(Debug, Clone)]
pub enum Obtained {
    /// From the cache.
    Cached(Cached),
    /// Just issued by Microsoft.
    Issued(Cached),
}

impl Obtained {
    /// The token.
    pub fn token(&self) -> &Cached {
        match self {
            Obtained::Cached(c) | Obtained::Issued(c) => c,
        }
    }
}

/// Why no token came.
#[derive(Debug, Clone, PartialEq)]
pub enum NoToken {
    /// Microsoft throttles this application: try again after these seconds (no call was made
    /// while a `Retry-After` runs).
    Throttled(u64),
    /// Microsoft refused, or could not answer.
    Refused(MicrosoftError),
    /// Microsoft refused this token moments ago (or could not answer): the same refusal, without a
    /// call (see [`REMEMBER_REFUSAL_MS`]).
    StillRefused(MicrosoftError),
}

impl NoToken {
    /// Microsoft's refusal, fresh or remembered.
    pub fn refusal(&self) -> Option<&MicrosoftError> {
        match self {
            NoToken::Refused(e) | NoToken::StillRefused(e) => Some(e),
            NoToken::Throttled(_) => None,
        }
    }
}

/// The cache key: application ID and scope.
pub type Key = (String, String);

/// Tokens per application and scope, with single flight (see the module docs).
#[derive(Default)]
pub struct Broker {
    tokens: RefCell<HashMap<Key, Cached>>,
    throttled: RefCell<HashMap<Key, Millis>>,
    /// Refusals remembered until the time beside them.
    refused: RefCell<HashMap<Key, (MicrosoftError, Millis)>>,
    flights: RefCell<HashMap<Key, Rc<Mutex<()>>>>,
    /// Each organization's SharePoint root, once read.
    roots: RefCell<HashMap<String, String>>,
    /// The organization, once read.
    kept: RefCell<Option<Kept>>,
    /// Cached tokens handed out and not yet written to the audit.
    hits: RefCell<super::hits::HitCounter>,
    /// Moves on with every [`Broker::forget`]: what a request read or minted before it is not kept.
    generation: std::cell::Cell<u64>,
}

impl Broker {
    /// A cached token for `key` valid at `now`.
    fn cached(&self, key: &Key, now: Millis) -> Option<Cached> {
        self.tokens.borrow().get(key).filter(|c| now < c.expires_at_ms - REFRESH_BEFORE_MS).cloned()
    }

    /// The token for `key`: cached, or from `mint` (one call at a time per key: requests that
    /// arrive while it runs wait for it and take its token). `now` reads the clock.
    pub async fn obtain<M, F>(&self, key: Key, now: impl Fn() -> Millis, mint: M) -> Result<Obtained, NoToken>
    where
        M: FnOnce() -> F,
        F: Future<Output = Result<(SecretString, u64), MicrosoftError>>,
    {
        if let Some(c) = self.cached(&key, now()) {
            return Ok(Obtained::Cached(c));
        }
        let flight = self.flights.borrow_mut().entry(key.clone()).or_default().clone();
        let _turn = flight.lock().await;
        let t = now();
        if let Some(c) = self.cached(&key, t) {
            return Ok(Obtained::Cached(c));
        }
        if let Some(until) = self.throttled.borrow().get(&key).filter(|u| t < **u) {
            return Err(NoToken::Throttled(((*until - t + 999) / 1000) as u64));
        }
        // Requests that waited on a refused call, and those right after it, share its refusal.
        if let Some((e, _)) = self.refused.borrow().get(&key).filter(|(_, until)| t < *until) {
            return Err(NoToken::StillRefused(e.clone()));
        }
        let generation = self.generation.get();
        match mint().await {
            Ok((token, expires_in)) => {
                let c = Cached { token, expires_at_ms: now() + (expires_in as i64).saturating_mul(1000) };
                if generation != self.generation.get() {
                    // The organization changed while Microsoft was asked: used once, not kept.
                    return Ok(Obtained::Issued(c));
                }
                self.tokens.borrow_mut().insert(key.clone(), c.clone());
                self.throttled.borrow_mut().remove(&key);
                self.refused.borrow_mut().remove(&key);
                Ok(Obtained::Issued(c))
            }
            Err(e) if e.status == 429 || e.code == ErrorCode::Throttled => {
                let wait = e.retry_after.map_or(MAX_THROTTLE_MS, seconds_capped);
                self.throttled.borrow_mut().insert(key, now() + wait);
                Err(NoToken::Throttled((wait / 1000) as u64))
            }
            Err(e) => {
                // A refused credential: no token of it stays in use.
                self.tokens.borrow_mut().remove(&key);
                let unavailable = e.status == 0 || e.status >= 500;
                let remember = match e.retry_after {
                    Some(s) => seconds_capped(s),
                    None if unavailable => REMEMBER_UNAVAILABLE_MS,
                    None => REMEMBER_REFUSAL_MS,
                };
                self.refused.borrow_mut().insert(key, (e.clone(), now() + remember));
                Err(NoToken::Refused(e))
            }
        }
    }

    /// The organization and its applications as read for `account` less than
    /// [`ORGANIZATION_KEPT_MS`] ago, if they were.
    pub fn organization(&self, account: &str, now: Millis) -> Option<(OrganizationRow, Vec<ApplicationRow>)> {
        let kept = self.kept.borrow();
        let k = kept
            .as_ref()
            .filter(|k| k.account == account && now >= k.read_at && now - k.read_at < ORGANIZATION_KEPT_MS)?;
        Some((k.organization.clone(), k.applications.clone()))
    }

    /// Where [`Broker::forget`] stands: read it before reading the organization, and give it to
    /// [`Broker::keep_organization`].
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Keeps the organization as read for `account` at `now`, unless the object was told to forget
    /// it since `generation` (the read may be older than the change).
    pub fn keep_organization(
        &self,
        account: &str,
        organization: OrganizationRow,
        applications: Vec<ApplicationRow>,
        now: Millis,
        generation: u64,
    ) {
        if generation == self.generation.get() {
            *self.kept.borrow_mut() =
                Some(Kept { account: account.to_owned(), organization, applications, read_at: now });
        }
    }

    /// The organization changed (an edit, a repair, a rotation) or was deleted: everything known
    /// of it is forgotten, its tokens too. Counts not yet written stay.
    pub fn forget(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
        self.kept.borrow_mut().take();
        self.tokens.borrow_mut().clear();
        self.throttled.borrow_mut().clear();
        self.refused.borrow_mut().clear();
        self.roots.borrow_mut().clear();
    }

    /// The cache hits not yet written to the audit.
    pub fn hits(&self) -> std::cell::RefMut<'_, super::hits::HitCounter> {
        self.hits.borrow_mut()
    }

    /// Organization `org`'s SharePoint root, if read before.
    pub fn sharepoint_root(&self, org: &str) -> Option<String> {
        self.roots.borrow().get(org).cloned()
    }

    /// Remembers organization `org`'s SharePoint root.
    pub fn set_sharepoint_root(&self, org: &str, root: String) {
        self.roots.borrow_mut().insert(org.to_owned(), root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;
    use std::cell::Cell;

    fn row(id: &str, main: bool, workload: &str, granted: Option<Vec<&str>>) -> ApplicationRow {
        ApplicationRow {
            id: id.into(),
            app_id: format!("app-{id}"),
            is_main: i64::from(main),
            active: 1,
            workload: Some(workload.into()),
            granted_permissions: granted.map(|g| serde_json::to_string(&g).unwrap()),
            ..Default::default()
        }
    }

    fn all(cloud: CloudEnvironment) -> Vec<&'static str> {
        crate::provisioning::manifest::RESOURCES.iter().flat_map(|r| r.permissions_in(cloud)).map(|p| p.value).collect()
    }

    #[test]
    fn scopes_follow_the_cloud_and_the_tenant() {
        let g = CloudEnvironment::Global;
        assert_eq!(scope_for(g, EngineResource::Graph, None).unwrap(), "https://graph.microsoft.com/.default");
        assert_eq!(
            scope_for(CloudEnvironment::UsGovGccHigh, EngineResource::Graph, None).unwrap(),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(
            scope_for(CloudEnvironment::UsGovDod, EngineResource::Exchange, None).unwrap(),
            "https://outlook-dod.office365.us/.default"
        );
        let root = sharepoint_root(g, "Contoso.onmicrosoft.com").unwrap();
        assert_eq!(
            scope_for(g, EngineResource::Sharepoint, Some(&root)).unwrap(),
            "https://contoso.sharepoint.com/.default"
        );
        assert_eq!(
            sharepoint_root(CloudEnvironment::China, "tailspin.partner.onmschina.cn").unwrap(),
            "https://tailspin.sharepoint.cn"
        );
        assert_eq!(sharepoint_root(g, "evil/x.onmicrosoft.com"), None);
        assert_eq!(scope_for(g, EngineResource::Sharepoint, None), None);
    }

    #[test]
    fn the_workloads_own_application_is_used_and_a_missing_permission_is_named() {
        let g = CloudEnvironment::Global;
        let apps = vec![
            row("main", true, "all", Some(all(g))),
            row("mail", false, "exchange", Some(required_on(g, EngineResource::Graph, Workload::Exchange))),
            row("files", false, "files", None),
        ];
        let pick = |r, w| choose_application(g, &apps, r, w).map(|a| a.id.as_str());
        assert_eq!(pick(EngineResource::Graph, None), Ok("main"));
        assert_eq!(pick(EngineResource::Sharepoint, None), Ok("main"));
        assert_eq!(pick(EngineResource::Graph, Some(Workload::Exchange)), Ok("mail"));
        assert_eq!(pick(EngineResource::Graph, Some(Workload::Files)), Ok("files"), "the admin's own: as it is");
        assert_eq!(
            pick(EngineResource::Graph, Some(Workload::Teams)),
            Ok("main"),
            "no Teams application: the main one"
        );
        // The mailbox application has no SharePoint permission at all.
        assert_eq!(pick(EngineResource::Sharepoint, Some(Workload::Exchange)), Err(ErrorCode::WorkloadNotGranted));

        // A main application that lost a permission on record is refused for what needs it.
        let mut partial = all(g);
        partial.retain(|p| !p.starts_with("Sites."));
        let apps = vec![row("main", true, "all", Some(partial))];
        assert_eq!(
            choose_application(g, &apps, EngineResource::Sharepoint, None).map(|a| a.id.as_str()),
            Err(ErrorCode::WorkloadNotGranted)
        );
    }

    #[test]
    fn a_workloads_requests_all_go_to_one_application_never_spread_over_several() {
        let g = CloudEnvironment::Global;
        let workloads = [Workload::Exchange, Workload::Files, Workload::Teams];
        let mut apps = vec![row("main", true, "all", Some(all(g)))];
        for w in workloads {
            apps.push(row(&format!("{}-1", w.as_str()), false, w.as_str(), Some(all(g))));
            // A second active application of the same workload (recreated, or stored twice) is
            // never a second route for that workload's requests.
            apps.push(row(&format!("{}-2", w.as_str()), false, w.as_str(), Some(all(g))));
        }
        for resource in [EngineResource::Graph, EngineResource::Sharepoint, EngineResource::Exchange] {
            for workload in [None].into_iter().chain(workloads.map(Some)) {
                let chosen: std::collections::HashSet<Result<String, ErrorCode>> =
                    (0..20).map(|_| choose_application(g, &apps, resource, workload).map(|a| a.id.clone())).collect();
                assert_eq!(chosen.len(), 1, "{resource:?} {workload:?}: {chosen:?}");
                if let Some(Ok(id)) = chosen.into_iter().next() {
                    let expected = workload.map_or("main".to_owned(), |w| format!("{}-1", w.as_str()));
                    assert_eq!(id, expected, "{resource:?} {workload:?}: the workload's own, else the main one");
                }
            }
        }
        // Another workload's application is never used, even when it holds the permissions.
        let apps = vec![row("main", true, "all", Some(all(g))), row("mail", false, "exchange", Some(all(g)))];
        assert_eq!(
            choose_application(g, &apps, EngineResource::Graph, Some(Workload::Teams)).map(|a| a.id.as_str()),
            Ok("main")
        );
    }

    fn ms_error(status: u16, code: ErrorCode, retry_after: Option<u64>) -> MicrosoftError {
        MicrosoftError { code, status, correlation: Default::default(), retry_after }
    }

    #[test]
    fn a_token_is_cached_until_five_minutes_before_its_end_and_concurrent_requests_share_one_call() {
        let broker = Broker::default();
        let clock = Cell::new(1_000_000i64);
        let calls = Cell::new(0);
        let key = || ("app".to_owned(), "scope".to_owned());
        let mint = || async {
            calls.set(calls.get() + 1);
            crate::signin::service::tests::Turns(3).await;
            Ok((SecretString::new(format!("token-{}", calls.get())), 3600))
        };
        // Ten requests at once: one call.
        let all = futures_util::future::join_all((0..10).map(|_| broker.obtain(key(), || Millis(clock.get()), mint)));
        let answers = block_on(all);
        assert_eq!(calls.get(), 1);
        assert!(answers.iter().all(|a| a.as_ref().unwrap().token().token.expose() == "token-1"));
        assert_eq!(answers.iter().filter(|a| matches!(a, Ok(Obtained::Issued(_)))).count(), 1);
        // Still cached 54 minutes later, fetched again at 55.
        clock.set(clock.get() + 54 * 60_000);
        assert!(matches!(block_on(broker.obtain(key(), || Millis(clock.get()), mint)), Ok(Obtained::Cached(_))));
        clock.set(clock.get() + 60_000);
        assert!(matches!(block_on(broker.obtain(key(), || Millis(clock.get()), mint)), Ok(Obtained::Issued(_))));
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn microsofts_retry_after_is_honoured_and_a_refusal_is_passed_on() {
        let broker = Broker::default();
        let clock = Cell::new(1_000_000i64);
        let calls = Cell::new(0);
        let key = || ("app".to_owned(), "scope".to_owned());
        let throttled = || async {
            calls.set(calls.get() + 1);
            Err(ms_error(429, ErrorCode::Throttled, Some(30)))
        };
        assert_eq!(
            block_on(broker.obtain(key(), || Millis(clock.get()), throttled)).unwrap_err(),
            NoToken::Throttled(30)
        );
        clock.set(clock.get() + 10_000);
        assert_eq!(
            block_on(broker.obtain(key(), || Millis(clock.get()), throttled)).unwrap_err(),
            NoToken::Throttled(20)
        );
        assert_eq!(calls.get(), 1, "no call while Retry-After runs");
        clock.set(clock.get() + 20_000);
        let refused = || async { Err(ms_error(401, ErrorCode::InvalidClientSecret, None)) };
        assert!(matches!(
            block_on(broker.obtain(key(), || Millis(clock.get()), refused)),
            Err(NoToken::Refused(e)) if e.code == ErrorCode::InvalidClientSecret
        ));
    }

    #[test]
    fn the_organization_is_kept_for_its_account_for_a_minute_and_forgotten_on_notice() {
        let broker = Broker::default();
        let org: OrganizationRow = serde_json::from_value(serde_json::json!({
            "id": "org-1", "account_id": "acct-1", "name": "Contoso", "cloud": "global", "tenant_id": "t",
            "multiple_applications": 0, "created_at": "", "updated_at": "", "version": 1
        }))
        .unwrap();
        let t = 1_000_000;
        assert!(broker.organization("acct-1", Millis(t)).is_none());
        broker.keep_organization(
            "acct-1",
            org.clone(),
            vec![row("main", true, "all", None)],
            Millis(t),
            broker.generation(),
        );
        assert_eq!(broker.organization("acct-1", Millis(t + 59_999)).unwrap().1.len(), 1);
        assert!(broker.organization("acct-2", Millis(t)).is_none(), "another account's request reads the database");
        assert!(broker.organization("acct-1", Millis(t + ORGANIZATION_KEPT_MS)).is_none(), "read again after a minute");
        assert!(broker.organization("acct-1", Millis(t - 1)).is_none(), "a clock that went back reads again");
        // A change: the organization and its tokens are forgotten, the counts stay.
        let clock = Cell::new(t);
        let key = || ("app".to_owned(), "scope".to_owned());
        let ok = || async { Ok((SecretString::new("t".into()), 3600)) };
        block_on(broker.obtain(key(), || Millis(clock.get()), ok)).unwrap();
        broker.hits().count("engine-1", "app", "graph", Millis(t));
        broker.forget();
        assert!(broker.organization("acct-1", Millis(t + 1)).is_none());
        assert!(matches!(block_on(broker.obtain(key(), || Millis(clock.get()), ok)), Ok(Obtained::Issued(_))));
        assert!(!broker.hits().is_empty());

        // A notice that arrives while a request reads the organization or asks Microsoft: what
        // that request read or minted is used once and not kept.
        let before = broker.generation();
        broker.forget();
        broker.keep_organization("acct-1", org, vec![], Millis(t), before);
        assert!(broker.organization("acct-1", Millis(t)).is_none(), "a read from before the change is not kept");
        let other = || ("app".to_owned(), "other-scope".to_owned());
        let mint_then_change = || async {
            broker.forget();
            Ok((SecretString::new("old".into()), 3600))
        };
        assert!(matches!(
            block_on(broker.obtain(other(), || Millis(clock.get()), mint_then_change)),
            Ok(Obtained::Issued(_))
        ));
        assert!(
            matches!(block_on(broker.obtain(other(), || Millis(clock.get()), ok)), Ok(Obtained::Issued(_))),
            "not cached"
        );
        // Retry-After of any size is capped, never overflowed.
        assert_eq!(seconds_capped(u64::MAX), MAX_THROTTLE_MS);
        assert_eq!(seconds_capped(3), 3000);
    }

    /// An application Microsoft no longer knows: 16 requests at once and 31 after them make one
    /// call; the refusal is remembered for 30 s, then Microsoft is asked again.
    #[test]
    fn a_refusal_is_shared_with_the_waiting_requests_and_remembered_briefly() {
        let broker = Broker::default();
        let clock = Cell::new(1_000_000i64);
        let calls = Cell::new(0);
        let key = || ("app".to_owned(), "scope".to_owned());
        let unknown = || async {
            calls.set(calls.get() + 1);
            crate::signin::service::tests::Turns(3).await;
            Err(ms_error(400, ErrorCode::ApplicationNotFound, None))
        };
        let all =
            futures_util::future::join_all((0..16).map(|_| broker.obtain(key(), || Millis(clock.get()), unknown)));
        let answers = block_on(all);
        assert_eq!(calls.get(), 1, "one identity call for 16 concurrent requests");
        assert!(answers
            .iter()
            .all(|a| a.as_ref().unwrap_err().refusal().unwrap().code == ErrorCode::ApplicationNotFound));
        assert_eq!(answers.iter().filter(|a| matches!(a, Err(NoToken::Refused(_)))).count(), 1);
        for _ in 0..31 {
            clock.set(clock.get() + 900);
            assert!(matches!(
                block_on(broker.obtain(key(), || Millis(clock.get()), unknown)),
                Err(NoToken::StillRefused(_))
            ));
        }
        assert_eq!(calls.get(), 1, "and none for the 31 sequential ones within 30 s");
        clock.set(1_000_000 + REMEMBER_REFUSAL_MS);
        assert!(matches!(block_on(broker.obtain(key(), || Millis(clock.get()), unknown)), Err(NoToken::Refused(_))));
        assert_eq!(calls.get(), 2);
        // Microsoft unreachable is remembered for a few seconds only; Retry-After wins.
        let down = || async { Err(ms_error(503, ErrorCode::MicrosoftUnavailable, None)) };
        let other = || ("app".to_owned(), "other".to_owned());
        assert!(matches!(block_on(broker.obtain(other(), || Millis(clock.get()), down)), Err(NoToken::Refused(_))));
        clock.set(clock.get() + REMEMBER_UNAVAILABLE_MS);
        let ok = || async { Ok((SecretString::new("t".into()), 3600)) };
        assert!(matches!(block_on(broker.obtain(other(), || Millis(clock.get()), ok)), Ok(Obtained::Issued(_))));
    }
}
