//! Text extraction and chunking for retrieval and attachments: plain text, Markdown, CSV, JSON, HTML (rendered
//! to text by `html2text`) and PDF (`pdf-extract`), then cut into overlapping chunks on natural boundaries by
//! `text-splitter`.
//!
//! Text, Markdown, CSV and JSON are checked in linear time on a blocking thread. HTML and PDF parsing can run away
//! (superlinear rendering of deep markup, decompression bombs), and a thread cannot be stopped from outside: they
//! are read by a child process ([`child`], the same binary's hidden `extract` subcommand) under kernel limits on
//! memory and processor time, killed at the time limit. A semaphore bounds how many extractions run at once.
use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context;
use bytes::Bytes;
use text_splitter::{ChunkConfig, TextSplitter};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

pub mod child;
pub mod html;
pub mod pdf;

use child::Kind;

/// Characters per chunk, and how many the next chunk repeats (so a fact cut at a boundary is whole in one).
pub const CHUNK_CHARS: usize = 1200;
pub const CHUNK_OVERLAP: usize = 150;

/// How much of the child's stderr is kept: its reason is one line.
const REASON_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("text cannot be extracted from `{0}` files (supported: text, Markdown, CSV, JSON, HTML, PDF)")]
    Unsupported(String),
    #[error("the file could not be read as {kind}: {reason}")]
    Unreadable { kind: &'static str, reason: String },
    /// A limit of the extraction (time, memory, nesting, inflated or output size) stopped it.
    #[error("the {kind} file was not read to the end: {limit}")]
    Limit { kind: &'static str, limit: String },
    /// The extraction process could not run (a deployment problem, not the file's).
    #[error("the text extractor is unavailable")]
    Unavailable(String),
    /// Every extraction slot stayed taken for a whole extraction's time limit (others' files are being read).
    #[error("the server is busy reading other files; try again shortly")]
    Busy,
}

impl ExtractError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "unsupported_file_type",
            Self::Unreadable { .. } => "unreadable_file",
            Self::Limit { .. } => "extraction_limit",
            Self::Unavailable(_) => "internal_error",
            Self::Busy => "service_unavailable",
        }
    }
}

/// A file's text, and whether it was cut at the output limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub text: String,
    pub cut: bool,
}

/// The essence of a content type (`text/csv; charset=utf-8` → `text/csv`).
fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

/// Whether [`Extractor::extract`] reads this content type.
pub fn supports(content_type: &str) -> bool {
    matches!(
        essence(content_type),
        "text/plain" | "text/markdown" | "text/csv" | "application/json" | "text/html" | "application/pdf"
    )
}

/// Extracts text from files, bounded as configured (`extract_*` settings).
#[derive(Debug)]
pub struct Extractor {
    /// The binary run as `<command> extract …`.
    command: PathBuf,
    timeout: Duration,
    max_memory_bytes: u64,
    max_output_chars: usize,
    max_html_depth: usize,
    permits: tokio::sync::Semaphore,
}

impl Extractor {
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let command = match config.extract_command.as_deref().filter(|c| !c.is_empty()) {
            Some(command) => PathBuf::from(command),
            None => std::env::current_exe().context("finding this program's path for the extraction process")?,
        };
        let concurrency = match config.extract_concurrency {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            n => n,
        };
        Ok(Self {
            command,
            timeout: Duration::from_millis(config.extract_timeout_ms.max(1)),
            max_memory_bytes: config.extract_max_memory_bytes,
            max_output_chars: config.extract_max_output_chars,
            max_html_depth: config.extract_max_html_depth,
            permits: tokio::sync::Semaphore::new(concurrency),
        })
    }

    /// The text of a file; text longer than the output limit is cut (`cut`).
    pub async fn extract(&self, content_type: &str, bytes: Bytes) -> Result<Extracted, ExtractError> {
        let kind = essence(content_type).to_owned();
        let kind = match kind.as_str() {
            "text/plain" | "text/markdown" | "text/csv" => Plain::Text,
            "application/json" => Plain::Json,
            "text/html" => return self.in_child(Kind::Html, bytes).await,
            "application/pdf" => return self.in_child(Kind::Pdf, bytes).await,
            _ => return Err(ExtractError::Unsupported(kind)),
        };
        let _permit = self.slot().await?;
        // Linear, but up to tens of megabytes: not on an async worker.
        let text = tokio::task::spawn_blocking(move || plain_text(kind, &bytes)).await.map_err(|_| {
            ExtractError::Unreadable { kind: kind.label(), reason: "the document is malformed".into() }
        })??;
        Ok(Extracted { text, cut: false })
    }

    /// The whole text of a file: text longer than the output limit is an [`ExtractError::Limit`] (a knowledge
    /// file indexed in part would answer questions as if the rest did not exist).
    pub async fn extract_whole(&self, content_type: &str, bytes: Bytes) -> Result<String, ExtractError> {
        // Only the formats read by the child are ever cut.
        let kind = if essence(content_type) == "application/pdf" { "PDF" } else { "HTML" };
        let extracted = self.extract(content_type, bytes).await?;
        if extracted.cut {
            return Err(ExtractError::Limit {
                kind,
                limit: format!("its text is longer than {} characters", self.max_output_chars),
            });
        }
        Ok(extracted.text)
    }

    /// Runs the `extract` child on `bytes`, killing it at the time limit (or when this future is dropped).
    /// One of the extraction slots, waiting at most one extraction's time limit for it: a tenant whose files keep
    /// every slot busy delays others' by at most that, then they are told to retry instead of queueing forever.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ExtractError> {
        match tokio::time::timeout(self.timeout, self.permits.acquire()).await {
            Ok(permit) => permit.map_err(|err| ExtractError::Unavailable(err.to_string())),
            Err(_) => Err(ExtractError::Busy),
        }
    }

    async fn in_child(&self, kind: Kind, bytes: Bytes) -> Result<Extracted, ExtractError> {
        let _permit = self.slot().await?;
        let timeout_secs = self.timeout.as_secs_f64();
        let mut child = tokio::process::Command::new(&self.command)
            .arg("extract")
            .args(["--kind", kind.arg()])
            .args(["--max-memory-bytes", &self.max_memory_bytes.to_string()])
            .args(["--cpu-secs", &(self.timeout.as_secs() + 1).to_string()])
            .args(["--max-output-chars", &self.max_output_chars.to_string()])
            .args(["--max-html-depth", &self.max_html_depth.to_string()])
            // The parser holds the compressed file, the inflated stream and its parsed form at once.
            .args(["--max-inflated-bytes", &(self.max_memory_bytes / 4).to_string()])
            // The child needs nothing from the server's environment (and must not see its secrets).
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| ExtractError::Unavailable(format!("starting {}: {err}", self.command.display())))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ExtractError::Unavailable("the extraction process has no pipes".into()));
        };
        // A UTF-8 character is at most 4 bytes: a child writing more than that broke its own limit.
        let out_cap = self.max_output_chars.saturating_mul(4);
        let work = async {
            let feed = async move {
                // A child that stops reading early (a limit hit) closes the pipe: its exit code tells why.
                let _ = stdin.write_all(&bytes).await;
            };
            let (_, out, err) = tokio::join!(feed, read_capped(stdout, out_cap), read_capped(stderr, REASON_BYTES));
            (out, err, child.wait().await)
        };
        let finished = tokio::time::timeout(self.timeout, work).await;
        let Ok((out, err, status)) = finished else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(ExtractError::Limit {
                kind: kind.label(),
                limit: format!("reading it took longer than {timeout_secs} s"),
            });
        };
        let status =
            status.map_err(|err| ExtractError::Unavailable(format!("waiting for the extraction process: {err}")))?;
        let (out, overflowed) =
            out.map_err(|err| ExtractError::Unavailable(format!("reading the extracted text: {err}")))?;
        let reason = err.map(|(bytes, _)| String::from_utf8_lossy(&bytes).trim().to_owned()).unwrap_or_default();
        self.outcome(kind, status, out, overflowed, reason)
    }

    /// What the child's exit means.
    fn outcome(
        &self,
        kind: Kind,
        status: std::process::ExitStatus,
        out: Vec<u8>,
        overflowed: bool,
        reason: String,
    ) -> Result<Extracted, ExtractError> {
        use std::os::unix::process::ExitStatusExt;
        // Linux signal numbers.
        const SIGABRT: i32 = 6;
        const SIGKILL: i32 = 9;
        const SIGXCPU: i32 = 24;
        let label = kind.label();
        let text = || {
            String::from_utf8(out.clone()).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
        };
        match (status.code(), status.signal()) {
            (Some(child::exit::WHOLE), _) => Ok(Extracted { text: text(), cut: overflowed }),
            (Some(child::exit::CUT), _) => Ok(Extracted { text: text(), cut: true }),
            (Some(child::exit::UNREADABLE), _) => Err(ExtractError::Unreadable { kind: label, reason }),
            (Some(child::exit::LIMIT), _) => Err(ExtractError::Limit { kind: label, limit: reason }),
            (Some(child::exit::SETUP), _) => Err(ExtractError::Unavailable(reason)),
            (_, Some(SIGXCPU | SIGKILL)) => Err(ExtractError::Limit {
                kind: label,
                limit: format!("reading it took more than {} s of processor time", self.timeout.as_secs() + 1),
            }),
            // Rust aborts when the stack overflows (and says so) or an allocation is refused under the
            // address-space limit.
            (_, Some(SIGABRT)) if reason.contains("overflowed its stack") => {
                Err(ExtractError::Unreadable { kind: label, reason: "it nests too deeply to be read".into() })
            }
            (_, Some(SIGABRT)) => Err(ExtractError::Limit {
                kind: label,
                limit: format!("reading it needed more than {} MiB of memory", self.max_memory_bytes / (1024 * 1024)),
            }),
            _ => {
                tracing::warn!(kind = label, %status, %reason, "the extraction process failed");
                Err(ExtractError::Unreadable { kind: label, reason: "the document is malformed".into() })
            }
        }
    }
}

/// Reads `from` to its end, keeping the first `cap` bytes: `(kept, whether more came)`. The rest is drained, so the
/// writer never blocks on a full pipe.
async fn read_capped(mut from: impl AsyncRead + Unpin, cap: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut more = false;
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return Ok((kept, more));
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
        more |= n > room;
    }
}

/// The formats read in this process.
#[derive(Debug, Clone, Copy)]
enum Plain {
    Text,
    Json,
}

impl Plain {
    fn label(self) -> &'static str {
        match self {
            Plain::Text => "text",
            Plain::Json => "JSON",
        }
    }
}

fn plain_text(kind: Plain, bytes: &[u8]) -> Result<String, ExtractError> {
    if let Plain::Json = kind {
        // Checked, then kept as written: re-printing could multiply the size (deep nesting, indentation).
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|err| ExtractError::Unreadable { kind: "JSON", reason: err.to_string() })?;
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|err| ExtractError::Unreadable { kind: kind.label(), reason: format!("not UTF-8 ({err})") })
}

/// Cuts text into chunks of at most [`CHUNK_CHARS`] characters, preferring paragraph, then sentence, then word
/// boundaries, each overlapping the previous by up to [`CHUNK_OVERLAP`]. Whitespace-only text has no chunks.
pub fn chunk(text: &str) -> Vec<String> {
    let config =
        ChunkConfig::new(CHUNK_CHARS).with_overlap(CHUNK_OVERLAP).expect("the overlap is smaller than the chunk");
    TextSplitter::new(config).chunks(text).map(str::to_owned).filter(|c| !c.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An extractor whose child command is missing: the formats read in-process still work.
    fn local() -> Extractor {
        let config =
            crate::config::Config { extract_command: Some("/nonexistent/openclaw".into()), ..Default::default() };
        Extractor::from_config(&config).expect("extractor")
    }

    #[tokio::test]
    async fn plain_formats_give_their_text() {
        let extractor = local();
        let text = |t: &'static str, b: &'static [u8]| extractor.extract(t, Bytes::from_static(b));
        assert_eq!(text("text/plain; charset=utf-8", "héllo".as_bytes()).await.expect("txt").text, "héllo");
        assert!(text("text/csv", b"a,b\n1,2\n").await.expect("csv").text.contains("1,2"));
        assert_eq!(
            text("application/json", b"{\"refund\":\"30 days\"}").await.expect("json").text,
            "{\"refund\":\"30 days\"}"
        );
    }

    #[tokio::test]
    async fn bad_files_are_named_errors() {
        let extractor = local();
        let err = extractor.extract("application/json", Bytes::from_static(b"{")).await.expect_err("bad json");
        assert_eq!(err.code(), "unreadable_file");
        let err = extractor.extract("image/png", Bytes::from_static(b"\x89PNG")).await.expect_err("png");
        assert_eq!(err.code(), "unsupported_file_type");
        let err = extractor.extract("text/plain", Bytes::from_static(b"\xff\xfe")).await.expect_err("not utf-8");
        assert_eq!(err.code(), "unreadable_file");
        // HTML and PDF need the child: without it, the deployment is at fault, not the file.
        let err = extractor.extract("text/html", Bytes::from_static(b"<p>x")).await.expect_err("no child");
        assert_eq!(err.code(), "internal_error");
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

#[cfg(test)]
mod fuzz {
    use super::*;
    use child::{ExtractArgs, Kind, extract_here};

    #[test]
    fn fuzz_extraction() {
        const VOCABULARY: &[&str] = &[
            "<div>",
            "</div>",
            "<table><tr><td>",
            "</td></tr></table>",
            "<p>",
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<br/>",
            "&amp;",
            "text ",
            "é",
            "\n",
            "%PDF-1.4\n",
            "obj",
            "endobj",
            "stream\n",
            "endstream",
            "/FlateDecode",
            "<<",
            ">>",
            "{",
            "}",
            "[",
            "]",
            "\"",
            ",",
            "1",
        ];
        let args = |kind| ExtractArgs {
            kind,
            max_memory_bytes: 0,
            cpu_secs: 0,
            max_output_chars: 10_000,
            max_html_depth: 64,
            max_inflated_bytes: 1 << 20,
            limited: true,
        };
        let (html, pdf) = (args(Kind::Html), args(Kind::Pdf));
        crate::fuzz::run("extraction", VOCABULARY, |input| {
            for kind in [Plain::Text, Plain::Json] {
                if let Ok(text) = plain_text(kind, input) {
                    let _ = chunk(&text);
                }
            }
            let _ = html::check_depth(input, 64);
            let _ = pdf::check_inflated_size(input, 1 << 20);
            // The parsers themselves run in the limited child in production; here only on small inputs.
            if input.len() <= 4096 {
                for args in [&html, &pdf] {
                    if let Ok(text) = extract_here(args, input) {
                        let _ = chunk(&text);
                    }
                }
            }
        });
    }
}
