//! Gopher's quality rules (Rae et al. 2021, appendix A), in datatrove's order, over the words crate::wordsplit
//! splits (spaCy's English rules).

use super::{code, on, Code};
use crate::unicode::{self, ALPHA, SYMBOL};

pub(crate) const REASONS: &[&str] = &[
    "short_doc",
    "long_doc",
    "below_avg_word_length",
    "above_avg_word_length",
    "too_many_hashes",
    "too_many_ellipsis",
    "too_many_bullets",
    "too_many_end_ellipsis",
    "below_alpha_threshold",
    "few_stop_words",
];
pub(crate) const PARAMS: usize = 9;

/// Gopher's stop words (operators/functions.py STOPWORDS["en"]), matched case-sensitively.
const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

struct Params {
    min_doc_words: f64,
    max_doc_words: f64,
    min_avg_word_length: f64,
    max_avg_word_length: f64,
    max_symbol_word_ratio: f64,
    max_bullet_lines_ratio: f64,
    max_ellipsis_lines_ratio: f64,
    min_alpha_words_ratio: f64,
    min_stop_words: f64,
}

pub(crate) fn run<'a>(rows: impl Iterator<Item = &'a str>, p: &[f64], codes: &mut [i32]) {
    let p = Params {
        min_doc_words: p[0],
        max_doc_words: p[1],
        min_avg_word_length: p[2],
        max_avg_word_length: p[3],
        max_symbol_word_ratio: p[4],
        max_bullet_lines_ratio: p[5],
        max_ellipsis_lines_ratio: p[6],
        min_alpha_words_ratio: p[7],
        min_stop_words: p[8],
    };
    let mut words = Vec::new();
    for (text, c) in rows.zip(codes.iter_mut()) {
        words.clear();
        crate::wordsplit::document_words(text, &mut words);
        *c = code(decide(text, &words, &p));
    }
}

/// What Python's rule counts of the words, in one pass.
#[derive(Default)]
struct WordStats {
    content: usize,       // words not made only of Gopher's symbols
    content_chars: usize, // their length in code points
    alpha: usize,         // words with a letter
    stop: u8,             // the stop words seen, one bit each
}

fn word_stats(words: &[&str]) -> WordStats {
    let mut s = WordStats::default();
    for w in words {
        let mut symbols_only = true;
        let mut alpha = false;
        let mut chars = 0;
        for ch in w.chars() {
            let props = unicode::props(ch);
            symbols_only &= props & SYMBOL != 0;
            alpha |= props & ALPHA != 0;
            chars += 1;
        }
        if !symbols_only {
            s.content += 1;
            s.content_chars += chars;
        }
        s.alpha += alpha as usize;
        if w.len() <= 4 {
            if let Some(i) = STOP_WORDS.iter().position(|x| x == w) {
                s.stop |= 1 << i;
            }
        }
    }
    s
}

fn decide(text: &str, words: &[&str], p: &Params) -> Code {
    let n_words = words.len().max(1) as f64;
    let s = word_stats(words);
    let n_content = s.content as f64;
    if on(p.min_doc_words) && n_content < p.min_doc_words {
        return Some(0);
    }
    if on(p.max_doc_words) && n_content > p.max_doc_words {
        return Some(1);
    }
    let mean = if s.content > 0 {
        s.content_chars as f64 / n_content
    } else {
        f64::NAN
    };
    if on(p.min_avg_word_length) && mean < p.min_avg_word_length {
        return Some(2);
    }
    if on(p.max_avg_word_length) && mean > p.max_avg_word_length {
        return Some(3);
    }
    let ratio = p.max_symbol_word_ratio;
    if on(ratio) {
        let (hashes, ellipses) = symbol_counts(text);
        if hashes as f64 / n_words > ratio {
            return Some(4);
        }
        if ellipses as f64 / n_words > ratio {
            return Some(5);
        }
    }
    if on(p.max_bullet_lines_ratio) || on(p.max_ellipsis_lines_ratio) {
        let (mut n_lines, mut bullets, mut ellipses) = (0usize, 0usize, 0usize);
        for line in unicode::splitlines(text) {
            n_lines += 1;
            bullets += unicode::lstrip(line).starts_with(['•', '-']) as usize;
            let end = unicode::rstrip(line);
            ellipses += (end.ends_with("...") || end.ends_with('…')) as usize;
        }
        let n_lines = n_lines.max(1) as f64; // `text.splitlines() or [""]`: the empty line counts for nothing
        if on(p.max_bullet_lines_ratio) && bullets as f64 / n_lines > p.max_bullet_lines_ratio {
            return Some(6);
        }
        if on(p.max_ellipsis_lines_ratio) && ellipses as f64 / n_lines > p.max_ellipsis_lines_ratio {
            return Some(7);
        }
    }
    if on(p.min_alpha_words_ratio) && (s.alpha as f64) / n_words < p.min_alpha_words_ratio {
        return Some(8);
    }
    if on(p.min_stop_words) && (s.stop.count_ones() as f64) < p.min_stop_words {
        return Some(9);
    }
    None
}

/// `text.count("#")`, and `text.count("...") + text.count("…")` (non-overlapping: a run of k dots holds k / 3).
fn symbol_counts(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let (mut hashes, mut ellipses, mut dots) = (0, 0, 0);
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            dots += 1;
            continue;
        }
        ellipses += dots / 3;
        dots = 0;
        match c {
            b'#' => hashes += 1,
            0xE2 if b[i + 1..].starts_with(&[0x80, 0xA6]) => ellipses += 1,
            _ => {}
        }
    }
    (hashes, ellipses + dots / 3)
}
