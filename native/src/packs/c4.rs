//! C4's line and page rules (Raffel et al. 2020; TFDS c4_utils), as datatrove applies them: lines are removed for
//! lacking terminal punctuation, having too few words, a too-long word, `javascript` or a policy phrase; the page
//! is dropped for `lorem ipsum`, a curly bracket, or too few sentences in the lines that remain; a kept page is
//! rewritten to its kept lines.

use super::{code, on, recycle, Code};
use crate::arrow::Out;
use crate::unicode::{self, PUNCT, TERMINAL};

pub(crate) const REASONS: &[&str] = &["lorem_ipsum", "curly_bracket", "too_few_sentences"];
pub(crate) const PARAMS: usize = 9;

const POLICY: [&str; 6] = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
];

struct Params {
    remove_citations: bool,
    filter_no_terminal_punct: bool,
    min_num_sentences: f64,
    min_words_per_line: f64,
    max_word_length: f64,
    filter_lorem_ipsum: bool,
    filter_javascript: bool,
    filter_curly_bracket: bool,
    filter_policy: bool,
}

#[derive(Default)]
struct Scratch {
    kept: String,             // the kept lines joined with "\n"
    line: String,             // a line without its citations
    lower: String,            // a line lowercased (for the ASCII phrases)
    words: Vec<&'static str>, // (emptied) room for a line's words
}

/// The decisions, and an Out with the rewritten text of every kept row that changed.
pub(crate) fn run<'a>(rows: impl Iterator<Item = &'a str>, p: &[f64], codes: &mut [i32]) -> Out {
    let p = Params {
        remove_citations: on(p[0]),
        filter_no_terminal_punct: on(p[1]),
        min_num_sentences: p[2],
        min_words_per_line: p[3],
        max_word_length: p[4],
        filter_lorem_ipsum: on(p[5]),
        filter_javascript: on(p[6]),
        filter_curly_bracket: on(p[7]),
        filter_policy: on(p[8]),
    };
    let mut s = Scratch::default();
    let mut out = Out::strings();
    for (text, c) in rows.zip(codes.iter_mut()) {
        let decision = decide(text, &p, &mut s);
        *c = code(decision);
        let new = unicode::strip(&s.kept);
        out.push((decision.is_none() && new != text).then_some(new));
    }
    out
}

fn decide(text: &str, p: &Params, s: &mut Scratch) -> Code {
    s.kept.clear();
    let mut kept = 0usize;
    let mut sentences = 0usize;
    let lowered = p.filter_lorem_ipsum || p.filter_javascript || p.filter_policy;
    for line in unicode::splitlines(text) {
        let line = unicode::strip(line);
        // Python tests a long word, then the end of the line (citations removed), then the number of words; each
        // only drops the line, so the cheapest goes first.
        let cut: &str = if p.remove_citations && line.contains('[') {
            remove_citations(line, &mut s.line);
            &s.line
        } else {
            line
        };
        if p.filter_no_terminal_punct && (!cut.ends_with(['.', '?', '!', '"', '\'']) || cut.ends_with("...")) {
            continue;
        }
        let (mut n_words, mut too_long) = (0usize, false);
        for w in unicode::split_whitespace(line) {
            n_words += 1;
            if p.max_word_length != -1.0 && unicode::len(w) as f64 > p.max_word_length {
                too_long = true;
                break;
            }
        }
        if too_long || (n_words as f64) < p.min_words_per_line {
            continue;
        }
        let line = cut;
        if lowered {
            lower(line, &mut s.lower);
        }
        if p.filter_lorem_ipsum && s.lower.contains("lorem ipsum") {
            return Some(0);
        }
        if p.filter_javascript && s.lower.contains("javascript") {
            continue;
        }
        if p.filter_curly_bracket && line.contains('{') {
            return Some(1);
        }
        if p.filter_policy && POLICY.iter().any(|x| s.lower.contains(x)) {
            continue;
        }
        if p.min_num_sentences != -1.0 {
            let mut words = recycle(std::mem::take(&mut s.words));
            crate::wordsplit::words(line, &mut words);
            sentences += count_sentences(&words);
            s.words = recycle(words);
        }
        if kept > 0 {
            s.kept.push('\n');
        }
        s.kept.push_str(line);
        kept += 1;
    }
    if (sentences as f64) < p.min_num_sentences {
        return Some(2);
    }
    None
}

/// `re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", line)` into `out`.
fn remove_citations(line: &str, out: &mut String) {
    out.clear();
    let b = line.as_bytes();
    let (mut last, mut i) = (0, 0);
    while let Some(k) = b[i..].iter().position(|&c| c == b'[') {
        let at = i + k;
        match citation(&line[at..]) {
            Some(len) => {
                out.push_str(&line[last..at]);
                last = at + len;
                i = last;
            }
            None => i = at + 1,
        }
    }
    out.push_str(&line[last..]);
}

/// The length of the citation `s` starts with (it starts with `[`), trying the regex's alternatives in order.
fn citation(s: &str) -> Option<usize> {
    let digits: usize = s[1..]
        .chars()
        .take_while(|&c| unicode::is(c, unicode::DECIMAL))
        .map(char::len_utf8)
        .sum();
    if s[1 + digits..].starts_with(']') {
        return Some(digits + 2);
    }
    ["[edit]", "[citation needed]"]
        .iter()
        .find(|x| s.starts_with(*x))
        .map(|x| x.len())
}

/// `line.lower()` as far as substring tests of ASCII phrases can tell: ASCII letters lowercased, KELVIN SIGN
/// to `k`, `İ` to `i` and a combining dot; every other non-ASCII character lowercases to non-ASCII ones (checked
/// against Python's `str.lower` in the tests), so it stays as it is.
fn lower(line: &str, out: &mut String) {
    out.clear();
    if line.is_ascii() {
        out.push_str(line);
        out.make_ascii_lowercase();
        return;
    }
    for c in line.chars() {
        match c {
            '\u{212A}' => out.push('k'),
            '\u{130}' => out.push_str("i\u{307}"),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
}

/// Sentences in a line's words, as spaCy's sentencizer splits them: a new one starts at the first word that is
/// not punctuation after a sentence-final mark.
fn count_sentences(words: &[&str]) -> usize {
    if words.is_empty() {
        return 0;
    }
    let (mut n, mut after_end) = (1, false);
    for w in words {
        let mut chars = w.chars();
        let first = chars.next();
        let single = chars.next().is_none();
        if single && first.is_some_and(|c| unicode::is(c, TERMINAL)) {
            after_end = true;
        } else if after_end && !w.chars().all(|c| unicode::is(c, PUNCT)) {
            n += 1;
            after_end = false;
        }
    }
    n
}
