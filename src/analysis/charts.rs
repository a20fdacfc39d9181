//! Choosing and rendering charts: a histogram per numeric column, a bar chart per low-cardinality text or
//! boolean column.
//!
//! Columns with nothing to show are skipped rather than drawn empty: no values, dates, text with too many
//! distinct values for bars to be readable, and columns where every value occurs once (an id or a name column,
//! whose bars would all have height one).

use std::collections::HashSet;

use super::bins::{self, Bin};
use super::summary::{ColumnSummary, ColumnType, Scalar, frequencies, ranked, sorted_numbers};
use super::table::Column;
use super::{AnalysisError, Summary, Table, draw};

/// Bounds on chart output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartLimits {
    /// At most this many charts, taken in column order.
    pub max_charts: usize,
    /// Text and boolean columns with more distinct values than this get no bar chart.
    pub max_categories: usize,
}

impl Default for ChartLimits {
    fn default() -> Self {
        Self { max_charts: 12, max_categories: 30 }
    }
}

/// What a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// Distribution of a numeric column.
    Histogram,
    /// Value counts of a text or boolean column.
    Bar,
}

impl ChartKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Histogram => "histogram",
            Self::Bar => "bar",
        }
    }
}

/// A rendered chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// A file name unique within one call, such as `histogram-price.png`; safe in URLs and on any file system.
    pub name: String,
    /// The charted column's name, as in the summary.
    pub column: String,
    /// What the chart shows.
    pub kind: ChartKind,
    /// The PNG image, [`CHART_WIDTH`](super::CHART_WIDTH) × [`CHART_HEIGHT`](super::CHART_HEIGHT) pixels.
    pub png: Vec<u8>,
}

/// What to draw for one column.
enum Plan {
    Histogram { bins: Vec<Bin>, whole_numbers: bool },
    Bars(Vec<(String, usize)>),
}

/// Renders up to `limits.max_charts` charts, in column order. `summary` must be `summarize(table)`; columns
/// whose summary does not match by position and name are skipped.
///
/// CPU-bound (about 10–20 ms per chart in a release build, ten times that unoptimized): call it from a blocking
/// context such as `spawn_blocking`, not directly on an async task.
///
/// # Errors
///
/// [`AnalysisError::ChartFailed`] if plotters fails to draw, which does not depend on the data's content.
pub fn render_charts(table: &Table, summary: &Summary, limits: &ChartLimits) -> Result<Vec<Chart>, AnalysisError> {
    let mut charts = Vec::new();
    let mut names = HashSet::new();
    for (index, (column, stats)) in table.columns().iter().zip(&summary.columns).enumerate() {
        if charts.len() >= limits.max_charts {
            break;
        }
        if column.name() != stats.name {
            continue;
        }
        let Some(plan) = plan(column, stats, limits) else {
            continue;
        };
        let (kind, drawn) = match &plan {
            Plan::Histogram { bins, whole_numbers } => {
                (ChartKind::Histogram, draw::histogram(column.name(), bins, *whole_numbers))
            }
            Plan::Bars(bars) => (ChartKind::Bar, draw::bars(column.name(), bars)),
        };
        let png = drawn.map_err(|reason| AnalysisError::ChartFailed { column: column.name().to_owned(), reason })?;
        charts.push(Chart {
            name: file_name(kind, column.name(), index, &mut names),
            column: column.name().to_owned(),
            kind,
            png,
        });
    }
    Ok(charts)
}

fn plan(column: &Column, stats: &ColumnSummary, limits: &ChartLimits) -> Option<Plan> {
    match stats.kind {
        kind if kind.is_numeric() => {
            let bins = bins::histogram(&sorted_numbers(column.values()), kind == ColumnType::Integer);
            (!bins.is_empty()).then_some(Plan::Histogram { bins, whole_numbers: kind == ColumnType::Integer })
        }
        ColumnType::String | ColumnType::Boolean => {
            if stats.distinct == 0 || stats.distinct > limits.max_categories {
                return None;
            }
            let counts = ranked(&frequencies(column.values()), stats.kind);
            if counts.first().is_none_or(|top| top.count < 2) {
                return None;
            }
            let bars = counts.into_iter().map(|top| (label(&top.value), top.count)).collect();
            Some(Plan::Bars(bars))
        }
        _ => None,
    }
}

fn label(value: &Scalar) -> String {
    match value {
        Scalar::Number(number) => super::fmt::number(*number),
        Scalar::Bool(flag) => flag.to_string(),
        Scalar::Text(text) => text.clone(),
    }
}

/// `{kind}-{slug}.png`, where the slug keeps ASCII letters and digits of the column name (lower-cased) and
/// joins the rest with single hyphens; a name with none gets `column-N`, and repeats get `-2`, `-3`….
fn file_name(kind: ChartKind, column: &str, index: usize, taken: &mut HashSet<String>) -> String {
    const MAX_SLUG: usize = 48;
    let mut slug = String::new();
    for c in column.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_SLUG {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let base = if slug.is_empty() {
        format!("{}-column-{}", kind.as_str(), index + 1)
    } else {
        format!("{}-{slug}", kind.as_str())
    };
    let mut name = format!("{base}.png");
    let mut suffix = 2;
    while taken.contains(&name) {
        name = format!("{base}-{suffix}.png");
        suffix += 1;
    }
    taken.insert(name.clone());
    name
}

#[cfg(test)]
mod tests;
