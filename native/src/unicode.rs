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

/// `str.splitlines()` (without the line ends) as an iterator: a line ends at `\n`, `\r`, `\r\n`, `\x0b`, `\x0c`,
/// `\x1c`..`\x1e`, U+0085, U+2028 or U+2029, and a final break does not start an empty line. It looks at bytes: every
/// break is ASCII or starts with 0xC2 or 0xE2.
pub struct Lines<'a> {
    s: &'a str,
    pos: usize,
}

pub fn splitlines(s: &str) -> Lines<'_> {
    Lines { s, pos: 0 }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let start = self.pos;
        if start >= b.len() {
            return None;
        }
        let mut i = start;
        while i < b.len() {
            let c = b[i];
            let end = match c {
                b'\n' | 0x0b | 0x0c | 0x1c..=0x1e => Some(i + 1),
                b'\r' => Some(if b.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 }),
                0xC2 if b.get(i + 1) == Some(&0x85) => Some(i + 2),
                0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => Some(i + 3),
                _ => None,
            };
            if let Some(end) = end {
                self.pos = end;
                return Some(&self.s[start..i]);
            }
            i += 1;
        }
        self.pos = b.len();
        Some(&self.s[start..])
    }
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
