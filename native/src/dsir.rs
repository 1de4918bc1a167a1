//! DSIR's features and scoring, as operators/scorers/fitted.py's numpy version (tests/oracle/dsir.py) computed
//! them, bit for bit.
//!
//! A text (lowercased by Python's str.lower on the Python side; ASCII letters are lowered again here, which
//! changes nothing) is split as nltk's WordPunctTokenizer, `\w+|[^\w\s]+` under Python's `re`: runs of word
//! characters (str.isalnum or `_`), runs of characters that are neither word characters nor whitespace
//! (str.isspace). Its features are its words and word n-grams (2..ngram, the words joined by one space), each hashed
//! to `int(sha256(utf8).hexdigest(), 16) % buckets`. With the CPU's SHA extensions (x86-64 SHA-NI, detected at run
//! time) the words go through a per-thread cache and each n-gram is hashed where it occurs (hashing is cheaper than a
//! cache miss); without them, in software, every distinct word and n-gram is hashed once per thread. The caches hold
//! the strings themselves, so they are exact, and start afresh past CACHE_ENTRIES entries (bounded memory).
//! The only `unsafe` beyond the FFI functions: the SHA-NI compression (std::arch intrinsics), called after the
//! run-time check; a unit test holds it to the software compression on every length class.
//! A text's weight is the sum of `log_ratio[bucket]` over its features: its words in order, then its bigrams in
//! order, and so on (the order of the oracle's `np.bincount(weights=...)`, so the same float64 sum).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::arrow::Out;
use crate::unicode::{self, ALNUM, SPACE};

// ---- SHA-256 (FIPS 180-4) --------------------------------------------------------------------------------------

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

fn compress(state: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}

/// The SHA-256 compression of whole 64-byte blocks: with the CPU's SHA extensions when it has them.
fn compress_blocks(state: &mut [u32; 8], blocks: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        if ni::available() {
            // SAFETY: the CPU has the features `compress_ni` is compiled for (checked at run time just above);
            // it reads whole 64-byte blocks of `blocks` and the 8 words of `state`, nothing else.
            unsafe { ni::compress_ni(state, blocks) };
            return;
        }
    }
    for block in blocks.chunks_exact(64) {
        compress(state, block);
    }
}

/// Whether SHA-256 runs on the CPU's SHA extensions.
fn sha_is_cheap() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ni::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod ni {
    use std::arch::x86_64::*;

    pub(super) fn available() -> bool {
        std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
            && std::arch::is_x86_feature_detected!("ssse3")
    }

    /// Four rounds: `w` is the message schedule's next 4 words, `k` the index of their constants.
    #[inline(always)]
    unsafe fn rounds4(abef: &mut __m128i, cdgh: &mut __m128i, w: __m128i, k: usize) {
        let kv = _mm_loadu_si128(super::K.as_ptr().add(4 * k) as *const __m128i);
        let t1 = _mm_add_epi32(w, kv);
        *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, t1);
        let t2 = _mm_shuffle_epi32(t1, 0x0E);
        *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, t2);
    }

    #[inline(always)]
    unsafe fn schedule(v0: __m128i, v1: __m128i, v2: __m128i, v3: __m128i) -> __m128i {
        let t1 = _mm_sha256msg1_epu32(v0, v1);
        let t2 = _mm_alignr_epi8(v3, v2, 4);
        let t3 = _mm_add_epi32(t1, t2);
        _mm_sha256msg2_epu32(t3, v3)
    }

    /// # Safety
    /// The CPU has the SHA, SSE4.1 and SSSE3 extensions (`available()`).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress_ni(state: &mut [u32; 8], blocks: &[u8]) {
        let mask = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0Bu64 as i64, 0x0405_0607_0001_0203u64 as i64);
        let state_ptr = state.as_ptr() as *const __m128i;
        let dcba = _mm_loadu_si128(state_ptr);
        let efgh = _mm_loadu_si128(state_ptr.add(1));
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(efgh, 0x1B);
        let mut abef = _mm_alignr_epi8(cdab, efgh, 8);
        let mut cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
        for block in blocks.chunks_exact(64) {
            let (abef_save, cdgh_save) = (abef, cdgh);
            let p = block.as_ptr() as *const __m128i;
            let mut w = [
                _mm_shuffle_epi8(_mm_loadu_si128(p), mask),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(1)), mask),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(2)), mask),
                _mm_shuffle_epi8(_mm_loadu_si128(p.add(3)), mask),
            ];
            for (k, &wk) in w.iter().enumerate() {
                rounds4(&mut abef, &mut cdgh, wk, k);
            }
            for k in 4..16 {
                let next = schedule(w[k % 4], w[(k + 1) % 4], w[(k + 2) % 4], w[(k + 3) % 4]);
                w[k % 4] = next;
                rounds4(&mut abef, &mut cdgh, next, k);
            }
            abef = _mm_add_epi32(abef, abef_save);
            cdgh = _mm_add_epi32(cdgh, cdgh_save);
        }
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
        let hgef = _mm_alignr_epi8(dchg, feba, 8);
        let out = state.as_mut_ptr() as *mut __m128i;
        _mm_storeu_si128(out, dcba);
        _mm_storeu_si128(out.add(1), hgef);
    }
}

/// The padded last block(s) of a message of `len` bytes whose tail (after its whole blocks) is `rest`.
fn tail(rest: &[u8], len: usize) -> ([u8; 128], usize) {
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let end = if rest.len() < 56 { 64 } else { 128 };
    tail[end - 8..end].copy_from_slice(&((len as u64) * 8).to_be_bytes());
    (tail, end)
}

const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

fn digest(state: [u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, s) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&s.to_be_bytes());
    }
    out
}

/// The SHA-256 digest of `msg`.
pub(crate) fn sha256(msg: &[u8]) -> [u8; 32] {
    let mut state = H0;
    let full = msg.len() / 64 * 64;
    compress_blocks(&mut state, &msg[..full]);
    let (t, end) = tail(&msg[full..], msg.len());
    compress_blocks(&mut state, &t[..end]);
    digest(state)
}

/// The same, always in software (for the tests: both ways agree).
#[cfg(test)]
fn sha256_soft(msg: &[u8]) -> [u8; 32] {
    let mut state = H0;
    let full = msg.len() / 64 * 64;
    let (t, end) = tail(&msg[full..], msg.len());
    for block in msg[..full].chunks_exact(64).chain(t[..end].chunks_exact(64)) {
        compress(&mut state, block);
    }
    digest(state)
}

/// Reduction modulo a fixed `m` (1..=2**32) by Barrett's method: with `inv` = floor(2**64 / m), the estimated
/// quotient floor(n * inv / 2**64) is the true one or one less (for n < 2**64 the estimate's error is below 1), so
/// one correction makes the remainder exact.
#[derive(Clone, Copy)]
pub(crate) struct Modulus {
    m: u64,
    inv: u64,
}

impl Modulus {
    pub(crate) fn new(m: u64) -> Self {
        // floor(2**64 / m): floor((2**64 - 1) / m), plus one when m divides 2**64 (a power of two); m = 1 is special
        let inv = if m == 1 { 0 } else { u64::MAX / m + u64::from(u64::MAX % m == m - 1) };
        Modulus { m, inv }
    }

    #[inline]
    fn reduce(self, n: u64) -> u64 {
        if self.m == 1 {
            return 0;
        }
        let q = ((n as u128 * self.inv as u128) >> 64) as u64;
        let r = n - q * self.m;
        if r >= self.m {
            r - self.m
        } else {
            r
        }
    }
}

/// `int(sha256(s).hexdigest(), 16) % m` (the 256-bit number reduced 32 bits at a time, exactly).
pub(crate) fn bucket(s: &[u8], m: Modulus) -> u32 {
    let digest = sha256(s);
    let mut r: u64 = 0;
    for word in digest.chunks_exact(4) {
        let w = u32::from_be_bytes(word.try_into().unwrap()) as u64;
        r = m.reduce((r << 32) | w);
    }
    r as u32
}

// ---- tokens and n-grams ----------------------------------------------------------------------------------------

/// A small fast hasher for the caches (FxHash's mixing).
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // fold the high half of a 128-bit product in, so every input bit reaches the low bits the table indexes by
        let m = (self.0 as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (m as u64) ^ ((m >> 64) as u64)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

#[inline]
fn is_word(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        unicode::is(c, ALNUM)
    }
}

#[inline]
fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t'..='\r' | '\x1c'..='\x1f')
    } else {
        unicode::is(c, SPACE)
    }
}

/// The byte spans of `\w+|[^\w\s]+` in `text`, into `out`.
fn tokenize(text: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    // 0: outside a token, 1: in a word run, 2: in a punctuation run
    let mut state = 0u8;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let class = if is_word(c) {
            1
        } else if is_space(c) {
            0
        } else {
            2
        };
        if class != state {
            if state != 0 {
                out.push((start, i));
            }
            start = i;
            state = class;
        }
    }
    if state != 0 {
        out.push((start, text.len()));
    }
}

/// The features of texts, with every distinct token and n-gram hashed once per Featurizer.
pub(crate) struct Featurizer {
    ngram: usize,
    buckets: u64,
    modulus: Modulus,
    tokens: FxMap<Box<[u8]>, u32>,
    token_bucket: Vec<u32>,
    // level n (index n - 2): (gram id at level n - 1, token id) -> gram id at level n, and each gram's bucket
    grams: Vec<FxMap<u64, u32>>,
    gram_bucket: Vec<Vec<u32>>,
    lower: String,
    spans: Vec<(usize, usize)>,
    ids: Vec<u32>,
    joined: Vec<u8>,
    /// The buckets of the last text's features, level after level.
    pub(crate) found: Vec<u32>,
    /// Where each level's features begin in `found` (ngram + 1 entries).
    pub(crate) levels: Vec<usize>,
    /// Hash every feature where it occurs, no cache (when SHA-256 is cheap: the CPU's SHA extensions).
    direct: bool,
}

impl Featurizer {
    pub(crate) fn new(ngram: usize, buckets: u64) -> Self {
        Featurizer {
            ngram,
            buckets,
            modulus: Modulus::new(buckets),
            tokens: FxMap::default(),
            token_bucket: Vec::new(),
            grams: (2..=ngram).map(|_| FxMap::default()).collect(),
            gram_bucket: (2..=ngram).map(|_| Vec::new()).collect(),
            lower: String::new(),
            spans: Vec::new(),
            ids: Vec::new(),
            joined: Vec::new(),
            found: Vec::new(),
            levels: Vec::new(),
            direct: sha_is_cheap(),
        }
    }

    /// The features of one text into `found` and `levels`.
    pub(crate) fn run(&mut self, text: &str) {
        self.lower.clear();
        self.lower.push_str(text);
        self.lower.make_ascii_lowercase();
        tokenize(&self.lower, &mut self.spans);
        self.found.clear();
        self.levels.clear();
        self.levels.push(0);
        if self.direct {
            self.run_direct();
        } else {
            self.run_cached();
        }
        while self.levels.len() <= self.ngram {
            self.levels.push(self.found.len());
        }
    }

    /// The words through the cache (few distinct ones, most of them seen before), the n-grams hashed where they
    /// occur (many distinct ones: with the CPU's SHA extensions, hashing costs less than a cache miss).
    fn run_direct(&mut self) {
        let bytes = self.lower.as_bytes();
        for &(s, e) in &self.spans {
            let token = &bytes[s..e];
            let b = match self.tokens.get(token) {
                Some(&id) => self.token_bucket[id as usize],
                None => {
                    let b = bucket(token, self.modulus);
                    self.tokens.insert(token.into(), self.token_bucket.len() as u32);
                    self.token_bucket.push(b);
                    b
                }
            };
            self.found.push(b);
        }
        self.levels.push(self.found.len());
        for n in 2..=self.ngram {
            for window in self.spans.windows(n) {
                self.joined.clear();
                for (k, &(s, e)) in window.iter().enumerate() {
                    if k > 0 {
                        self.joined.push(b' ');
                    }
                    self.joined.extend_from_slice(&bytes[s..e]);
                }
                self.found.push(bucket(&self.joined, self.modulus));
            }
            self.levels.push(self.found.len());
        }
    }

    /// Every distinct feature hashed once (in software, hashing costs more than looking it up).
    fn run_cached(&mut self) {
        self.ids.clear();
        let bytes = self.lower.as_bytes();
        for &(s, e) in &self.spans {
            let token = &bytes[s..e];
            let id = match self.tokens.get(token) {
                Some(&id) => id,
                None => {
                    let id = self.token_bucket.len() as u32;
                    self.token_bucket.push(bucket(token, self.modulus));
                    self.tokens.insert(token.into(), id);
                    id
                }
            };
            self.ids.push(id);
            self.found.push(self.token_bucket[id as usize]);
        }
        self.levels.push(self.found.len());
        // gram ids of the previous level, overwritten in place: at level n, position i holds the n-gram from i
        let mut prev: Vec<u32> = std::mem::take(&mut self.ids);
        let tokens = prev.clone();
        for n in 2..=self.ngram {
            let count = tokens.len().saturating_sub(n - 1);
            let map = &mut self.grams[n - 2];
            let buckets = &mut self.gram_bucket[n - 2];
            for i in 0..count {
                let key = ((prev[i] as u64) << 32) | tokens[i + n - 1] as u64;
                let id = match map.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = buckets.len() as u32;
                        self.joined.clear();
                        for (k, &(s, e)) in self.spans[i..i + n].iter().enumerate() {
                            if k > 0 {
                                self.joined.push(b' ');
                            }
                            self.joined.extend_from_slice(&bytes[s..e]);
                        }
                        buckets.push(bucket(&self.joined, self.modulus));
                        map.insert(key, id);
                        id
                    }
                };
                prev[i] = id;
                self.found.push(buckets[id as usize]);
            }
            prev.truncate(count);
            self.levels.push(self.found.len());
        }
        self.ids = tokens;
    }
}

/// Distinct tokens and n-grams a thread's featurizer remembers from call to call; past this it starts afresh, so
/// its memory stays bounded (about 40 bytes an entry).
const CACHE_ENTRIES: usize = 1 << 19;

impl Featurizer {
    fn entries(&self) -> usize {
        self.token_bucket.len() + self.gram_bucket.iter().map(Vec::len).sum::<usize>()
    }
}

thread_local! {
    static FEATURIZER: std::cell::RefCell<Option<Featurizer>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with this thread's featurizer for (ngram, buckets): the strings it hashed in earlier calls are not
/// hashed again (the cache holds the strings themselves, so what it gives is exact).
fn with_featurizer<T>(ngram: usize, buckets: u64, f: impl FnOnce(&mut Featurizer) -> T) -> T {
    let mut cached = FEATURIZER.with(|c| c.borrow_mut().take());
    let mut featurizer = match cached.take() {
        Some(c) if c.ngram == ngram && c.buckets == buckets && c.entries() < CACHE_ENTRIES => c,
        _ => Featurizer::new(ngram, buckets),
    };
    let result = f(&mut featurizer);
    FEATURIZER.with(|c| *c.borrow_mut() = Some(featurizer));
    result
}

fn check(ngram: u32, buckets: u64) -> Result<(), String> {
    if ngram == 0 || buckets == 0 || buckets > u32::MAX as u64 {
        return Err(format!("dsir: ngram {ngram} must be positive and buckets {buckets} in 1..2**32"));
    }
    Ok(())
}

/// The features of every text: an Out whose numbers are `bucket | level << 32` (level 1 for words, n for
/// n-grams), text after text and within a text level after level, and whose offsets (n + 1) say where each text's
/// begin; every flag 1.
///
/// # Safety
/// Arrow buffers as lib.rs says; `out` receives an Out to free with dr_out_free.
#[no_mangle]
pub unsafe extern "C" fn dr_dsir_features(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, ngram: u32, buckets: u64, out: *mut *mut Out,
) -> i32 {
    crate::guard(|| {
        check(ngram, buckets)?;
        let texts = crate::strings(n, offsets, data, data_len)?;
        let mut result = Out::strings();
        with_featurizer(ngram as usize, buckets, |f| {
            for i in 0..texts.len() {
                f.run(texts.get(i));
                for level in 0..ngram as usize {
                    let tag = ((level + 1) as u64) << 32;
                    let found = &f.found[f.levels[level]..f.levels[level + 1]];
                    result.numbers.extend(found.iter().map(|&b| b as u64 | tag));
                }
                result.offsets.push(result.numbers.len() as i64);
                result.flags.push(1);
            }
        });
        *out = crate::boxed(result);
        Ok(())
    })
}

/// Add every text's feature counts into `counts[buckets]`.
///
/// # Safety
/// Arrow buffers as lib.rs says; `counts` has room for `buckets` i64s.
#[no_mangle]
pub unsafe extern "C" fn dr_dsir_count(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, ngram: u32, buckets: u64, counts: *mut i64,
) -> i32 {
    crate::guard(|| {
        check(ngram, buckets)?;
        let texts = crate::strings(n, offsets, data, data_len)?;
        let counts = std::slice::from_raw_parts_mut(counts, buckets as usize);
        with_featurizer(ngram as usize, buckets, |f| {
            for i in 0..texts.len() {
                f.run(texts.get(i));
                for &b in &f.found {
                    counts[b as usize] += 1;
                }
            }
        });
        Ok(())
    })
}

/// Each text's weight, the sum of `log_ratio[bucket]` over its features in order, into `out[n]`.
///
/// # Safety
/// Arrow buffers as lib.rs says; `log_ratio` holds `buckets` f64s, `out` has room for n f64s.
#[no_mangle]
pub unsafe extern "C" fn dr_dsir_weights(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, ngram: u32, buckets: u64,
    log_ratio: *const f64, out: *mut f64,
) -> i32 {
    crate::guard(|| {
        check(ngram, buckets)?;
        let texts = crate::strings(n, offsets, data, data_len)?;
        let log_ratio = std::slice::from_raw_parts(log_ratio, buckets as usize);
        let out = std::slice::from_raw_parts_mut(out, n);
        with_featurizer(ngram as usize, buckets, |f| {
            for (i, o) in out.iter_mut().enumerate() {
                f.run(texts.get(i));
                let mut sum = 0.0f64;
                for &b in &f.found {
                    sum += log_ratio[b as usize];
                }
                *o = sum;
            }
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 32]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known() {
        assert_eq!(hex(sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let long = vec![b'a'; 1000];
        assert_eq!(hex(sha256(&long)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
        let mut x = 1u64;
        let bytes: Vec<u8> = (0..3000)
            .map(|_| {
                x = crate::minhash::splitmix(x);
                x as u8
            })
            .collect();
        for len in (0..300).chain([511, 512, 513, 1000, 2999]) {
            assert_eq!(sha256(&bytes[..len]), sha256_soft(&bytes[..len]), "length {len}");
        }
    }

    #[test]
    fn barrett_is_exact() {
        let mut x = 7u64;
        for m in [1u64, 2, 3, 7, 10_000, 65_536, 999_983, 1 << 31, (1 << 32) - 5, 1 << 32] {
            let modulus = Modulus::new(m);
            for n in [0, 1, m - 1, m, m + 1, u64::MAX, u64::MAX - 1, (m << 31).wrapping_sub(1)] {
                assert_eq!(modulus.reduce(n), n % m, "{n} % {m}");
            }
            for _ in 0..100_000 {
                x = crate::minhash::splitmix(x);
                let n = if m > 1 && m < 1 << 32 { x % (m << 32) } else { x };
                assert_eq!(modulus.reduce(n), n % m, "{n} % {m}");
            }
        }
    }
}
