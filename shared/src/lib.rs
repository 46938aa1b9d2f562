//! The hub's common crate. `domain` is pure (no AWS types); `adapters` implement its ports on
//! AWS; `edge` is the HTTP glue every function shares.

pub mod adapters;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod edge;
pub mod outbound;
pub mod sandbox;
pub mod strict_json;
pub mod worker;

pub use app::App;
pub use domain::error::ApiError;
