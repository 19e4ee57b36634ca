//! Organizations: Step 3 (saving, after a credential check against Microsoft) and the manage page.
//!
//! [`seal`] encrypts secrets at rest; [`model`] turns requests into validated values and rows into
//! API types; [`check`] decides what a credential check's answers mean; [`store`] classifies what
//! D1 answers.

pub mod check;
pub mod model;
pub mod seal;
pub mod store;
