//! Parsed GraphQL documents, cached by their text. Clients send the same few documents over and over, and
//! parsing is the costliest step before execution (about 7% of all CPU under the load benchmark).
//! Every document is held to the [`DocumentLimits`] before it is parsed and right after; only documents within
//! them are cached.
use async_graphql::parser::{self, types::ExecutableDocument};

use super::document_limits::{DocumentLimits, LimitExceeded, check_document, check_text};

/// Why a document cannot run.
#[derive(Debug)]
pub enum DocumentError {
    Syntax(parser::Error),
    Limit(LimitExceeded),
}

impl DocumentError {
    /// As the response to the request.
    pub fn into_response(self) -> async_graphql::Response {
        match self {
            Self::Syntax(err) => super::errors::parse_error(err),
            Self::Limit(limit) => async_graphql::Response::from_errors(vec![limit.to_server_error()]),
        }
    }
}

/// Documents longer than this are parsed every time rather than pinned in memory.
const MAX_CACHED_LEN: usize = 16 * 1024;

pub struct DocumentCache {
    cache: quick_cache::sync::Cache<String, ExecutableDocument>,
    limits: DocumentLimits,
}

impl DocumentCache {
    pub fn new(capacity: usize, limits: DocumentLimits) -> Self {
        Self { cache: quick_cache::sync::Cache::new(capacity), limits }
    }

    /// The parsed document (a clone of the cached one when the same text was seen before).
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, DocumentError> {
        if query.len() <= MAX_CACHED_LEN
            && let Some(document) = self.cache.get(query)
        {
            return Ok(document);
        }
        check_text(query, &self.limits).map_err(DocumentError::Limit)?;
        let document = parser::parse_query(query).map_err(DocumentError::Syntax)?;
        check_document(&document, &self.limits).map_err(DocumentError::Limit)?;
        if query.len() <= MAX_CACHED_LEN {
            self.cache.insert(query.to_owned(), document.clone());
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits =
        DocumentLimits { max_bytes: 100_000, max_tokens: 15_000, max_nesting: 64, max_fields: 2_000 };

    #[test]
    fn caches_valid_documents_and_reports_errors() {
        let cache = DocumentCache::new(8, LIMITS);
        let first = cache.parse("{ viewer { plan } }").expect("valid");
        let second = cache.parse("{ viewer { plan } }").expect("valid");
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert_eq!(cache.cache.len(), 1);
        assert!(matches!(cache.parse("{ viewer { "), Err(DocumentError::Syntax(_))));
        let deep = format!("{{ viewer(x: {}) }}", "[".repeat(3000));
        assert!(matches!(cache.parse(&deep), Err(DocumentError::Limit(LimitExceeded::TooDeep { .. }))));
        assert_eq!(cache.cache.len(), 1, "failures are not cached");
    }

    #[test]
    fn fuzz_graphql_documents() {
        const VOCABULARY: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            " ",
            "\n",
            ",",
            "...",
            "\"",
            "\"\"\"",
            "\\",
            "#",
            ":",
            "$",
            "@",
            "!",
            "=",
            "|",
            "&",
            "viewer",
            "plan",
            "query",
            "mutation",
            "subscription",
            "fragment ",
            "F",
            " on ",
            "Query",
            "1",
            "-1.5e3",
            "true",
            "null",
            "é",
            "__typename",
            "a: ",
            "...F",
            "$v: [[Int]] = ",
        ];
        let cache = DocumentCache::new(16, LIMITS);
        let tight = DocumentCache::new(
            16,
            DocumentLimits { max_bytes: 4096, max_tokens: 400, max_nesting: 12, max_fields: 60 },
        );
        crate::fuzz::run("graphql_documents", VOCABULARY, |input| {
            let Ok(text) = std::str::from_utf8(input) else { return };
            for (cache, limits) in [(&cache, LIMITS), (&tight, tight.limits)] {
                if let Ok(document) = cache.parse(text) {
                    let fields = check_document(&document, &limits).expect("a cached document is within the limits");
                    assert!(fields <= limits.max_fields);
                }
            }
        });
    }
}
