//! Gopher's repetition rules (Rae et al. 2021, table A1), in datatrove's order: repeated paragraphs and lines,
//! the most frequent 2- to 4-gram, and the characters in repeated 5- to 10-grams. Fractions are of the document's
//! length in code points.
//!
//! Words become 64-bit keys (equal words, equal keys) and n-grams rolling polynomial combinations of them, as the
//! Python rule has it (it hashes words with `hash()`): a result can only differ through a 64-bit collision.

use super::{code, duplicates, hash, on, Code, KeyTable, PieceSet};
use crate::unicode;

pub(crate) const REASONS: &[&str] = &[
    "empty",
    "dup_para_frac",
    "dup_para_char_frac",
    "dup_line_frac",
    "dup_line_char_frac",
    "top_2_gram",
    "top_3_gram",
    "top_4_gram",
    "duplicated_5_n_grams",
    "duplicated_6_n_grams",
    "duplicated_7_n_grams",
    "duplicated_8_n_grams",
    "duplicated_9_n_grams",
    "duplicated_10_n_grams",
];
pub(crate) const PARAMS: usize = 13;

const TOP: u8 = 5; // the code of top_2_gram
const DUPLICATED: u8 = 8; // the code of duplicated_5_n_grams
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

struct Params {
    dup_line_frac: f64,
    dup_para_frac: f64,
    dup_line_char_frac: f64,
    dup_para_char_frac: f64,
    top: [f64; 3],        // top_2_gram .. top_4_gram
    duplicated: [f64; 6], // dup_5_gram .. dup_10_gram
}

#[derive(Default)]
struct Scratch {
    pieces: Vec<(usize, usize)>,
    set: PieceSet,
    keys: Vec<u64>,
    ends: Vec<usize>,
    grams: Vec<u64>,
    table: KeyTable,
}

pub(crate) fn run<'a>(rows: impl Iterator<Item = &'a str>, p: &[f64], codes: &mut [i32]) {
    let p = Params {
        dup_line_frac: p[0],
        dup_para_frac: p[1],
        dup_line_char_frac: p[2],
        dup_para_char_frac: p[3],
        top: [p[4], p[5], p[6]],
        duplicated: [p[7], p[8], p[9], p[10], p[11], p[12]],
    };
    let mut s = Scratch::default();
    let mut words = Vec::new();
    for (text, c) in rows.zip(codes.iter_mut()) {
        words.clear();
        *c = code(decide(text, &p, &mut s, &mut words));
    }
}

/// `re.split(r"\n{min,}", text)` as byte ranges (empty pieces kept, as re.split keeps them).
fn split_newlines(text: &str, min: usize, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let b = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while let Some(k) = b[i..].iter().position(|&c| c == b'\n') {
        let at = i + k;
        let mut j = at;
        while j < b.len() && b[j] == b'\n' {
            j += 1;
        }
        if j - at >= min {
            out.push((start, at));
            start = j;
        }
        i = j;
    }
    out.push((start, b.len()));
}

fn decide<'a>(text: &'a str, p: &Params, s: &mut Scratch, words: &mut Vec<&'a str>) -> Code {
    if text.is_empty() {
        return Some(0);
    }
    let size = unicode::len(text) as f64;
    let stripped = unicode::strip(text);
    split_newlines(stripped, 2, &mut s.pieces);
    let (n, chars) = duplicates(stripped, &s.pieces, &mut s.set);
    if on(p.dup_para_frac) && n as f64 / s.pieces.len() as f64 > p.dup_para_frac {
        return Some(1);
    }
    if on(p.dup_para_char_frac) && chars as f64 / size > p.dup_para_char_frac {
        return Some(2);
    }
    split_newlines(text, 1, &mut s.pieces);
    let (n, chars) = duplicates(text, &s.pieces, &mut s.set);
    if on(p.dup_line_frac) && n as f64 / s.pieces.len() as f64 > p.dup_line_frac {
        return Some(3);
    }
    if on(p.dup_line_char_frac) && chars as f64 / size > p.dup_line_char_frac {
        return Some(4);
    }
    crate::wordsplit::document_words(text, words);
    if words.is_empty() {
        return None;
    }
    let m = words.len();
    s.keys.clear();
    s.ends.clear();
    s.ends.push(0);
    let mut end = 0;
    for w in words.iter() {
        s.keys.push(hash(w.as_bytes()));
        end += unicode::len(w);
        s.ends.push(end);
    }
    s.grams.clear();
    s.grams.extend_from_slice(&s.keys);
    let mut distinct = false; // no n-gram repeats, so no longer one does either
    for n in 2..=10usize {
        if m < n || distinct && n >= 5 {
            break;
        }
        let len = m - n + 1;
        for i in 0..len {
            s.grams[i] = s.grams[i].wrapping_mul(MIX).wrapping_add(s.keys[i + n - 1]);
        }
        s.grams.truncate(len);
        if n <= 4 {
            let limit = p.top[n - 2];
            if !on(limit) {
                continue;
            }
            s.table.reset(len);
            for (i, &g) in s.grams.iter().enumerate() {
                s.table.add(g, i as u32);
            }
            let (top, start) = s.table.most_common();
            distinct = top == 1;
            let start = start as usize;
            // the n-gram joined with spaces, times its count
            let chars = (s.ends[start + n] - s.ends[start] + n - 1) as u64 * top as u64;
            if chars as f64 / size > limit {
                return Some(TOP + (n - 2) as u8);
            }
            continue;
        }
        let limit = p.duplicated[n - 5];
        s.table.reset(len);
        if !on(limit) {
            distinct = s.grams.iter().enumerate().all(|(i, &g)| s.table.insert(g, i as u32));
            continue;
        }
        let repeated;
        (repeated, distinct) = repeated_chars(s, n, limit * size);
        if !distinct && repeated as f64 > limit * size {
            return Some(DUPLICATED + (n - 5) as u8);
        }
    }
    None
}

/// Characters in n-grams that repeat an earlier one, scanning left to right and skipping a repeated n-gram whole
/// (Gopher's duplicate n-gram character fraction), counted until `limit` is passed; and whether no n-gram repeats.
/// (The scan finds a repeat exactly when one exists: until it finds the first, it skips nothing.) `s.table` is
/// empty, with room for the n-grams.
fn repeated_chars(s: &mut Scratch, n: usize, limit: f64) -> (usize, bool) {
    let (mut repeated, mut i, mut distinct) = (0, 0, true);
    while i < s.grams.len() {
        let g = s.grams[i];
        if s.table.insert(g, i as u32) {
            i += 1;
        } else {
            distinct = false;
            repeated += s.ends[i + n] - s.ends[i];
            if repeated as f64 > limit {
                break;
            }
            i += n;
        }
    }
    (repeated, distinct)
}
