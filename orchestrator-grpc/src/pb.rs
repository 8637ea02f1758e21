//! Generated protobuf types and the file descriptor set for reflection.
#![allow(missing_docs, clippy::all, rust_2018_idioms)]

tonic::include_proto!("orchestrator.v1");

/// Encoded descriptor set of `orchestrator.proto`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("orchestrator_descriptor");
