//! The key of `dedup exact(normalize: true)`, which DuckDB computed as
//!
//! ```sql
//! md5_number_lower(trim(regexp_replace(lower(text), '[^\pL\pN]+', ' ', 'g')))
//! ```
//!
//! at about 7 MB/s: the text lowercased (DuckDB's per-code-point `lower`), every run of what is not a letter or a
//! number (RE2's `\pL`, `\pN`) made one space, the spaces at the ends dropped, and the low 64 bits of the MD5 of
//! that. Here it is one pass over the text into a reused buffer and an MD5 of it, with the same value: what each
//! code point becomes is in normkey_table.rs, generated from DuckDB itself by native/gen_normkey.py.

use crate::arrow::Out;
use crate::{boxed, guard, strings};

#[rustfmt::skip]
#[path = "normkey_table.rs"]
mod table;

use table::{ASCII, DATA, DUCKDB_VERSION, INDEX, LIMIT, SEPARATOR, SHIFT};

/// The lowercase of a code point when it is a letter or a number, None when it belongs to a separator run.
#[inline]
fn map(cp: u32) -> Option<u32> {
    if cp >= LIMIT {
        return None;
    }
    let block = INDEX[(cp >> SHIFT) as usize] as usize;
    let delta = DATA[(block << SHIFT) | (cp & ((1 << SHIFT) - 1)) as usize];
    (delta != SEPARATOR).then(|| cp.wrapping_add_signed(delta))
}

/// The code point starting at `i` of valid UTF-8 (not ASCII), and its length in bytes.
#[inline]
fn decode(b: &[u8], i: usize) -> (u32, usize) {
    let b0 = b[i] as u32;
    let cont = |k: usize| (b[i + k] & 0x3F) as u32;
    if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | cont(1), 2)
    } else if b0 < 0xF0 {
        (((b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (((b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3), 4)
    }
}

/// Write a code point's UTF-8 at `o[w..]`; the new write position.
#[inline]
fn put_utf8(o: &mut [u8], w: usize, cp: u32) -> usize {
    match cp {
        0..=0x7F => {
            o[w] = cp as u8;
            w + 1
        }
        0x80..=0x7FF => {
            o[w..w + 2].copy_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
            w + 2
        }
        0x800..=0xFFFF => {
            o[w..w + 3].copy_from_slice(&[
                0xE0 | (cp >> 12) as u8,
                0x80 | ((cp >> 6) & 0x3F) as u8,
                0x80 | (cp & 0x3F) as u8,
            ]);
            w + 3
        }
        _ => {
            o[w..w + 4].copy_from_slice(&[
                0xF0 | (cp >> 18) as u8,
                0x80 | ((cp >> 12) & 0x3F) as u8,
                0x80 | ((cp >> 6) & 0x3F) as u8,
                0x80 | (cp & 0x3F) as u8,
            ]);
            w + 4
        }
    }
}

/// Append the normalized text, `trim(regexp_replace(lower(text), '[^\pL\pN]+', ' ', 'g'))`, to `out`.
///
/// A separator is written as one space unless the last byte written is one (or nothing is written yet: the trim
/// at the start); a final space is dropped (the trim at the end). Lowercasing lengthens a character by at most
/// half (2 bytes to 3; gen_normkey.py checks), so the output fits in 1.5 times the input.
pub fn normalize_into(text: &str, out: &mut Vec<u8>) {
    let b = text.as_bytes();
    let start = out.len();
    out.resize(start + b.len() + b.len() / 2 + 4, 0);
    let o = &mut out[start..];
    let mut w = 0; // bytes written
    let mut last_sep = true; // the last thing seen is a separator, or nothing is written yet
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            // branch-free: write the byte (a space for a separator) and keep it unless it repeats a space
            i += 1;
            let m = ASCII[c as usize];
            o[w] = m;
            let sep = m == b' ';
            w += !(sep & last_sep) as usize;
            last_sep = sep;
        } else {
            let (cp, len) = decode(b, i);
            i += len;
            match map(cp) {
                None => {
                    o[w] = b' ';
                    w += !last_sep as usize;
                    last_sep = true;
                }
                Some(low) => {
                    w = put_utf8(o, w, low);
                    last_sep = false;
                }
            }
        }
    }
    if last_sep && w > 0 {
        w -= 1;
    }
    out.truncate(start + w);
}

/// The normalized text as a String (for tests and callers outside the hot loop).
pub fn normalize(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    normalize_into(text, &mut out);
    String::from_utf8(out).expect("normalize_into writes UTF-8")
}

// ---- MD5 (RFC 1321), as DuckDB's md5_number_lower reads it -----------------------------------------------------

const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
    20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
    10, 15, 21,
];

const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
    0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
    0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
    0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
];

#[inline(always)]
fn compress(state: &mut [u32; 4], block: &[u8]) {
    let mut m = [0u32; 16];
    for (w, chunk) in m.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    // Unrolled by the compiler: every index below is a constant once `i` is.
    macro_rules! step {
        ($i:expr, $f:expr, $g:expr) => {{
            let f = $f.wrapping_add(a).wrapping_add(K[$i]).wrapping_add(m[$g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[$i]));
        }};
    }
    for i in 0..16 {
        step!(i, (b & c) | (!b & d), i);
    }
    for i in 16..32 {
        step!(i, (d & b) | (!d & c), (5 * i + 1) % 16);
    }
    for i in 32..48 {
        step!(i, b ^ c ^ d, (3 * i + 5) % 16);
    }
    for i in 48..64 {
        step!(i, c ^ (b | !d), (7 * i) % 16);
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// The MD5 digest of `data`.
pub fn md5(data: &[u8]) -> [u8; 16] {
    let mut state = [0x67452301u32, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        compress(&mut state, block);
    }
    let rest = blocks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    tail[end - 8..end].copy_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for block in tail[..end].chunks_exact(64) {
        compress(&mut state, block);
    }
    let mut out = [0u8; 16];
    for (o, s) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&s.to_le_bytes());
    }
    out
}

/// DuckDB's `md5_number_lower`: the digest's bytes 8..16 as a little-endian u64.
pub fn md5_number_lower(data: &[u8]) -> u64 {
    let d = md5(data);
    u64::from_le_bytes([d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]])
}

/// The key of one text; `buf` is scratch space reused between texts.
pub fn key(text: &str, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    normalize_into(text, buf);
    md5_number_lower(buf)
}

// ---- the boundary ---------------------------------------------------------------------------------------------

/// The normalized dedup key of every row into `out[n]` (null rows get the key of their slot's bytes; the caller
/// masks them).
///
/// # Safety
/// Arrow buffers as lib.rs says; `out` has room for n u64s.
#[no_mangle]
pub unsafe extern "C" fn dr_normkey(n: usize, offsets: *const i64, data: *const u8, data_len: usize, out: *mut u64) -> i32 {
    guard(|| {
        let texts = strings(n, offsets, data, data_len)?;
        let out = std::slice::from_raw_parts_mut(out, n);
        let mut buf = Vec::new();
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = key(texts.get(i), &mut buf);
        }
        Ok(())
    })
}

/// The normalized text of every row (what the key is the MD5 of), as an Out of strings.
///
/// # Safety
/// Arrow buffers as lib.rs says; `out` is written with an Out the caller frees.
#[no_mangle]
pub unsafe extern "C" fn dr_normkey_text(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, out: *mut *mut Out,
) -> i32 {
    guard(|| {
        let texts = strings(n, offsets, data, data_len)?;
        let mut result = Out::strings();
        result.bytes.reserve(data_len);
        for i in 0..n {
            normalize_into(texts.get(i), &mut result.bytes);
            result.flags.push(1);
            result.offsets.push(result.bytes.len() as i64);
        }
        *out = boxed(result);
        Ok(())
    })
}

/// The DuckDB version the table was generated from (the tests compare the table with the running DuckDB).
#[no_mangle]
pub extern "C" fn dr_normkey_duckdb_version() -> *const std::ffi::c_char {
    static V: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    V.get_or_init(|| std::ffi::CString::new(DUCKDB_VERSION).unwrap_or_default()).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_known() {
        assert_eq!(md5_number_lower(b""), 9098107892288553193);
        assert_eq!(md5_number_lower(b"abc"), 8250560606382298838);
        assert_eq!(md5_number_lower(b"hello world"), 14109032780988074899);
        let long = vec![b'a'; 1000];
        assert_eq!(md5(&long)[0], 0xca); // md5('a' * 1000) = cabe45dcc9ae5b66ba86600cca6b8ba8
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize("  Hello,  World!! "), "hello world");
        assert_eq!(normalize("ΟΔΟΣ\r\nİK"), "οδοσ ik");
        assert_eq!(normalize("...\0"), "");
    }
}
