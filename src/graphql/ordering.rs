//! Puts response fields in the order the query selected them. async-graphql resolves sibling fields
//! concurrently and collects them as they finish, so a field backed by a dataloader lands last; the GraphQL
//! spec (7.2.1 Serialization) asks for selection order, and REST clients see the SPEC's field order.
use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, Value,
    indexmap::IndexMap,
    parser::types::{DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Fragment spreads deeper than this are not followed (validation already rejects cycles).
const MAX_SPREAD_DEPTH: usize = 32;

/// Reorders `data` (the response's `data`) after the selected operation of `document`.
pub fn order_response(data: &mut Value, document: &ExecutableDocument, operation_name: Option<&str>) {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    if let Some(operation) = operation {
        reorder(data, &[&operation.node.selection_set.node], &document.fragments);
    }
}

fn reorder(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| reorder(item, sets, fragments)),
        Value::Object(map) => {
            let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
            for set in sets {
                collect(set, fragments, &mut keys, 0);
            }
            let mut old = std::mem::take(map);
            let mut ordered = IndexMap::with_capacity(old.len());
            for (key, children) in keys {
                if let Some(mut child) = old.shift_remove(&key) {
                    if !children.is_empty() {
                        reorder(&mut child, &children, fragments);
                    }
                    ordered.insert(key, child);
                }
            }
            // Anything not selected (should not happen) keeps its place at the end rather than vanishing.
            ordered.extend(old);
            *map = ordered;
        }
        _ => {}
    }
}

/// Response keys of a selection set in order of first appearance, with every sub-selection merged per key.
fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                let key = field.alias.as_ref().unwrap_or(&field.name).node.clone();
                let sub = &field.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key, if sub.items.is_empty() { vec![] } else { vec![sub] })),
                }
            }
            Selection::FragmentSpread(spread) if depth < MAX_SPREAD_DEPTH => {
                if let Some(fragment) = fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, fragments, keys, depth + 1);
                }
            }
            Selection::InlineFragment(inline) if depth < MAX_SPREAD_DEPTH => {
                collect(&inline.node.selection_set.node, fragments, keys, depth + 1);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_selection_order_through_fragments_aliases_and_lists() {
        let document =
            async_graphql::parser::parse_query("query { page { items { ...F c: z } total } } fragment F on T { b a }")
                .expect("valid");
        let mut data = Value::from_json(serde_json::json!({
            "page": {"total": 1, "items": [{"c": 3, "a": 2, "b": 1}, {"a": 5, "c": 6, "b": 4}]}
        }))
        .expect("json");
        order_response(&mut data, &document, None);
        let json = serde_json::to_string(&data).expect("serialize");
        assert_eq!(json, r#"{"page":{"items":[{"b":1,"a":2,"c":3},{"b":4,"a":5,"c":6}],"total":1}}"#);
    }
}
