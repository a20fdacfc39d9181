//! JSON tables in the three shapes APIs commonly return:
//!
//! - an array of records, `[{"a": 1, "b": "x"}, …]` (columns are the union of keys in first-seen order),
//! - a header and rows, `{"columns": ["a", "b"], "rows": [[1, "x"], …]}` (or `[["a", "b"], [1, "x"], …]`),
//! - an envelope with exactly one array of records, `{"data": [{…}, …], "meta": {…}}`.
//!
//! The document is read into [`Json`], which keeps object keys in source order (`serde_json::Value` sorts them
//! unless its `preserve_order` feature happens to be enabled), so columns appear as the author wrote them.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::table::{TableBuilder, Value};
use super::{AnalysisError, Limits, Table};

/// Parses a JSON table in one of the accepted shapes.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Table, AnalysisError> {
    let document: Json = serde_json::from_str(text)
        .map_err(|error| AnalysisError::not_a_table(format!("the JSON is invalid: {error}")))?;
    match document {
        Json::Array(items) => from_array(items, limits),
        Json::Object(fields) => from_object(fields, limits),
        scalar => {
            Err(AnalysisError::not_a_table(format!("the JSON document is {}, not an array of records", scalar.kind())))
        }
    }
}

fn from_array(items: Vec<Json>, limits: &Limits) -> Result<Table, AnalysisError> {
    match items.first() {
        None => Err(AnalysisError::EmptyTable),
        Some(Json::Array(_)) => {
            let mut rows = items.into_iter();
            let header = rows.next().map(header_names).transpose()?.unwrap_or_default();
            from_rows(&header, rows.collect(), limits)
        }
        Some(_) => from_records(items, limits),
    }
}

fn from_object(mut fields: Vec<(String, Json)>, limits: &Limits) -> Result<Table, AnalysisError> {
    let columns = fields.iter().position(|(key, _)| key == "columns");
    let rows = fields.iter().position(|(key, _)| key == "rows");
    if let (Some(columns), Some(rows)) = (columns, rows) {
        let header = header_names(std::mem::take(&mut fields[columns].1))?;
        let Json::Array(rows) = std::mem::take(&mut fields[rows].1) else {
            return Err(AnalysisError::not_a_table("\"rows\" is not an array of rows"));
        };
        return from_rows(&header, rows, limits);
    }
    let is_records = |value: &Json| matches!(value, Json::Array(items) if !items.is_empty() && items.iter().all(|item| matches!(item, Json::Object(_))));
    let candidates: Vec<usize> = (0..fields.len()).filter(|&i| is_records(&fields[i].1)).collect();
    match candidates[..] {
        [index] => match fields.swap_remove(index).1 {
            Json::Array(items) => from_records(items, limits),
            other => Err(AnalysisError::not_a_table(format!("expected an array, found {}", other.kind()))),
        },
        [] if fields.iter().any(|(_, value)| matches!(value, Json::Array(items) if items.is_empty())) => {
            Err(AnalysisError::EmptyTable)
        }
        [] => Err(AnalysisError::not_a_table(
            "the JSON object holds no array of records; expected [{…}, …], {\"columns\": […], \"rows\": [[…], …]} \
             or an object with one array of records such as {\"data\": [{…}, …]}",
        )),
        _ => {
            let keys: Vec<&str> = candidates.iter().map(|&i| fields[i].0.as_str()).collect();
            Err(AnalysisError::not_a_table(format!(
                "the JSON object holds several arrays of records ({}), so the table is ambiguous",
                keys.join(", ")
            )))
        }
    }
}

fn from_records(items: Vec<Json>, limits: &Limits) -> Result<Table, AnalysisError> {
    let mut builder = TableBuilder::new(limits);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (position, item) in items.into_iter().enumerate() {
        let Json::Object(fields) = item else {
            return Err(AnalysisError::not_a_table(format!(
                "item {} of the array is {}, not an object",
                position + 1,
                item.kind()
            )));
        };
        let mut cells = vec![Value::Missing; builder.column_count()];
        for (key, value) in fields {
            let column = match index.get(&key) {
                Some(&column) => column,
                None => {
                    let column = builder.add_column(&key)?;
                    index.insert(key, column);
                    cells.resize(column + 1, Value::Missing);
                    column
                }
            };
            cells[column] = cell(value);
        }
        builder.push_row(cells)?;
    }
    builder.finish()
}

fn from_rows(header: &[String], rows: Vec<Json>, limits: &Limits) -> Result<Table, AnalysisError> {
    let mut builder = TableBuilder::new(limits);
    for name in header {
        builder.add_column(name)?;
    }
    for (position, row) in rows.into_iter().enumerate() {
        let Json::Array(values) = row else {
            return Err(AnalysisError::not_a_table(format!(
                "row {} is {}, not an array of values",
                position + 1,
                row.kind()
            )));
        };
        if values.len() != header.len() {
            return Err(AnalysisError::not_a_table(format!(
                "row {} has {} values but there are {} columns",
                position + 1,
                values.len(),
                header.len()
            )));
        }
        builder.push_row(values.into_iter().map(cell).collect())?;
    }
    builder.finish()
}

/// Column names: strings, or objects with a string `name` (as some APIs describe columns).
fn header_names(columns: Json) -> Result<Vec<String>, AnalysisError> {
    let Json::Array(columns) = columns else {
        return Err(AnalysisError::not_a_table("\"columns\" is not an array of names"));
    };
    columns
        .into_iter()
        .map(|column| match column {
            Json::String(name) => Ok(name),
            Json::Object(fields) => fields
                .into_iter()
                .find_map(|(key, value)| match value {
                    Json::String(name) if key == "name" => Some(name),
                    _ => None,
                })
                .ok_or_else(|| AnalysisError::not_a_table("a column has no \"name\"")),
            other => Err(AnalysisError::not_a_table(format!("a column name is {}, not a string", other.kind()))),
        })
        .collect()
}

fn cell(value: Json) -> Value {
    match value {
        Json::Null => Value::Missing,
        Json::Bool(flag) => Value::Bool(flag),
        Json::Number(number) => Value::Number(number),
        Json::String(text) => Value::from_text(&text),
        nested @ (Json::Array(_) | Json::Object(_)) => Value::Text(nested.to_string().into()),
    }
}

/// A JSON value whose objects keep their keys in source order.
#[derive(Debug, Default, Clone, PartialEq)]
enum Json {
    #[default]
    Null,
    Bool(bool),
    /// Always finite: serde_json rejects numbers that overflow `f64`.
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An article and a noun, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }
}

/// Compact JSON, used as the text of a nested cell.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |text: &str| serde_json::to_string(text).map_err(|_| fmt::Error);
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Number(number) => write!(f, "{number}"),
            Self::String(text) => f.write_str(&quoted(text)?),
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Self::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{value}", quoted(key)?)?;
                }
                f.write_str("}")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Json, E> {
        Ok(Json::Bool(flag))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Json, E> {
        Ok(Json::Number(number as f64))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Json, E> {
        Ok(Json::Number(number as f64))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Json, E> {
        Ok(Json::Number(number))
    }

    fn visit_str<E>(self, text: &str) -> Result<Json, E> {
        Ok(Json::String(text.to_owned()))
    }

    fn visit_string<E>(self, text: String) -> Result<Json, E> {
        Ok(Json::String(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry()? {
            fields.push(entry);
        }
        Ok(Json::Object(fields))
    }
}

#[cfg(test)]
mod tests;
