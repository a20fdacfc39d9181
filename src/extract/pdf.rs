//! A pre-check of how much a PDF's compressed streams inflate to. The PDF library decompresses every stream
//! whole into memory with no cap (a 1 MB file inflating to 1 GiB was accepted), so the streams are inflated here
//! first, counting and discarding the output, and a document past the cap is refused with a clear reason. The
//! extraction process's address-space limit still bounds what this misses (other filters, object streams).
use flate2::{Decompress, FlushDecompress, Status};

/// `Err(bytes)` (the count reached, just past `cap`) when the document's Flate streams inflate to more than `cap`
/// bytes in all, else `Ok(())`. Linear in the file plus the inflated bytes (at most `cap`), in constant memory.
pub fn check_inflated_size(pdf: &[u8], cap: u64) -> Result<(), u64> {
    let mut total = 0u64;
    let mut scratch = vec![0u8; 64 * 1024];
    let mut at = 0;
    while let Some(offset) = find(&pdf[at..], b"stream") {
        let keyword = at + offset;
        let mut data = keyword + b"stream".len();
        at = data;
        // `endstream` contains the keyword too.
        if keyword >= 3 && &pdf[keyword - 3..keyword] == b"end" {
            continue;
        }
        match pdf.get(data..data + 2) {
            Some(b"\r\n") => data += 2,
            Some([b'\n', _]) | Some([b'\r', _]) => data += 1,
            _ => continue,
        }
        // The library reads zlib and falls back to raw deflate; both are counted (a stream that is neither stops
        // at its first bytes).
        for zlib in [true, false] {
            let (inflated, consumed) = inflate_count(&pdf[data..], zlib, cap.saturating_sub(total) + 1, &mut scratch);
            total += inflated;
            if total > cap {
                return Err(total);
            }
            if inflated > 0 {
                at = data + consumed;
                break;
            }
        }
    }
    Ok(())
}

/// Inflates `input` until its stream ends, it errs, or `max` bytes came out: `(bytes out, bytes consumed)`.
fn inflate_count(input: &[u8], zlib: bool, max: u64, scratch: &mut [u8]) -> (u64, usize) {
    let mut inflater = Decompress::new(zlib);
    loop {
        let before = (inflater.total_in(), inflater.total_out());
        let consumed = usize::try_from(before.0).unwrap_or(input.len()).min(input.len());
        let status = inflater.decompress(&input[consumed..], scratch, FlushDecompress::None);
        let out = inflater.total_out();
        let progressed = (inflater.total_in(), out) != before;
        match status {
            Ok(Status::Ok | Status::BufError) if progressed && out <= max => {}
            _ => return (out, usize::try_from(inflater.total_in()).unwrap_or(input.len())),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn deflated(zeros: usize) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 64 * 1024];
        let mut left = zeros;
        while left > 0 {
            let n = left.min(block.len());
            encoder.write_all(&block[..n]).expect("in memory");
            left -= n;
        }
        encoder.finish().expect("in memory")
    }

    fn pdf_with(streams: &[Vec<u8>]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.4\n".to_vec();
        for (i, s) in streams.iter().enumerate() {
            pdf.extend(format!("{} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\r\n", i + 1, s.len()).bytes());
            pdf.extend(s);
            pdf.extend(b"\nendstream\nendobj\n");
        }
        pdf.extend(b"%%EOF\n");
        pdf
    }

    #[test]
    fn ordinary_streams_pass() {
        assert_eq!(check_inflated_size(&pdf_with(&[deflated(1000), deflated(5000)]), 10_000), Ok(()));
        assert_eq!(check_inflated_size(include_bytes!("../../tests/fixtures/policy.pdf"), 1024 * 1024), Ok(()));
        assert_eq!(check_inflated_size(b"%PDF-1.4 stream\nnot compressed at all\nendstream", 10), Ok(()));
    }

    #[test]
    fn a_bomb_is_stopped_at_the_cap() {
        let bomb = pdf_with(&[deflated(50 * 1024 * 1024)]);
        assert!(bomb.len() < 100 * 1024, "{} bytes", bomb.len());
        let reached = check_inflated_size(&bomb, 1024 * 1024).expect_err("a bomb");
        assert!(reached > 1024 * 1024 && reached <= 1024 * 1024 + 64 * 1024, "{reached}");
    }

    #[test]
    fn streams_add_up() {
        let two = pdf_with(&[deflated(600_000), deflated(600_000)]);
        assert!(check_inflated_size(&two, 1_000_000).is_err());
        assert!(check_inflated_size(&two, 1_300_000).is_ok());
    }
}
