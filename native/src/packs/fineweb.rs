//! FineWeb's extra rules (Penedo et al. 2024), as datatrove's FineWebQualityFilter applies them, over a page's
//! non-empty lines (split at `\n` only, a line of whitespace counting as empty).

use super::{code, duplicates, on, Code, PieceSet};
use crate::unicode::{self, TERMINAL};

pub(crate) const REASONS: &[&str] = &[
    "empty",
    "line_punct_ratio",
    "short_line_ratio",
    "char_dup_ratio",
    "list_ratio",
];
pub(crate) const PARAMS: usize = 6;

struct Params {
    line_punct_thr: f64,
    line_punct_exclude_zero: bool,
    short_line_thr: f64,
    short_line_length: f64,
    char_duplicates_ratio: f64,
    new_line_ratio: f64,
}

pub(crate) fn run<'a>(rows: impl Iterator<Item = &'a str>, p: &[f64], codes: &mut [i32]) {
    let p = Params {
        line_punct_thr: p[0],
        line_punct_exclude_zero: on(p[1]),
        short_line_thr: p[2],
        short_line_length: p[3],
        char_duplicates_ratio: p[4],
        new_line_ratio: p[5],
    };
    let mut lines = Vec::new();
    let mut set = PieceSet::default();
    let mut words = Vec::new();
    for (text, c) in rows.zip(codes.iter_mut()) {
        words.clear();
        *c = code(decide(text, &p, &mut lines, &mut set, &mut words));
    }
}

fn decide<'a>(
    text: &'a str,
    p: &Params,
    lines: &mut Vec<(usize, usize)>,
    set: &mut PieceSet,
    words: &mut Vec<&'a str>,
) -> Code {
    lines.clear();
    let mut start = 0;
    let mut newlines = 0usize;
    for piece in text.split('\n') {
        let end = start + piece.len();
        if !unicode::strip(piece).is_empty() {
            lines.push((start, end));
        }
        start = end + 1;
        newlines += 1;
    }
    newlines -= 1; // text.count("\n")
    if lines.is_empty() {
        return Some(0);
    }
    let n_lines = lines.len() as f64;
    let ended = lines
        .iter()
        .filter(|&&(s, e)| text[s..e].chars().next_back().is_some_and(|c| unicode::is(c, TERMINAL)));
    let ratio = ended.count() as f64 / n_lines;
    if ratio < p.line_punct_thr && !(ratio == 0.0 && p.line_punct_exclude_zero) {
        return Some(1);
    }
    let short = lines
        .iter()
        .filter(|&&(s, e)| unicode::len(&text[s..e]) as f64 <= p.short_line_length)
        .count();
    if short as f64 / n_lines > p.short_line_thr {
        return Some(2);
    }
    let (_, chars) = duplicates(text, lines, set);
    let size = (unicode::len(text) - newlines).max(1);
    if chars as f64 / size as f64 > p.char_duplicates_ratio {
        return Some(3);
    }
    crate::wordsplit::document_words(text, words);
    if newlines as f64 / words.len().max(1) as f64 > p.new_line_ratio {
        return Some(4);
    }
    None
}
