//! The sign-in broker: one Durable Object per sign-in holds the device code (or, for the Credential
//! pop-up, the PKCE verifier and `state`) and the admin's token, polls Microsoft at Microsoft's pace
//! from its alarm (device code), and then drives registration.
//!
//! [`poller`] is the RFC 8628 pacing as a pure state machine; [`record`] is what the Durable Object
//! persists and how it is shown to the browser (never the device code or a token); [`browser`] is
//! the authorization code flow of the pop-up; [`limits`] is what an account may ask and how long
//! records are kept; [`at_rest`] is how the record is sealed in storage; [`command`] is the Durable Object's typed protocol, and [`service`] is what the
//! Durable Object does, over a host trait (storage, clock, randomness) and the HTTP seam.

pub mod at_rest;
pub mod browser;
pub mod command;
pub mod limits;
pub mod poller;
pub mod record;
pub mod service;
pub mod start;
