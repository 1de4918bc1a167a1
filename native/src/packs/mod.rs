//! The four rule packs (gopher_quality, gopher_repetition, c4, fineweb), one module each, deciding exactly as their
//! Python implementation (tests/oracle/packs.py) does: the same sub-rule drops a document, and c4 rewrites a kept
//! one to the same text.
//!
//! One call runs one pack over every row of an Arrow string array. Each row gets a code: -1 keeps it, otherwise
//! the index of its drop reason in the pack's reason list (`dr_pack_reasons`). The parameters come as f64s in the
//! order the pack declares them (operators/packs/), booleans as 0 or 1; as in Python, a parameter is "on" when
//! it is not zero. Scratch space (word lists, hash tables) is kept across the rows of a call.

pub mod c4;
pub mod fineweb;
pub mod gopher_quality;
pub mod gopher_repetition;

use crate::arrow::Out;

/// The packs, by the id `dr_pack` takes: name, drop reasons (in code order), number of parameters.
pub(crate) const PACKS: [(&str, &[&str], usize); 4] = [
    ("gopher_quality", gopher_quality::REASONS, gopher_quality::PARAMS),
    (
        "gopher_repetition",
        gopher_repetition::REASONS,
        gopher_repetition::PARAMS,
    ),
    ("c4", c4::REASONS, c4::PARAMS),
    ("fineweb", fineweb::REASONS, fineweb::PARAMS),
];

/// Run pack `pack` over every row: `codes[i]` is -1 (kept) or the drop reason's index. For c4, `out` gets an Out
/// with a row per input row: flag 1 and the new text where a kept text changed, flag 0 otherwise; for the other
/// packs it gets a null pointer.
///
/// # Safety
/// Arrow buffers as in lib.rs; `params` points to `nparams` f64s, `codes` has room for n i32s, `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn dr_pack(
    pack: u32,
    n: usize,
    offsets: *const i64,
    data: *const u8,
    data_len: usize,
    params: *const f64,
    nparams: usize,
    codes: *mut i32,
    out: *mut *mut Out,
) -> i32 {
    crate::guard(|| {
        if !out.is_null() {
            *out = std::ptr::null_mut();
        }
        let (name, _, want) = *PACKS.get(pack as usize).ok_or_else(|| format!("unknown pack {pack}"))?;
        if nparams != want || (nparams > 0 && params.is_null()) {
            return Err(format!("pack {name} takes {want} parameters, not {nparams}"));
        }
        if n > 0 && codes.is_null() {
            return Err("null codes buffer".into());
        }
        let texts = crate::strings(n, offsets, data, data_len)?;
        let p: &[f64] = if nparams == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(params, nparams)
        };
        let codes: &mut [i32] = if n == 0 {
            &mut []
        } else {
            std::slice::from_raw_parts_mut(codes, n)
        };
        let rows = (0..n).map(|i| texts.get(i));
        match pack {
            0 => gopher_quality::run(rows, p, codes),
            1 => gopher_repetition::run(rows, p, codes),
            2 => {
                let o = c4::run(rows, p, codes);
                if !out.is_null() {
                    *out = crate::boxed(o);
                }
            }
            _ => fineweb::run(rows, p, codes),
        }
        Ok(())
    })
}

/// The drop reasons of pack `pack`, in code order, as an Out's strings.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn dr_pack_reasons(pack: u32, out: *mut *mut Out) -> i32 {
    crate::guard(|| {
        let (_, reasons, _) = PACKS.get(pack as usize).ok_or_else(|| format!("unknown pack {pack}"))?;
        let mut o = Out::strings();
        for r in reasons.iter() {
            o.push(Some(r));
        }
        *out = crate::boxed(o);
        Ok(())
    })
}

/// A decision: None keeps the document, Some(i) drops it for reason i.
pub(crate) type Code = Option<u8>;

pub(crate) fn code(c: Code) -> i32 {
    c.map_or(-1, i32::from)
}

/// Python's truth value of a number parameter (NaN is true, as in Python).
#[inline]
pub(crate) fn on(p: f64) -> bool {
    p != 0.0
}

/// A Vec of borrowed words, emptied and handed to a new lifetime without giving up its allocation.
pub(crate) fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

// ---- hashing ----------------------------------------------------------------------------------------------

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = (a as u128) * (b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// A 64-bit hash of a byte string (wyhash-style multiply-fold over 16-byte blocks, the length mixed in first).
#[inline]
pub(crate) fn hash(s: &[u8]) -> u64 {
    let mut h = mum(s.len() as u64 ^ P0, P1);
    let mut blocks = s.chunks_exact(16);
    for b in &mut blocks {
        let a = u64::from_le_bytes(b[..8].try_into().unwrap());
        let c = u64::from_le_bytes(b[8..].try_into().unwrap());
        h = mum(a ^ P1, c ^ h);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 16];
        buf[..rest.len()].copy_from_slice(rest);
        let a = u64::from_le_bytes(buf[..8].try_into().unwrap());
        let c = u64::from_le_bytes(buf[8..].try_into().unwrap());
        h = mum(a ^ P1, c ^ h);
    }
    mum(h ^ P2, P0)
}

/// The slot a 64-bit key starts probing at, in a table of 2^bits slots (Fibonacci hashing of the key).
#[inline]
fn slot(key: u64, bits: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

fn bits_for(items: usize) -> u32 {
    (items.max(4) * 2).next_power_of_two().trailing_zeros()
}

/// An exact set of pieces of one text (lines, paragraphs), held as byte ranges of it: open addressing on a hash,
/// equal pieces compared byte by byte. `reset` before each text with a bound on the pieces it will hold.
#[derive(Default)]
pub(crate) struct PieceSet {
    slots: Vec<(u64, usize, usize)>, // (hash, start, end); end == usize::MAX: empty
    bits: u32,
}

impl PieceSet {
    pub(crate) fn reset(&mut self, items: usize) {
        self.bits = bits_for(items);
        self.slots.clear();
        self.slots.resize(1 << self.bits, (0, 0, usize::MAX));
    }

    /// Add `text[start..end]`; false if an equal piece is already in.
    pub(crate) fn insert(&mut self, text: &str, start: usize, end: usize) -> bool {
        let piece = &text.as_bytes()[start..end];
        let h = hash(piece);
        let mask = self.slots.len() - 1;
        let mut i = slot(h, self.bits);
        loop {
            let (sh, ss, se) = self.slots[i];
            if se == usize::MAX {
                self.slots[i] = (h, start, end);
                return true;
            }
            if sh == h && &text.as_bytes()[ss..se] == piece {
                return false;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Python's `duplicates(items)`: how many pieces repeat an earlier one, and their total length in code points.
/// `pieces` are byte ranges of `text`.
pub(crate) fn duplicates(text: &str, pieces: &[(usize, usize)], set: &mut PieceSet) -> (usize, usize) {
    set.reset(pieces.len());
    let (mut n, mut chars) = (0, 0);
    for &(s, e) in pieces {
        if !set.insert(text, s, e) {
            n += 1;
            chars += crate::unicode::len(&text[s..e]);
        }
    }
    (n, chars)
}

/// A table of 64-bit keys (already well mixed) with a count and the position first seen, for n-gram counting.
#[derive(Default)]
pub(crate) struct KeyTable {
    slots: Vec<(u64, u32, u32)>, // (key, count, first); count 0: empty
    bits: u32,
}

impl KeyTable {
    pub(crate) fn reset(&mut self, items: usize) {
        self.bits = bits_for(items);
        self.slots.clear();
        self.slots.resize(1 << self.bits, (0, 0, 0));
    }

    /// Count one occurrence of `key` at position `at`; the count it has now.
    #[inline]
    pub(crate) fn add(&mut self, key: u64, at: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = slot(key, self.bits);
        loop {
            let s = &mut self.slots[i];
            if s.1 == 0 {
                *s = (key, 1, at);
                return 1;
            }
            if s.0 == key {
                s.1 += 1;
                return s.1;
            }
            i = (i + 1) & mask;
        }
    }

    /// Add `key` unless it is in; whether it was new.
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, at: u32) -> bool {
        self.add(key, at) == 1
    }

    /// `Counter(keys).most_common(1)`: the most frequent key's (count, first position), the first seen of
    /// equally frequent ones.
    pub(crate) fn most_common(&self) -> (u32, u32) {
        let mut best = (0u32, u32::MAX);
        for &(_, count, first) in &self.slots {
            if count > best.0 || (count == best.0 && count > 0 && first < best.1) {
                best = (count, first);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unicode::splitlines;

    /// str.splitlines() char by char: the reference the byte-level iterator is held to.
    fn reference_splitlines(s: &str) -> Vec<&str> {
        let breaks = ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}'];
        let (mut out, mut start) = (Vec::new(), 0);
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if breaks.contains(&c) {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
                if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                    start += 1;
                }
            }
        }
        if start < s.len() {
            out.push(&s[start..]);
        }
        out
    }

    #[test]
    fn lines_are_splitlines() {
        for s in [
            "",
            "a",
            "\n",
            "a\n",
            "a\r\nb",
            "\r\r\n\n",
            "a\u{85}b\u{2028}c\u{2029}",
            "x\x0by\x0cz\x1c\x1d\x1e",
            "é\u{2027}\u{2030}\u{84}",
            "\r",
            "a\rb\n\nc\r\n",
        ] {
            assert_eq!(splitlines(s).collect::<Vec<_>>(), reference_splitlines(s), "{s:?}");
        }
    }

    #[test]
    fn tables_count_and_find() {
        let mut t = KeyTable::default();
        t.reset(5);
        for (i, k) in [7u64, 3, 7, 3, 9].iter().enumerate() {
            t.add(*k, i as u32);
        }
        assert_eq!(t.most_common(), (2, 0));
        assert!(!t.insert(9, 5) && t.insert(4, 6));
        let mut s = PieceSet::default();
        assert_eq!(duplicates("ab ab a", &[(0, 2), (3, 5), (6, 7)], &mut s), (1, 2));
    }
}
