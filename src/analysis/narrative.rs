//! A plain-English description of a summary, for results that no model describes.
//!
//! Deterministic: the same summary always gives the same text. Wide tables are cut after a fixed number of
//! columns so the narrative stays a paragraph rather than a report.

use super::fmt::{count, number};
use super::summary::{ColumnSummary, ColumnType, Scalar, Summary};

/// Columns described before the rest are only counted.
const MAX_DESCRIBED_COLUMNS: usize = 20;

/// Describes the table in a few sentences: its size, then one sentence per column (numbers get their mean and
/// range, text its most common value, dates their span), noting missing values.
pub fn narrative(summary: &Summary) -> String {
    let mut sentences = vec![format!(
        "{} × {}.",
        plural(summary.row_count, "row", "rows"),
        plural(summary.column_count, "column", "columns")
    )];
    sentences.extend(summary.columns.iter().take(MAX_DESCRIBED_COLUMNS).map(describe));
    let rest = summary.columns.len().saturating_sub(MAX_DESCRIBED_COLUMNS);
    if rest > 0 {
        let noun = if rest == 1 { "column" } else { "columns" };
        sentences.push(format!("… and {} more {noun}.", count(rest)));
    }
    sentences.join(" ")
}

fn describe(column: &ColumnSummary) -> String {
    let kind = type_name(column.kind);
    let mut facts: Vec<String> = Vec::new();
    match column.kind {
        ColumnType::Number | ColumnType::Integer => {
            if let Some(mean) = column.mean {
                facts.push(format!("mean {}", number(mean)));
            }
            if let (Some(min), Some(max)) = (&column.min, &column.max) {
                facts.push(range(min, max));
            }
        }
        ColumnType::Date => {
            if let (Some(min), Some(max)) = (&column.min, &column.max) {
                facts.push(format!("from {} to {}", scalar(min), scalar(max)));
            }
        }
        ColumnType::Boolean => {
            let shares = column.top_values.iter().map(|top| format!("{} {}", count(top.count), scalar(&top.value)));
            facts.push(shares.collect::<Vec<_>>().join(", "));
        }
        ColumnType::String => {
            facts.push(plural(column.distinct, "distinct value", "distinct values"));
            if let Some(top) = column.top_values.first().filter(|top| top.count > 1) {
                facts.push(format!("most common \"{}\" ({})", scalar(&top.value), count(top.count)));
            }
        }
        ColumnType::Empty => facts.push("no values".to_owned()),
    }
    if column.missing > 0 && column.kind != ColumnType::Empty {
        facts.push(format!("{} missing", count(column.missing)));
    }
    format!("{} ({kind}): {}.", column.name, facts.join(", "))
}

fn range(min: &Scalar, max: &Scalar) -> String {
    if min == max { format!("always {}", scalar(min)) } else { format!("range {}–{}", scalar(min), scalar(max)) }
}

fn scalar(value: &Scalar) -> String {
    match value {
        Scalar::Number(value) => number(*value),
        Scalar::Bool(flag) => flag.to_string(),
        Scalar::Text(text) => text.clone(),
    }
}

fn type_name(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Number => "number",
        ColumnType::Integer => "integer",
        ColumnType::String => "text",
        ColumnType::Boolean => "boolean",
        ColumnType::Date => "date",
        ColumnType::Empty => "empty",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Limits, load_table, summarize};

    fn narrate(csv: &str) -> String {
        let table = load_table(csv.as_bytes(), None, None, &Limits::default()).expect("valid csv");
        narrative(&summarize(&table))
    }

    #[test]
    fn describes_each_column() {
        let text = narrate(
            "price,qty,city,active,day,notes\n\
             1.5,2,Paris,true,2024-01-01,\n\
             99,2,Paris,false,2024-03-31,\n\
             ,2,Lyon,true,,\n\
             24,2,,true,2024-02-01,\n",
        );
        assert_eq!(
            text,
            "4 rows × 6 columns. \
             price (number): mean 41.5, range 1.5–99, 1 missing. \
             qty (integer): mean 2, always 2. \
             city (text): 2 distinct values, most common \"Paris\" (2), 1 missing. \
             active (boolean): 3 true, 1 false. \
             day (date): from 2024-01-01 to 2024-03-31, 1 missing. \
             notes (empty): no values."
        );
    }

    #[test]
    fn large_counts_are_grouped_and_wide_tables_cut() {
        let header: Vec<String> = (1..=22).map(|i| format!("c{i}")).collect();
        let row = vec!["1"; 22].join(",");
        let mut csv = header.join(",") + "\n";
        for _ in 0..1000 {
            csv.push_str(&row);
            csv.push('\n');
        }
        let text = narrate(&csv);
        assert!(text.starts_with("1,000 rows × 22 columns. c1 (integer): mean 1, always 1."), "{text}");
        assert!(text.ends_with("c20 (integer): mean 1, always 1. … and 2 more columns."), "{text}");
        assert_eq!(narrate("a\nx\n"), "1 row × 1 column. a (text): 1 distinct value.");
    }
}
