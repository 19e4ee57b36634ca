//! Onboarding a partner's customers with one partner sign-in (GDAP): which customers can be chosen
//! ([`customers`]) and the batch that onboards the chosen ones ([`batch`]), as plain decisions over
//! plain types. The Durable Object that runs a batch only moves bytes.

pub mod at_rest;
pub mod batch;
pub mod command;
pub mod customers;
pub mod service;
pub mod view;
