//! The one error type of table analysis.
//!
//! Every message is written for the person who supplied the data: the task worker shows it to them as the reason
//! the task failed, so it says what was wrong with the input and, where it helps, what to do instead.

use thiserror::Error;

/// Why a table could not be loaded or charted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnalysisError {
    /// The bytes are not UTF-8 text.
    #[error("the data is not valid UTF-8 text (invalid byte at offset {offset}); save the table as UTF-8 CSV or JSON")]
    InvalidEncoding {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The data is readable but is not a table in a supported shape.
    #[error("the data is not a table: {reason}")]
    NotATable {
        /// What was found instead, in words.
        reason: String,
    },
    /// One of the [`Limits`](super::Limits) was exceeded.
    #[error("the table is too large: the limit is {} {what}", super::fmt::count(*.limit))]
    TooLarge {
        /// The measure that overflowed: `bytes`, `rows`, `columns` or `cells`.
        what: &'static str,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The table has a header (or nothing at all) but no data rows.
    #[error("the table is empty: it has no data rows")]
    EmptyTable,
    /// Drawing or encoding a chart failed; this is a bug or a resource problem, not bad input.
    #[error("could not render the chart for column {column:?}: {reason}")]
    ChartFailed {
        /// The column being charted.
        column: String,
        /// The backend's description of the failure.
        reason: String,
    },
}

impl AnalysisError {
    /// A stable machine-readable code, suitable for a task's error `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEncoding { .. } => "invalid_encoding",
            Self::NotATable { .. } => "not_a_table",
            Self::TooLarge { .. } => "table_too_large",
            Self::EmptyTable => "empty_table",
            Self::ChartFailed { .. } => "chart_failed",
        }
    }

    /// Shorthand for [`AnalysisError::NotATable`].
    pub(crate) fn not_a_table(reason: impl Into<String>) -> Self {
        Self::NotATable { reason: reason.into() }
    }
}
