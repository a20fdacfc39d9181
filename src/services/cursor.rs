//! Cursor pagination for lists that grow without bound (conversations, messages): `after` is the id of the last
//! item seen. Ids are time-ordered (UUIDv7), so "after" is stable under inserts, unlike page numbers.
use serde::Serialize;

use super::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct CursorRequest {
    pub after: Option<String>,
    pub limit: u64,
}

impl CursorRequest {
    pub fn new(after: Option<String>, limit: Option<i64>) -> AppResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT as i64);
        if !(1..=MAX_LIMIT as i64).contains(&limit) {
            return Err(AppError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = after.filter(|a| !a.is_empty());
        if let Some(after) = &after
            && (after.len() > 100 || !after.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(AppError::validation("after", "must be an id returned as `nextCursor`"));
        }
        Ok(Self { after, limit: limit as u64 })
    }

    /// Splits a fetch of `limit + 1` rows into the page and its info.
    pub fn page<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> String) -> (Vec<T>, CursorInfo) {
        let has_more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more { rows.last().map(id) } else { None };
        (rows, CursorInfo { limit: self.limit, has_more, next_cursor })
    }
}

/// The `pagination` object of cursor lists.
#[derive(Debug, Clone, Serialize)]
pub struct CursorInfo {
    pub limit: u64,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}
