//! Who is calling Graph, and may they? The bearer token must be one the emulator signed, unexpired, for
//! a known Graph host; Graph then serves only the tenant in its `tid`. Permissions follow Graph: a
//! delegated token needs the scope *and* a user holding an admin role for writes; an application token
//! needs an app role.

use serde_json::Value;

use super::error::GraphError;
use crate::cloud::Cloud;
use crate::roles::AdminAction;
use crate::state::{Emulator, State};

/// The caller of a Graph request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The tenant served.
    pub tenant_id: String,
    /// The cloud of the token's audience.
    pub cloud: Cloud,
    /// The client (`appid`).
    pub app_id: String,
    /// Delegated or application.
    pub kind: CallerKind,
}

/// How the caller is authorized.
#[derive(Clone, Debug)]
pub enum CallerKind {
    /// A user through a client.
    User {
        /// User object ID.
        user_id: String,
        /// Delegated permissions (`scp`).
        scopes: Vec<String>,
    },
    /// An application on its own.
    App {
        /// Application permissions (`roles`).
        roles: Vec<String>,
    },
}

/// Checks the `Authorization` header.
pub fn authenticate(
    emu: &Emulator,
    state: &State,
    authorization: Option<&str>,
    now_ms: u64,
) -> Result<Caller, GraphError> {
    let token = authorization
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GraphError::unauthenticated("Access token is empty."))?;
    let claims = emu.signing.verify(token).map_err(|e| match e {
        crate::identity::jwt::JwtError::Malformed => GraphError::unauthenticated("IDX14100: JWT is not well formed."),
        crate::identity::jwt::JwtError::BadSignature => {
            GraphError::unauthenticated("Access token validation failure. Invalid signature.")
        }
    })?;
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if now_ms / 1000 >= exp {
        return Err(GraphError::unauthenticated("Lifetime validation failed, the token is expired."));
    }
    let cloud = claims
        .get("aud")
        .and_then(Value::as_str)
        .and_then(Cloud::from_graph_resource)
        .ok_or_else(|| GraphError::unauthenticated("Access token validation failure. Invalid audience."))?;
    let tenant_id = claims.get("tid").and_then(Value::as_str).unwrap_or_default().to_string();
    let tenant = state
        .tenant(&tenant_id)
        .ok_or_else(|| GraphError::unauthenticated("Access token validation failure. Invalid tenant."))?;
    if tenant.cloud != cloud {
        return Err(GraphError::unauthenticated("Access token validation failure. Invalid audience."));
    }
    let app_id = claims.get("appid").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = if let Some(scp) = claims.get("scp").and_then(Value::as_str) {
        let user_id = claims.get("oid").and_then(Value::as_str).unwrap_or_default().to_string();
        if state.acting_roles(&tenant_id, &user_id).is_none() {
            return Err(GraphError::unauthenticated("Access token validation failure. The user does not exist."));
        }
        CallerKind::User { user_id, scopes: scp.split_whitespace().map(str::to_string).collect() }
    } else {
        let roles = claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        CallerKind::App { roles }
    };
    Ok(Caller { tenant_id, cloud, app_id, kind })
}

/// What an operation needs.
pub struct Need<'a> {
    /// Delegated permissions, any one of which suffices.
    pub delegated: &'a [&'a str],
    /// The directory role a delegated caller must also hold, by what it allows.
    pub admin: Option<AdminAction>,
    /// Application permissions, any one of which suffices.
    pub application: &'a [&'a str],
}

/// Reading applications and service principals.
pub const READ_APPS: Need<'static> = Need {
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
    ],
    admin: None,
    application: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Application.ReadWrite.OwnedBy",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};
/// Creating and changing applications and service principals.
pub const WRITE_APPS: Need<'static> = Need {
    delegated: &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
    admin: Some(AdminAction::ManageApplications),
    application: &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"],
};
/// Granting application permissions.
pub const GRANT_ROLES: Need<'static> = Need {
    delegated: &["AppRoleAssignment.ReadWrite.All"],
    admin: None,
    application: &["AppRoleAssignment.ReadWrite.All"],
};

/// What granting an app role needs beside [`GRANT_ROLES`]: reading applications (Learn, "Grant an
/// appRoleAssignment for a service principal": `AppRoleAssignment.ReadWrite.All` together with
/// `Application.Read.All`, or a higher one such as `Directory.Read.All`).
pub const GRANT_ROLES_READ: Need<'static> = Need {
    delegated: &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    admin: None,
    application: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// Granting an app role of a resource: [`GRANT_ROLES`], and for a delegated caller the directory
/// role that consents to that resource's application permissions (Graph's need more).
pub fn grant_roles_of(graph: bool) -> Need<'static> {
    Need {
        admin: Some(if graph { AdminAction::GrantGraphAppRoles } else { AdminAction::GrantOtherAppRoles }),
        ..GRANT_ROLES
    }
}
/// Reading the organization.
pub const READ_ORG: Need<'static> = Need {
    delegated: &[
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "User.Read",
    ],
    admin: None,
    application: &[
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};
/// Listing users.
pub const READ_USERS: Need<'static> = Need {
    delegated: &[
        "User.Read.All",
        "User.ReadBasic.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    admin: None,
    application: &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
};

/// Refuses with 403 `Authorization_RequestDenied` unless the caller has what `need` lists.
pub fn require(state: &State, caller: &Caller, need: &Need<'_>) -> Result<(), GraphError> {
    let has = |have: &[String], any: &[&str]| have.iter().any(|h| any.iter().any(|a| a.eq_ignore_ascii_case(h)));
    let ok = match &caller.kind {
        CallerKind::User { user_id, scopes } => {
            has(scopes, need.delegated)
                && need.admin.is_none_or(|action| {
                    state
                        .acting_roles(&caller.tenant_id, user_id)
                        .is_some_and(|roles| crate::roles::may(&roles, action))
                })
        }
        CallerKind::App { roles } => has(roles, need.application),
    };
    if ok {
        Ok(())
    } else {
        Err(GraphError::denied())
    }
}
