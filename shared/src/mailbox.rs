//! How mailboxes are reached at the end of 2026, for what the app tells the administrator.
//!
//! Exchange Web Services (EWS) in Exchange Online is blocked by default from 1 October 2026 and
//! shut down on 1 April 2027. Until then a tenant keeps it for the applications it lists in
//! `EwsAllowedAppIDs` (the list takes effect while the organization's `EwsEnabled` is `$true`).
//! Microsoft Graph's mailbox import and export API replaces it, in the Global cloud only.

use crate::CloudEnvironment;

/// The first version of the edge's permission manifest that grants Graph's mailbox API (in the
/// Global cloud): older applications were granted EWS only.
pub const FIRST_MANIFEST_WITH_GRAPH_MAILBOX: u32 = 2;

/// Whether Microsoft Graph's mailbox import and export API exists in `cloud` (Microsoft documents
/// it for the Global service only; the national clouds keep EWS until they get it).
pub fn graph_mailbox_export(cloud: CloudEnvironment) -> bool {
    cloud == CloudEnvironment::Global
}

/// The Exchange Online PowerShell line that adds `app_ids` to the tenant's EWS allow list. The
/// cmdlet writes the whole list, so the line reads the current one first and keeps it.
pub fn ews_allow_command(app_ids: &[String]) -> String {
    let ids: Vec<String> = app_ids.iter().filter(|id| is_app_id(id)).map(|id| format!("'{id}'")).collect();
    format!(
        "$ids = @((Get-OrganizationConfig).EwsAllowedAppIDs) + @({}); \
         Set-OrganizationConfig -EwsAllowedAppIDs ($ids | Where-Object {{ $_ }} | Select-Object -Unique)",
        ids.join(", ")
    )
}

/// A GUID made of hex digits and dashes only: nothing else may reach a command line.
fn is_app_id(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_keeps_the_current_list_and_adds_only_application_ids() {
        let ids = vec![
            "11111111-2222-4333-8444-555555555555".to_owned(),
            "66666666-7777-4888-9999-000000000000".to_owned(),
            "x'); Remove-Mailbox -Identity * #".to_owned(),
        ];
        let line = ews_allow_command(&ids);
        assert!(line.starts_with("$ids = @((Get-OrganizationConfig).EwsAllowedAppIDs) + @("), "{line}");
        assert!(line.contains("'11111111-2222-4333-8444-555555555555', '66666666-7777-4888-9999-000000000000'"));
        assert!(!line.contains("Remove-Mailbox"), "only GUIDs reach the line: {line}");
        assert!(line.ends_with("Select-Object -Unique)"));
        assert!(!line.contains('\n'), "one line, to copy");
    }

    #[test]
    fn graph_mailbox_export_is_global_only() {
        let with: Vec<_> = CloudEnvironment::ALL.into_iter().filter(|c| graph_mailbox_export(*c)).collect();
        assert_eq!(with, vec![CloudEnvironment::Global]);
    }
}
