//! Per-column summaries: inferred type, counts, numeric statistics and the most frequent values.
//!
//! The serialized shape (camelCase) is part of the `analysis` task's result, so fields are only ever added.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize, Serializer};

use super::numeric;
use super::table::{Column, Table, Value};

/// How many of the most frequent values a column summary lists.
const TOP_VALUES: usize = 5;

/// The summary of a whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Data rows, not counting the header.
    pub row_count: usize,
    /// Columns, including empty ones.
    pub column_count: usize,
    /// One entry per column, in table order.
    pub columns: Vec<ColumnSummary>,
}

/// The summary of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnSummary {
    /// The column's (unique) name.
    pub name: String,
    /// The type every present value has; `string` when they disagree.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Present (non-missing) values.
    pub count: usize,
    /// Missing values: empty, `null` or a marker such as `NA`.
    pub missing: usize,
    /// Distinct present values.
    pub distinct: usize,
    /// Smallest value for numeric columns, earliest (as written) for date columns, otherwise null.
    pub min: Option<Scalar>,
    /// Largest value for numeric columns, latest (as written) for date columns, otherwise null.
    pub max: Option<Scalar>,
    /// Numeric columns only.
    pub mean: Option<f64>,
    /// Numeric columns only; the average of the two middle values for an even count.
    pub median: Option<f64>,
    /// Sample standard deviation (n − 1); numeric columns with at least two values only.
    pub stddev: Option<f64>,
    /// Up to five most frequent values, most frequent first, ties in ascending value order.
    pub top_values: Vec<TopValue>,
}

/// A column's inferred type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Numbers, at least one with a fractional part.
    Number,
    /// Whole numbers (within ±2^53, where `f64` is exact).
    Integer,
    /// Anything else, including mixed types.
    String,
    /// `true` / `false`.
    Boolean,
    /// ISO 8601 dates or date-times (`2024-01-31`, `2024-01-31T12:00:00Z`, `2024-01-31 12:00`).
    Date,
    /// No present values at all.
    Empty,
}

impl ColumnType {
    /// Whether the column has numeric statistics and gets a histogram.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Number | Self::Integer)
    }
}

/// A single value in a summary; numbers that are whole serialize without a fraction (`3`, not `3.0`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Text (also used for every value of `string` and `date` columns).
    Text(String),
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(number) if is_whole(*number) => serializer.serialize_i64(*number as i64),
            Self::Number(number) => serializer.serialize_f64(*number),
            Self::Bool(flag) => serializer.serialize_bool(*flag),
            Self::Text(text) => serializer.serialize_str(text),
        }
    }
}

/// A value and how many rows hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopValue {
    /// The value.
    pub value: Scalar,
    /// Rows holding it.
    pub count: usize,
}

/// Summarizes every column of the table.
pub fn summarize(table: &Table) -> Summary {
    Summary {
        row_count: table.row_count(),
        column_count: table.column_count(),
        columns: table.columns().iter().map(summarize_column).collect(),
    }
}

fn summarize_column(column: &Column) -> ColumnSummary {
    let kind = infer_type(column.values());
    let frequencies = frequencies(column.values());
    let count = frequencies.values().sum();
    let mut summary = ColumnSummary {
        name: column.name().to_owned(),
        kind,
        count,
        missing: column.values().len() - count,
        distinct: frequencies.len(),
        min: None,
        max: None,
        mean: None,
        median: None,
        stddev: None,
        top_values: ranked(&frequencies, kind).into_iter().take(TOP_VALUES).collect(),
    };
    if kind.is_numeric() {
        let sorted = sorted_numbers(column.values());
        summary.min = sorted.first().copied().map(Scalar::Number);
        summary.max = sorted.last().copied().map(Scalar::Number);
        summary.mean = numeric::mean(&sorted);
        summary.median = numeric::median(&sorted);
        summary.stddev = numeric::sample_stddev(&sorted);
    } else if kind == ColumnType::Date {
        let dates = column.values().iter().filter_map(|value| match value {
            Value::Text(text) => parse_date(text).map(|date| (date, &**text)),
            _ => None,
        });
        let (min, max) = dates.fold((None, None), |(min, max), item| {
            (extreme(min, item, Ordering::Less), extreme(max, item, Ordering::Greater))
        });
        summary.min = min.map(|(_, text)| Scalar::Text(text.to_owned()));
        summary.max = max.map(|(_, text)| Scalar::Text(text.to_owned()));
    }
    summary
}

/// Keeps the current extreme unless `item` is strictly beyond it, so the first of equal dates wins.
fn extreme<'a>(
    current: Option<(NaiveDateTime, &'a str)>,
    item: (NaiveDateTime, &'a str),
    beyond: Ordering,
) -> Option<(NaiveDateTime, &'a str)> {
    match current {
        Some(current) if item.0.cmp(&current.0) != beyond => Some(current),
        _ => Some(item),
    }
}

/// The present values of a numeric column, in ascending order.
pub(crate) fn sorted_numbers(values: &[Value]) -> Vec<f64> {
    let mut numbers: Vec<f64> = values
        .iter()
        .filter_map(|value| match value {
            Value::Number(number) => Some(*number),
            _ => None,
        })
        .collect();
    numbers.sort_unstable_by(f64::total_cmp);
    numbers
}

fn infer_type(values: &[Value]) -> ColumnType {
    let mut present = values.iter().filter(|value| value.is_present()).peekable();
    let Some(first) = present.peek() else {
        return ColumnType::Empty;
    };
    let uniform = |same: fn(&Value) -> bool| values.iter().filter(|v| v.is_present()).all(same);
    match first {
        Value::Number(_) if uniform(|v| matches!(v, Value::Number(n) if is_whole(*n))) => ColumnType::Integer,
        Value::Number(_) if uniform(|v| matches!(v, Value::Number(_))) => ColumnType::Number,
        Value::Bool(_) if uniform(|v| matches!(v, Value::Bool(_))) => ColumnType::Boolean,
        Value::Text(_) if uniform(|v| matches!(v, Value::Text(t) if parse_date(t).is_some())) => ColumnType::Date,
        _ => ColumnType::String,
    }
}

/// Dates and date-times in the ISO 8601 forms spreadsheets and APIs produce; ambiguous forms such as
/// `01/02/2024` are left as text.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDateTime> {
    const DATE_TIMES: &[&str] = &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];
    if !text.as_bytes().get(..4)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Some(moment.naive_utc());
    }
    DATE_TIMES.iter().find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// A present value as a totally ordered map key; numbers order numerically, `-0` equals `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key<'a> {
    Number(OrderedNumber),
    Bool(bool),
    Text(&'a str),
}

/// An `f64` (never NaN here) with a total order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderedNumber(f64);

impl PartialEq for OrderedNumber {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OrderedNumber {}

impl PartialOrd for OrderedNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        // `+ 0.0` turns -0.0 into 0.0, which `total_cmp` would otherwise order apart.
        (self.0 + 0.0).total_cmp(&(other.0 + 0.0))
    }
}

/// How often each present value occurs.
pub(crate) fn frequencies(values: &[Value]) -> BTreeMap<Key<'_>, usize> {
    let mut counts = BTreeMap::new();
    for value in values {
        let key = match value {
            Value::Missing => continue,
            Value::Number(number) => Key::Number(OrderedNumber(*number)),
            Value::Bool(flag) => Key::Bool(*flag),
            Value::Text(text) => Key::Text(text),
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// All values, most frequent first; the sort is stable, so ties keep the map's ascending value order.
pub(crate) fn ranked(frequencies: &BTreeMap<Key<'_>, usize>, kind: ColumnType) -> Vec<TopValue> {
    let mut ranked: Vec<(&Key<'_>, usize)> = frequencies.iter().map(|(key, &count)| (key, count)).collect();
    ranked.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
    let as_text = matches!(kind, ColumnType::String | ColumnType::Date);
    ranked
        .into_iter()
        .map(|(key, count)| {
            let value = match *key {
                Key::Number(OrderedNumber(number)) if as_text => Scalar::Text((number + 0.0).to_string()),
                Key::Number(OrderedNumber(number)) => Scalar::Number(number + 0.0),
                Key::Bool(flag) if as_text => Scalar::Text(flag.to_string()),
                Key::Bool(flag) => Scalar::Bool(flag),
                Key::Text(text) => Scalar::Text(text.to_owned()),
            };
            TopValue { value, count }
        })
        .collect()
}

/// Whole and within the range where `f64` represents every integer.
fn is_whole(number: f64) -> bool {
    number.fract() == 0.0 && number.abs() <= 9_007_199_254_740_992.0
}

#[cfg(test)]
mod tests;
