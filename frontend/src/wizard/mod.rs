//! The add wizard: Step 1 (method), Step 2 (authorization: device code or the sign-in window),
//! Step 3 (completion).
//! One module per step; [`logic`] holds their decisions.

pub mod logic;
pub mod permissions;
pub mod popup;
pub mod running;
pub mod signin_loop;
pub mod signin_panel;
pub mod step1;
pub mod step2;
pub mod step3;
pub mod waiting;
