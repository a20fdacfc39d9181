use super::*;
use crate::analysis::{CHART_HEIGHT, CHART_WIDTH, Limits, load_table, summarize};

/// price and qty are numeric; city and active have few values; name is unique per row, day holds dates, notes
/// is empty and code has more distinct values than a bar chart shows.
fn sample() -> (Table, Summary) {
    let mut csv = String::from("price,name,qty,city,active,day,notes,code\n");
    let cities = ["Paris", "Lyon", "Nice"];
    for i in 0..40 {
        let price = f64::from(i) * 1.25 + 3.0;
        let city = cities[i as usize % 3];
        let active = i % 4 == 0;
        csv.push_str(&format!("{price},person {i},{},{city},{active},2024-01-{:02},,C{i}\n", i % 7, i % 28 + 1));
    }
    let table = load_table(csv.as_bytes(), None, None, &Limits::default()).expect("valid csv");
    let summary = summarize(&table);
    (table, summary)
}

fn dimensions(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("4 bytes"));
    (width, height)
}

#[test]
fn one_chart_per_numeric_and_low_cardinality_column() {
    let (table, summary) = sample();
    let charts = render_charts(&table, &summary, &ChartLimits::default()).expect("renders");
    let described: Vec<(&str, &str, ChartKind)> =
        charts.iter().map(|chart| (chart.name.as_str(), chart.column.as_str(), chart.kind)).collect();
    assert_eq!(
        described,
        [
            ("histogram-price.png", "price", ChartKind::Histogram),
            ("histogram-qty.png", "qty", ChartKind::Histogram),
            ("bar-city.png", "city", ChartKind::Bar),
            ("bar-active.png", "active", ChartKind::Bar),
        ]
    );
    for chart in &charts {
        assert_eq!(dimensions(&chart.png), (CHART_WIDTH, CHART_HEIGHT), "{}", chart.name);
        assert_eq!(&chart.png[chart.png.len() - 8..chart.png.len() - 4], b"IEND", "{}", chart.name);
        assert!(chart.png.len() < 100_000, "{} is {} bytes", chart.name, chart.png.len());
    }
    assert_eq!((CHART_WIDTH, CHART_HEIGHT), (800, 500));
}

#[test]
fn charts_are_deterministic_and_differ_by_data() {
    let (table, summary) = sample();
    let first = render_charts(&table, &summary, &ChartLimits::default()).expect("renders");
    let second = render_charts(&table, &summary, &ChartLimits::default()).expect("renders");
    assert_eq!(first, second);
    assert_ne!(first[0].png, first[1].png);
}

#[test]
fn max_charts_is_respected() {
    let (table, summary) = sample();
    let limits = ChartLimits { max_charts: 3, ..ChartLimits::default() };
    let charts = render_charts(&table, &summary, &limits).expect("renders");
    let columns: Vec<&str> = charts.iter().map(|chart| chart.column.as_str()).collect();
    assert_eq!(columns, ["price", "qty", "city"]);
    let none = ChartLimits { max_charts: 0, ..ChartLimits::default() };
    assert!(render_charts(&table, &summary, &none).expect("renders").is_empty());
}

#[test]
fn max_categories_is_respected() {
    let (table, summary) = sample();
    let limits = ChartLimits { max_categories: 2, ..ChartLimits::default() };
    let charts = render_charts(&table, &summary, &limits).expect("renders");
    let columns: Vec<&str> = charts.iter().map(|chart| chart.column.as_str()).collect();
    assert_eq!(columns, ["price", "qty", "active"], "city has 3 values");
}

#[test]
fn nothing_to_plot_gives_no_charts() {
    let table = load_table(b"id,note\na,\nb,\n", None, None, &Limits::default()).expect("valid csv");
    let charts = render_charts(&table, &summarize(&table), &ChartLimits::default()).expect("renders");
    assert!(charts.is_empty());
}

#[test]
fn single_values_and_a_mismatched_summary() {
    let table = load_table(b"x,y\n5,a\n5,a\n", None, None, &Limits::default()).expect("valid csv");
    let summary = summarize(&table);
    let charts = render_charts(&table, &summary, &ChartLimits::default()).expect("renders");
    assert_eq!(charts.len(), 2, "one bin, one bar");
    let other = load_table(b"z,y\n1,a\n2,a\n", None, None, &Limits::default()).expect("valid csv");
    let charts = render_charts(&table, &summarize(&other), &ChartLimits::default()).expect("renders");
    let columns: Vec<&str> = charts.iter().map(|chart| chart.column.as_str()).collect();
    assert_eq!(columns, ["y"], "x's summary is z's");
}

#[test]
fn file_names_are_slugs_and_unique() {
    let mut taken = HashSet::new();
    assert_eq!(file_name(ChartKind::Bar, "Unit Price (€)", 0, &mut taken), "bar-unit-price.png");
    assert_eq!(file_name(ChartKind::Bar, "unit-price", 1, &mut taken), "bar-unit-price-2.png");
    assert_eq!(file_name(ChartKind::Bar, "Unit_Price", 2, &mut taken), "bar-unit-price-3.png");
    assert_eq!(file_name(ChartKind::Histogram, "€€", 3, &mut taken), "histogram-column-4.png");
    assert_eq!(file_name(ChartKind::Histogram, "../../etc", 4, &mut taken), "histogram-etc.png");
}
