//! The extraction process: `openclaw extract --kind html|pdf …` (a hidden subcommand), started by
//! [`super::Extractor`] for each HTML or PDF file. It first lowers its own resource limits (address space,
//! processor time, no files written, few descriptors, no core dump), so a parser that runs away is stopped by the
//! kernel rather than holding the server's memory or a thread; then it reads the file on stdin, checks the cheap
//! limits (nesting depth, inflated size), and writes the text on stdout, cut at the output limit.
//!
//! The exit code says how it went ([`exit`]); a one-line reason goes to stderr. A process killed by the kernel
//! (processor time, or an allocation refused under the address-space limit) is read by the parent from its signal.
use std::{
    io::{Read, Write},
    os::unix::process::CommandExt,
};

use rlimit::Resource;

use super::{html, pdf};

/// What the child reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Html,
    Pdf,
}

impl Kind {
    /// The name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Html => "HTML",
            Kind::Pdf => "PDF",
        }
    }

    /// The value of `--kind`.
    pub fn arg(self) -> &'static str {
        match self {
            Kind::Html => "html",
            Kind::Pdf => "pdf",
        }
    }
}

/// The limits the child enforces on itself; the parent passes its configuration.
#[derive(clap::Args, Debug, Clone)]
pub struct ExtractArgs {
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Address-space limit (RLIMIT_AS), in bytes.
    #[arg(long)]
    pub max_memory_bytes: u64,
    /// Processor-time limit (RLIMIT_CPU), in seconds.
    #[arg(long)]
    pub cpu_secs: u64,
    /// The text is cut after this many characters (exit [`exit::CUT`]).
    #[arg(long)]
    pub max_output_chars: usize,
    /// HTML nested deeper than this is refused before it is parsed.
    #[arg(long)]
    pub max_html_depth: usize,
    /// A PDF whose compressed streams inflate to more than this many bytes is refused before it is parsed.
    #[arg(long)]
    pub max_inflated_bytes: u64,
    /// Set by the process itself when it re-executes under its limits (see [`run`]).
    #[arg(long, hide = true)]
    pub limited: bool,
}

/// The child's exit codes.
pub mod exit {
    /// The whole text is on stdout.
    pub const WHOLE: i32 = 0;
    /// The file does not parse; the reason is on stderr.
    pub const UNREADABLE: i32 = 2;
    /// The text on stdout was cut at the output limit.
    pub const CUT: i32 = 3;
    /// A limit checked before parsing was hit; which one is on stderr.
    pub const LIMIT: i32 = 4;
    /// The process could not limit itself or talk to its parent: nothing was extracted.
    pub const SETUP: i32 = 5;
}

/// Why there is no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Unreadable(String),
    Limit(String),
}

/// Runs the child: limits, stdin → text → stdout. Returns the exit code.
pub fn run(args: &ExtractArgs) -> i32 {
    // A panic inside the parsers is caught and reported as an unreadable file; the default hook's text on stderr
    // would only bury that reason.
    std::panic::set_hook(Box::new(|_| {}));
    if let Err(err) = limit_self(args) {
        eprintln!("the extraction process could not limit itself: {err}");
        return exit::SETUP;
    }
    if !args.limited {
        // The allocator reserved its address space (mimalloc: a 1 GiB arena) before `main` could lower the
        // limit, and a reservation made before the limit is not bound by it (a bomb reached 600 MB resident under
        // a 256 MiB limit). A fresh image of this program starts under the limits, so everything it maps counts.
        let err =
            std::process::Command::new("/proc/self/exe").args(std::env::args_os().skip(1)).arg("--limited").exec();
        eprintln!("the extraction process could not restart under its limits: {err}");
        return exit::SETUP;
    }
    let mut input = Vec::new();
    if let Err(err) = std::io::stdin().lock().read_to_end(&mut input) {
        eprintln!("the file could not be read from the server: {err}");
        return exit::SETUP;
    }
    let text = match extract_here(args, &input) {
        Ok(text) => text,
        Err(Failure::Unreadable(reason)) => {
            eprintln!("{reason}");
            return exit::UNREADABLE;
        }
        Err(Failure::Limit(reason)) => {
            eprintln!("{reason}");
            return exit::LIMIT;
        }
    };
    let (text, cut) = cut_chars(&text, args.max_output_chars);
    let mut out = std::io::stdout().lock();
    if let Err(err) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("the text could not be sent to the server: {err}");
        return exit::SETUP;
    }
    if cut { exit::CUT } else { exit::WHOLE }
}

/// Lowers this process's limits. Only ever lowered (to the smaller of the wish and the current hard limit), so it
/// works without privileges; they cannot be raised again afterwards.
fn limit_self(args: &ExtractArgs) -> std::io::Result<()> {
    let lower = |resource: Resource, soft: u64, hard: u64| -> std::io::Result<()> {
        let (_, current_hard) = resource.get()?;
        let hard = hard.min(current_hard);
        resource.set(soft.min(hard), hard)
    };
    lower(Resource::CORE, 0, 0)?;
    // Nothing is written to files (stdout and stderr are pipes, which this limit does not cover).
    lower(Resource::FSIZE, 0, 0)?;
    // stdin, stdout, stderr and a few the runtime may open (e.g. /proc/self/maps for the stack guard).
    lower(Resource::NOFILE, 16, 16)?;
    // SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
    lower(Resource::CPU, args.cpu_secs.max(1), args.cpu_secs.max(1) + 1)?;
    lower(Resource::AS, args.max_memory_bytes, args.max_memory_bytes)
}

/// The text of `input`, after the checks that can refuse it cheaply. Runs the parsers in this process: only the
/// limited child calls it (and the unit tests, on small inputs).
pub fn extract_here(args: &ExtractArgs, input: &[u8]) -> Result<String, Failure> {
    let malformed = || Failure::Unreadable("the document is malformed".into());
    match args.kind {
        Kind::Html => {
            if html::check_depth(input, args.max_html_depth).is_err() {
                return Err(Failure::Limit(format!("its elements nest more than {} deep", args.max_html_depth)));
            }
            match std::panic::catch_unwind(|| html2text::from_read(input, 100)) {
                Ok(Ok(text)) => Ok(text),
                Ok(Err(err)) => Err(Failure::Unreadable(err.to_string())),
                Err(_) => Err(malformed()),
            }
        }
        Kind::Pdf => {
            if pdf::check_inflated_size(input, args.max_inflated_bytes).is_err() {
                return Err(Failure::Limit(format!(
                    "its compressed streams inflate to more than {} bytes",
                    args.max_inflated_bytes
                )));
            }
            match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(input)) {
                Ok(Ok(text)) => Ok(text),
                Ok(Err(err)) => Err(Failure::Unreadable(err.to_string())),
                Err(_) => Err(malformed()),
            }
        }
    }
}

/// The first `max` characters of `text`, and whether it was longer.
pub fn cut_chars(text: &str, max: usize) -> (&str, bool) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kind: Kind) -> ExtractArgs {
        ExtractArgs {
            kind,
            max_memory_bytes: 1 << 30,
            cpu_secs: 10,
            max_output_chars: 1000,
            max_html_depth: 64,
            max_inflated_bytes: 1 << 20,
            limited: true,
        }
    }

    #[test]
    fn html_and_pdf_give_their_text() {
        let html =
            extract_here(&args(Kind::Html), b"<html><script>x()</script><h1>Title</h1><p>Body <b>bold</b></p></html>")
                .expect("html");
        assert!(html.contains("Title") && html.contains("Body") && html.contains("bold"), "{html}");
        let pdf = extract_here(&args(Kind::Pdf), include_bytes!("../../tests/fixtures/policy.pdf")).expect("pdf");
        assert!(pdf.contains("Refund policy") && pdf.contains("Lyon"), "{pdf}");
    }

    #[test]
    fn limits_and_bad_files_are_named() {
        let deep = "<div>".repeat(65);
        assert_eq!(
            extract_here(&args(Kind::Html), deep.as_bytes()),
            Err(Failure::Limit("its elements nest more than 64 deep".into()))
        );
        assert!(matches!(extract_here(&args(Kind::Pdf), b"%PDF-1.4 garbage"), Err(Failure::Unreadable(_))));
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(cut_chars("héllo", 2), ("hé", true));
        assert_eq!(cut_chars("héllo", 5), ("héllo", false));
        assert_eq!(cut_chars("", 0), ("", false));
    }
}
