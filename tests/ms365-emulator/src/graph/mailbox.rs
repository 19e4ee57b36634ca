//! Microsoft Graph's mailbox API (beta), the slice a backup reads first: a user's mailbox ID
//! (`GET /beta/users/{id}/settings/exchange`) and its folders
//! (`GET /beta/admin/exchange/mailboxes/{mailboxId}/folders/delta`). Application permissions as
//! Microsoft documents them: `User.Read.All` for the settings, `MailboxFolder.Read.All` or
//! `MailboxFolder.ReadWrite.All` for the folders; the folders API exists in the Global cloud only.
//! Every user has the same five well-known folders, empty.

use serde_json::{json, Value};

use super::auth::{require, Caller, Need, READ_USERS};
use super::error::GraphError;
use super::GraphResponse;
use crate::cloud::Cloud;
use crate::state::State;

/// Reading a mailbox's folders.
pub const READ_FOLDERS: Need<'static> = Need {
    delegated: &["MailboxFolder.Read", "MailboxFolder.ReadWrite"],
    admin: None,
    application: &["MailboxFolder.Read.All", "MailboxFolder.ReadWrite.All"],
};

const FOLDERS: [(&str, &str); 5] = [
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
];

fn mailbox_id(user_id: &str, tenant_id: &str) -> String {
    format!("MBX:{user_id}@{tenant_id}")
}

/// `GET /beta/users/{id}/settings/exchange`.
pub fn exchange_settings(state: &State, caller: &Caller, user: &str) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_USERS)?;
    let t = state.tenant(&caller.tenant_id).ok_or_else(|| GraphError::not_found(&caller.tenant_id))?;
    let u = t
        .users
        .iter()
        .find(|u| u.id == user || u.upn.eq_ignore_ascii_case(user))
        .ok_or_else(|| GraphError::not_found(user))?;
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/beta/$metadata#users('{}')/settings/exchange/$entity", caller.cloud.graph_host(), u.id),
            "id": u.id,
            "primaryMailboxId": mailbox_id(&u.id, &t.id),
            "archiveMailboxId": null,
        }),
    ))
}

/// `GET /beta/admin/exchange/mailboxes/{mailboxId}/folders/delta`.
pub fn folders_delta(state: &State, caller: &Caller, mailbox: &str) -> Result<GraphResponse, GraphError> {
    if caller.cloud != Cloud::Global {
        return Err(GraphError::new(400, "BadRequest", "Resource not found for the segment 'exchange'."));
    }
    require(state, caller, &READ_FOLDERS)?;
    let t = state.tenant(&caller.tenant_id).ok_or_else(|| GraphError::not_found(&caller.tenant_id))?;
    if !t.users.iter().any(|u| mailbox_id(&u.id, &t.id) == mailbox) {
        return Err(GraphError::new(404, "ErrorItemNotFound", "The specified mailbox could not be found."));
    }
    let url = format!("{}/beta/admin/exchange/mailboxes/{mailbox}", caller.cloud.graph_host());
    let value: Vec<Value> = FOLDERS
        .iter()
        .map(|(id, name)| {
            json!({
                "id": format!("{mailbox}:{id}"),
                "displayName": name,
                "parentFolderId": format!("{mailbox}:root"),
                "childFolderCount": 0,
                "totalItemCount": 0,
                "type": "IPF.Note",
                "parentMailboxUrl": url,
            })
        })
        .collect();
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/beta/$metadata#Collection(mailboxFolder)", caller.cloud.graph_host()),
            "@odata.deltaLink": format!("{url}/folders/delta?$deltatoken=emulator"),
            "value": value,
        }),
    ))
}
