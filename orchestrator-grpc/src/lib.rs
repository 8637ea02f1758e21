//! The gRPC service (`orchestrator.v1.OrchestratorService`) over orchestrator-core, and the
//! `orchestrator` binary's server and client. This crate converts types, calls the core and maps
//! errors (once, in [`status`]); the deliberation logic lives in the core.

pub mod app;
mod auth;
pub mod cluster;
pub mod convert;
pub mod dispatch;
pub mod events;
mod job;
pub mod metrics;
pub mod pb;
pub mod server;
pub mod service;
pub mod settings;
pub mod stats;
pub mod status;

pub use app::OrchestratorApp;
pub use server::{serve, ServeOptions};
pub use settings::ServerConfig;
