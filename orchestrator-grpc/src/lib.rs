//! gRPC service for orchestrator-core (filled by its own issue).
