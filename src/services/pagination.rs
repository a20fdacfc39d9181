//! Page-number pagination (SPEC §2): `limit` defaults to 20, at most 100; `page` starts at 1.
use serde::Serialize;

use crate::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: u64,
    pub limit: u64,
}

impl PageRequest {
    /// Validates raw client values, naming the offending parameter.
    pub fn new(page: Option<i64>, limit: Option<i64>) -> AppResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT as i64);
        if !(1..=MAX_LIMIT as i64).contains(&limit) {
            return Err(AppError::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let page = page.unwrap_or(1);
        if !(1..=1_000_000).contains(&page) {
            return Err(AppError::validation("page", "must be between 1 and 1000000"));
        }
        Ok(Self { page: page as u64, limit: limit as u64 })
    }

    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.limit
    }

    pub fn info(&self, total: u64) -> PageInfo {
        PageInfo { total, page: self.page, limit: self.limit }
    }
}

/// The `pagination` object of list responses.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PageInfo {
    pub total: u64,
    pub page: u64,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let p = PageRequest::new(None, None).expect("defaults");
        assert_eq!((p.page, p.limit, p.offset()), (1, 20, 0));
        assert_eq!(PageRequest::new(Some(3), Some(10)).expect("valid").offset(), 20);
        assert!(
            matches!(PageRequest::new(None, Some(101)), Err(AppError::Validation { field, .. }) if field == "limit")
        );
        assert!(matches!(PageRequest::new(Some(0), None), Err(AppError::Validation { field, .. }) if field == "page"));
    }
}
