//! Text extraction and chunking for retrieval and attachments: plain text, Markdown, CSV, JSON, HTML (rendered
//! to text by `html2text`) and PDF (`pdf-extract`), then cut into overlapping chunks on natural boundaries by
//! `text-splitter`. PDF parsing runs on a blocking thread and a PDF that panics the parser is an error like any
//! other unreadable file.
use text_splitter::{ChunkConfig, TextSplitter};

/// Longest a PDF's text extraction may take.
const PDF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Characters per chunk, and how many the next chunk repeats (so a fact cut at a boundary is whole in one).
pub const CHUNK_CHARS: usize = 1200;
pub const CHUNK_OVERLAP: usize = 150;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("text cannot be extracted from `{0}` files (supported: text, Markdown, CSV, JSON, HTML, PDF)")]
    Unsupported(String),
    #[error("the file could not be read as {kind}: {reason}")]
    Unreadable { kind: &'static str, reason: String },
}

impl ExtractError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "unsupported_file_type",
            Self::Unreadable { .. } => "unreadable_file",
        }
    }
}

/// The essence of a content type (`text/csv; charset=utf-8` → `text/csv`).
fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

/// Whether [`extract`] reads this content type.
pub fn supports(content_type: &str) -> bool {
    matches!(
        essence(content_type),
        "text/plain" | "text/markdown" | "text/csv" | "application/json" | "text/html" | "application/pdf"
    )
}

/// The text of a file.
pub async fn extract(content_type: &str, bytes: bytes::Bytes) -> Result<String, ExtractError> {
    let kind = essence(content_type).to_owned();
    let utf8 = |kind: &'static str, bytes: &[u8]| {
        String::from_utf8(bytes.to_vec())
            .map_err(|err| ExtractError::Unreadable { kind, reason: format!("not UTF-8 ({err})") })
    };
    match kind.as_str() {
        "text/plain" | "text/markdown" | "text/csv" => utf8("text", &bytes),
        "application/json" => {
            // Checked, then kept as written: re-printing could multiply the size (deep nesting, indentation).
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
                .map_err(|err| ExtractError::Unreadable { kind: "JSON", reason: err.to_string() })?;
            utf8("JSON", &bytes)
        }
        "text/html" => html2text::from_read(&bytes[..], 100)
            .map_err(|err| ExtractError::Unreadable { kind: "HTML", reason: err.to_string() }),
        "application/pdf" => {
            let parsing = tokio::task::spawn_blocking(move || {
                std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&bytes))
            });
            // A pathological document must not hold its caller forever (the parser itself cannot be stopped: its
            // thread finishes on its own).
            match tokio::time::timeout(PDF_TIMEOUT, parsing).await {
                Ok(Ok(Ok(Ok(text)))) => Ok(text),
                Ok(Ok(Ok(Err(err)))) => Err(ExtractError::Unreadable { kind: "PDF", reason: err.to_string() }),
                Ok(_) => Err(ExtractError::Unreadable { kind: "PDF", reason: "the document is malformed".into() }),
                Err(_) => Err(ExtractError::Unreadable { kind: "PDF", reason: format!("reading it took longer than {} s", PDF_TIMEOUT.as_secs()) }),
            }
        }
        _ => Err(ExtractError::Unsupported(kind)),
    }
}

/// Cuts text into chunks of at most [`CHUNK_CHARS`] characters, preferring paragraph, then sentence, then word
/// boundaries, each overlapping the previous by up to [`CHUNK_OVERLAP`]. Whitespace-only text has no chunks.
pub fn chunk(text: &str) -> Vec<String> {
    let config = ChunkConfig::new(CHUNK_CHARS).with_overlap(CHUNK_OVERLAP).expect("the overlap is smaller than the chunk");
    TextSplitter::new(config).chunks(text).map(str::to_owned).filter(|c| !c.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_supported_format_gives_its_text() {
        let text = |t: &'static str, b: &'static [u8]| extract(t, bytes::Bytes::from_static(b));
        assert_eq!(text("text/plain; charset=utf-8", "héllo".as_bytes()).await.expect("txt"), "héllo");
        assert!(text("text/csv", b"a,b\n1,2\n").await.expect("csv").contains("1,2"));
        assert_eq!(text("application/json", b"{\"refund\":\"30 days\"}").await.expect("json"), "{\"refund\":\"30 days\"}");
        let html = text("text/html", b"<html><script>x()</script><h1>Title</h1><p>Body <b>bold</b></p></html>").await.expect("html");
        assert!(html.contains("Title") && html.contains("Body") && html.contains("bold"), "{html}");
        let pdf = extract("application/pdf", bytes::Bytes::from_static(include_bytes!("../../tests/fixtures/policy.pdf")))
            .await
            .expect("pdf");
        assert!(pdf.contains("Refund policy") && pdf.contains("Lyon"), "{pdf}");
    }

    #[tokio::test]
    async fn bad_files_are_named_errors() {
        let err = extract("application/pdf", bytes::Bytes::from_static(b"%PDF-1.4 garbage")).await.expect_err("bad pdf");
        assert_eq!(err.code(), "unreadable_file");
        let err = extract("application/json", bytes::Bytes::from_static(b"{")).await.expect_err("bad json");
        assert_eq!(err.code(), "unreadable_file");
        let err = extract("image/png", bytes::Bytes::from_static(b"\x89PNG")).await.expect_err("png");
        assert_eq!(err.code(), "unsupported_file_type");
        let err = extract("text/plain", bytes::Bytes::from_static(b"\xff\xfe")).await.expect_err("not utf-8");
        assert_eq!(err.code(), "unreadable_file");
    }

    #[test]
    fn chunks_are_bounded_and_overlap() {
        let sentence = "The refund window is thirty days from delivery. ";
        let text = sentence.repeat(100);
        let chunks = chunk(&text);
        assert!(chunks.len() > 3);
        assert!(chunks.iter().all(|c| c.chars().count() <= CHUNK_CHARS));
        assert!(chunks.iter().all(|c| c.starts_with("The refund")), "cut on sentence boundaries");
        assert!(chunk("  \n ").is_empty());
        assert_eq!(chunk("short"), vec!["short".to_owned()]);
    }
}
