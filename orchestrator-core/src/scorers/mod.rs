//! Built-in scorers that really check: policy patterns, requirement coverage and external commands.

mod command;
mod policy;
mod requirements;

pub use command::{CommandCheck, CommandInput};
pub use policy::{PolicyRule, PolicyScorer};
pub use requirements::RequirementsScorer;
