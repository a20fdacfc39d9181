//! A small PNG encoder for 8-bit RGB images: adaptive row filters and a run-length deflate stream.
//!
//! plotters' bitmap backend renders into a pixel buffer but can only encode PNG into a file path (through the
//! `image` crate), and analysis must stay in memory. Charts are flat colour: after the usual PNG row filters
//! almost every byte is zero, so runs of a repeated byte (LZ77 matches at distance 1) coded with deflate's fixed
//! Huffman table compress them to a few kilobytes without a general-purpose compressor.

/// Encodes `rgb` (row-major, 3 bytes per pixel, `width * height * 3` bytes) as a PNG file.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    debug_assert_eq!(rgb.len(), width as usize * height as usize * 3, "buffer size");
    let filtered = filter_rows(rgb, width as usize * 3);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    write_chunk(&mut png, b"IHDR", &header);
    write_chunk(&mut png, b"IDAT", &zlib(&filtered));
    write_chunk(&mut png, b"IEND", &[]);
    png
}

fn write_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    png.extend_from_slice(&length.to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// Prefixes each row with the filter (None, Sub, Up or Paeth) whose output has the smallest sum of absolute
/// values, the heuristic the PNG specification recommends.
fn filter_rows(rgb: &[u8], stride: usize) -> Vec<u8> {
    const BPP: usize = 3;
    let mut out = Vec::with_capacity(rgb.len() + rgb.len() / stride.max(1));
    let zero_row = vec![0u8; stride];
    let mut candidate = vec![0u8; stride];
    let mut best = vec![0u8; stride];
    for (index, row) in rgb.chunks_exact(stride).enumerate() {
        let above = if index == 0 { &zero_row[..] } else { &rgb[(index - 1) * stride..index * stride] };
        let mut best_filter = 0;
        let mut best_cost = u64::MAX;
        for filter in [0u8, 1, 2, 4] {
            for i in 0..stride {
                let left = if i >= BPP { row[i - BPP] } else { 0 };
                let upper_left = if i >= BPP { above[i - BPP] } else { 0 };
                let predicted = match filter {
                    1 => left,
                    2 => above[i],
                    4 => paeth(left, above[i], upper_left),
                    _ => 0,
                };
                candidate[i] = row[i].wrapping_sub(predicted);
            }
            let cost = candidate.iter().map(|&byte| u64::from((byte as i8).unsigned_abs())).sum();
            if cost < best_cost {
                best_cost = cost;
                best_filter = filter;
                best.copy_from_slice(&candidate);
            }
        }
        out.push(best_filter);
        out.extend_from_slice(&best);
    }
    out
}

fn paeth(left: u8, above: u8, upper_left: u8) -> u8 {
    let estimate = i16::from(left) + i16::from(above) - i16::from(upper_left);
    let distance = |value: u8| (estimate - i16::from(value)).abs();
    if distance(left) <= distance(above) && distance(left) <= distance(upper_left) {
        left
    } else if distance(above) <= distance(upper_left) {
        above
    } else {
        upper_left
    }
}

/// A zlib stream holding one final deflate block with fixed Huffman codes.
fn zlib(data: &[u8]) -> Vec<u8> {
    const MAX_MATCH: usize = 258;
    // CMF: deflate with a 32 KiB window; FLG: no dictionary, check bits so the pair is a multiple of 31.
    let mut bits = BitWriter { out: vec![0x78, 0x01], buffer: 0, count: 0 };
    bits.write(1, 1); // BFINAL
    bits.write(1, 2); // BTYPE = 01, fixed Huffman codes
    let mut i = 0;
    while i < data.len() {
        if i > 0 {
            let previous = data[i - 1];
            let run = data[i..].iter().take(MAX_MATCH).take_while(|&&byte| byte == previous).count();
            if run >= 3 {
                bits.length(run);
                bits.write(0, 5); // Distance code 0 = distance 1; five zero bits read the same reversed.
                i += run;
                continue;
            }
        }
        bits.symbol(u16::from(data[i]));
        i += 1;
    }
    bits.symbol(256); // End of block.
    let mut out = bits.finish();
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// Packs bits least-significant first, as deflate requires.
struct BitWriter {
    out: Vec<u8>,
    buffer: u64,
    count: u32,
}

impl BitWriter {
    fn write(&mut self, value: u32, bits: u32) {
        self.buffer |= u64::from(value) << self.count;
        self.count += bits;
        while self.count >= 8 {
            self.out.push(self.buffer as u8);
            self.buffer >>= 8;
            self.count -= 8;
        }
    }

    /// Huffman codes are defined most-significant bit first, so they are reversed before packing.
    fn code(&mut self, code: u32, bits: u32) {
        self.write(code.reverse_bits() >> (32 - bits), bits);
    }

    /// A literal byte (0–255), the end-of-block marker (256) or a length code (257–285), fixed-code table.
    fn symbol(&mut self, symbol: u16) {
        let symbol = u32::from(symbol);
        match symbol {
            0..=143 => self.code(0x30 + symbol, 8),
            144..=255 => self.code(0x190 + symbol - 144, 9),
            256..=279 => self.code(symbol - 256, 7),
            _ => self.code(0xC0 + symbol - 280, 8),
        }
    }

    /// A match length (3–258): its length code, then the extra bits.
    fn length(&mut self, length: usize) {
        const BASE: [u16; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
            227, 258,
        ];
        const EXTRA: [u32; 29] =
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
        let length = length.clamp(3, 258) as u16;
        let index = BASE.iter().rposition(|&base| base <= length).unwrap_or(0);
        self.symbol(257 + index as u16);
        self.write(u32::from(length - BASE[index]), EXTRA[index]);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.out.push(self.buffer as u8);
        }
        self.out
    }
}

fn adler32(data: &[u8]) -> u32 {
    const MODULUS: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` could overflow a u32.
    for block in data.chunks(5552) {
        for &byte in block {
            a += u32::from(byte);
            b += a;
        }
        a %= MODULUS;
        b %= MODULUS;
    }
    (b << 16) | a
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(u32::MAX, |crc, &byte| CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8))
}

#[cfg(test)]
mod tests;
