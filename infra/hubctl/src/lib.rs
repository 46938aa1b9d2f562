//! Local-stack tooling and the signing client, shared by the `hubctl` CLI and the tests.

pub mod bench;
pub mod client;
pub mod ledger;
pub mod loan_lives;
pub mod money_chain;
pub mod portfolio;
pub mod provision;
pub mod pump;
pub mod reference;
pub mod tables;
pub mod template;

/// The SQS client the tooling uses, for callers (the tests) that inspect queues.
pub use aws_sdk_sqs;
