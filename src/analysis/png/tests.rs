//! Round trips through a minimal decoder (fixed-Huffman deflate only, which is all the encoder writes), so the
//! encoder is checked against the format rather than against itself.

use super::*;

/// Splits a PNG into (type, data) chunks, checking the signature and every CRC.
fn chunks(png: &[u8]) -> Vec<([u8; 4], &[u8])> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
    let mut chunks = Vec::new();
    let mut at = 8;
    while at < png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = png[at + 4..at + 8].try_into().expect("4 bytes");
        let data = &png[at + 8..at + 8 + length];
        let crc = u32::from_be_bytes(png[at + 8 + length..at + 12 + length].try_into().expect("4 bytes"));
        assert_eq!(crc, crc32(&png[at + 4..at + 8 + length]), "CRC of {:?}", String::from_utf8_lossy(&kind));
        chunks.push((kind, data));
        at += 12 + length;
    }
    chunks
}

struct BitReader<'a> {
    data: &'a [u8],
    position: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> u32 {
        let bit = (self.data[self.position / 8] >> (self.position % 8)) & 1;
        self.position += 1;
        u32::from(bit)
    }

    fn bits(&mut self, count: u32) -> u32 {
        (0..count).fold(0, |value, i| value | (self.bit() << i))
    }

    fn code(&mut self, value: u32) -> u32 {
        (value << 1) | self.bit()
    }

    fn fixed_symbol(&mut self) -> u32 {
        let mut code = (0..7).fold(0, |code, _| self.code(code));
        if code <= 0x17 {
            return 256 + code;
        }
        code = self.code(code);
        match code {
            0x30..=0xBF => code - 0x30,
            0xC0..=0xC7 => 280 + code - 0xC0,
            _ => 144 + self.code(code) - 0x190,
        }
    }
}

fn inflate_fixed(zlib: &[u8]) -> Vec<u8> {
    const BASE: [u32; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ];
    const EXTRA: [u32; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    assert_eq!((u32::from(zlib[0]) * 256 + u32::from(zlib[1])) % 31, 0, "zlib header check");
    let mut reader = BitReader { data: &zlib[2..], position: 0 };
    assert_eq!(reader.bits(1), 1, "final block");
    assert_eq!(reader.bits(2), 1, "fixed Huffman block");
    let mut out: Vec<u8> = Vec::new();
    loop {
        let symbol = reader.fixed_symbol();
        match symbol {
            0..=255 => out.push(symbol as u8),
            256 => break,
            _ => {
                let index = (symbol - 257) as usize;
                let length = BASE[index] + reader.bits(EXTRA[index]);
                let distance_code = (0..5).fold(0, |code, _| reader.code(code));
                assert_eq!(distance_code, 0, "the encoder only uses distance 1");
                for _ in 0..length {
                    out.push(*out.last().expect("a match follows a literal"));
                }
            }
        }
    }
    let trailer = &zlib[zlib.len() - 4..];
    assert_eq!(u32::from_be_bytes(trailer.try_into().expect("4 bytes")), adler32(&out), "Adler-32");
    out
}

fn unfilter(filtered: &[u8], stride: usize) -> Vec<u8> {
    let mut rgb: Vec<u8> = Vec::new();
    for (index, row) in filtered.chunks_exact(stride + 1).enumerate() {
        let start = rgb.len();
        for i in 0..stride {
            let above = if index == 0 { 0 } else { rgb[start - stride + i] };
            let left = if i >= 3 { rgb[start + i - 3] } else { 0 };
            let upper_left = if index > 0 && i >= 3 { rgb[start - stride + i - 3] } else { 0 };
            let predicted = match row[0] {
                0 => 0,
                1 => left,
                2 => above,
                4 => paeth(left, above, upper_left),
                other => panic!("unexpected filter {other}"),
            };
            rgb.push(row[1 + i].wrapping_add(predicted));
        }
    }
    rgb
}

fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let chunks = chunks(png);
    let kinds: Vec<&[u8; 4]> = chunks.iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
    let header = chunks[0].1;
    let width = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(header[4..8].try_into().expect("4 bytes"));
    assert_eq!(&header[8..], [8, 2, 0, 0, 0]);
    let filtered = inflate_fixed(chunks[1].1);
    (width, height, unfilter(&filtered, width as usize * 3))
}

/// A noisy gradient, so every filter and both literals and runs are exercised.
fn test_image(width: u32, height: u32) -> Vec<u8> {
    let mut state = 12_345u32;
    let mut rgb = Vec::new();
    for y in 0..height {
        for x in 0..width {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let noise = if (x / 7 + y / 5) % 3 == 0 { (state >> 24) as u8 } else { 0 };
            rgb.extend_from_slice(&[(x * 5) as u8, (y * 9) as u8, noise]);
        }
    }
    rgb
}

#[test]
fn checksums_match_reference_values() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    assert_eq!(adler32(&vec![0xFF; 100_000]), adler32_naive(&vec![0xFF; 100_000]));
}

fn adler32_naive(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u64, 0u64);
    for &byte in data {
        a = (a + u64::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    ((b << 16) | a) as u32
}

#[test]
fn round_trips_pixels() {
    for (width, height) in [(1, 1), (2, 3), (37, 23), (300, 7)] {
        let rgb = test_image(width, height);
        let png = encode_rgb(width, height, &rgb);
        assert_eq!(decode(&png), (width, height, rgb), "{width}×{height}");
    }
}

#[test]
fn runs_longer_than_one_match_round_trip() {
    let mut rgb = vec![200u8; 800 * 3];
    rgb[1000] = 1;
    let png = encode_rgb(800, 1, &rgb);
    assert_eq!(decode(&png).2, rgb);
}

#[test]
fn flat_images_compress_well() {
    let white = vec![255u8; 800 * 500 * 3];
    let png = encode_rgb(800, 500, &white);
    // Fixed Huffman codes spend ~13 bits per 258-byte run: about 7.5 KB for 1.2 MB of zeros is the floor.
    assert!(png.len() < 12_000, "{} bytes", png.len());
    assert_eq!(decode(&png).2, white);
}
