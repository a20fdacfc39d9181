//! Entry point for parsing: size and encoding checks, then format detection, then the CSV or JSON reader.
//!
//! The format is taken from the most trustworthy hint available: an explicit content type, then the file name's
//! extension, then the bytes themselves. Generic types (`text/plain`, `application/octet-stream`) say nothing
//! about the format, so they fall through to the next hint instead of forcing CSV.

use super::delimited::{self, Delimiter};
use super::{AnalysisError, Limits, Table, json};

/// The supported table formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv(Delimiter),
    Json,
}

/// Parses a CSV or JSON table.
///
/// `content_type` is the HTTP `Content-Type` (parameters are ignored) and `name_hint` a file name or URL path
/// whose extension is used when the content type is missing or generic.
///
/// # Errors
///
/// [`AnalysisError::TooLarge`] past any of the `limits`, [`AnalysisError::InvalidEncoding`] for non-UTF-8 text,
/// [`AnalysisError::NotATable`] for binary files, HTML, malformed or non-tabular JSON and ragged CSV, and
/// [`AnalysisError::EmptyTable`] when there are no data rows.
pub fn load_table(
    bytes: &[u8],
    content_type: Option<&str>,
    name_hint: Option<&str>,
    limits: &Limits,
) -> Result<Table, AnalysisError> {
    if bytes.len() > limits.max_bytes {
        return Err(AnalysisError::TooLarge { what: "bytes", limit: limits.max_bytes });
    }
    if let Some(kind) = binary_kind(bytes) {
        return Err(AnalysisError::not_a_table(format!("it looks like {kind}")));
    }
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(AnalysisError::EmptyTable);
    }
    let format = content_type
        .and_then(format_from_content_type)
        .or_else(|| name_hint.and_then(format_from_name))
        .unwrap_or_else(|| sniff(text));
    match format {
        Format::Json => json::parse(text, limits),
        Format::Csv(delimiter) => {
            if looks_like_markup(text) {
                return Err(AnalysisError::not_a_table("it looks like an HTML or XML document, not CSV"));
            }
            delimited::parse(text, delimiter, limits)
        }
    }
}

/// UTF-8 only, with an optional byte-order mark; UTF-16 files get a pointed message since Excel produces them.
fn decode(bytes: &[u8]) -> Result<&str, AnalysisError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(AnalysisError::not_a_table("it is UTF-16 text; save the table as UTF-8 CSV or JSON"));
    }
    std::str::from_utf8(bytes).map_err(|error| AnalysisError::InvalidEncoding { offset: error.valid_up_to() })
}

/// Recognises common binary formats, so a wrong upload is reported as "a PNG image" rather than as bad UTF-8.
fn binary_kind(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one; export it as CSV)"),
        (b"\x1F\x8B", "a gzip-compressed file"),
        (b"\xD0\xCF\x11\xE0", "a legacy Office document (export it as CSV)"),
    ];
    if let Some((_, kind)) = SIGNATURES.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(kind);
    }
    let head = &bytes[..bytes.len().min(8192)];
    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    (!utf16 && head.contains(&0)).then_some("a binary file")
}

fn format_from_content_type(content_type: &str) -> Option<Format> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "text/csv" | "application/csv" | "text/comma-separated-values" | "application/vnd.ms-excel" => {
            Some(Format::Csv(Delimiter::Sniff))
        }
        "text/tab-separated-values" => Some(Format::Csv(Delimiter::Fixed(b'\t'))),
        "application/json" | "text/json" => Some(Format::Json),
        _ if essence.ends_with("+json") => Some(Format::Json),
        _ => None,
    }
}

fn format_from_name(name: &str) -> Option<Format> {
    // A URL may carry a query or fragment after the path.
    let path = name.split(['?', '#']).next()?;
    let file = path.rsplit('/').next()?;
    let (_, extension) = file.rsplit_once('.')?;
    match extension.to_ascii_lowercase().as_str() {
        "csv" => Some(Format::Csv(Delimiter::Sniff)),
        "tsv" | "tab" => Some(Format::Csv(Delimiter::Fixed(b'\t'))),
        "json" => Some(Format::Json),
        _ => None,
    }
}

fn sniff(text: &str) -> Format {
    match text.trim_start().as_bytes().first() {
        Some(b'[' | b'{') => Format::Json,
        _ => Format::Csv(Delimiter::Sniff),
    }
}

fn looks_like_markup(text: &str) -> bool {
    let start = text.trim_start().get(..14).unwrap_or_default().to_ascii_lowercase();
    ["<!doctype", "<html", "<?xml", "<svg"].iter().any(|tag| start.starts_with(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_wins_then_extension_then_sniffing() {
        let csv = Format::Csv(Delimiter::Sniff);
        assert_eq!(format_from_content_type("text/csv; charset=utf-8"), Some(csv));
        assert_eq!(format_from_content_type("Application/JSON"), Some(Format::Json));
        assert_eq!(format_from_content_type("application/vnd.api+json"), Some(Format::Json));
        assert_eq!(format_from_content_type("text/plain"), None);
        assert_eq!(format_from_name("https://x.test/a/data.JSON?x=1"), Some(Format::Json));
        assert_eq!(format_from_name("report.tsv"), Some(Format::Csv(Delimiter::Fixed(b'\t'))));
        assert_eq!(format_from_name("https://x.test/v1.2/data"), None);
        assert_eq!(sniff("  \n[{\"a\":1}]"), Format::Json);
        assert_eq!(sniff("a,b\n1,2"), csv);
    }

    #[test]
    fn a_json_content_type_overrides_a_csv_name() {
        let table =
            load_table(br#"[{"a": 1}]"#, Some("application/json"), Some("data.csv"), &Limits::default()).expect("json");
        assert_eq!(table.columns()[0].name(), "a");
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let table = load_table(b"\xEF\xBB\xBFa,b\n1,2\n", None, None, &Limits::default()).expect("csv");
        assert_eq!(table.columns()[0].name(), "a");
    }

    #[test]
    fn binary_and_markup_are_not_tables() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let error = load_table(png, None, Some("data.csv"), &Limits::default()).expect_err("png");
        assert_eq!(error.code(), "not_a_table");
        assert!(error.to_string().contains("PNG image"), "{error}");
        let error = load_table(b"a,b\0c", None, None, &Limits::default()).expect_err("nul");
        assert_eq!(error.code(), "not_a_table");
        let html = b"<!DOCTYPE html><html><body>Not found</body></html>";
        let error = load_table(html, Some("text/html"), None, &Limits::default()).expect_err("html");
        assert_eq!(error.code(), "not_a_table");
    }

    #[test]
    fn invalid_utf8_is_an_encoding_error() {
        let error = load_table(b"name\ncaf\xE9\n", None, None, &Limits::default()).expect_err("latin-1");
        assert_eq!(error, AnalysisError::InvalidEncoding { offset: 8 });
        assert_eq!(error.code(), "invalid_encoding");
        let error = load_table(b"\xFF\xFEa\0", None, None, &Limits::default()).expect_err("utf-16");
        assert_eq!(error.code(), "not_a_table");
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let limits = Limits { max_bytes: 4, ..Limits::default() };
        let error = load_table(b"a,b\n1,2\n", None, None, &limits).expect_err("too large");
        assert_eq!(error, AnalysisError::TooLarge { what: "bytes", limit: 4 });
        assert_eq!(error.code(), "table_too_large");
    }

    #[test]
    fn blank_input_is_empty() {
        let error = load_table(b" \n\n", None, None, &Limits::default()).expect_err("blank");
        assert_eq!(error.code(), "empty_table");
        assert_eq!(load_table(b"", None, None, &Limits::default()), Err(AnalysisError::EmptyTable));
    }
}
