//! CSV (and TSV, and semicolon-separated) tables: the first record is the header.
//!
//! Rows must have as many fields as the header. Padding short rows would silently shift values into the wrong
//! columns when the real problem is an unquoted delimiter, so a ragged file is reported instead.

use csv::{ErrorKind, ReaderBuilder, StringRecord, Trim};

use super::table::{TableBuilder, Value};
use super::{AnalysisError, Limits, Table};

/// Candidate delimiters in order of preference when the sample cannot tell them apart.
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
/// How much of the input the delimiter sniffer reads.
const SAMPLE_BYTES: usize = 64 * 1024;
/// How many records of the sample the sniffer compares.
const SAMPLE_RECORDS: usize = 20;

/// How the field delimiter is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delimiter {
    /// Guess among `,` `;` and tab from the first records.
    Sniff,
    /// Known from the content type or extension (TSV).
    Fixed(u8),
}

/// Parses delimited text whose first record is the header.
pub(crate) fn parse(text: &str, delimiter: Delimiter, limits: &Limits) -> Result<Table, AnalysisError> {
    let delimiter = match delimiter {
        Delimiter::Fixed(byte) => byte,
        Delimiter::Sniff => sniff_delimiter(text),
    };
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .trim(Trim::All)
        .from_reader(text.as_bytes());
    let mut builder = TableBuilder::new(limits);
    for name in reader.headers().map_err(csv_error)? {
        builder.add_column(name)?;
    }
    let mut record = StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        builder.push_row(record.iter().map(Value::from_text).collect())?;
    }
    builder.finish()
}

/// Picks the candidate that splits the first records into the same number (more than one) of fields, preferring
/// the one giving the most fields; a single-column file falls back to a comma.
fn sniff_delimiter(text: &str) -> u8 {
    let mut sample = &text[..text.floor_char_boundary(SAMPLE_BYTES)];
    if sample.len() < text.len() {
        // Drop the record cut in half by the sample boundary, which would look inconsistent.
        sample = sample.rsplit_once('\n').map_or(sample, |(head, _)| head);
    }
    let mut best = (b',', (false, 1));
    for candidate in CANDIDATES {
        let score = score(sample, candidate);
        if score.1 > 1 && score > best.1 {
            best = (candidate, score);
        }
    }
    best.0
}

/// (every sampled record has the same field count, field count of the first record).
fn score(sample: &str, delimiter: u8) -> (bool, usize) {
    let mut reader =
        ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(sample.as_bytes());
    let lengths: Vec<usize> =
        reader.records().take(SAMPLE_RECORDS).map_while(Result::ok).map(|record| record.len()).collect();
    let first = lengths.first().copied().unwrap_or(0);
    (lengths.iter().all(|&len| len == first), first)
}

fn csv_error(error: csv::Error) -> AnalysisError {
    match error.kind() {
        ErrorKind::UnequalLengths { pos, expected_len, len } => {
            let line = pos.as_ref().map_or_else(String::new, |pos| format!(" on line {}", pos.line()));
            AnalysisError::not_a_table(format!("a CSV row{line} has {len} fields but the header has {expected_len}"))
        }
        _ => AnalysisError::not_a_table(format!("the CSV could not be read: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Table, AnalysisError> {
        parse(text, Delimiter::Sniff, &Limits::default())
    }

    fn names(table: &Table) -> Vec<&str> {
        table.columns().iter().map(|column| column.name()).collect()
    }

    #[test]
    fn the_delimiter_is_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("name;price\nA;1,5\nB;2,0\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("just one column\nvalue\n"), b',');
        let table = load("name;price\nA;1,5\nB;2,0\n").expect("semicolons");
        assert_eq!(names(&table), ["name", "price"]);
        assert_eq!(table.columns()[1].values()[0], Value::Text("1,5".into()));
    }

    #[test]
    fn quoted_fields_and_blank_lines_are_handled() {
        let table = load("a,b\n\"x, y\",\"multi\nline\"\n\n3, 4 \n").expect("csv");
        assert_eq!(table.row_count(), 2);
        assert_eq!(table.columns()[0].values()[0], Value::Text("x, y".into()));
        assert_eq!(table.columns()[1].values()[1], Value::Number(4.0));
    }

    #[test]
    fn ragged_rows_are_not_a_table() {
        let error = load("a,b,c\n1,2,3\n4,5\n").expect_err("ragged");
        assert_eq!(error.code(), "not_a_table");
        assert_eq!(error.to_string(), "the data is not a table: a CSV row on line 3 has 2 fields but the header has 3");
    }

    #[test]
    fn a_header_alone_is_empty() {
        assert_eq!(load("a,b,c\n"), Err(AnalysisError::EmptyTable));
    }

    #[test]
    fn row_and_column_limits_apply() {
        let limits = Limits { max_rows: 2, ..Limits::default() };
        let error = parse("a\n1\n2\n3\n", Delimiter::Sniff, &limits).expect_err("rows");
        assert_eq!(error, AnalysisError::TooLarge { what: "rows", limit: 2 });
        let limits = Limits { max_columns: 2, ..Limits::default() };
        let error = parse("a,b,c\n1,2,3\n", Delimiter::Sniff, &limits).expect_err("columns");
        assert_eq!(error, AnalysisError::TooLarge { what: "columns", limit: 2 });
    }
}
