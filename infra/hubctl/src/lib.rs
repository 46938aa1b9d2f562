//! Local-stack tooling and the signing client, shared by the `hubctl` CLI and the tests.

pub mod client;
pub mod portfolio;
pub mod tables;
pub mod template;
