//! Organizations: Step 3 (saving, after a credential check against Microsoft) and the manage page.
//!
//! [`service`] makes the decisions of list, get, create, update and delete over the traits of
//! [`ports`] (storage, sign-ins, clock, delay, log); [`seal`] encrypts secrets at rest; [`model`]
//! turns requests into validated values and rows into API types; [`check`] is the one credential
//! check against Microsoft and decides what its answers mean; [`store`] classifies what D1 answers.

pub mod check;
pub mod model;
pub mod ports;
pub mod service;
pub mod store;
