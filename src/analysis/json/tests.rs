use super::*;

fn load(text: &str) -> Result<Table, AnalysisError> {
    parse(text, &Limits::default())
}

fn names(table: &Table) -> Vec<&str> {
    table.columns().iter().map(|column| column.name()).collect()
}

fn values(table: &Table, column: usize) -> &[Value] {
    table.columns()[column].values()
}

#[test]
fn an_array_of_records_unions_keys_in_first_seen_order() {
    let table = load(r#"[{"zeta": 1, "alpha": "x"}, {"alpha": "y", "mid": true, "zeta": null}]"#).expect("records");
    assert_eq!(names(&table), ["zeta", "alpha", "mid"]);
    assert_eq!(table.row_count(), 2);
    assert_eq!(values(&table, 0), [Value::Number(1.0), Value::Missing]);
    assert_eq!(values(&table, 1), [Value::Text("x".into()), Value::Text("y".into())]);
    assert_eq!(values(&table, 2), [Value::Missing, Value::Bool(true)]);
}

#[test]
fn strings_are_read_like_csv_cells_and_nested_values_as_json_text() {
    let table = load(r#"[{"n": "12.5", "e": "", "nested": {"b": [1, "q\""], "a": null}}]"#).expect("records");
    assert_eq!(values(&table, 0), [Value::Number(12.5)]);
    assert_eq!(values(&table, 1), [Value::Missing]);
    assert_eq!(values(&table, 2), [Value::Text(r#"{"b":[1,"q\""],"a":null}"#.into())]);
}

#[test]
fn columns_and_rows() {
    let table = load(r#"{"columns": ["a", {"name": "b"}], "rows": [[1, "x"], [2, null]]}"#).expect("columns/rows");
    assert_eq!(names(&table), ["a", "b"]);
    assert_eq!(values(&table, 0), [Value::Number(1.0), Value::Number(2.0)]);
    assert_eq!(values(&table, 1), [Value::Text("x".into()), Value::Missing]);
}

#[test]
fn an_array_of_arrays_has_a_header_row() {
    let table = load(r#"[["a", "b"], [1, 2], [3, 4]]"#).expect("array of arrays");
    assert_eq!(names(&table), ["a", "b"]);
    assert_eq!(values(&table, 1), [Value::Number(2.0), Value::Number(4.0)]);
}

#[test]
fn an_envelope_with_one_array_of_records() {
    let table = load(r#"{"meta": {"page": 1}, "tags": [1, 2], "data": [{"a": 1}, {"a": 2}]}"#).expect("envelope");
    assert_eq!(names(&table), ["a"]);
    assert_eq!(table.row_count(), 2);
}

#[test]
fn ambiguous_or_absent_records_are_not_a_table() {
    let error = load(r#"{"a": [{"x": 1}], "b": [{"y": 2}]}"#).expect_err("two arrays");
    assert_eq!(error.code(), "not_a_table");
    assert!(error.to_string().contains("(a, b)"), "{error}");
    let error = load(r#"{"name": "not a table"}"#).expect_err("plain object");
    assert_eq!(error.code(), "not_a_table");
}

#[test]
fn scalars_and_mixed_arrays_are_not_a_table() {
    for text in ["42", "\"text\"", "true", "null", r#"[{"a": 1}, 2]"#, "[1, 2, 3]"] {
        let error = load(text).expect_err(text);
        assert_eq!(error.code(), "not_a_table", "{text}");
    }
    let error = load(r#"[{"a": 1}, 2]"#).expect_err("mixed");
    assert_eq!(error.to_string(), "the data is not a table: item 2 of the array is a number, not an object");
}

#[test]
fn ragged_rows_and_invalid_json_are_not_a_table() {
    let error = load(r#"{"columns": ["a", "b"], "rows": [[1, 2], [3]]}"#).expect_err("ragged");
    assert_eq!(error.to_string(), "the data is not a table: row 2 has 1 values but there are 2 columns");
    let error = load(r#"[{"a": 1},"#).expect_err("truncated");
    assert_eq!(error.code(), "not_a_table");
    assert!(error.to_string().contains("the JSON is invalid"), "{error}");
}

#[test]
fn no_records_is_empty() {
    for text in ["[]", r#"{"data": []}"#, r#"{"columns": ["a"], "rows": []}"#] {
        assert_eq!(load(text), Err(AnalysisError::EmptyTable), "{text}");
    }
}

#[test]
fn limits_apply_to_json() {
    let limits = Limits { max_columns: 1, ..Limits::default() };
    let error = parse(r#"[{"a": 1}, {"b": 2}]"#, &limits).expect_err("columns");
    assert_eq!(error, AnalysisError::TooLarge { what: "columns", limit: 1 });
}
