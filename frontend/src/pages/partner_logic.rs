//! The decisions of the partner page, as plain Rust: which customers a search shows, which can be
//! chosen, what "Select all" does, and how each customer of a batch is described.

use crate::i18n::Msg;
use shared::api::{PartnerBatchRow, PartnerBatchStatus, PartnerCustomer, PartnerCustomerState};
use std::collections::BTreeSet;

/// Whether `c` matches the search `query` (its name or tenant ID, any case; an empty search
/// matches every customer).
pub fn matches(c: &PartnerCustomer, query: &str) -> bool {
    let q = query.trim().to_lowercase();
    q.is_empty() || c.name.to_lowercase().contains(&q) || c.tenant_id.to_lowercase().contains(&q)
}

/// Whether `c` can be chosen: not added to this account already.
pub fn selectable(c: &PartnerCustomer) -> bool {
    !c.onboarded
}

/// The customers the search shows that can be chosen.
pub fn shown_selectable<'a>(all: &'a [PartnerCustomer], query: &'a str) -> impl Iterator<Item = &'a PartnerCustomer> {
    all.iter().filter(move |c| matches(c, query) && selectable(c))
}

/// "Select all": chooses (`on`) or unchooses every customer the search shows that can be chosen;
/// the others keep their choice.
pub fn select_all(all: &[PartnerCustomer], query: &str, selected: &mut BTreeSet<String>, on: bool) {
    for c in shown_selectable(all, query) {
        if on {
            selected.insert(c.tenant_id.clone());
        } else {
            selected.remove(&c.tenant_id);
        }
    }
}

/// Whether every customer the search shows that can be chosen is chosen (and there is one).
pub fn all_selected(all: &[PartnerCustomer], query: &str, selected: &BTreeSet<String>) -> bool {
    let mut any = false;
    for c in shown_selectable(all, query) {
        any = true;
        if !selected.contains(&c.tenant_id) {
            return false;
        }
    }
    any
}

/// What the choice says about a customer's roles.
pub fn roles_text(c: &PartnerCustomer) -> Msg {
    let none = c.roles.is_empty();
    let key = match (c.onboarded, c.roles_enough, none) {
        (true, _, false) => key!("partner.roles.added"),
        (true, _, true) => key!("partner.roles.added_none"),
        (false, true, false) => key!("partner.roles.enough"),
        (false, true, true) => key!("partner.roles.enough_none"),
        (false, false, false) => key!("partner.roles.not_enough"),
        (false, false, true) => key!("partner.roles.not_enough_none"),
    };
    let m = Msg::new(key);
    if none {
        m
    } else {
        m.arg("roles", c.roles.join(", "))
    }
}

/// A customer's state in the progress table.
pub fn state_text(r: &PartnerBatchRow) -> Msg {
    Msg::new(match r.state {
        PartnerCustomerState::Waiting => key!("partner.state.waiting"),
        PartnerCustomerState::Registering => key!("partner.state.registering"),
        PartnerCustomerState::Saved => key!("partner.state.saved"),
        PartnerCustomerState::Failed => key!("partner.state.failed"),
    })
}

/// Why a customer failed and what to do (empty otherwise).
pub fn detail_text(r: &PartnerBatchRow, show: impl Fn(&shared::api::ErrorDetail) -> String) -> String {
    r.error.as_ref().map(show).unwrap_or_default()
}

/// The batch in one sentence.
pub fn summary_text(b: &PartnerBatchStatus) -> Msg {
    let settled = b.saved + b.failed;
    if b.finished_at.is_some() {
        match b.failed {
            0 => Msg::new(key!("partner.summary.done_all")).count(b.total as f64),
            f => Msg::new(key!("partner.summary.done_failed"))
                .arg("saved", b.saved.to_string())
                .arg("failed", f.to_string()),
        }
    } else {
        Msg::new(key!("partner.summary.running"))
            .arg("settled", settled.to_string())
            .arg("saved", b.saved.to_string())
            .arg("failed", b.failed.to_string())
            .count(b.total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::english;

    fn customer(name: &str, tenant: &str, enough: bool, onboarded: bool) -> PartnerCustomer {
        PartnerCustomer {
            tenant_id: tenant.into(),
            name: name.into(),
            roles: vec!["Privileged Role Administrator".into()],
            roles_enough: enough,
            onboarded,
        }
    }

    #[test]
    fn select_all_takes_what_the_search_shows_and_never_an_added_customer() {
        let all = vec![
            customer("Alpine Ski House", "t-1", true, false),
            customer("Bellows College", "t-2", false, false),
            customer("Coho Winery", "t-3", true, true),
        ];
        let mut chosen = BTreeSet::new();
        select_all(&all, "", &mut chosen, true);
        assert_eq!(chosen.iter().cloned().collect::<Vec<_>>(), vec!["t-1", "t-2"]);
        assert!(all_selected(&all, "", &chosen));
        select_all(&all, "bell", &mut chosen, false);
        assert_eq!(chosen.iter().cloned().collect::<Vec<_>>(), vec!["t-1"], "only what the search shows");
        assert!(!all_selected(&all, "", &chosen));
        assert!(all_selected(&all, "ALPINE", &chosen));
        assert!(!all_selected(&all, "coho", &chosen), "nothing to choose there");
        assert!(matches(&all[2], "t-3"));
    }

    #[test]
    fn the_roles_say_whether_they_are_enough_and_what_is_missing() {
        assert!(english(&roles_text(&customer("A", "t", true, false))).ends_with("Enough to add it."));
        assert!(english(&roles_text(&customer("A", "t", false, false))).contains("Not enough"));
        assert!(english(&roles_text(&customer("A", "t", true, true))).ends_with("Already added."));
    }

    #[test]
    fn the_summary_says_how_far_the_batch_is() {
        let mut b = PartnerBatchStatus {
            id: "b".into(),
            created_at: "".into(),
            finished_at: None,
            total: 5,
            saved: 2,
            failed: 1,
            poll_after: Some(2),
            customers: vec![],
        };
        assert!(english(&summary_text(&b)).starts_with("3 of 5 customers done"));
        b.finished_at = Some("x".into());
        assert!(english(&summary_text(&b)).contains("retry the failed ones"));
        b.failed = 0;
        b.saved = 5;
        assert_eq!(english(&summary_text(&b)), "Done: all 5 customers' organizations were added.");
    }
}
