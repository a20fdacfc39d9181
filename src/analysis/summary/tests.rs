use serde_json::json;

use super::*;
use crate::analysis::{Limits, load_table};

const SALES: &str = "\
name,price,qty,active,city,day,notes
A,10,1,true,Paris,2024-01-03,
B,20,2,false,Paris,2024-01-01,
C,,3,true,Lyon,2024-02-10,
D,40,4,true,Paris,,
E,15.5,4,false,Nice,2024-01-01,
";

fn summary_of(csv: &str) -> Summary {
    summarize(&load_table(csv.as_bytes(), Some("text/csv"), None, &Limits::default()).expect("valid csv"))
}

fn column<'s>(summary: &'s Summary, name: &str) -> &'s ColumnSummary {
    summary.columns.iter().find(|column| column.name == name).expect("column exists")
}

fn top(column: &ColumnSummary) -> Vec<(Scalar, usize)> {
    column.top_values.iter().map(|top| (top.value.clone(), top.count)).collect()
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|actual| (actual - expected).abs() < 1e-12)
}

#[test]
fn table_shape() {
    let summary = summary_of(SALES);
    assert_eq!(summary.row_count, 5);
    assert_eq!(summary.column_count, 7);
    let kinds: Vec<ColumnType> = summary.columns.iter().map(|column| column.kind).collect();
    use ColumnType::*;
    assert_eq!(kinds, [String, Number, Integer, Boolean, String, Date, Empty]);
}

#[test]
fn number_column_with_a_missing_value_and_an_even_count() {
    let summary = summary_of(SALES);
    let price = column(&summary, "price");
    assert_eq!((price.count, price.missing, price.distinct), (4, 1, 4));
    assert_eq!(price.min, Some(Scalar::Number(10.0)));
    assert_eq!(price.max, Some(Scalar::Number(40.0)));
    // (10 + 20 + 40 + 15.5) / 4
    assert_eq!(price.mean, Some(21.375));
    // Sorted 10, 15.5, 20, 40: the middle two average to 17.75.
    assert_eq!(price.median, Some(17.75));
    // Squared deviations 129.390625 + 1.890625 + 346.890625 + 34.515625 = 512.6875, over n − 1 = 3.
    assert!(close(price.stddev, (512.6875_f64 / 3.0).sqrt()), "{:?}", price.stddev);
    let ones = [10.0, 15.5, 20.0, 40.0].map(|number| (Scalar::Number(number), 1));
    assert_eq!(top(price), ones, "all tied, so ascending by value");
}

#[test]
fn integer_column_with_an_odd_count() {
    let summary = summary_of(SALES);
    let qty = column(&summary, "qty");
    assert_eq!((qty.count, qty.missing, qty.distinct), (5, 0, 4));
    assert_eq!(qty.mean, Some(2.8));
    assert_eq!(qty.median, Some(3.0));
    // Deviations from 2.8: −1.8, −0.8, 0.2, 1.2, 1.2 → squares sum to 6.8, over 4.
    assert!(close(qty.stddev, 1.7_f64.sqrt()), "{:?}", qty.stddev);
    let expected = [(4.0, 2), (1.0, 1), (2.0, 1), (3.0, 1)].map(|(n, c)| (Scalar::Number(n), c));
    assert_eq!(top(qty), expected);
}

#[test]
fn text_boolean_date_and_empty_columns() {
    let summary = summary_of(SALES);
    let city = column(&summary, "city");
    assert_eq!((city.count, city.distinct), (5, 3));
    assert_eq!((city.mean, city.median, city.stddev, city.min.clone()), (None, None, None, None));
    let text = |s: &str| Scalar::Text(s.to_owned());
    assert_eq!(top(city), [(text("Paris"), 3), (text("Lyon"), 1), (text("Nice"), 1)]);

    let active = column(&summary, "active");
    assert_eq!(top(active), [(Scalar::Bool(true), 3), (Scalar::Bool(false), 2)]);
    assert_eq!(active.mean, None);

    let day = column(&summary, "day");
    assert_eq!((day.count, day.missing, day.distinct), (4, 1, 3));
    assert_eq!(day.min, Some(text("2024-01-01")));
    assert_eq!(day.max, Some(text("2024-02-10")));
    assert_eq!(top(day)[0], (text("2024-01-01"), 2));

    let notes = column(&summary, "notes");
    assert_eq!((notes.count, notes.missing, notes.distinct), (0, 5, 0));
    assert!(notes.top_values.is_empty());
    assert_eq!(notes.min, None);
}

#[test]
fn top_values_are_capped_at_five() {
    let summary = summary_of(SALES);
    let name = column(&summary, "name");
    assert_eq!(name.distinct, 5);
    let csv = "x\n1\n2\n3\n4\n5\n6\n7\n7\n";
    let summary = summary_of(csv);
    let values = top(&summary.columns[0]);
    assert_eq!(values.len(), 5);
    assert_eq!(values[0], (Scalar::Number(7.0), 2));
    assert_eq!(values[4], (Scalar::Number(4.0), 1));
}

#[test]
fn single_values_and_mixed_types() {
    let summary = summary_of("a,b,c\n5,x,0\n,7,-0\n");
    let a = column(&summary, "a");
    assert_eq!((a.mean, a.median, a.stddev), (Some(5.0), Some(5.0), None));
    let b = column(&summary, "b");
    assert_eq!(b.kind, ColumnType::String, "a number and a word");
    assert_eq!(top(b)[0].0, Scalar::Text("7".to_owned()));
    let c = column(&summary, "c");
    assert_eq!((c.distinct, c.stddev), (1, Some(0.0)), "-0 equals 0");
}

#[test]
fn dates_and_date_times_are_recognised() {
    assert!(parse_date("2024-02-29").is_some());
    assert!(parse_date("2023-02-29").is_none());
    assert!(parse_date("2024-01-31T12:30:00Z").is_some());
    assert!(parse_date("2024-01-31T12:30:00.5+02:00").is_some());
    assert!(parse_date("2024-01-31 12:30").is_some());
    assert!(parse_date("01/02/2024").is_none());
    assert!(parse_date("Paris").is_none());
    let summary = summary_of("t\n2024-01-01T10:00:00+02:00\n2024-01-01 09:00\n");
    let t = &summary.columns[0];
    assert_eq!(t.kind, ColumnType::Date);
    assert_eq!(t.min, Some(Scalar::Text("2024-01-01T10:00:00+02:00".to_owned())), "08:00 UTC");
}

#[test]
fn serialized_shape() {
    let summary = summary_of("n,f\n1,0.5\n3,\n");
    let value = serde_json::to_value(&summary).expect("serializable");
    assert_eq!(
        value,
        json!({
            "rowCount": 2,
            "columnCount": 2,
            "columns": [
                {
                    "name": "n", "type": "integer", "count": 2, "missing": 0, "distinct": 2,
                    "min": 1, "max": 3, "mean": 2.0, "median": 2.0, "stddev": 2.0_f64.sqrt(),
                    "topValues": [{"value": 1, "count": 1}, {"value": 3, "count": 1}]
                },
                {
                    "name": "f", "type": "number", "count": 1, "missing": 1, "distinct": 1,
                    "min": 0.5, "max": 0.5, "mean": 0.5, "median": 0.5, "stddev": null,
                    "topValues": [{"value": 0.5, "count": 1}]
                }
            ]
        })
    );
    let back: Summary = serde_json::from_value(value).expect("round trip");
    assert_eq!(back.columns[0].kind, ColumnType::Integer);
}
