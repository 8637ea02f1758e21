//! Identifiers.

/// A new random id: 16 lowercase hex characters (execution ids, generated task ids).
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
