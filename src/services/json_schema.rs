//! The one way the server compiles a JSON Schema a user supplied (a custom skill's `parameters` and
//! `configSchema`, at registration and again when a stored one is used; any schema accepted later, such as
//! structured-output schemas, must come through here too).
//!
//! The `jsonschema` crate trusts its input: a `$ref` cycle that never consumes part of the instance
//! (`a → b → a`, `{"$ref": "#"}`) recurses without end at validation, non-recursive references are inlined at
//! compile time so a chain of references fanning out costs exponential memory, and remote references would be
//! fetched. So before handing a schema over, [`compile`] checks that it stays within fixed bounds:
//!
//! - its serialized size ([`MAX_SCHEMA_BYTES`]), its JSON nesting ([`MAX_JSON_DEPTH`]), how deep subschemas nest
//!   ([`MAX_SCHEMA_DEPTH`]) and how many there are ([`MAX_SUBSCHEMAS`]);
//! - every `$ref` is a local JSON pointer (`#` or `#/…`) that resolves inside the document; nothing remote
//!   (`http:`, `file:`, `urn:`, relative file names) and no anchors, `$dynamicRef`/`$recursiveRef` or nested `$id`
//!   (they change what a pointer means); at most [`MAX_REFS`] of them;
//! - no reference cycle applies a schema to the *same* instance again: a cycle must pass through a keyword that
//!   moves to a part of the instance (`properties`, `items`, `additionalProperties`, …), since the instance is
//!   finite. A cycle made only of `$ref`, `allOf`/`anyOf`/`oneOf`, `not`, `if`/`then`/`else` or
//!   `dependentSchemas` never ends and is refused; a recursive tree (`node.children.items → node`) is fine;
//! - the schema as the validator expands it (every reference inlined, recursion cut where it goes lazy) has at
//!   most [`MAX_EXPANDED`] subschemas, counted with memoization so the count itself stays linear;
//! - `pattern`s and `patternProperties` keys are at most [`MAX_PATTERN_BYTES`] and run on the linear-time `regex`
//!   engine (never the backtracking one) with a compiled-size limit ([`REGEX_SIZE_LIMIT`]).
//!
//! The validator never fetches anything: the crate's HTTP and file resolvers are compiled out
//! (`default-features = false`) and [`compile`] installs a retriever that refuses every URI besides.
use std::collections::HashMap;

use jsonschema::{PatternOptions, Retrieve, Uri, Validator};
use serde_json::{Map, Value};

use crate::error::{AppError, AppResult};

/// Largest schema, serialized.
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;
/// Deepest JSON nesting anywhere in the document (`enum`/`const`/`default` values included).
pub const MAX_JSON_DEPTH: usize = 64;
/// Deepest nesting of subschemas inside each other (`properties` → a property → its `items` … counts 3).
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Most subschemas in the document (`$defs` included).
pub const MAX_SUBSCHEMAS: usize = 2048;
/// Most `$ref` keywords.
pub const MAX_REFS: usize = 256;
/// Most subschemas once every reference is expanded.
pub const MAX_EXPANDED: u64 = 10_000;
/// Longest `pattern` (and `patternProperties` key), in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// Compiled size limit of one regular expression (the `regex` crate's default is 10 MiB).
pub const REGEX_SIZE_LIMIT: usize = 1024 * 1024;
/// Lazy-DFA cache of one regular expression.
pub const REGEX_DFA_SIZE_LIMIT: usize = 1024 * 1024;

/// Checks `schema` against the bounds above, then compiles it. Every refusal is a `validation_error` on `field`.
pub fn compile(field: &str, schema: &Value) -> AppResult<Validator> {
    check(schema).map_err(|message| AppError::validation(field, message))?;
    jsonschema::options()
        .with_retriever(NoRemote)
        .with_pattern_options(PatternOptions::regex().size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_DFA_SIZE_LIMIT))
        .build(schema)
        .map_err(|err| AppError::validation(field, format!("is not a valid JSON Schema: {err}")))
}

/// Refuses every external resource: a schema is checked to hold only local references, and should one slip
/// through, the server must still never fetch a URL or read a file a user named.
struct NoRemote;

impl Retrieve for NoRemote {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("`{}` is not fetched: only local references (`#/…`) are allowed", uri.as_str()).into())
    }
}

/// How an applicator reaches a subschema.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Applies to the same instance (`$ref`, `allOf`, `not`, `if`, …): a cycle of these never ends.
    InPlace,
    /// Applies to a part of the instance (`properties`, `items`, …): a cycle through one ends with the instance.
    Consuming,
    /// Holds a subschema that is only reached by reference (`$defs`): walked for the checks, never applied.
    Definition,
}

/// A subschema: what it leads to (its location is `Walk::pointers` at the same index).
struct Node {
    edges: Vec<(Edge, usize)>,
}

/// The subschemas of one document, found breadth-first from the root and from every `$ref` target.
struct Walk<'a> {
    root: &'a Value,
    /// Draft 4 spells `$id` as `id`.
    draft4: bool,
    /// Canonical JSON pointer (RFC 6901, `""` for the root) → node index.
    ids: HashMap<String, usize>,
    pointers: Vec<String>,
    nodes: Vec<Node>,
    refs: usize,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The canonical pointer a `$ref` names, or why it is refused.
fn local_pointer(reference: &str) -> Result<String, String> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(format!(
            "`$ref` `{reference}` is not a local reference: only `#` and `#/…` JSON pointers are allowed, nothing is fetched"
        ));
    };
    let decoded = percent_encoding::percent_decode_str(fragment)
        .decode_utf8()
        .map_err(|_| format!("`$ref` `{reference}` is not valid UTF-8 once decoded"))?;
    if decoded.is_empty() {
        return Ok(String::new());
    }
    let Some(rest) = decoded.strip_prefix('/') else {
        return Err(format!("`$ref` `{reference}` must be a JSON pointer (`#/$defs/name`); anchors are not supported"));
    };
    // Re-escaped token by token so that two spellings of one location are one node.
    let mut canonical = String::new();
    for token in rest.split('/') {
        canonical.push('/');
        canonical.push_str(&escape(&token.replace("~1", "/").replace("~0", "~")));
    }
    Ok(canonical)
}

/// Keywords whose value is one subschema.
const SINGLE: &[(&str, Edge)] = &[
    ("not", Edge::InPlace),
    ("if", Edge::InPlace),
    ("then", Edge::InPlace),
    ("else", Edge::InPlace),
    ("additionalItems", Edge::Consuming),
    ("additionalProperties", Edge::Consuming),
    ("contains", Edge::Consuming),
    ("propertyNames", Edge::Consuming),
    ("unevaluatedItems", Edge::Consuming),
    ("unevaluatedProperties", Edge::Consuming),
    ("contentSchema", Edge::Consuming),
];
/// Keywords whose value is an array of subschemas.
const ARRAYS: &[(&str, Edge)] =
    &[("allOf", Edge::InPlace), ("anyOf", Edge::InPlace), ("oneOf", Edge::InPlace), ("prefixItems", Edge::Consuming)];
/// Keywords whose value maps names to subschemas.
const MAPS: &[(&str, Edge)] = &[
    ("dependentSchemas", Edge::InPlace),
    ("properties", Edge::Consuming),
    ("patternProperties", Edge::Consuming),
    ("$defs", Edge::Definition),
    ("definitions", Edge::Definition),
];

impl<'a> Walk<'a> {
    /// The node at `pointer`, explored on first sight (breadth-first through `queue`).
    fn node(&mut self, pointer: String, depth: usize, queue: &mut Vec<(usize, usize)>) -> Result<usize, String> {
        if let Some(&id) = self.ids.get(&pointer) {
            return Ok(id);
        }
        if self.nodes.len() >= MAX_SUBSCHEMAS {
            return Err(format!("has more than {MAX_SUBSCHEMAS} subschemas"));
        }
        if depth > MAX_SCHEMA_DEPTH {
            return Err(format!("nests subschemas more than {MAX_SCHEMA_DEPTH} deep (at `{pointer}`)"));
        }
        let id = self.nodes.len();
        self.ids.insert(pointer.clone(), id);
        self.pointers.push(pointer);
        self.nodes.push(Node { edges: Vec::new() });
        queue.push((id, depth));
        Ok(id)
    }

    fn explore(&mut self, id: usize, depth: usize, queue: &mut Vec<(usize, usize)>) -> Result<(), String> {
        let pointer = self.pointers[id].clone();
        let root = self.root;
        let schema = match root.pointer(&pointer) {
            Some(Value::Object(schema)) => schema,
            Some(Value::Bool(_)) => return Ok(()),
            Some(_) => return Err(format!("`#{pointer}` is not a schema (an object or a boolean)")),
            None => return Err(format!("`$ref` `#{pointer}` does not resolve inside the schema")),
        };
        self.keywords(&pointer, schema)?;
        let mut edges = Vec::new();
        let mut child = |this: &mut Self, edge: Edge, path: String, at: usize| -> Result<(), String> {
            let to = this.node(path, at, queue)?;
            edges.push((edge, to));
            Ok(())
        };
        for &(keyword, edge) in SINGLE {
            if schema.contains_key(keyword) {
                child(self, edge, format!("{pointer}/{}", escape(keyword)), depth + 1)?;
            }
        }
        for &(keyword, edge) in ARRAYS {
            if let Some(Value::Array(items)) = schema.get(keyword) {
                for index in 0..items.len() {
                    child(self, edge, format!("{pointer}/{keyword}/{index}"), depth + 1)?;
                }
            }
        }
        for &(keyword, edge) in MAPS {
            if let Some(Value::Object(map)) = schema.get(keyword) {
                for name in map.keys() {
                    child(self, edge, format!("{pointer}/{}/{}", escape(keyword), escape(name)), depth + 1)?;
                }
            }
        }
        match schema.get("items") {
            Some(Value::Array(items)) => {
                for index in 0..items.len() {
                    child(self, Edge::Consuming, format!("{pointer}/items/{index}"), depth + 1)?;
                }
            }
            Some(_) => child(self, Edge::Consuming, format!("{pointer}/items"), depth + 1)?,
            None => {}
        }
        // Draft 4-7 `dependencies`: a schema applies to the same object; a list of names is no subschema.
        if let Some(Value::Object(map)) = schema.get("dependencies") {
            for (name, value) in map {
                if !value.is_array() {
                    child(self, Edge::InPlace, format!("{pointer}/dependencies/{}", escape(name)), depth + 1)?;
                }
            }
        }
        if let Some(reference) = schema.get("$ref") {
            let Some(reference) = reference.as_str() else {
                return Err(format!("`$ref` at `#{pointer}` must be a string"));
            };
            self.refs += 1;
            if self.refs > MAX_REFS {
                return Err(format!("has more than {MAX_REFS} `$ref`s"));
            }
            let target = local_pointer(reference)?;
            if self.root.pointer(&target).is_none() {
                return Err(format!("`$ref` `{reference}` does not resolve inside the schema"));
            }
            // A reference does not nest: the depth bound is on how subschemas sit inside each other (a target
            // outside the structure, such as inside an `enum`, is still bounded by `MAX_JSON_DEPTH`).
            child(self, Edge::InPlace, target, 0)?;
        }
        self.nodes[id].edges = edges;
        Ok(())
    }

    /// The keywords that would make a pointer mean something else, or reach outside, or backtrack.
    fn keywords(&self, pointer: &str, schema: &Map<String, Value>) -> Result<(), String> {
        for keyword in ["$dynamicRef", "$recursiveRef"] {
            if schema.contains_key(keyword) {
                return Err(format!("`{keyword}` (at `#{pointer}`) is not supported: use `$ref` with a `#/…` pointer"));
            }
        }
        // A nested `$id` starts a new resource: `#/…` under it would point into that resource, not the document.
        let nested_id = schema.contains_key("$id") || (self.draft4 && schema.get("id").is_some_and(Value::is_string));
        if !pointer.is_empty() && nested_id {
            return Err(format!("`$id` is only allowed at the root (found at `#{pointer}`)"));
        }
        let long = |pattern: &str| pattern.len() > MAX_PATTERN_BYTES;
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && long(pattern)
        {
            return Err(format!("`pattern` at `#{pointer}` is longer than {MAX_PATTERN_BYTES} bytes"));
        }
        if let Some(Value::Object(patterns)) = schema.get("patternProperties")
            && patterns.keys().any(|pattern| long(pattern))
        {
            return Err(format!(
                "a `patternProperties` pattern at `#{pointer}` is longer than {MAX_PATTERN_BYTES} bytes"
            ));
        }
        Ok(())
    }
}

/// JSON nesting of `value`, stopping as soon as it passes `limit`.
fn too_deep(value: &Value, limit: usize) -> bool {
    if limit == 0 {
        return matches!(value, Value::Array(a) if !a.is_empty()) || matches!(value, Value::Object(o) if !o.is_empty());
    }
    match value {
        Value::Array(items) => items.iter().any(|v| too_deep(v, limit - 1)),
        Value::Object(map) => map.values().any(|v| too_deep(v, limit - 1)),
        _ => false,
    }
}

/// Refuses a cycle of in-place edges, naming the references it runs through.
fn in_place_cycle(walk: &Walk) -> Result<(), String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; walk.nodes.len()];
    for start in 0..walk.nodes.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, next edge to follow); `path` is the open chain.
        let mut stack = vec![(start, 0usize)];
        marks[start] = Mark::Open;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&(edge, to)) = walk.nodes[node].edges.get(next) else {
                marks[node] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            if edge != Edge::InPlace {
                continue;
            }
            match marks[to] {
                Mark::New => {
                    marks[to] = Mark::Open;
                    stack.push((to, 0));
                }
                Mark::Open => {
                    let from = stack.iter().position(|&(n, _)| n == to).unwrap_or(0);
                    let chain: Vec<String> = stack[from..]
                        .iter()
                        .map(|&(n, _)| format!("#{}", walk.pointers[n]))
                        .chain([format!("#{}", walk.pointers[to])])
                        .collect();
                    return Err(format!(
                        "has a reference cycle that never moves into the instance ({}): validating it would never end; \
                         recursion must go through `properties`, `items` or another keyword that descends into the instance",
                        chain.join(" → ")
                    ));
                }
                Mark::Done => {}
            }
        }
    }
    Ok(())
}

/// How many subschemas the validator builds from the root: references are inlined, except where recursion makes
/// it go lazy (an edge back to a node being expanded counts one). Memoized, so linear in the graph.
fn expanded_size(walk: &Walk) -> Result<(), String> {
    let mut size: Vec<Option<u64>> = vec![None; walk.nodes.len()];
    let mut open = vec![false; walk.nodes.len()];
    let mut stack = vec![(0usize, 0usize, 1u64)];
    open[0] = true;
    while let Some(top) = stack.last_mut() {
        let (node, next, total) = *top;
        match walk.nodes[node].edges.get(next) {
            Some(&(edge, to)) => {
                top.1 += 1;
                if edge == Edge::Definition {
                    continue;
                }
                if let Some(known) = size[to] {
                    top.2 = total.saturating_add(known);
                } else if open[to] {
                    top.2 = total.saturating_add(1);
                } else {
                    open[to] = true;
                    stack.push((to, 0, 1));
                }
            }
            None => {
                if total > MAX_EXPANDED {
                    return Err(format!(
                        "expands to more than {MAX_EXPANDED} subschemas once its `$ref`s are resolved (at `#{}`)",
                        walk.pointers[node]
                    ));
                }
                size[node] = Some(total);
                open[node] = false;
                stack.pop();
                if let Some(parent) = stack.last_mut() {
                    parent.2 = parent.2.saturating_add(total);
                }
            }
        }
    }
    Ok(())
}

/// The bounds of the module documentation; the message says which one `schema` breaks.
fn check(schema: &Value) -> Result<(), String> {
    let size = serde_json::to_vec(schema).map_or(usize::MAX, |bytes| bytes.len());
    if size > MAX_SCHEMA_BYTES {
        return Err(format!("must be at most {} KiB", MAX_SCHEMA_BYTES / 1024));
    }
    if too_deep(schema, MAX_JSON_DEPTH) {
        return Err(format!("nests JSON more than {MAX_JSON_DEPTH} levels deep"));
    }
    let draft4 =
        schema.get("$schema").and_then(Value::as_str).is_some_and(|s| s.contains("draft-04") || s.contains("draft-03"));
    let mut walk = Walk { root: schema, draft4, ids: HashMap::new(), pointers: Vec::new(), nodes: Vec::new(), refs: 0 };
    let mut queue = Vec::new();
    walk.node(String::new(), 0, &mut queue)?;
    let mut next = 0;
    while let Some(&(id, depth)) = queue.get(next) {
        next += 1;
        walk.explore(id, depth, &mut queue)?;
    }
    in_place_cycle(&walk)?;
    expanded_size(&walk)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn refused(schema: Value) -> String {
        match compile("parameters", &schema) {
            Err(AppError::Validation { field, message }) => {
                assert_eq!(field, "parameters");
                message
            }
            Err(other) => panic!("expected a validation error, got {other:?}"),
            Ok(_) => panic!("accepted {schema}"),
        }
    }

    fn accepted(schema: Value) -> Validator {
        match compile("parameters", &schema) {
            Ok(validator) => validator,
            Err(err) => panic!("refused {schema}: {err}"),
        }
    }

    #[test]
    fn refuses_a_two_step_reference_cycle() {
        let message = refused(
            json!({"type":"object","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}),
        );
        assert!(
            message.contains("cycle") && message.contains("#/$defs/a") && message.contains("#/$defs/b"),
            "{message}"
        );
        // Through combinators it is the same loop.
        let message = refused(json!({"type":"object","$defs":{"a":{"allOf":[{"$ref":"#/$defs/b"}]},
                                     "b":{"anyOf":[{"not":{"$ref":"#/$defs/a"}}]}}, "properties":{"x":{"$ref":"#/$defs/a"}}}));
        assert!(message.contains("cycle"), "{message}");
        let message = refused(json!({"type":"object","if":{"$ref":"#"}}));
        assert!(message.contains("cycle"), "{message}");
    }

    #[test]
    fn refuses_self_reference_to_the_root() {
        assert!(refused(json!({"$ref":"#"})).contains("cycle"));
        assert!(refused(json!({"type":"object","allOf":[{"$ref":"#"}]})).contains("cycle"));
        // Two spellings of one location are one node.
        assert!(
            refused(json!({"type":"object","$defs":{"a b":{"$ref":"#/$defs/a%20b"}},"$ref":"#/$defs/a b"}))
                .contains("cycle")
        );
    }

    #[test]
    fn accepts_recursion_through_the_instance() {
        let tree = accepted(json!({"type":"object","$ref":"#/$defs/node","$defs":{"node":{"type":"object",
            "required":["name"],"properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}}}}}));
        assert!(tree.is_valid(&json!({"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]})));
        assert!(!tree.is_valid(&json!({"name":"a","children":[{"children":[]}]})));
        let linked = accepted(json!({"type":"object","properties":{"next":{"$ref":"#"}}}));
        assert!(linked.is_valid(&json!({"next":{"next":{}}})));
        accepted(json!({"type":"object","additionalProperties":{"$ref":"#"}}));
    }

    #[test]
    fn refuses_unresolvable_and_remote_references() {
        assert!(refused(json!({"type":"object","$ref":"#/$defs/missing"})).contains("does not resolve"));
        assert!(
            refused(json!({"type":"object","properties":{"a":{"$ref":"#/properties/b"}}})).contains("does not resolve")
        );
        for remote in [
            "http://127.0.0.1:9/schema.json",
            "https://example.com/s#/a",
            "file:///etc/passwd",
            "urn:x:y",
            "other.json#/a",
        ] {
            let message = refused(json!({"type":"object","properties":{"a":{"$ref":remote}}}));
            assert!(message.contains("not a local reference"), "{remote}: {message}");
        }
        assert!(
            refused(json!({"type":"object","$ref":"#anchor","$defs":{"a":{"$anchor":"anchor"}}}))
                .contains("JSON pointer")
        );
        assert!(refused(json!({"type":"object","$dynamicRef":"#"})).contains("not supported"));
        // A nested `$id` would make `#/…` point into a remote resource.
        assert!(
            refused(json!({"type":"object","properties":{"a":{"$id":"http://example.com/x","$ref":"#/b"}}}))
                .contains("$id")
        );
    }

    /// A `$schema` the crate does not know makes it look the meta-schema up: the retriever refuses, and nothing
    /// connects to the listener it names.
    #[test]
    fn never_fetches_anything() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}/meta.json", listener.local_addr().expect("an address"));
        refused(json!({"$schema": url, "type":"object"}));
        assert_eq!(
            listener.accept().map(|_| ()).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::WouldBlock),
            "no connection"
        );
    }

    #[test]
    fn refuses_too_big_and_too_deep() {
        let big = json!({"type":"object","description":"x".repeat(MAX_SCHEMA_BYTES)});
        assert!(refused(big).contains("32 KiB"));
        let mut deep = json!({"type":"string"});
        for _ in 0..MAX_SCHEMA_DEPTH + 1 {
            deep = json!({"type":"array","items":deep});
        }
        assert!(refused(deep).contains("deep"));
        let mut nested = json!(1);
        for _ in 0..MAX_JSON_DEPTH + 1 {
            nested = json!([nested]);
        }
        assert!(refused(json!({"type":"object","const":nested})).contains("deep"));
        let many: Map<String, Value> = (0..MAX_SUBSCHEMAS + 1).map(|i| (format!("{i}"), json!(true))).collect();
        assert!(refused(json!({"type":"object","properties":many})).contains("subschemas"));
        // Just inside the depth bound is fine.
        let mut ok = json!({"type":"string"});
        for _ in 0..MAX_SCHEMA_DEPTH - 1 {
            ok = json!({"type":"array","items":ok});
        }
        accepted(ok);
    }

    #[test]
    fn refuses_exponential_reference_fan_out() {
        // d0 = [d1, d1], d1 = [d2, d2] …: 30 definitions, 2^30 subschemas once inlined.
        let mut defs = Map::new();
        for i in 0..30 {
            let next = format!("#/$defs/d{}", i + 1);
            defs.insert(format!("d{i}"), json!({"allOf":[{"$ref":next},{"$ref":next}]}));
        }
        defs.insert("d30".into(), json!({"type":"string"}));
        let started = Instant::now();
        let message = refused(json!({"type":"object","$defs":defs,"properties":{"x":{"$ref":"#/$defs/d0"}}}));
        assert!(message.contains("expands"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(1), "the count itself is linear");
        // A short chain is fine.
        accepted(
            json!({"type":"object","$defs":{"a":{"type":"string"},"b":{"allOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}]}},
                        "properties":{"x":{"$ref":"#/$defs/b"},"y":{"$ref":"#/$defs/b"}}}),
        );
    }

    #[test]
    fn patterns_run_in_linear_time_and_are_bounded() {
        let validator = accepted(json!({"type":"object","properties":{"s":{"type":"string","pattern":"^(a+)+$"}},
                                        "patternProperties":{"^(x+x+)+y$":{"type":"integer"}}}));
        let hostile = format!("{}!", "a".repeat(100_000));
        let key = format!("{}z", "x".repeat(100_000));
        // On a backtracking engine these take longer than the age of the universe; linear they take milliseconds.
        let (done, answer) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let verdict = validator.is_valid(&json!({"s": hostile, key: "not an integer"}));
            let _ = done.send(verdict);
        });
        let verdict = answer.recv_timeout(Duration::from_secs(5)).expect("validation finishes in bounded time");
        assert!(!verdict);
        assert!(refused(json!({"type":"string","pattern":"a".repeat(MAX_PATTERN_BYTES + 1)})).contains("longer"));
        // Short but huge once compiled: refused by the size limit rather than built.
        assert!(refused(json!({"type":"string","pattern":"((a{100}){100}){100}"})).contains("not a valid JSON Schema"));
        accepted(json!({"type":"string","pattern":"(a{100}){10}"}));
        // The crate passes backreferences and look-around through to the engine; the backtracking one would take
        // them (and backtrack), the linear one cannot express them.
        assert!(refused(json!({"type":"string","pattern":"^(a+)+\\1$"})).contains("not a valid JSON Schema"));
        assert!(refused(json!({"type":"string","pattern":"^(?=(a+)+b)"})).contains("not a valid JSON Schema"));
    }

    /// The catalog's install schemas go through the same path at install time: they must all pass.
    #[test]
    fn every_catalog_config_schema_passes() {
        let catalog: Vec<Value> =
            serde_json::from_str(include_str!("../../migration/src/catalog.json")).expect("catalog");
        let mut seen = 0;
        for skill in &catalog {
            for (version, schema) in skill["versions"].as_object().expect("versions") {
                compile("configSchema", schema).unwrap_or_else(|err| panic!("{} {version}: {err}", skill["id"]));
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen}");
    }

    #[test]
    fn ordinary_schemas_compile_and_validate() {
        let validator = accepted(json!({"type":"object","required":["city"],"additionalProperties":false,
            "properties":{"city":{"type":"string","minLength":1,"pattern":"^[A-Z]"},"days":{"type":"integer","maximum":7}}}));
        assert!(validator.is_valid(&json!({"city":"Lyon","days":3})));
        assert!(!validator.is_valid(&json!({"city":"lyon"})));
        accepted(json!({"$schema":"http://json-schema.org/draft-07/schema#","$id":"https://example.com/root.json",
            "type":"object","definitions":{"p":{"type":"number"}},"properties":{"p":{"$ref":"#/definitions/p"}},
            "dependencies":{"p":["q"]}}));
    }
}

#[cfg(test)]
mod fuzz {
    use serde_json::json;

    use super::*;

    #[test]
    fn fuzz_json_schemas() {
        const VOCABULARY: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "\"$ref\"",
            "\"#\"",
            "\"#/$defs/a\"",
            "\"#/$defs/b\"",
            "\"$defs\"",
            "\"a\"",
            "\"b\"",
            "\"type\"",
            "\"object\"",
            "\"properties\"",
            "\"items\"",
            "\"allOf\"",
            "\"anyOf\"",
            "\"not\"",
            "\"pattern\"",
            "\"(a+)+$\"",
            "\"required\"",
            "\"$id\"",
            "\"http://x/\"",
            "true",
            "1",
        ];
        let instances =
            [json!({}), json!({"a": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}), json!([1, [2, [3]]]), json!("x")];
        crate::fuzz::run("json_schemas", VOCABULARY, |input| {
            let Ok(schema) = serde_json::from_slice::<Value>(input) else { return };
            if let Ok(validator) = compile("parameters", &schema) {
                for instance in &instances {
                    let _ = validator.is_valid(instance);
                }
            }
        });
    }
}
