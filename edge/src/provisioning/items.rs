//! The IDs of the requests inside a Graph `$batch`, typed: each says what the request does and for
//! which application, is written as text for Graph and read back from Graph's answer in one place.
//! Also the batch items that act on applications from outside a registration run (a certificate
//! registered after the fact, unsaved applications deleted at the end of a hold).

use super::app::Credential;
use crate::microsoft::graph::{BatchItem, BatchResult};
use crate::microsoft::{applications, service_principals};
use shared::assertion::KeyCredential;
use std::fmt;
use std::str::FromStr;

/// What one request in a batch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemId {
    /// Reads the tenant (`/organization`).
    Organization,
    /// Reads the service principal of resource `n` of the manifest (its app roles).
    Resource(usize),
    /// Reads the tenant's default app management policy.
    Policy,
    /// Creates application `i`.
    Create(u8),
    /// Looks application `i` up by its tag (a create that may have been sent before a restart).
    Find(u8),
    /// Declares the permissions on application `i`.
    Declare(u8),
    /// Creates application `i`'s service principal.
    ServicePrincipal(u8),
    /// Adds a client secret to application `i`.
    Password(u8),
    /// Grants role `n` to application `i`.
    Grant(u8, usize),
    /// Deletes application `i`.
    Delete(u8),
    /// Sets a certificate on application `i`.
    KeyCredential(u8),
    /// Removes application `i`'s generated secret.
    RemovePassword(u8),
    /// Repair: looks application `i` up by its application ID (is it still there?).
    Lookup(u8),
    /// Repair: looks application `i`'s service principal up by its application ID (is it enabled?).
    LookupServicePrincipal(u8),
    /// Repair: enables application `i`'s service principal again.
    Enable(u8),
    /// Deleting an organization: deletes its application `i` (by application ID).
    Remove(u8),
    /// Deleting an organization: deletes the service principal of its application `i` registered
    /// in another tenant (by application ID).
    RemoveServicePrincipal(u8),
}

impl ItemId {
    /// The application this request is for, if any.
    pub fn application(self) -> Option<u8> {
        match self {
            ItemId::Organization | ItemId::Resource(_) | ItemId::Policy => None,
            ItemId::Create(i)
            | ItemId::Find(i)
            | ItemId::Declare(i)
            | ItemId::ServicePrincipal(i)
            | ItemId::Password(i)
            | ItemId::Grant(i, _)
            | ItemId::Delete(i)
            | ItemId::KeyCredential(i)
            | ItemId::RemovePassword(i)
            | ItemId::Lookup(i)
            | ItemId::LookupServicePrincipal(i)
            | ItemId::Enable(i)
            | ItemId::Remove(i)
            | ItemId::RemoveServicePrincipal(i) => Some(i),
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemId::Organization => f.write_str("org"),
            ItemId::Policy => f.write_str("pol"),
            ItemId::Resource(n) => write!(f, "res{n}"),
            ItemId::Create(i) => write!(f, "app{i}"),
            ItemId::Find(i) => write!(f, "find{i}"),
            ItemId::Declare(i) => write!(f, "decl{i}"),
            ItemId::ServicePrincipal(i) => write!(f, "sp{i}"),
            ItemId::Password(i) => write!(f, "pw{i}"),
            ItemId::Grant(i, n) => write!(f, "g{i}_{n}"),
            ItemId::Delete(i) => write!(f, "del{i}"),
            ItemId::KeyCredential(i) => write!(f, "kc{i}"),
            ItemId::RemovePassword(i) => write!(f, "rp{i}"),
            ItemId::Lookup(i) => write!(f, "look{i}"),
            ItemId::LookupServicePrincipal(i) => write!(f, "lsp{i}"),
            ItemId::Enable(i) => write!(f, "en{i}"),
            ItemId::Remove(i) => write!(f, "rm{i}"),
            ItemId::RemoveServicePrincipal(i) => write!(f, "rmsp{i}"),
        }
    }
}

/// A batch ID this product did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownItemId;

impl FromStr for ItemId {
    type Err = UnknownItemId;

    fn from_str(s: &str) -> Result<Self, UnknownItemId> {
        match s {
            "org" => return Ok(ItemId::Organization),
            "pol" => return Ok(ItemId::Policy),
            _ => {}
        }
        let split = s.find(|c: char| c.is_ascii_digit()).ok_or(UnknownItemId)?;
        let (kind, rest) = s.split_at(split);
        let index = |t: &str| t.parse::<u8>().map_err(|_| UnknownItemId);
        Ok(match kind {
            "res" => ItemId::Resource(rest.parse().map_err(|_| UnknownItemId)?),
            "app" => ItemId::Create(index(rest)?),
            "find" => ItemId::Find(index(rest)?),
            "decl" => ItemId::Declare(index(rest)?),
            "sp" => ItemId::ServicePrincipal(index(rest)?),
            "pw" => ItemId::Password(index(rest)?),
            "del" => ItemId::Delete(index(rest)?),
            "kc" => ItemId::KeyCredential(index(rest)?),
            "rp" => ItemId::RemovePassword(index(rest)?),
            "look" => ItemId::Lookup(index(rest)?),
            "lsp" => ItemId::LookupServicePrincipal(index(rest)?),
            "en" => ItemId::Enable(index(rest)?),
            "rm" => ItemId::Remove(index(rest)?),
            "rmsp" => ItemId::RemoveServicePrincipal(index(rest)?),
            "g" => {
                let (i, n) = rest.split_once('_').ok_or(UnknownItemId)?;
                ItemId::Grant(index(i)?, n.parse().map_err(|_| UnknownItemId)?)
            }
            _ => return Err(UnknownItemId),
        })
    }
}

/// Deletes each `(index, object ID)`.
pub fn deletion_items<'a>(apps: impl IntoIterator<Item = (u8, &'a str)>) -> Vec<BatchItem> {
    apps.into_iter().map(|(i, oid)| applications::delete(ItemId::Delete(i).to_string(), oid)).collect()
}

/// Deletes saved applications by their application IDs (a saved organization's, on delete): one
/// `DELETE /applications(appId='…')` each, the request ID being the position in `app_ids`. An ID
/// that is not a GUID is never put into a URL (it stays in the tenant, and is reported so).
pub fn removal_items(app_ids: &[String]) -> Vec<BatchItem> {
    removals(app_ids, |_| true, |i, id| applications::delete_by_app_id(ItemId::Remove(i).to_string(), id))
}

/// The second round of a removal: for each application of `app_ids` that this tenant does not
/// hold (`DELETE /applications` answered 404: it may be registered in another tenant), its service
/// principal here, which is what holds the consented permissions.
pub fn service_principal_removal_items(app_ids: &[String], answers: &[BatchResult]) -> Vec<BatchItem> {
    let gone = |i: u8| answer(answers, ItemId::Remove(i)).is_some_and(|a| a.status == 404);
    removals(app_ids, gone, |i, id| {
        service_principals::delete_by_app_id(ItemId::RemoveServicePrincipal(i).to_string(), id)
    })
}

fn removals(
    app_ids: &[String],
    keep: impl Fn(u8) -> bool,
    item: impl Fn(u8, &shared::AppId) -> BatchItem,
) -> Vec<BatchItem> {
    app_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| Some((u8::try_from(i).ok()?, shared::AppId::parse(id).ok()?)))
        .filter(|(i, _)| keep(*i))
        .map(|(i, id)| item(i, &id))
        .collect()
}

fn answer(answers: &[BatchResult], item: ItemId) -> Option<&BatchResult> {
    let id = item.to_string();
    answers.iter().find(|a| a.id == id)
}

/// The applications of `app_ids` still in the tenant after the answers to [`removal_items`] and
/// [`service_principal_removal_items`]: an application deleted (2xx) is removed; one this tenant
/// does not hold (404) is removed once its service principal here is deleted or not there either
/// (404). Anything else, or no answer, is not removed.
pub fn not_removed(app_ids: &[String], answers: &[BatchResult]) -> Vec<String> {
    // `Some(true)`: deleted; `Some(false)`: not there; `None`: neither (or no answer).
    let outcome =
        |item| answer(answers, item).and_then(|a| if a.ok() { Some(true) } else { (a.status == 404).then_some(false) });
    app_ids
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let Ok(i) = u8::try_from(*i) else { return true };
            match outcome(ItemId::Remove(i)) {
                Some(true) => false,
                Some(false) => outcome(ItemId::RemoveServicePrincipal(i)).is_none(),
                None => true,
            }
        })
        .map(|(_, id)| id.clone())
        .collect()
}

/// Whether Microsoft refused any of a removal's deletions to the signed-in account (403: its
/// directory role may not delete applications), which a retry with the same account cannot mend.
pub fn removal_denied(answers: &[BatchResult]) -> bool {
    answers
        .iter()
        .any(|a| a.status == 403 && matches!(a.id.parse(), Ok(ItemId::Remove(_) | ItemId::RemoveServicePrincipal(_))))
}

/// Sets `key` on each created application and then removes its generated secret (runs stored
/// before certificates).
pub fn certificate_items<'a>(
    apps: impl IntoIterator<Item = &'a super::plan::App>,
    key: &KeyCredential,
) -> Vec<BatchItem> {
    let mut items = vec![];
    for a in apps {
        let Some(oid) = a.object_id() else { continue };
        let update = applications::Update { required_resource_access: None, key_credentials: Some(vec![key.clone()]) };
        let set = applications::update(ItemId::KeyCredential(a.index).to_string(), oid, &update);
        let remove = match &a.credential {
            Credential::Secret { key_id: Some(key_id), .. } => Some(
                applications::remove_password(ItemId::RemovePassword(a.index).to_string(), oid, key_id).after(&set),
            ),
            _ => None,
        };
        items.push(set);
        items.extend(remove);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_deletes_by_application_id_and_counts_gone_ones_as_removed() {
        let ids: Vec<String> = [
            "11111111-1111-1111-1111-111111111111",
            "x') or (1 eq 1",
            "22222222-2222-2222-2222-222222222222",
            "33333333-3333-3333-3333-333333333333",
        ]
        .map(String::from)
        .to_vec();
        let items = removal_items(&ids);
        let urls: Vec<_> = items.iter().map(|i| (i.id.as_str(), i.method, i.url.as_str())).collect();
        assert_eq!(
            urls,
            vec![
                ("rm0", "DELETE", "/applications(appId='11111111-1111-1111-1111-111111111111')"),
                ("rm2", "DELETE", "/applications(appId='22222222-2222-2222-2222-222222222222')"),
                ("rm3", "DELETE", "/applications(appId='33333333-3333-3333-3333-333333333333')"),
            ],
            "an ID that is not a GUID never reaches a URL"
        );
        let answer = |id: &str, status| crate::microsoft::graph::BatchResult {
            id: id.into(),
            status,
            headers: Default::default(),
            body: serde_json::Value::Null,
        };
        let mut answers = vec![answer("rm0", 204), answer("rm2", 404), answer("rm3", 403)];
        // Not held here (registered in another tenant): its service principal is deleted next.
        let second = service_principal_removal_items(&ids, &answers);
        let second: Vec<_> = second.iter().map(|i| (i.id.as_str(), i.method, i.url.as_str())).collect();
        assert_eq!(
            second,
            vec![("rmsp2", "DELETE", "/servicePrincipals(appId='22222222-2222-2222-2222-222222222222')")]
        );
        assert_eq!(not_removed(&ids, &answers), vec![ids[1].clone(), ids[2].clone(), ids[3].clone()], "not until then");
        answers.push(answer("rmsp2", 204));
        assert_eq!(not_removed(&ids, &answers), vec![ids[1].clone(), ids[3].clone()]);
        answers.pop();
        answers.push(answer("rmsp2", 404));
        assert_eq!(not_removed(&ids, &answers), vec![ids[1].clone(), ids[3].clone()], "gone altogether");
        answers.pop();
        answers.push(answer("rmsp2", 403));
        assert_eq!(not_removed(&ids, &answers), vec![ids[1].clone(), ids[2].clone(), ids[3].clone()]);
        assert_eq!(not_removed(&ids[..1], &[]), vec![ids[0].clone()], "no answer is not a removal");

        // A 403 on either round is the signed-in account's role; other failures are not.
        assert!(removal_denied(&answers));
        assert!(removal_denied(&[answer("rm0", 204), answer("rmsp1", 403)]));
        assert!(!removal_denied(&[answer("rm0", 429), answer("rm1", 404), answer("rmsp1", 500)]));
        assert!(!removal_denied(&[answer("d0", 403)]), "only a removal's own requests count");
    }

    #[test]
    fn every_id_reads_back_as_itself_and_nothing_else_is_an_id() {
        let all = [
            ItemId::Organization,
            ItemId::Resource(2),
            ItemId::Create(0),
            ItemId::Find(3),
            ItemId::Declare(1),
            ItemId::ServicePrincipal(2),
            ItemId::Password(3),
            ItemId::Grant(1, 14),
            ItemId::Lookup(2),
            ItemId::LookupServicePrincipal(1),
            ItemId::Enable(3),
            ItemId::Delete(2),
            ItemId::KeyCredential(0),
            ItemId::RemovePassword(3),
            ItemId::Remove(1),
            ItemId::RemoveServicePrincipal(2),
        ];
        for id in all {
            assert_eq!(id.to_string().parse::<ItemId>(), Ok(id), "{id}");
        }
        // "decl" and "del" were once told apart by their first letter only.
        assert_eq!("del1".parse::<ItemId>(), Ok(ItemId::Delete(1)));
        assert_eq!("decl1".parse::<ItemId>(), Ok(ItemId::Declare(1)));
        for bad in ["", "x1", "app", "g1", "g_1", "app999", "res-1", "orgs"] {
            assert_eq!(bad.parse::<ItemId>(), Err(UnknownItemId), "{bad}");
        }
    }
}
