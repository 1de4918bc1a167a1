//! The words the rule packs count: spaCy's English tokenizer rules, exactly as tests/oracle/wordsplit.py has them
//! (the oracle's `Tokenizer()(text)`), without a regex engine: each of its regexes is matched by hand with the
//! semantics Python's `re` gives it (ordered alternation, `$`-anchored search, lookbehinds that see the whole
//! current piece, Unicode `\w` `\d` `\s`).
//!
//! Every word is a slice of the text: a special string's value is a partition of its key, and a merged run is a
//! partition of the words it replaces, so a chunk's words are a partition of the chunk and are kept as byte
//! boundaries. A chunk (a run of non-whitespace) is split once and its boundaries cached per thread; the cache is
//! bounded and cleared when full, which changes no result.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::unicode::{is, is_space, ALNUM, ALPHA, DECIMAL, DIGIT, L3, LL3, LOWER, LU3, SC3, SO3};

// ---- the oracle's tables ---------------------------------------------------------------------------------

#[cfg(test)] // the set the match arms of `punct` hold, as the oracle spells them
const PUNCT: &str = "…,:;!?¿؟¡()[]{}<>_#*&。？！，、；：～·।،۔؛٪";
#[cfg(test)] // the set the match arms of `quote` hold, as the oracle spells them
const QUOTES: &str = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧";
const UNITS: [&str; 48] = [
    "km", "km²", "km³", "m", "m²", "m³", "dm", "dm²", "dm³", "cm", "cm²", "cm³", "mm", "mm²", "mm³", "ha", "µm",
    "nm", "yd", "in", "ft", "kg", "g", "mg", "µg", "t", "lb", "oz", "m/s", "km/h", "kmh", "mph", "hPa", "Pa",
    "mbar", "mb", "MB", "kb", "KB", "gb", "GB", "tb", "TB", "T", "G", "M", "K", "%",
];
#[cfg(test)] // the set the match arms of `always_suffix` hold, as the oracle spells them
const ALWAYS_SUFFIX: &str = ",:;!?)]}\"'…";
const HYPHENS: [&str; 7] = ["-", "–", "—", "--", "---", "——", "~"];

const ABBREVIATIONS: &str = "Mr. Mrs. Ms. Dr. Prof. St. Jr. Inc. Ltd. Co. Corp. Bros. Gen. Gov. Rep. Sen. Rev. Mt. \
    Messrs. Adm. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec. e.g. i.e. E.g. I.e. E.G. I.E. a.m. p.m. \
    vs. v.s. co. Ph.D. D.C. N.Y. N.J. N.C. N.D. N.H. N.M. S.C. Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. \
    Ga. Ia. Id. Ill. Ind. Kan. Kans. Ky. La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. Okla. \
    Ore. Pa. Tenn. Va. Wash. Wis. Ak. and/or ''";
const EMOTICONS: &str = ":) :-) :)) :-)) :))) :-))) (: (-: =) (= :] :-] [: [-: [= =] :o) (o: :} :-} 8) 8-) \
    (-8 ;) ;-) (; (-; \
    :( :-( :(( :-(( :((( :-((( ): )-: =( >:( :') :'-) :'( :'-( :/ :-/ =/ =| :| :-| :1 :P :-P :p :-p :O :-O \
    :o :-o :0 :-0 :() >:o :* :-* :3 :-3 =3 :> :-> :X :-X :x :-x :D :-D ;D ;-D =D xD XD xDD XDD 8D 8-D ^_^ \
    ^__^ ^___^ >.< >.> <.< ._. ;_; -_- -__- v.v V.V v_v V_V o_o o_O O_o O_O 0_o o_0 0_0 o.O O.o O.O o.o \
    0.0 o.0 0.o @_@ <3 <33 <333 </3 (^_^) (-_-) (._.) (>_<) (*_*) (¬_¬) ಠ_ಠ ಠ︵ಠ (ಠ_ಠ) ¯\\(ツ)/¯";
const SPLITS: [(&str, &str, &str); 12] = [
    ("cannot", "can", "not"), ("Cannot", "Can", "not"), ("y'all", "y'", "all"), ("Y'all", "Y'", "all"),
    ("y’all", "y’", "all"), ("Y’all", "Y’", "all"), ("gonna", "gon", "na"), ("Gonna", "Gon", "na"),
    ("gotta", "got", "ta"), ("Gotta", "Got", "ta"), ("wanna", "wan", "na"), ("Wanna", "Wan", "na"),
];
const NEG_BASES: [&str; 20] = ["do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "could", "would",
    "should", "must", "need", "might", "ca", "wo", "ai", "sha"];
const PRONOUN_CLITICS: [(&str, &[&str]); 7] = [("i", &["m", "ve", "ll", "d"]), ("you", &["re", "ve", "ll", "d"]),
    ("he", &["ll", "d"]), ("she", &["ll", "d"]), ("it", &["ll", "d"]), ("we", &["re", "ve", "ll", "d"]),
    ("they", &["re", "ve", "ll", "d"])];
const NOT_CONTRACTIONS: [&str; 7] = ["ill", "its", "hell", "shell", "shed", "were", "well"];

/// A fast hash for short strings (FxHash's mix), std only.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().unwrap())).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;
/// A merged run: the words a special string splits into without specials, and its value's lengths.
type Run = (Vec<String>, Vec<usize>);

struct Tables {
    /// special string -> the lengths in code points of the words of its value (a partition of the key)
    special: FxMap<String, Vec<usize>>,
    /// the longest special string, in bytes (longer pieces are not looked up)
    max_special: usize,
    /// the longest special string made of ASCII letters only, in bytes
    max_alpha_special: usize,
    /// first word -> (the words a special string splits into without specials, its value's lengths), longest first
    runs: FxMap<String, Vec<Run>>,
    max_run_word: usize,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build_tables)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

fn build_tables() -> Tables {
    // In the oracle's insertion order (a later key replaces an earlier value, keeping its place).
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut put = |key: String, value: Vec<String>| {
        if let Some(&i) = index.get(&key) {
            entries[i].1 = value;
        } else {
            index.insert(key.clone(), entries.len());
            entries.push((key, value));
        }
    };
    let abbreviations = ABBREVIATIONS.split_whitespace().map(str::to_string)
        .chain("abcdefghijklmnopqrstuvwxyzäöü".chars().map(|c| format!("{c}.")));
    for a in abbreviations.chain(EMOTICONS.split_whitespace().map(str::to_string)) {
        put(a.clone(), vec![a]);
    }
    for (k, a, b) in SPLITS {
        put(k.to_string(), vec![a.to_string(), b.to_string()]);
    }
    let mut pairs: Vec<(&str, String)> = NEG_BASES.iter().map(|b| (*b, "n't".to_string())).collect();
    for (p, cs) in PRONOUN_CLITICS {
        for c in cs {
            pairs.push((p, format!("'{c}")));
        }
    }
    for (base, clitic) in &pairs {
        let mut bases = vec![base.to_string(), capitalize(base)];
        if *base == "i" {
            bases.push("I".to_string());
        }
        bases.sort();
        bases.dedup();
        for b in bases {
            for apostrophe in ["'", "’", ""] {
                let c = clitic.replace('\'', apostrophe);
                let word = format!("{b}{c}");
                if !apostrophe.is_empty() || !NOT_CONTRACTIONS.contains(&word.to_lowercase().as_str()) {
                    put(word, vec![b.clone(), c]);
                }
            }
        }
    }
    for clitic in ["'s", "'S", "'re", "'ve", "'ll", "'d", "n't"] {
        put(clitic.to_string(), vec![clitic.to_string()]);
        let curly = clitic.replace('\'', "’");
        put(curly.clone(), vec![curly]);
    }
    let lens = |v: &[String]| v.iter().map(|w| w.chars().count()).collect::<Vec<_>>();
    let mut special: FxMap<String, Vec<usize>> = FxMap::default();
    for (k, v) in &entries {
        assert_eq!(&v.concat(), k, "a special string's value is not a partition of it");
        special.insert(k.clone(), lens(v));
    }
    let max_special = special.keys().map(|k| k.len()).max().unwrap_or(0);
    let max_alpha_special = special.keys().filter(|k| k.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(|k| k.len()).max().unwrap_or(0);
    let mut t = Tables { special, max_special, max_alpha_special, runs: FxMap::default(), max_run_word: 0 };
    let mut runs: FxMap<String, Vec<Run>> = FxMap::default();
    for (k, v) in &entries {
        let piece = Piece::new(k);
        let plain = piece.split_affixes(&t, 0, piece.n, false);
        if plain.len() > 1 {
            let words: Vec<String> = plain.iter().map(|&(a, b)| piece.sub(a, b).to_string()).collect();
            assert_eq!(&words.concat(), k);
            runs.entry(words[0].clone()).or_default().push((words, lens(v)));
        }
    }
    for options in runs.values_mut() {
        options.sort_by_key(|o| std::cmp::Reverse(o.0.len())); // stable, as Python's sort
    }
    t.max_run_word = runs.values().flatten().flat_map(|o| o.0.iter()).map(|w| w.len()).max().unwrap_or(0);
    t.runs = runs;
    t
}

impl Tables {
    #[inline]
    fn special(&self, s: &str) -> Option<&Vec<usize>> {
        if s.len() > self.max_special {
            return None;
        }
        self.special.get(s)
    }

    #[inline]
    fn is_run_start(&self, s: &str) -> bool {
        s.len() <= self.max_run_word && self.runs.contains_key(s)
    }
}

// ---- character classes ---------------------------------------------------------------------------------

#[inline]
fn punct(c: char) -> bool {
    // PUNCT
    matches!(
        c,
        '!' | '#' | '&' | '(' | ')' | '*' | ',' | ':' | ';' | '<' | '>' | '?' | '[' | ']' | '_' | '{' | '}'
            | '¡' | '·' | '¿' | '،' | '؛' | '؟' | '٪' | '۔' | '।' | '…' | '、' | '。' | '！' | '，' | '：' | '；' | '？'
            | '～'
    )
}

#[inline]
fn quote(c: char) -> bool {
    // QUOTES
    matches!(
        c,
        '"' | '\'' | ',' | '`' | '«' | '´' | '»' | '‘' | '’' | '‚' | '“' | '”' | '„' | '⟦' | '⟧' | '〈' | '〉'
            | '《' | '》' | '「' | '」' | '『' | '』' | '【' | '】' | '〔' | '〕' | '（' | '）'
    )
}

#[inline]
fn always_suffix(c: char) -> bool {
    // ALWAYS_SUFFIX
    matches!(c, '!' | '"' | '\'' | ')' | ',' | ':' | ';' | '?' | ']' | '}' | '…')
}

#[inline]
fn digit09(c: char) -> bool {
    c.is_ascii_digit()
}

/// `[A-Za-z0-9\u00a1-\uffff]`: the characters of a host label (first and last).
#[inline]
fn host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ('\u{a1}'..='\u{ffff}').contains(&c)
}

// ---- one chunk -----------------------------------------------------------------------------------------

/// A chunk's characters and their byte offsets; the pieces are ranges of character indices.
struct Piece<'s> {
    s: &'s str,
    ch: Vec<char>,
    bo: Vec<usize>,
    n: usize,
}

type Words = Vec<(usize, usize)>;

impl<'s> Piece<'s> {
    fn new(s: &'s str) -> Self {
        let mut ch = Vec::with_capacity(s.len());
        let mut bo = Vec::with_capacity(s.len() + 1);
        for (i, c) in s.char_indices() {
            ch.push(c);
            bo.push(i);
        }
        bo.push(s.len());
        let n = ch.len();
        Piece { s, ch, bo, n }
    }

    #[inline]
    fn sub(&self, a: usize, b: usize) -> &'s str {
        &self.s[self.bo[a]..self.bo[b]]
    }

    fn is_alpha(&self, a: usize, b: usize) -> bool {
        a < b && self.ch[a..b].iter().all(|&c| is(c, ALPHA))
    }

    fn special_words(&self, a: usize, lens: &[usize], out: &mut Words) {
        let mut p = a;
        for &l in lens {
            out.push((p, p + l));
            p += l;
        }
    }

    /// The oracle's `split`: a whole chunk.
    fn split(&self, t: &Tables, a: usize, b: usize) -> Words {
        if let Some(v) = t.special(self.sub(a, b)) {
            let mut out = Vec::new();
            self.special_words(a, v, &mut out);
            return out;
        }
        if self.is_alpha(a, b) {
            return vec![(a, b)];
        }
        let last = self.ch[b - 1];
        let words = if b - a > 1
            && self.is_alpha(a, b - 1)
            && (always_suffix(last)
                || last == '.' && (is(self.ch[b - 2], LOWER) || is(self.ch[b - 2], DIGIT)))
        {
            let mut w = self.split(t, a, b - 1);
            w.push((b - 1, b));
            w
        } else {
            self.split_affixes(t, a, b, true)
        };
        if words.len() == 1 || !words.iter().any(|&(x, y)| t.is_run_start(self.sub(x, y))) {
            return words;
        }
        let mut out = Vec::with_capacity(words.len());
        let mut i = 0;
        'outer: while i < words.len() {
            let (x, y) = words[i];
            if let Some(options) = t.runs.get(self.sub(x, y)) {
                for (plain, value) in options {
                    if i + plain.len() <= words.len()
                        && plain.iter().zip(&words[i..]).all(|(p, &(x, y))| p == self.sub(x, y))
                    {
                        self.special_words(x, value, &mut out);
                        i += plain.len();
                        continue 'outer;
                    }
                }
            }
            out.push((x, y));
            i += 1;
        }
        out
    }

    /// `prefix.match(s)`: the length of the prefix of s[a..b] (0 when none).
    fn prefix(&self, a: usize, b: usize) -> usize {
        let c = self.ch[a];
        match c {
            '§' | '%' | '=' | '—' | '–' | '…' => 1,
            '+' => usize::from(!(a + 1 < b && digit09(self.ch[a + 1]))),
            '.' => {
                let mut e = a + 1;
                while e < b && self.ch[e] == '.' {
                    e += 1;
                }
                if e - a >= 2 { e - a } else { 0 }
            }
            _ => usize::from(punct(c) || quote(c) || is(c, SC3 | SO3)),
        }
    }

    /// Whether the suffix pattern matches s[p..b] exactly (s = ch[a..b]; `dots` starts the trailing run of dots).
    fn suffix_at(&self, a: usize, b: usize, p: usize, dots: usize) -> bool {
        let tail = b - p;
        if p >= dots && tail >= 2 {
            return true;
        }
        let ch = &self.ch;
        let prev = if p > a { Some(ch[p - 1]) } else { None };
        let after_digit = prev.is_some_and(digit09);
        if tail == 1 {
            let c = ch[p];
            if c == '…' || punct(c) || quote(c) || is(c, SO3) || c == '—' || c == '–' {
                return true;
            }
            if c == '+' && after_digit {
                return true;
            }
            if c == '.' {
                if p >= a + 2 && ch[p - 2] == '°' && matches!(ch[p - 1], 'F' | 'f' | 'C' | 'c' | 'K' | 'k') {
                    return true;
                }
                if let Some(q) = prev {
                    if digit09(q) || is(q, LL3) || matches!(q, '%' | '²' | '-' | '+') || punct(q) || quote(q) {
                        return true;
                    }
                }
                if p >= a + 2 && is(ch[p - 2], LU3) && is(ch[p - 1], LU3) {
                    return true;
                }
            }
            if after_digit && is(c, SC3) {
                return true;
            }
        }
        if tail == 2 {
            if let [q, 's' | 'S'] = ch[p..b] {
                if q == '\'' || q == '’' {
                    return true;
                }
            }
        }
        after_digit && tail <= 4 && {
            let rest = self.sub(p, b);
            UNITS.contains(&rest)
        }
    }

    /// `suffix.search(s, pos)`: the leftmost start >= pos of a suffix of s = ch[a..b].
    fn suffix_search(&self, a: usize, b: usize, pos: usize) -> Option<usize> {
        let mut dots = b;
        while dots > a && self.ch[dots - 1] == '.' {
            dots -= 1;
        }
        let mut p = pos;
        while p < b {
            if b - p > 4 {
                // Only a run of dots matches more than four characters.
                if p >= dots {
                    return Some(p);
                }
                p = dots.min(b - 4);
                continue;
            }
            if self.suffix_at(a, b, p, dots) {
                return Some(p);
            }
            p += 1;
        }
        None
    }

    /// The oracle's `_split`: prefixes and suffixes off, then specials, URLs, infixes.
    fn split_affixes(&self, t: &Tables, a0: usize, b0: usize, specials: bool) -> Words {
        let sp = |x: usize, y: usize| if specials { t.special(self.sub(x, y)) } else { None };
        let (mut a, mut b) = (a0, b0);
        let mut prefixes: Words = Vec::new();
        let mut suffixes: Words = Vec::new();
        let mut last = usize::MAX;
        while a < b && b - a != last && sp(a, b).is_none() {
            let len = b - a;
            last = len;
            let pre = self.prefix(a, b);
            if pre > 0 && sp(a + pre, b).is_some() {
                prefixes.push((a, a + pre));
                a += pre;
                break;
            }
            let window = pre.max(len.saturating_sub(12));
            let mut m = self.suffix_search(a, b, a + window);
            if m == Some(a + window) && window > pre {
                m = self.suffix_search(a, b, a + pre);
            }
            let suf = m.map_or(0, |p| b - p);
            if suf > 0 && sp(a, b - suf).is_some() {
                suffixes.push((b - suf, b));
                b -= suf;
                break;
            }
            if pre > 0 && suf > 0 && pre + suf <= len {
                prefixes.push((a, a + pre));
                suffixes.push((b - suf, b));
                a += pre;
                b -= suf;
            } else if pre > 0 {
                prefixes.push((a, a + pre));
                a += pre;
            } else if suf > 0 {
                suffixes.push((b - suf, b));
                b -= suf;
            }
        }
        let mut out = prefixes;
        if a < b {
            if let Some(v) = sp(a, b) {
                self.special_words(a, v, &mut out);
            } else if b - a == 1 || self.url(a, b) {
                out.push((a, b));
            } else {
                let mut start = a;
                let mut p = a;
                while p < b {
                    match self.infix_at(a, b, p) {
                        Some(e) => {
                            if p != start {
                                out.push((start, p));
                            }
                            out.push((p, e));
                            start = e;
                            p = e;
                        }
                        None => p += 1,
                    }
                }
                if start < b {
                    out.push((start, b));
                }
            }
        }
        out.extend(suffixes.iter().rev());
        out
    }

    /// The end of the infix match at p in s = ch[a..b] (the first alternative that matches there), if any.
    fn infix_at(&self, a: usize, b: usize, p: usize) -> Option<usize> {
        let ch = &self.ch;
        let c = ch[p];
        let prev = if p > a { Some(ch[p - 1]) } else { None };
        let at = |k: usize| if p + k < b { Some(ch[p + k]) } else { None };
        if c == '.' && at(1) == Some('.') {
            let mut e = p + 2;
            while e < b && ch[e] == '.' {
                e += 1;
            }
            return Some(e);
        }
        if c == '…' || is(c, SO3) {
            return Some(p + 1);
        }
        let letter = |x: Option<char>| x.is_some_and(|x| is(x, L3));
        if matches!(c, '+' | '-' | '*' | '^')
            && prev.is_some_and(digit09)
            && at(1).is_some_and(|x| digit09(x) || x == '-')
        {
            return Some(p + 1);
        }
        if c == '.' && prev.is_some_and(|x| is(x, LL3) || quote(x)) && at(1).is_some_and(|x| is(x, LU3) || quote(x)) {
            return Some(p + 1);
        }
        if c == ',' && letter(prev) && letter(at(1)) {
            return Some(p + 1);
        }
        if prev.is_some_and(|x| is(x, L3) || digit09(x)) {
            for h in HYPHENS {
                let k = h.chars().count();
                if p + k <= b && h.chars().zip(&ch[p..p + k]).all(|(x, &y)| x == y) && letter(at(k)) {
                    return Some(p + k);
                }
            }
            if matches!(c, ':' | '<' | '>' | '=' | '/') && letter(at(1)) {
                return Some(p + 1);
            }
        }
        None
    }

    /// `url.fullmatch(s)` for s = ch[a..b] (a piece has no whitespace).
    fn url(&self, a: usize, b: usize) -> bool {
        let ch = &self.ch;
        let mut starts = [Some(a), None];
        // `[\w+\-.]{2,}://`: the scheme ends at the first ':'.
        if let Some(c) = (a..b).find(|&i| ch[i] == ':') {
            if c - a >= 2
                && c + 2 < b
                && ch[c + 1] == '/'
                && ch[c + 2] == '/'
                && ch[a..c].iter().all(|&x| matches!(x, '_' | '+' | '-' | '.') || is(x, ALNUM))
            {
                starts[1] = Some(c + 3);
            }
        }
        for q in starts.into_iter().flatten() {
            // `[^\s@]+@`: up to the first '@' (at least one character before it).
            let mut hosts = [Some(q), None];
            if let Some(at) = (q..b).find(|&i| ch[i] == '@') {
                if at > q {
                    hosts[1] = Some(at + 1);
                }
            }
            for h in hosts.into_iter().flatten() {
                if self.host_port(h, b) {
                    return true;
                }
            }
        }
        false
    }

    /// host (`:port`)? up to the first of `/?#` (the path, anything), from h.
    fn host_port(&self, h: usize, b: usize) -> bool {
        let ch = &self.ch;
        let e = (h..b).find(|&i| matches!(ch[i], '/' | '?' | '#')).unwrap_or(b);
        let mut end = e;
        if let Some(k) = (h..e).find(|&i| ch[i] == ':') {
            let port = &ch[k + 1..e];
            if !(2..=5).contains(&port.len()) || !port.iter().all(|&x| is(x, DECIMAL)) {
                return false;
            }
            end = k;
        }
        if h >= end {
            return false;
        }
        let host = &ch[h..end];
        let parts: Vec<&[char]> = host.split(|&x| x == '.').collect();
        if parts.len() == 4 && parts.iter().all(|p| (1..=3).contains(&p.len()) && p.iter().all(|&x| is(x, DECIMAL))) {
            return true;
        }
        let (tld, labels) = parts.split_last().unwrap();
        !labels.is_empty()
            && (2..=63).contains(&tld.len())
            && tld.iter().all(|&x| is(x, LL3))
            && labels.iter().all(|l| {
                (1..=64).contains(&l.len())
                    && host_char(l[0])
                    && host_char(l[l.len() - 1])
                    && l.iter().all(|&x| host_char(x) || x == '_' || x == '-')
            })
    }
}

// ---- texts ---------------------------------------------------------------------------------------------

/// Chunks cached per thread; the cache is cleared when it holds this many (a test sets it lower).
static CACHE_LIMIT: AtomicUsize = AtomicUsize::new(1 << 20);
/// Longer chunks are split but not cached.
const CACHE_MAX_CHUNK: usize = 128;

thread_local! {
    static CACHE: RefCell<FxMap<Box<str>, Box<[u32]>>> = RefCell::new(FxMap::default());
}

/// The word boundaries (byte ends) of one chunk.
fn chunk_ends(t: &Tables, chunk: &str) -> Box<[u32]> {
    let piece = Piece::new(chunk);
    piece.split(t, 0, piece.n).iter().map(|&(_, y)| piece.bo[y] as u32).collect()
}

/// The next run of non-whitespace at or after byte i: (start, end).
#[inline]
fn next_chunk(b: &[u8], text: &str, mut i: usize) -> Option<(usize, usize)> {
    // skip whitespace
    loop {
        let &c = b.get(i)?;
        if c < 0x80 {
            if matches!(c, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f) {
                i += 1;
                continue;
            }
            break;
        }
        let ch = text[i..].chars().next().unwrap();
        if is_space(ch) {
            i += ch.len_utf8();
            continue;
        }
        break;
    }
    let start = i;
    while let Some(&c) = b.get(i) {
        if c < 0x80 {
            if matches!(c, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f) {
                break;
            }
            i += 1;
        } else {
            let ch = text[i..].chars().next().unwrap();
            if is_space(ch) {
                break;
            }
            i += ch.len_utf8();
        }
    }
    Some((start, i))
}

enum Fast {
    One,
    Two(usize),
    No,
}

/// The common chunks, without the cache: letters only (`word`), and letters with one of the suffixes the oracle
/// splits off first (`word,` `word.`), when no special string or merged run is involved.
#[inline]
fn fast(t: &Tables, chunk: &str) -> Fast {
    let b = chunk.as_bytes();
    let mut ascii = true;
    let mut alpha_to = 0; // bytes: the letters at the start
    let mut prev = '\0';
    // ASCII letters first, byte by byte.
    while alpha_to < b.len() && b[alpha_to].is_ascii_alphabetic() {
        alpha_to += 1;
    }
    if alpha_to > 0 {
        prev = b[alpha_to - 1] as char;
    }
    // Then any letters, if a non-ASCII character follows.
    let base = alpha_to;
    let rest = if base == b.len() || b[base].is_ascii() { "" } else { &chunk[base..] };
    for (i, c) in rest.char_indices() {
        let i = base + i;
        let letter = if c.is_ascii() { c.is_ascii_alphabetic() } else { is(c, ALPHA) };
        if !letter {
            break;
        }
        ascii &= c.is_ascii();
        alpha_to = i + c.len_utf8();
        prev = c;
    }
    // Special strings are ASCII or hold a non-letter, so a chunk of letters with a non-ASCII one is none.
    let maybe_special = |w: &str| ascii && w.len() <= t.max_alpha_special && t.special(w).is_some();
    if alpha_to == b.len() {
        return if maybe_special(chunk) { Fast::No } else { Fast::One };
    }
    if alpha_to == 0 {
        return Fast::No;
    }
    let last = &chunk[alpha_to..];
    let mut cs = last.chars();
    let (Some(c), None) = (cs.next(), cs.next()) else { return Fast::No };
    let suffix = always_suffix(c) || c == '.' && (is(prev, LOWER) || is(prev, DIGIT));
    let word = &chunk[..alpha_to];
    if !suffix || t.special(chunk).is_some() || maybe_special(word) || t.is_run_start(word) || t.is_run_start(last) {
        return Fast::No;
    }
    Fast::Two(alpha_to)
}

/// The words of a text, in order, as slices of it (the oracle's `Tokenizer()(text)`).
pub fn words<'a>(text: &'a str, out: &mut Vec<&'a str>) {
    let t = tables();
    let bytes = text.as_bytes();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let mut i = 0;
        while let Some((s, e)) = next_chunk(bytes, text, i) {
            i = e;
            let chunk = &text[s..e];
            match fast(t, chunk) {
                Fast::One => {
                    out.push(chunk);
                    continue;
                }
                Fast::Two(k) => {
                    out.push(&chunk[..k]);
                    out.push(&chunk[k..]);
                    continue;
                }
                Fast::No => {}
            }
            let mut emit = |ends: &[u32]| {
                let mut p = 0;
                for &y in ends {
                    out.push(&chunk[p..y as usize]);
                    p = y as usize;
                }
            };
            if let Some(ends) = cache.get(chunk) {
                emit(ends);
                continue;
            }
            let ends = chunk_ends(t, chunk);
            emit(&ends);
            if chunk.len() <= CACHE_MAX_CHUNK {
                if cache.len() >= CACHE_LIMIT.load(Ordering::Relaxed) {
                    cache.clear();
                }
                cache.insert(chunk.into(), ends);
            }
        }
    });
}

/// The texts whose words were split last on this thread, up to RECENT_BYTES of text: the packs of one filter
/// stage see the same documents batch after batch (gopher_quality, then gopher_repetition, then fineweb), so each
/// document is split into words once. Keyed by the whole text (compared in full, not by a hash), so a hit is the
/// same text and gives the same words; results never depend on what the cache holds.
struct Recent {
    ends: FxMap<std::rc::Rc<str>, Box<[u32]>>,
    order: std::collections::VecDeque<std::rc::Rc<str>>,
    bytes: usize,
}

const RECENT_BYTES: usize = 32 << 20;

thread_local! {
    static RECENT: RefCell<Recent> = RefCell::new(Recent {
        ends: FxMap::default(), order: std::collections::VecDeque::new(), bytes: 0,
    });
}

/// `words`, remembering the last texts' words (see `Recent`): what a pack calls for a whole document.
pub fn document_words<'a>(text: &'a str, out: &mut Vec<&'a str>) {
    let hit = RECENT.with(|r| {
        let r = r.borrow();
        r.ends.get(text).map(|spans| {
            for pair in spans.chunks_exact(2) {
                out.push(&text[pair[0] as usize..pair[1] as usize]);
            }
        })
    });
    if hit.is_some() {
        return;
    }
    let start = out.len();
    words(text, out);
    if text.len() > RECENT_BYTES / 4 {
        return;
    }
    let base = text.as_ptr() as usize;
    // each word's (start, end) in bytes: words are slices of the text, with whitespace between chunks
    let spans: Box<[u32]> = out[start..]
        .iter()
        .flat_map(|w| {
            let a = w.as_ptr() as usize - base;
            [a as u32, (a + w.len()) as u32]
        })
        .collect();
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        while r.bytes + text.len() > RECENT_BYTES {
            let Some(old) = r.order.pop_front() else { break };
            r.bytes -= old.len();
            r.ends.remove(&old);
        }
        let key: std::rc::Rc<str> = text.into();
        r.bytes += key.len();
        r.order.push_back(key.clone());
        r.ends.insert(key, spans);
    });
}

/// For the tests: every row's words, as an Out (the words as strings; numbers = words per row).
///
/// # Safety
/// Arrow buffers as in lib.rs; `out` is written with a new Out.
#[no_mangle]
pub unsafe extern "C" fn dr_wordsplit(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, out: *mut *mut crate::arrow::Out,
) -> i32 {
    crate::guard(|| {
        let texts = crate::strings(n, offsets, data, data_len)?;
        let mut o = crate::arrow::Out::strings();
        let mut buf = Vec::new();
        for i in 0..texts.len() {
            buf.clear();
            words(texts.get(i), &mut buf);
            o.numbers.push(buf.len() as u64);
            for w in &buf {
                o.push(Some(w));
            }
        }
        *out = crate::boxed(o);
        Ok(())
    })
}

/// For the tests and benchmarks: the number of words of every row into `counts` (n of them), timing only the
/// splitter.
///
/// # Safety
/// Arrow buffers as in lib.rs; `counts` has room for n numbers.
#[no_mangle]
pub unsafe extern "C" fn dr_wordsplit_count(
    n: usize, offsets: *const i64, data: *const u8, data_len: usize, counts: *mut u64,
) -> i32 {
    crate::guard(|| {
        let texts = crate::strings(n, offsets, data, data_len)?;
        if n > 0 && counts.is_null() {
            return Err("dr_wordsplit_count: no output buffer".into());
        }
        let mut buf = Vec::new();
        for i in 0..texts.len() {
            buf.clear();
            words(texts.get(i), &mut buf);
            *counts.add(i) = buf.len() as u64;
        }
        Ok(())
    })
}

/// For the tests: the chunk cache's size limit (entries per thread; it is cleared when full). Returns the old one.
#[no_mangle]
pub extern "C" fn dr_wordsplit_cache_limit(limit: usize) -> usize {
    let old = CACHE_LIMIT.swap(limit.max(1), Ordering::Relaxed);
    CACHE.with(|c| c.borrow_mut().clear());
    old
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_character_sets_are_the_oracles() {
        for (set, f) in [(PUNCT, punct as fn(char) -> bool), (QUOTES, quote), (ALWAYS_SUFFIX, always_suffix)] {
            let all: Vec<char> = (0..0x110000u32).filter_map(char::from_u32).filter(|&c| f(c)).collect();
            let mut want: Vec<char> = set.chars().collect();
            want.sort();
            want.dedup();
            assert_eq!(all, want);
        }
    }
}
