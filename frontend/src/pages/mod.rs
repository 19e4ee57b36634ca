//! The pages outside the wizard: the organization list and the edit page.

pub mod edit;
pub mod manage;
