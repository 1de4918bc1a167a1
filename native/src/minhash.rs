//! MinHash shingles, signatures and bands, and the exact Jaccard similarity of two documents' shingle sets:
//! operators/dedup/minhash.py's kernels, bit for bit as its numpy version (tests/oracle/minhash.py) computed them.
//!
//! The text comes in lowercased (Arrow's `utf8_lower`, on the Python side). A word is a maximal run of letters and
//! numbers (str.isalnum, every plane); its hash is `splitmix64(sum((cp + 1) * P**(k + 1)) ^ length)` over its code
//! points, mod 2**64. A shingle is `splitmix64(sum(word[i + k] * w[k]))` over each window of `ngram` words; a
//! document with 1 to ngram - 1 words is one shingle, `splitmix64(sum(word[k] * w[k]) ^ count * golden)`. The
//! signature takes each shingle's top 32 bits through `a * x + b mod 2**32`; a band folds its rows into
//! `splitmix64(sum(row[r] * v[r]))`. Nothing is held beyond one document's words and shingles.
//! The signature loop also runs compiled for AVX2 when the CPU has it (detected at run time; the same arithmetic on
//! 8 lanes): the only `unsafe` beyond the FFI functions is that one call.

use crate::arrow::Strings;
use crate::unicode::{self, ALNUM};

const SEED: u64 = 0x006D_696E_6861_7368; // "minhash"
const WORD_PRIME: u64 = 0x0000_0100_0000_01B3; // FNV's 64-bit prime
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
pub(crate) fn splitmix(x: u64) -> u64 {
    let x = x.wrapping_add(GOLDEN);
    let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The oracle's `_constants(count, salt)`.
fn constants(count: usize, salt: u64) -> Vec<u64> {
    (0..count as u64).map(|i| splitmix(SEED ^ (salt << 48) ^ i)).collect()
}

/// Whether each ASCII byte is a letter or digit.
const ASCII_WORD: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    t
};

/// The word hashes of one (lowercased) text, into `out`: ASCII bytes looked up in a table, other characters decoded.
fn words(text: &str, out: &mut Vec<u64>) {
    out.clear();
    let bytes = text.as_bytes();
    let (mut h, mut power, mut len) = (0u64, WORD_PRIME, 0u64);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let (cp, word) = if byte < 0x80 {
            i += 1;
            (byte as u64, ASCII_WORD[byte as usize])
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            i += c.len_utf8();
            (c as u64, unicode::is(c, ALNUM))
        };
        if word {
            h = h.wrapping_add((cp + 1).wrapping_mul(power));
            power = power.wrapping_mul(WORD_PRIME);
            len += 1;
        } else if len > 0 {
            out.push(splitmix(h ^ len));
            h = 0;
            power = WORD_PRIME;
            len = 0;
        }
    }
    if len > 0 {
        out.push(splitmix(h ^ len));
    }
}

/// The shingle hashes of one text's words (none for no words), into `out`.
fn shingles_of(words: &[u64], weights: &[u64], out: &mut Vec<u64>) {
    out.clear();
    let n = weights.len();
    if words.is_empty() {
        return;
    }
    if words.len() >= n {
        for window in words.windows(n) {
            let acc = window.iter().zip(weights).fold(0u64, |acc, (w, k)| acc.wrapping_add(w.wrapping_mul(*k)));
            out.push(splitmix(acc));
        }
    } else {
        let acc = words.iter().zip(weights).fold(0u64, |acc, (w, k)| acc.wrapping_add(w.wrapping_mul(*k)));
        out.push(splitmix(acc ^ (words.len() as u64).wrapping_mul(GOLDEN)));
    }
}

/// What one document needs: its words and shingles, reused from row to row.
pub(crate) struct Shingler {
    weights: Vec<u64>,
    words: Vec<u64>,
    pub(crate) shingles: Vec<u64>,
}

impl Shingler {
    pub(crate) fn new(ngram: usize) -> Self {
        Shingler { weights: constants(ngram, 3), words: Vec::new(), shingles: Vec::new() }
    }

    pub(crate) fn run(&mut self, text: &str) -> &[u64] {
        words(text, &mut self.words);
        shingles_of(&self.words, &self.weights, &mut self.shingles);
        &self.shingles
    }

    /// The distinct shingles, sorted.
    fn set(&mut self, text: &str) -> &[u64] {
        self.run(text);
        self.shingles.sort_unstable();
        self.shingles.dedup();
        &self.shingles
    }
}

/// The permutations' coefficients (a odd, b), as the oracle's `permutations`.
fn permutations(num_perm: usize) -> (Vec<u32>, Vec<u32>) {
    let a = constants(num_perm, 1).iter().map(|&c| (c as u32) | 1).collect();
    let b = constants(num_perm, 2).iter().map(|&c| c as u32).collect();
    (a, b)
}

/// The signature of some shingles into `sig` (u32::MAX where there are none).
#[inline(always)]
fn signature_of(shingles: &[u64], a: &[u32], b: &[u32], sig: &mut [u32]) {
    sig.fill(u32::MAX);
    let n = sig.len();
    let (a, b) = (&a[..n], &b[..n]);
    for &s in shingles {
        let x = (s >> 32) as u32;
        for j in 0..n {
            sig[j] = sig[j].min(a[j].wrapping_mul(x).wrapping_add(b[j]));
        }
    }
}

/// The same loop compiled for AVX2 (8 lanes, a native 32-bit multiply and minimum).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn signature_avx2(shingles: &[u64], a: &[u32], b: &[u32], sig: &mut [u32]) {
    signature_of(shingles, a, b, sig)
}

/// The signature, on AVX2 when `avx2` (the CPU has it).
fn signature(shingles: &[u64], a: &[u32], b: &[u32], sig: &mut [u32], avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when the CPU has AVX2 (bands() asks is_x86_feature_detected); the function is
        // safe Rust, only compiled for that instruction set.
        unsafe { signature_avx2(shingles, a, b, sig) };
        return;
    }
    let _ = avx2;
    signature_of(shingles, a, b, sig)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Band keys of every row into `keys` (n x bands, zeros for a row without shingles) and `has` (1 when it has).
pub(crate) fn bands(texts: &Strings, ngram: usize, n_bands: usize, n_rows: usize, keys: &mut [u64], has: &mut [u32]) {
    let num_perm = n_bands * n_rows;
    let (a, b) = permutations(num_perm);
    let weights = constants(n_rows, 4);
    let mut shingler = Shingler::new(ngram);
    let mut sig = vec![0u32; num_perm];
    let avx2 = has_avx2();
    for i in 0..texts.len() {
        let out = &mut keys[i * n_bands..(i + 1) * n_bands];
        let shingles = shingler.run(texts.get(i));
        has[i] = !shingles.is_empty() as u32;
        if shingles.is_empty() {
            out.fill(0);
            continue;
        }
        signature(shingles, &a, &b, &mut sig, avx2);
        for (key, rows) in out.iter_mut().zip(sig.chunks_exact(n_rows)) {
            let acc = rows.iter().zip(&weights).fold(0u64, |acc, (&r, &w)| acc.wrapping_add((r as u64).wrapping_mul(w)));
            *key = splitmix(acc);
        }
    }
}

/// The Jaccard similarity of each pair of rows' shingle sets (0 when both have none).
pub(crate) fn jaccard(left: &Strings, right: &Strings, ngram: usize, out: &mut [f64]) {
    let mut l = Shingler::new(ngram);
    let mut r = Shingler::new(ngram);
    for (i, o) in out.iter_mut().enumerate() {
        let (x, y) = (l.set(left.get(i)), r.set(right.get(i)));
        let (mut p, mut q, mut inter) = (0, 0, 0usize);
        while p < x.len() && q < y.len() {
            match x[p].cmp(&y[q]) {
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
                std::cmp::Ordering::Equal => {
                    inter += 1;
                    p += 1;
                    q += 1;
                }
            }
        }
        let union = x.len() + y.len() - inter;
        *o = inter as f64 / union.max(1) as f64;
    }
}

fn check_params(ngram: u32, bands: u32, rows: u32) -> Result<(), String> {
    if ngram == 0 || bands == 0 || rows == 0 {
        return Err(format!("minhash: ngram {ngram}, bands {bands} and rows {rows} must be positive"));
    }
    Ok(())
}

/// Band keys of every row of a lowercased string array: `keys[n * bands]` (zeros for a row without shingles) and
/// `has[n]` (1 when the row has shingles).
///
/// # Safety
/// Arrow buffers as lib.rs says; `keys` has room for n * bands u64s and `has` for n u32s.
#[no_mangle]
pub unsafe extern "C" fn dr_minhash_bands(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, ngram: u32, bands: u32, rows: u32,
    keys: *mut u64, has: *mut u32,
) -> i32 {
    crate::guard(|| {
        check_params(ngram, bands, rows)?;
        let texts = crate::strings(n, offsets, data, data_len)?;
        let keys = std::slice::from_raw_parts_mut(keys, n * bands as usize);
        let has = std::slice::from_raw_parts_mut(has, n);
        self::bands(&texts, ngram as usize, bands as usize, rows as usize, keys, has);
        Ok(())
    })
}

/// The exact Jaccard similarity of row i of two lowercased string arrays of n rows each, into `out[n]`.
///
/// # Safety
/// Arrow buffers as lib.rs says, both arrays of n rows; `out` has room for n f64s.
#[no_mangle]
pub unsafe extern "C" fn dr_minhash_jaccard(
    n: usize, left_offsets: *const i64, left_data: *const u8, left_len: usize, right_offsets: *const i64,
    right_data: *const u8, right_len: usize, ngram: u32, out: *mut f64,
) -> i32 {
    crate::guard(|| {
        check_params(ngram, 1, 1)?;
        let left = crate::strings(n, left_offsets, left_data, left_len)?;
        let right = crate::strings(n, right_offsets, right_data, right_len)?;
        let out = std::slice::from_raw_parts_mut(out, n);
        self::jaccard(&left, &right, ngram as usize, out);
        Ok(())
    })
}

/// The shingle hashes of every row of a lowercased string array, row after row: an Out whose numbers are the
/// hashes and whose offsets (n + 1) say where each row's begin; every flag 1.
///
/// # Safety
/// Arrow buffers as lib.rs says; `out` receives an Out to free with dr_out_free.
#[no_mangle]
pub unsafe extern "C" fn dr_minhash_shingles(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, ngram: u32, out: *mut *mut crate::arrow::Out,
) -> i32 {
    crate::guard(|| {
        check_params(ngram, 1, 1)?;
        let texts = crate::strings(n, offsets, data, data_len)?;
        let mut result = crate::arrow::Out::strings();
        let mut shingler = Shingler::new(ngram as usize);
        for i in 0..texts.len() {
            result.numbers.extend_from_slice(shingler.run(texts.get(i)));
            result.offsets.push(result.numbers.len() as i64);
            result.flags.push(1);
        }
        *out = crate::boxed(result);
        Ok(())
    })
}
