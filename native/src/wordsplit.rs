//! The words the rule packs count: spaCy's English tokenizer rules, as tests/oracle/wordsplit.py has them.
//! (Being written: see the helper's task.)


/// The words of a text, in order, as slices of it.
pub fn words<'a>(text: &'a str, out: &mut Vec<&'a str>) {
    out.extend(crate::unicode::split_whitespace(text));
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
