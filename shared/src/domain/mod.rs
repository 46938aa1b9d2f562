//! The hub's domain: pure types and rules, no AWS.

pub mod claim;
pub mod cost_cap;
pub mod error;
pub mod intake;
pub mod money;
pub mod ports;
pub mod record;
pub mod schedule;
pub mod status;
pub mod views;
