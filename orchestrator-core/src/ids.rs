//! Identifiers.

use crate::error::{Error, Result};

/// A new random id: 16 lowercase hex characters (execution ids, generated task ids).
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// An error naming the first agent id that repeats.
pub(crate) fn check_unique_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(Error::invalid("agents", format!("duplicate agent id {id:?}")));
        }
    }
    Ok(())
}
