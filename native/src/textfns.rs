//! The text functions of operators/functions.py and operators/duplicate_line_ratio.py, one row at a time over the
//! borrowed text. Each gives exactly what it replaced (tests/oracle/functions.py): the numpy/pyarrow kernels (the
//! same counts, and the same float64 operations in the same order) and, for `lines`, `bullet_line_ratio` and
//! `ellipsis_line_ratio`, the DuckDB macros (their lines, and RE2's reading of their regexes).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::arrow::Strings;
use crate::unicode::{self, is_space, ALPHA, LU, NUMBER, SPACE};

pub(crate) const WORDS: u32 = 0;
pub(crate) const MEAN_WORD_LENGTH: u32 = 1;
pub(crate) const ALPHA_RATIO: u32 = 2;
pub(crate) const UPPERCASE_RATIO: u32 = 3;
pub(crate) const DIGIT_RATIO: u32 = 4;
/// `arg` is the language's index in STOPWORDS.
pub(crate) const STOPWORDS: u32 = 5;
pub(crate) const DUPLICATE_LINE_RATIO: u32 = 6;
pub(crate) const LINES: u32 = 7;
pub(crate) const BULLET_LINE_RATIO: u32 = 8;
pub(crate) const ELLIPSIS_LINE_RATIO: u32 = 9;

/// Stop words per language, in the order of operators/functions.py's STOPWORDS (the tests check they agree).
const STOPWORD_LISTS: [&[&str]; 4] = [
    &["the", "be", "to", "of", "and", "that", "have", "with"],
    &["der", "die", "und", "das", "ist", "zu", "den", "mit"],
    &["le", "la", "les", "de", "et", "est", "que", "un"],
    &["el", "la", "de", "que", "y", "en", "los", "es"],
];

pub fn run(function: u32, arg: u32, texts: &Strings, out: &mut [f64]) -> Result<(), String> {
    if out.len() != texts.len() {
        return Err(format!("{} outputs for {} texts", out.len(), texts.len()));
    }
    let rows = (0..texts.len()).map(|i| texts.get(i));
    match function {
        WORDS => fill(rows, out, |t| word_stats(t).0 as f64),
        MEAN_WORD_LENGTH => fill(rows, out, |t| {
            let (words, chars) = word_stats(t);
            chars as f64 / words.max(1) as f64
        }),
        ALPHA_RATIO => fill(rows, out, |t| {
            let c = CharCounts::of(t);
            c.letters as f64 / (c.chars - c.spaces).max(1) as f64
        }),
        UPPERCASE_RATIO => fill(rows, out, |t| {
            let c = CharCounts::of(t);
            c.upper as f64 / c.letters.max(1) as f64
        }),
        DIGIT_RATIO => fill(rows, out, |t| {
            let c = CharCounts::of(t);
            c.numbers as f64 / (c.chars - c.spaces).max(1) as f64
        }),
        STOPWORDS => {
            let list = *STOPWORD_LISTS.get(arg as usize).ok_or_else(|| format!("unknown stop-word list {arg}"))?;
            let list = StopWords::new(list);
            fill(rows, out, |t| stopwords(&list, t) as f64)
        }
        DUPLICATE_LINE_RATIO => {
            let mut seen: HashSet<&str, BuildHasherDefault<LineHasher>> = HashSet::default();
            fill(rows, out, |t| duplicate_line_ratio(t, &mut seen))
        }
        LINES => fill(rows, out, |t| lines(t).map_or(0.0, |l| l.count() as f64)),
        BULLET_LINE_RATIO => fill(rows, out, |t| line_ratio(t, starts_with_bullet)),
        ELLIPSIS_LINE_RATIO => fill(rows, out, |t| line_ratio(t, ends_with_ellipsis)),
        _ => return Err(format!("unknown text function {function}")),
    }
    Ok(())
}

fn fill<'a>(rows: impl Iterator<Item = &'a str>, out: &mut [f64], mut f: impl FnMut(&'a str) -> f64) {
    for (slot, t) in out.iter_mut().zip(rows) {
        *slot = f(t);
    }
}

/// Calls `f` with every character of `t`; ASCII bytes, most of almost any text, are not decoded (and `f`, inlined,
/// takes its ASCII branch without testing for it).
#[inline(always)]
fn for_each_char(t: &str, mut f: impl FnMut(char)) {
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            f(b as char);
            i += 1;
        } else {
            // i is a character boundary: it only ever moves by whole characters
            let c = t[i..].chars().next().unwrap_or('\0');
            f(c);
            i += c.len_utf8();
        }
    }
}

/// Words as `str.split()` has them, and their total length in code points (every non-whitespace character is in
/// one word).
fn word_stats(t: &str) -> (usize, usize) {
    let (mut words, mut chars, mut in_word) = (0usize, 0usize, false);
    for_each_char(t, |c| {
        let word = !if c.is_ascii() { ASCII_SPACE[c as usize] } else { is_space(c) };
        words += (word && !in_word) as usize;
        chars += word as usize;
        in_word = word;
    });
    (words, chars)
}

/// `str.isspace()` of the ASCII characters.
const ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = matches!(c as u8, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f);
        c += 1;
    }
    t
};

/// How many characters of a text are letters (category L), uppercase letters (Lu), numbers (N), whitespace.
#[derive(Default)]
struct CharCounts {
    chars: usize,
    letters: usize,
    upper: usize,
    numbers: usize,
    spaces: usize,
}

impl CharCounts {
    fn of(t: &str) -> Self {
        let mut c = CharCounts::default();
        let mut ascii = [0usize; 128];
        for_each_char(t, |ch| {
            if ch.is_ascii() {
                ascii[ch as usize] += 1;
            } else {
                let p = unicode::props(ch);
                c.chars += 1;
                c.letters += (p & ALPHA != 0) as usize;
                c.upper += (p & LU != 0) as usize;
                c.numbers += (p & NUMBER != 0) as usize;
                c.spaces += (p & SPACE != 0) as usize;
            }
        });
        for (b, &n) in ascii.iter().enumerate() {
            let b = b as u8;
            c.chars += n;
            c.letters += if b.is_ascii_alphabetic() { n } else { 0 };
            c.upper += if b.is_ascii_uppercase() { n } else { 0 };
            c.numbers += if b.is_ascii_digit() { n } else { 0 };
            c.spaces += if ASCII_SPACE[b as usize] { n } else { 0 };
        }
        c
    }
}

/// Occurrences of the stop words among the runs of letters of the lowercased text, as the Arrow kernel counted
/// them: `split_pattern_regex(utf8_lower(text), "[^\pL]+")`. Arrow lowercases with utf8proc's simple mapping, so
/// `İ` (U+0130) becomes `i` and `K` (U+212A) `k`; every other non-ASCII letter lowercases to a non-ASCII letter,
/// which no stop word holds. Arrow's letters (RE2's \pL of the lowercased character) are Python's, plus the
/// characters of LATER_LETTERS.
fn stopwords(list: &StopWords, t: &str) -> usize {
    // The run so far, lowercased, packed into a u64 (its last 8 bytes, the last one lowest), and its length, in
    // which a letter no stop word holds (a non-ASCII one) counts as many, so that the run matches no stop word.
    let (mut hits, mut key, mut len) = (0usize, 0u64, 0usize);
    for_each_char(t, |c| {
        let (lower, weight) = if c.is_ascii() {
            (ASCII_LOWER_LETTER[c as usize], 1)
        } else {
            match c {
                '\u{130}' => (b'i', 1),
                '\u{212A}' => (b'k', 1),
                _ if unicode::is(c, ALPHA) || later_letter(c) => (1, 64),
                _ => (0, 0),
            }
        };
        // without branches: where a run ends is where a branch would be mispredicted
        let letter = lower != 0;
        hits += (!letter & list.holds(key, len)) as usize;
        key = (key << 8 | lower as u64) & (letter as u64).wrapping_neg();
        len = (len + weight) * letter as usize;
    });
    hits + list.holds(key, len) as usize
}

/// A stop-word list as `stopwords` looks words up: each word's bytes packed into a u64.
struct StopWords {
    keys: [u64; 8],
    longest: usize,
}

impl StopWords {
    fn new(words: &[&str]) -> Self {
        let pack = |w: &str| w.bytes().fold(0u64, |key, b| key << 8 | b as u64);
        let longest = words.iter().map(|w| w.len()).max().unwrap_or(0);
        // a list has at most 8 words (STOPWORD_LISTS); an unused slot is 0, which no run of letters packs to
        let mut keys = [0; 8];
        for (slot, w) in keys.iter_mut().zip(words) {
            *slot = pack(w);
        }
        StopWords { keys, longest }
    }

    /// Whether the run of `len` letters packed as `key` is one of the words.
    #[inline]
    fn holds(&self, key: u64, len: usize) -> bool {
        (len.wrapping_sub(1) < self.longest) & self.keys.iter().fold(false, |hit, &k| hit | (k == key))
    }
}

/// The lowercase of the ASCII letters, 0 for the other ASCII characters.
const ASCII_LOWER_LETTER: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        t[c] = (c as u8).to_ascii_lowercase();
        if !(c as u8).is_ascii_alphabetic() {
            t[c] = 0;
        }
        c += 1;
    }
    t
};

/// The characters unassigned in Python's Unicode (14.0) that Arrow (pyarrow 26: utf8proc's lowercasing, then
/// RE2's \pL) counts as letters. Found by comparing the two on every code point; test_native_functions.py checks
/// it on every code point again.
const LATER_LETTERS: [(u32, u32); 20] = [
    (0xA7CB, 0xA7CB), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4), (0xA7DC, 0xA7DD), (0xA7E2, 0xA7E2), (0xAB6C, 0xAB6D),
    (0x1123F, 0x11240), (0x11F02, 0x11F02), (0x11F04, 0x11F10), (0x11F12, 0x11F33), (0x1342F, 0x1342F),
    (0x13441, 0x13446), (0x1B132, 0x1B132), (0x1B155, 0x1B155), (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D),
    (0x1E4D0, 0x1E4EB), (0x2B739, 0x2B739), (0x2EBF0, 0x2EE5D), (0x31350, 0x323AF),
];

fn later_letter(c: char) -> bool {
    let cp = c as u32;
    cp >= LATER_LETTERS[0].0 && LATER_LETTERS.iter().any(|&(a, b)| (a..=b).contains(&cp))
}

/// The share of the non-blank lines (split on `\n`) that repeat an earlier line of the text, exactly.
fn duplicate_line_ratio<'a>(t: &'a str, seen: &mut HashSet<&'a str, BuildHasherDefault<LineHasher>>) -> f64 {
    seen.clear();
    let mut total = 0usize;
    for line in t.split('\n') {
        if !line.chars().all(is_space) {
            total += 1;
            seen.insert(line);
        }
    }
    (total - seen.len()) as f64 / total.max(1) as f64
}

/// A fast non-cryptographic hash (FxHash's multiply-rotate, 8 bytes at a time): the lines of one document are
/// not an attacker's choice of hash-flooding keys that matter, a slow document is all they could make.
#[derive(Default)]
struct LineHasher(u64);

impl LineHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for LineHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last));
    }
    fn write_u8(&mut self, b: u8) {
        self.add(b as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The lines of the SQL macros: `string_split(rtrim(text, chr(10)), chr(10))`, None for the empty text.
fn lines(t: &str) -> Option<std::str::Split<'_, char>> {
    (!t.is_empty()).then(|| t.trim_end_matches('\n').split('\n'))
}

fn line_ratio(t: &str, matches: fn(&str) -> bool) -> f64 {
    let Some(lines) = lines(t) else { return 0.0 };
    let (mut n, mut hits) = (0usize, 0usize);
    for l in lines {
        n += 1;
        hits += matches(l) as usize;
    }
    hits as f64 / n as f64
}

/// RE2's `\s`: ASCII `[\t\n\f\r ]` (no `\v`).
fn re2_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// `regexp_matches(l, '^\s*[•‣◦⁃∙·*\-–]')`
fn starts_with_bullet(l: &str) -> bool {
    l.trim_start_matches(re2_space).starts_with(['•', '‣', '◦', '⁃', '∙', '·', '*', '-', '–'])
}

/// `regexp_matches(l, '(\.\.\.|…)\s*$')`
fn ends_with_ellipsis(l: &str) -> bool {
    let l = l.trim_end_matches(re2_space);
    l.ends_with("...") || l.ends_with('…')
}
