//! Python bindings for orchestrator-core (filled by their own issue).
