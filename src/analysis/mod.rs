//! Table analysis for `analysis` tasks: load a CSV or JSON table, summarize its columns, describe the summary in
//! words and draw PNG charts.
//!
//! Pure and synchronous: bytes in, values out, with no database, network or runtime. Parsing a large table and
//! rendering charts are CPU-bound, so async callers run them on a blocking thread (`spawn_blocking`). Every input
//! is bounded by [`Limits`] and every failure is an [`AnalysisError`] with a message meant for the user.

mod bins;
mod charts;
mod delimited;
mod draw;
mod error;
mod fmt;
mod json;
mod load;
mod narrative;
mod numeric;
mod png;
mod summary;
mod table;

pub use charts::{Chart, ChartKind, ChartLimits, render_charts};
pub use draw::{HEIGHT as CHART_HEIGHT, WIDTH as CHART_WIDTH};
pub use error::AnalysisError;
pub use load::load_table;
pub use narrative::narrative;
pub use summary::{ColumnSummary, ColumnType, Scalar, Summary, TopValue, summarize};
pub use table::{Column, Table, Value};

/// Bounds on the input, checked while parsing so oversized data fails before it is all in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Most data rows (the header is not counted).
    pub max_rows: usize,
    /// Most columns.
    pub max_columns: usize,
    /// Most cells (rows × columns). Each cell takes 24 bytes plus its text, so this bounds memory where the
    /// byte limit alone does not: 50 MiB of empty CSV fields would be 50 million cells.
    pub max_cells: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 50 * 1024 * 1024, max_rows: 1_000_000, max_columns: 500, max_cells: 10_000_000 }
    }
}
