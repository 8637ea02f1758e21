//! Agents for tests, examples and benchmarks: no network, deterministic.

mod behaviour;
mod scripted;

pub use behaviour::{Behaviour, BehaviourAgent};
pub use scripted::{CallCounters, ScriptedAgent};
