//! Character properties, looked up in the table native/gen_unicode.py generates from Python's unicodedata, so a
//! character is a letter, a space or a digit here exactly when it is one for the Python oracle.

use crate::unicode_table::{DATA, INDEX, SHIFT};

pub(crate) const ALPHA: u16 = 1 << 0; // category L (str.isalpha)
pub(crate) const LU: u16 = 1 << 1; // category Lu
pub(crate) const NUMBER: u16 = 1 << 2; // category N
pub(crate) const SPACE: u16 = 1 << 3; // str.isspace (also the regex \s)
pub(crate) const DECIMAL: u16 = 1 << 4; // str.isdecimal (the regex \d)
pub(crate) const ALNUM: u16 = 1 << 5; // str.isalnum (the regex \w, with `_`)
pub(crate) const LOWER: u16 = 1 << 6; // str.islower of the one character
pub(crate) const DIGIT: u16 = 1 << 7; // str.isdigit
pub(crate) const L3: u16 = 1 << 8; // category L below U+30000 (the tokenizer's regex classes)
pub(crate) const LL3: u16 = 1 << 9; // category Ll below U+30000
pub(crate) const LU3: u16 = 1 << 10; // category Lu below U+30000
pub(crate) const SO3: u16 = 1 << 11; // category So below U+30000
pub(crate) const SC3: u16 = 1 << 12; // category Sc below U+30000
pub(crate) const TERMINAL: u16 = 1 << 13; // sentence-final punctuation (wordsplit's terminal())
pub(crate) const SYMBOL: u16 = 1 << 14; // Gopher's "only symbols" characters (wordsplit's symbols())
pub(crate) const PUNCT: u16 = 1 << 15; // category P

#[inline]
pub fn props(c: char) -> u16 {
    let cp = c as u32;
    let block = INDEX[(cp >> SHIFT) as usize] as usize;
    DATA[(block << SHIFT) | (cp & ((1 << SHIFT) - 1)) as usize]
}

#[inline]
pub fn is(c: char, bits: u16) -> bool {
    props(c) & bits != 0
}

#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, ' ' | '\t'..='\r' | '\x1c'..='\x1f');
    }
    is(c, SPACE)
}

/// `str.split()`: the runs of non-whitespace.
pub fn split_whitespace(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_space).filter(|w| !w.is_empty())
}

/// `str.strip()`, `str.lstrip()`, `str.rstrip()`.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}
pub fn lstrip(s: &str) -> &str {
    s.trim_start_matches(is_space)
}
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Whether a character ends a line for `str.splitlines()`.
#[inline]
pub fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `str.splitlines()` (without the ends): `\r\n` is one break, a final break does not start an empty line.
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_line_break(c) {
            out.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(_, '\n')) = chars.peek() {
                    chars.next();
                    end += 1;
                }
            }
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Length in code points (Python's `len`).
#[inline]
pub fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `s.count(sub)`: non-overlapping occurrences.
pub fn count(s: &str, sub: &str) -> usize {
    s.matches(sub).count()
}
