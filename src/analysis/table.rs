//! The in-memory table: named columns of typed cells, built row by row under the [`Limits`].
//!
//! Storage is column-major because every consumer (statistics, charts) walks one column at a time. Cells are 24
//! bytes each (`Box<str>` rather than `String` for text), and the cell limit bounds the total, since a 50 MiB CSV
//! of empty fields would otherwise expand to tens of millions of cells.

use std::collections::HashSet;

use super::{AnalysisError, Limits};

/// Cell texts read as missing, besides the empty string: the usual spreadsheet and database spellings.
const MISSING_MARKERS: &[&str] = &["NA", "N/A", "n/a", "#N/A", "null", "NULL", "Null", "NaN", "nan"];

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty, `null`, or a missing marker such as `NA`.
    Missing,
    /// A finite number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Any other text, trimmed.
    Text(Box<str>),
}

impl Value {
    /// Reads a cell's text. CSV fields and JSON strings both go through here, so the same table gives the same
    /// summary whether it arrives as CSV or as JSON (many JSON APIs send numbers as strings).
    pub fn from_text(raw: &str) -> Self {
        let text = raw.trim();
        if text.is_empty() || MISSING_MARKERS.contains(&text) {
            return Self::Missing;
        }
        if text.eq_ignore_ascii_case("true") {
            return Self::Bool(true);
        }
        if text.eq_ignore_ascii_case("false") {
            return Self::Bool(false);
        }
        // `f64::from_str` also accepts "inf" and "nan"; those stay text so every number is finite.
        match text.parse::<f64>() {
            Ok(number) if number.is_finite() => Self::Number(number),
            _ => Self::Text(text.into()),
        }
    }

    /// Whether the cell holds a value.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Missing)
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    name: String,
    values: Vec<Value>,
}

impl Column {
    /// The column's name, unique within its table.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One value per row.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// A parsed table with at least one row and one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<Column>,
    row_count: usize,
}

impl Table {
    /// The columns in source order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The number of data rows (the header is not a row).
    pub fn row_count(&self) -> usize {
        self.row_count
    }

    /// The number of columns.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }
}

/// Builds a [`Table`] row by row, enforcing the limits as it goes so an oversized input fails early.
pub(crate) struct TableBuilder<'l> {
    columns: Vec<Column>,
    names: HashSet<String>,
    rows: usize,
    limits: &'l Limits,
}

impl<'l> TableBuilder<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Self { columns: Vec::new(), names: HashSet::new(), rows: 0, limits }
    }

    /// Adds a column, filled with missing values for the rows already pushed, and returns its index. Blank names
    /// become `column_N` and repeated names get a `_2`, `_3`… suffix, so names stay usable as keys and labels.
    pub(crate) fn add_column(&mut self, raw_name: &str) -> Result<usize, AnalysisError> {
        let index = self.columns.len();
        if index >= self.limits.max_columns {
            return Err(too_large("columns", self.limits.max_columns));
        }
        self.check_cells(self.rows.saturating_mul(index + 1))?;
        let name = self.unique_name(raw_name, index);
        self.names.insert(name.clone());
        self.columns.push(Column { name, values: vec![Value::Missing; self.rows] });
        Ok(index)
    }

    /// The number of columns so far.
    pub(crate) fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Appends a row; `cells` may be shorter than the header (the rest are missing) but not longer.
    pub(crate) fn push_row(&mut self, cells: Vec<Value>) -> Result<(), AnalysisError> {
        debug_assert!(cells.len() <= self.columns.len(), "more cells than columns");
        if self.rows >= self.limits.max_rows {
            return Err(too_large("rows", self.limits.max_rows));
        }
        self.check_cells((self.rows + 1).saturating_mul(self.columns.len()))?;
        let mut cells = cells.into_iter();
        for column in &mut self.columns {
            column.values.push(cells.next().unwrap_or(Value::Missing));
        }
        self.rows += 1;
        Ok(())
    }

    /// Finishes the table; a table without rows or columns is [`AnalysisError::EmptyTable`].
    pub(crate) fn finish(self) -> Result<Table, AnalysisError> {
        if self.rows == 0 || self.columns.is_empty() {
            return Err(AnalysisError::EmptyTable);
        }
        Ok(Table { columns: self.columns, row_count: self.rows })
    }

    fn check_cells(&self, cells: usize) -> Result<(), AnalysisError> {
        if cells > self.limits.max_cells {
            return Err(too_large("cells", self.limits.max_cells));
        }
        Ok(())
    }

    fn unique_name(&self, raw: &str, index: usize) -> String {
        let trimmed = raw.trim();
        let base = if trimmed.is_empty() { format!("column_{}", index + 1) } else { trimmed.to_owned() };
        let mut name = base.clone();
        let mut suffix = 2;
        while self.names.contains(&name) {
            name = format!("{base}_{suffix}");
            suffix += 1;
        }
        name
    }
}

fn too_large(what: &'static str, limit: usize) -> AnalysisError {
    AnalysisError::TooLarge { what, limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_is_typed() {
        assert_eq!(Value::from_text(" 12.5 "), Value::Number(12.5));
        assert_eq!(Value::from_text("-3"), Value::Number(-3.0));
        assert_eq!(Value::from_text("1e3"), Value::Number(1000.0));
        assert_eq!(Value::from_text("TRUE"), Value::Bool(true));
        assert_eq!(Value::from_text("false"), Value::Bool(false));
        assert_eq!(Value::from_text(""), Value::Missing);
        assert_eq!(Value::from_text("  "), Value::Missing);
        assert_eq!(Value::from_text("NA"), Value::Missing);
        assert_eq!(Value::from_text("null"), Value::Missing);
        assert_eq!(Value::from_text("inf"), Value::Text("inf".into()));
        assert_eq!(Value::from_text("1,000"), Value::Text("1,000".into()));
        assert_eq!(Value::from_text(" Paris "), Value::Text("Paris".into()));
    }

    #[test]
    fn names_are_made_unique_and_non_blank() {
        let limits = Limits::default();
        let mut builder = TableBuilder::new(&limits);
        for raw in ["a", "a", " ", "a_2", "b"] {
            builder.add_column(raw).expect("within limits");
        }
        builder.push_row(vec![Value::Number(1.0)]).expect("within limits");
        let table = builder.finish().expect("one row");
        let names: Vec<_> = table.columns().iter().map(Column::name).collect();
        assert_eq!(names, ["a", "a_2", "column_3", "a_2_2", "b"]);
        assert_eq!(table.columns()[1].values(), [Value::Missing]);
    }

    #[test]
    fn late_columns_are_backfilled() {
        let limits = Limits::default();
        let mut builder = TableBuilder::new(&limits);
        builder.add_column("a").expect("within limits");
        builder.push_row(vec![Value::Bool(true)]).expect("within limits");
        builder.add_column("b").expect("within limits");
        builder.push_row(vec![Value::Bool(false), Value::Number(2.0)]).expect("within limits");
        let table = builder.finish().expect("two rows");
        assert_eq!(table.row_count(), 2);
        assert_eq!(table.columns()[1].values(), [Value::Missing, Value::Number(2.0)]);
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits { max_rows: 1, max_columns: 2, max_cells: 3, ..Limits::default() };
        let mut builder = TableBuilder::new(&limits);
        builder.add_column("a").expect("first column");
        builder.add_column("b").expect("second column");
        let error = builder.add_column("c").expect_err("third column");
        assert_eq!(error, too_large("columns", 2));
        builder.push_row(vec![]).expect("first row");
        let error = builder.push_row(vec![]).expect_err("second row");
        assert_eq!(error.code(), "table_too_large");
        assert_eq!(error.to_string(), "the table is too large: the limit is 1 rows");
        let error = too_large("bytes", 52_428_800);
        assert_eq!(error.to_string(), "the table is too large: the limit is 52,428,800 bytes");
    }

    #[test]
    fn no_rows_is_empty() {
        let limits = Limits::default();
        let mut builder = TableBuilder::new(&limits);
        builder.add_column("a").expect("within limits");
        assert_eq!(builder.finish(), Err(AnalysisError::EmptyTable));
    }
}
