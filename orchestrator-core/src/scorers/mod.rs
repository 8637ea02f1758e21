//! Built-in scorers that really check: policy patterns, requirement coverage and external commands.

#[cfg(feature = "command-scorer")]
mod command;
mod echo;
mod policy;
mod requirements;

#[cfg(feature = "command-scorer")]
pub use command::{CommandCheck, CommandInput};
pub(crate) use echo::{overlap, prompt_sources};
pub use echo::{EchoScorer, MAX_COPIED_FRACTION, MIN_ADDED_TOKENS, NGRAM};
pub use policy::{PolicyRule, PolicyScorer};
pub use requirements::RequirementsScorer;
