//! Agents for tests, examples and benchmarks (no network, deterministic), and a fake
//! OpenAI-compatible model server on a local port.

mod behaviour;
mod fake_model;
mod scripted;

pub use behaviour::{Behaviour, BehaviourAgent};
pub use fake_model::{fake_model_server, FakeReply};
pub use scripted::{CallCounters, ScriptedAgent};
