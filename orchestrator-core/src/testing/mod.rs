//! Agents for tests, examples and benchmarks (no network, deterministic), and a fake
//! OpenAI-compatible model server on a local port, and a real redis-server for store tests.

mod behaviour;
mod fake_model;
mod redis_server;
mod scripted;

pub use behaviour::{Behaviour, BehaviourAgent};
pub use fake_model::{fake_model_server, FakeReply};
pub use redis_server::RedisServer;
pub use scripted::{CallCounters, ScriptedAgent};
