//! The hub's domain: pure types and rules, no AWS.

pub mod borrower;
pub mod chain;
pub mod claim;
pub mod cost_cap;
pub mod error;
mod fields;
pub mod funding;
pub mod intake;
pub mod investor;
pub mod money;
pub mod movement;
pub mod notice;
pub mod people;
pub mod ports;
pub mod reconcile;
pub mod record;
pub mod repaying;
pub mod repayment;
pub mod schedule;
pub mod settlement;
pub mod status;
pub mod steps;
pub mod views;
