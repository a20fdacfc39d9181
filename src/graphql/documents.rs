//! Parsed GraphQL documents, cached by their text. Clients send the same few documents over and over, and
//! parsing is the costliest step before execution (about 7% of all CPU under the load benchmark).
use async_graphql::parser::{self, types::ExecutableDocument};

/// Documents longer than this are parsed every time rather than pinned in memory.
const MAX_CACHED_LEN: usize = 16 * 1024;

pub struct DocumentCache {
    cache: quick_cache::sync::Cache<String, ExecutableDocument>,
}

impl DocumentCache {
    pub fn new(capacity: usize) -> Self {
        Self { cache: quick_cache::sync::Cache::new(capacity) }
    }

    /// The parsed document (a clone of the cached one when the same text was seen before).
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, parser::Error> {
        if query.len() > MAX_CACHED_LEN {
            return parser::parse_query(query);
        }
        if let Some(document) = self.cache.get(query) {
            return Ok(document);
        }
        let document = parser::parse_query(query)?;
        self.cache.insert(query.to_owned(), document.clone());
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_valid_documents_and_reports_errors() {
        let cache = DocumentCache::new(8);
        let first = cache.parse("{ viewer { plan } }").expect("valid");
        let second = cache.parse("{ viewer { plan } }").expect("valid");
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert_eq!(cache.cache.len(), 1);
        assert!(cache.parse("{ viewer { ").is_err());
        assert_eq!(cache.cache.len(), 1, "failures are not cached");
    }
}
