//! Generated protobuf types and the file descriptor set for reflection.
#![allow(missing_docs, clippy::all, rust_2018_idioms)]

tonic::include_proto!("orchestrator.v1");
// The protobuf JSON mapping of every message (pbjson): what `orchestrator ... --json` prints.
include!(concat!(env!("OUT_DIR"), "/orchestrator.v1.serde.rs"));

/// Encoded descriptor set of `orchestrator.proto`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("orchestrator_descriptor");
