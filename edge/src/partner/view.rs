//! A batch as the API shows it: each customer's state, with the catalogue's sentence when it
//! failed; never a token.

use super::batch::{Batch, RowState};
use crate::time::rfc3339_ms;
use shared::api::{ErrorDetail, PartnerBatchRow, PartnerBatchStatus, PartnerCustomerState};

/// Seconds the app waits between two reads of a running batch.
pub const BATCH_POLL_SECS: u64 = 2;

/// The API's view of `batch` (`with_rows`: with its customers).
pub fn status(batch: &Batch, with_rows: bool) -> PartnerBatchStatus {
    let s = batch.summary();
    let customers = if with_rows {
        batch
            .rows
            .iter()
            .map(|r| {
                let (state, organization_id, error) = match &r.state {
                    RowState::Waiting => (PartnerCustomerState::Waiting, None, None),
                    RowState::Consenting { .. } | RowState::Registering { .. } => {
                        (PartnerCustomerState::Registering, None, None)
                    }
                    RowState::Saved { organization_id } => {
                        (PartnerCustomerState::Saved, Some(organization_id.clone()), None)
                    }
                    RowState::Failed { code } => (PartnerCustomerState::Failed, None, Some(ErrorDetail::new(*code))),
                };
                PartnerBatchRow { tenant_id: r.tenant_id.clone(), name: r.name.clone(), state, organization_id, error }
            })
            .collect()
    } else {
        vec![]
    };
    PartnerBatchStatus {
        id: batch.id.clone(),
        created_at: rfc3339_ms(batch.created),
        finished_at: batch.finished.map(rfc3339_ms),
        total: s.total as u32,
        saved: s.saved as u32,
        failed: s.failed as u32,
        poll_after: batch.finished.is_none().then_some(BATCH_POLL_SECS),
        customers,
    }
}
