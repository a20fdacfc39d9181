//! Bounds on a GraphQL document, enforced before work is spent on it.
//!
//! The parser (pest) and async-graphql's validation both recurse, and validation expands fragment spreads without
//! memoising them. A few kilobytes can therefore overflow a worker's stack (a list literal nested 2,000 deep) or hold
//! a worker for minutes (fragments that each spread the next one twice: 2^28 fields from 1 KB). So every path that
//! parses a document (HTTP POST/GET, multipart, batches, SSE, both WebSocket protocols, REST rows) goes through two
//! checks, both linear in the document:
//! - [`check_text`], before parsing: size, token count and bracket nesting, found by a lexical scan that understands
//!   strings, block strings and comments (so brackets inside them do not count);
//! - [`check_document`], right after parsing: the number of fields once every fragment is expanded (memoised per
//!   fragment, so 2^28 is computed, not walked), fragment cycles, and the depth of fragment-spread chains.
use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The limits, from configuration (`OPENCLAW_GRAPHQL_MAX_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentLimits {
    /// Longest document, in bytes.
    pub max_bytes: usize,
    /// Most lexical tokens (names, punctuators, values; whitespace, commas and comments are free).
    pub max_tokens: usize,
    /// Deepest nesting of `{`, `[` and `(` — selection sets, arguments, list and object values alike — and of
    /// selection sets plus fragment spreads once fragments are expanded.
    pub max_nesting: usize,
    /// Most fields in the operations and fragment definitions, with every fragment spread expanded (aliases count
    /// as the fields they are).
    pub max_fields: usize,
}

impl DocumentLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_bytes: config.graphql_max_document_bytes,
            max_tokens: config.graphql_max_tokens,
            max_nesting: config.graphql_max_nesting,
            max_fields: config.graphql_max_fields,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("the document is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: usize, limit: usize },
    #[error("the document has more than {limit} tokens")]
    TooManyTokens { limit: usize },
    #[error("the document nests brackets, selection sets or fragment spreads more than {limit} deep")]
    TooDeep { limit: usize },
    #[error("the document selects more than {limit} fields once its fragments are expanded")]
    TooManyFields { limit: usize },
    #[error("fragment \"{0}\" spreads itself")]
    FragmentCycle(String),
    /// A literal number out of the range the store can hold (see [`MAX_NUMBER`]).
    #[error("{0}")]
    Number(String),
}

impl LimitExceeded {
    /// The error code clients see (`extensions.code`, and the REST `code`); all are 400s.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } | Self::TooManyTokens { .. } | Self::TooManyFields { .. } => "query_too_large",
            Self::TooDeep { .. } => "query_too_deep",
            Self::FragmentCycle(_) => "graphql_validation_error",
            Self::Number(_) => "validation_error",
        }
    }

    /// As a GraphQL error of the request (no location: it is about the whole document).
    pub fn to_server_error(&self) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(self.to_string(), None);
        error.extensions.get_or_insert_with(Default::default).set("code", self.code());
        error
    }
}

/// Bytes that continue a name (or the digits and exponent of a number).
fn is_name(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Where the name or number starting at `start` ends. A number also takes `-`, `+` and a `.` followed by a digit
/// (`-1.5e+3`), never a spread's `...`, so `a...F...F` is five tokens, not one.
fn word_end(bytes: &[u8], start: usize) -> usize {
    let number = bytes[start].is_ascii_digit() || bytes[start] == b'-';
    let mut i = start + 1;
    while i < bytes.len() {
        let byte = bytes[i];
        let continues = is_name(byte)
            || (number && matches!(byte, b'-' | b'+'))
            || (number && byte == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !continues {
            break;
        }
        i += 1;
    }
    i
}

/// Size, tokens and nesting of the document's text, before it is parsed. Malformed text (an unterminated string)
/// is not judged here: the parser reports it, and this scan has already bounded what the parser will see.
pub fn check_text(query: &str, limits: &DocumentLimits) -> Result<(), LimitExceeded> {
    if query.len() > limits.max_bytes {
        return Err(LimitExceeded::TooLarge { size: query.len(), limit: limits.max_bytes });
    }
    let bytes = query.as_bytes();
    let (mut i, mut depth, mut tokens) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(LimitExceeded::TooDeep { limit: limits.max_nesting });
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            byte if is_name(byte) || byte == b'-' => i = word_end(bytes, i),
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(LimitExceeded::TooManyTokens { limit: limits.max_tokens });
        }
    }
    Ok(())
}

/// The largest magnitude a number in the variables may have. PostgreSQL keeps JSON numbers as exact decimals and
/// prints them back in full; a float next to `f64::MAX` then rounds past it when read, and the row could not be read
/// again (`number out of range`). Far beyond any real quantity, so refusing it costs no one.
pub const MAX_NUMBER: f64 = 1e300;

/// Refuses variables holding a number whose magnitude exceeds [`MAX_NUMBER`] (or that is not finite).
pub fn check_numbers(value: &async_graphql::Value) -> Result<(), String> {
    use async_graphql::Value;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.is_finite() && f.abs() <= MAX_NUMBER => Ok(()),
            _ => Err(format!("numbers must be within ±{MAX_NUMBER:e}; got {n}")),
        },
        Value::List(items) => items.iter().try_for_each(check_numbers),
        Value::Object(map) => map.values().try_for_each(check_numbers),
        _ => Ok(()),
    }
}

/// Fields of a parsed document with its fragments expanded; refuses cycles, long spread chains and too many
/// fields. Returns the number of fields the largest operation selects (what the one that runs can resolve at most,
/// once per list item; only one runs, and which one is not known here), for the operation's price.
pub fn check_document(document: &ExecutableDocument, limits: &DocumentLimits) -> Result<usize, LimitExceeded> {
    let mut counter = Counter { document, limits, memo: HashMap::new(), spreading: HashSet::new(), total: 0 };
    let mut in_operations = 0usize;
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                check_numbers(&default.node).map_err(LimitExceeded::Number)?;
            }
        }
        let (fields, _) = counter.selection_set(&operation.node.selection_set.node, 1)?;
        in_operations = in_operations.max(fields);
        counter.add(fields)?;
    }
    // Validation also walks every fragment definition on its own, used or not.
    for name in document.fragments.keys() {
        let (fields, _) = counter.fragment(name.as_str(), 1)?;
        counter.add(fields)?;
    }
    Ok(in_operations)
}

/// A selection set expanded: its fields, and its height (1 + the deepest nesting below it).
type Expanded = (usize, usize);

struct Counter<'a> {
    document: &'a ExecutableDocument,
    limits: &'a DocumentLimits,
    /// The fragments expanded so far. A fragment's height is kept with its fields, so a memoised fragment spread
    /// deep inside another one is still judged at the depth where it lands.
    memo: HashMap<&'a str, Expanded>,
    /// Fragments being expanded (a spread of one of them is a cycle).
    spreading: HashSet<&'a str>,
    total: usize,
}

impl<'a> Counter<'a> {
    fn add(&mut self, fields: usize) -> Result<(), LimitExceeded> {
        self.total = self.total.saturating_add(fields);
        self.check_fields(self.total)
    }

    fn check_fields(&self, fields: usize) -> Result<(), LimitExceeded> {
        if fields > self.limits.max_fields {
            return Err(LimitExceeded::TooManyFields { limit: self.limits.max_fields });
        }
        Ok(())
    }

    /// `depth`: the nesting of this selection set (the operation's own is 1).
    fn check_depth(&self, deepest: usize) -> Result<(), LimitExceeded> {
        if deepest > self.limits.max_nesting {
            return Err(LimitExceeded::TooDeep { limit: self.limits.max_nesting });
        }
        Ok(())
    }

    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<Expanded, LimitExceeded> {
        self.check_depth(depth)?;
        let (mut fields, mut height) = (0usize, 1usize);
        for selection in &set.items {
            let (more, below) = match &selection.node {
                Selection::Field(field) => {
                    // Literal arguments are held to the same number range as variables (variables read as null
                    // here; they are checked on their own).
                    for (_, argument) in &field.node.arguments {
                        let literal =
                            argument.node.clone().into_const_with(|_| Ok::<_, ()>(async_graphql::Value::Null));
                        if let Ok(literal) = literal {
                            check_numbers(&literal).map_err(LimitExceeded::Number)?;
                        }
                    }
                    let (inner, below) = self.selection_set(&field.node.selection_set.node, depth + 1)?;
                    (inner.saturating_add(1), below)
                }
                Selection::InlineFragment(inline) => self.selection_set(&inline.node.selection_set.node, depth + 1)?,
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), depth + 1)?
                }
            };
            fields = fields.saturating_add(more);
            height = height.max(below.saturating_add(1));
            self.check_fields(fields)?;
        }
        Ok((fields, height))
    }

    /// A fragment expanded where it is spread, at `depth`.
    fn fragment(&mut self, name: &'a str, depth: usize) -> Result<Expanded, LimitExceeded> {
        if let Some(&(fields, height)) = self.memo.get(name) {
            self.check_depth(depth.saturating_add(height) - 1)?;
            return Ok((fields, height));
        }
        // An unknown fragment is validation's to report; it adds nothing here.
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else { return Ok((0, 1)) };
        let name = key.as_str();
        if !self.spreading.insert(name) {
            return Err(LimitExceeded::FragmentCycle(name.to_owned()));
        }
        let expanded = self.selection_set(&definition.node.selection_set.node, depth)?;
        self.spreading.remove(name);
        self.memo.insert(name, expanded);
        Ok(expanded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits =
        DocumentLimits { max_bytes: 100_000, max_tokens: 15_000, max_nesting: 64, max_fields: 2_000 };

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("valid document")
    }

    #[test]
    fn nesting_counts_every_bracket_but_not_inside_strings_or_comments() {
        let deep = format!("{{ viewer(x: {}1{}) {{ plan }} }}", "[".repeat(2000), "]".repeat(2000));
        assert_eq!(check_text(&deep, &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
        let objects = format!("{{ viewer(x: {}) }}", "{a: ".repeat(100) + &"}".repeat(100));
        assert_eq!(check_text(&objects, &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
        let default = format!("query($v: [[Int]] = {}) {{ viewer {{ plan }} }}", "[".repeat(500));
        assert_eq!(check_text(&default, &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
        let quoted = format!("{{ a(s: \"{0}\", b: \"\"\"{0}\\\"\"\"{0}\"\"\") # {0}\n {{ b }} }}", "[".repeat(1000));
        assert_eq!(check_text(&quoted, &LIMITS), Ok(()));
        let fine = format!("{}{}", "{ a ".repeat(64), "}".repeat(64));
        assert_eq!(check_text(&fine, &LIMITS), Ok(()));
        let deeper = format!("{}{}", "{ a ".repeat(65), "}".repeat(65));
        assert_eq!(check_text(&deeper, &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
    }

    #[test]
    fn numbers_postgres_could_not_read_back_are_refused() {
        let value = |json: serde_json::Value| async_graphql::Value::from_json(json).expect("a value");
        assert!(check_numbers(&value(serde_json::json!({"a": [1.5, -1e300, 7, u64::MAX]}))).is_ok());
        assert!(check_numbers(&value(serde_json::json!({"a": {"b": [f64::MIN]}}))).is_err());
        assert!(check_numbers(&value(serde_json::json!(1.7e308))).is_err());
        let literal = parse("{ viewer(x: {a: [1, -1.7976931348623157e308]}) { plan } }");
        assert!(matches!(check_document(&literal, &LIMITS), Err(LimitExceeded::Number(_))));
        let default = parse("query($v: Float = 1.7e308) { viewer { plan } }");
        assert!(matches!(check_document(&default, &LIMITS), Err(LimitExceeded::Number(_))));
        assert!(check_document(&parse("{ viewer(x: [1.5, 1e300, $v]) { plan } }"), &LIMITS).is_ok());
    }

    #[test]
    fn size_and_tokens() {
        let big = "x".repeat(100_001);
        assert!(matches!(check_text(&big, &LIMITS), Err(LimitExceeded::TooLarge { size: 100_001, .. })));
        let many = format!("{{ {} }}", "a ".repeat(15_000));
        assert_eq!(check_text(&many, &LIMITS), Err(LimitExceeded::TooManyTokens { limit: 15_000 }));
        let spreads = format!("{{ a{} }}", "...F".repeat(8_000));
        assert_eq!(
            check_text(&spreads, &LIMITS),
            Err(LimitExceeded::TooManyTokens { limit: 15_000 }),
            "spreads are tokens"
        );
        let commas_are_free = format!("{{ a{} }}", ",".repeat(50_000));
        assert_eq!(check_text(&commas_are_free, &LIMITS), Ok(()));
        // Multi-byte text and unterminated strings end the scan without a panic.
        for odd in ["{ a(s: \"é\\", "\"\"\"", "{ é ü }", "\\", "#", "..", "\"\\"] {
            let _ = check_text(odd, &LIMITS);
        }
    }

    #[test]
    fn fragments_are_counted_expanded_and_memoised() {
        // Each fragment spreads the next twice: 2^28 fields from about a kilobyte.
        let mut query = String::from("query { ...F0 }\n");
        for i in 0..28 {
            query.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1));
        }
        query.push_str("fragment F28 on Query { viewer { plan } }\n");
        let started = std::time::Instant::now();
        assert_eq!(check_document(&parse(&query), &LIMITS), Err(LimitExceeded::TooManyFields { limit: 2_000 }));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "memoised, not walked");

        let aliases: String = (0..2_001).map(|i| format!("a{i}: __typename ")).collect();
        assert_eq!(
            check_document(&parse(&format!("{{ {aliases} }}")), &LIMITS),
            Err(LimitExceeded::TooManyFields { limit: 2_000 })
        );
        assert_eq!(check_document(&parse("{ viewer { plan account { id } } }"), &LIMITS), Ok(4));
        let with_fragment = "{ viewer { ...V } a: viewer { ...V } } fragment V on Viewer { plan }";
        assert_eq!(check_document(&parse(with_fragment), &LIMITS), Ok(4));
    }

    #[test]
    fn cycles_and_long_spread_chains() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(matches!(check_document(&parse(cycle), &LIMITS), Err(LimitExceeded::FragmentCycle(_))));
        let mut chain = String::from("{ ...F0 }\n");
        for i in 0..100 {
            chain.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        chain.push_str("fragment F100 on Query { __typename }");
        assert_eq!(check_document(&parse(&chain), &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
        // Memoised fragments still count their height where they land: B (40 deep) is expanded first on its own,
        // then spread 40 deep inside A.
        let nest = |n: usize, inner: &str| format!("{}{inner}{}", "a { ".repeat(n), "} ".repeat(n));
        let stacked = format!(
            "{{ b: viewer {{ ...B }} ...A }} fragment B on Query {{ {} }} fragment A on Query {{ {} }}",
            nest(40, "x"),
            nest(40, "...B")
        );
        assert_eq!(check_document(&parse(&stacked), &LIMITS), Err(LimitExceeded::TooDeep { limit: 64 }));
    }

    #[test]
    fn the_standard_introspection_query_fits() {
        let query = include_str!("../../tests/fuzz/graphql_documents/introspection.graphql");
        assert_eq!(check_text(query, &LIMITS), Ok(()));
        let fields = check_document(&parse(query), &LIMITS).expect("fits");
        assert!(fields > 100 && fields < 1_000, "{fields}");
    }
}
