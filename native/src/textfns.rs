//! The text functions of operators/functions.py (words, mean_word_length, the character-class ratios, stopwords,
//! ...), one row at a time over the borrowed text.

use crate::arrow::Strings;
use crate::unicode::{self, is_space};

pub(crate) const WORDS: u32 = 0;
pub(crate) const MEAN_WORD_LENGTH: u32 = 1;

pub fn run(function: u32, _arg: u32, texts: &Strings, out: &mut [f64]) -> Result<(), String> {
    for (i, slot) in out.iter_mut().enumerate() {
        let t = texts.get(i);
        *slot = match function {
            WORDS => word_stats(t).0 as f64,
            MEAN_WORD_LENGTH => {
                let (n, chars) = word_stats(t);
                chars as f64 / n.max(1) as f64
            }
            _ => return Err(format!("unknown text function {function}")),
        };
    }
    Ok(())
}

/// Words as `str.split()` has them and their total length in code points.
fn word_stats(t: &str) -> (usize, usize) {
    let mut words = 0;
    let mut chars = 0;
    for w in unicode::split_whitespace(t) {
        words += 1;
        chars += unicode::len(w);
    }
    let _ = is_space;
    (words, chars)
}
