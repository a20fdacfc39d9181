//! Opaque, prefixed, time-ordered identifiers (`agent-0193…`). UUIDv7 keeps them sortable by creation.
use uuid::Uuid;

/// A new id such as `agent-01932c7e8d3a7c1e9f0a6b2c4d5e6f70`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_and_ordered() {
        let a = super::new_id("agent");
        let b = super::new_id("agent");
        assert!(a.starts_with("agent-") && a.len() == "agent-".len() + 32);
        assert!(a < b, "{a} should sort before {b}");
    }
}
