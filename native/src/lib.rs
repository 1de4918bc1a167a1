//! datarecipe's native core: the per-document loops of the rule packs, text functions, MinHash and DSIR, called
//! through cffi on Arrow buffers (no text is copied into Python objects). std only.
//!
//! The boundary: every exported function takes an Arrow `large_string` array as (n, offsets, data, data_len),
//! checks it (arrow.rs) and returns 0, or -1 with a message that `dr_last_error` gives. A panic is caught and
//! becomes such an error; the Python side raises it as an error of the stage. cffi releases the GIL around every
//! call, so the stage's threads run them in parallel.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub mod arrow;
pub mod unicode;
#[rustfmt::skip]
pub mod unicode_table;
pub mod textfns;
pub mod wordsplit;
pub mod packs;
pub mod minhash;
pub mod dsir;
pub mod normkey;

use arrow::{Out, Strings};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Run `f`, turning an error or a panic into -1 and the thread's last error.
pub(crate) fn guard<F: FnOnce() -> Result<(), String>>(f: F) -> i32 {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            set_error(&msg);
            -1
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(&format!("native kernel panicked: {what}"));
            -1
        }
    }
}

/// # Safety
/// The buffers are an Arrow large_string array's, readable for the call.
pub(crate) unsafe fn strings<'a>(n: usize, offsets: *const i64, data: *const u8, data_len: usize) -> Result<Strings<'a>, String> {
    Strings::from_raw(n, offsets, data, data_len)
}

/// The last error of this thread (valid until its next call).
#[no_mangle]
pub extern "C" fn dr_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The Unicode version of the character table (Python's, when it was generated).
#[no_mangle]
pub extern "C" fn dr_unidata_version() -> *const c_char {
    static V: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();
    let _ = V;
    static U: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    U.get_or_init(|| CString::new(unicode_table::UNIDATA_VERSION).unwrap()).as_ptr()
}

/// The properties bit set of a code point (for the tests: they compare it with Python's unicodedata).
#[no_mangle]
pub extern "C" fn dr_char_props(cp: u32) -> u32 {
    char::from_u32(cp).map(|c| unicode::props(c) as u32).unwrap_or(0)
}

/// A text function of every row (textfns::Function), into `out[n]`.
///
/// # Safety
/// Arrow buffers as above; `out` has room for n f64s.
#[no_mangle]
pub unsafe extern "C" fn dr_text_function(
    function: u32, arg: u32, n: usize, offsets: *const i64, data: *const u8, data_len: usize, out: *mut f64,
) -> i32 {
    guard(|| {
        let texts = strings(n, offsets, data, data_len)?;
        let out = std::slice::from_raw_parts_mut(out, n);
        textfns::run(function, arg, &texts, out)
    })
}

/// Free an Out.
///
/// # Safety
/// `out` came from this library and is freed once.
#[no_mangle]
pub unsafe extern "C" fn dr_out_free(out: *mut Out) {
    if !out.is_null() {
        drop(Box::from_raw(out));
    }
}

/// An Out's buffers: bytes, offsets (rows + 1), flags (rows), numbers; lengths through the pointers.
///
/// # Safety
/// `out` is a live Out of this library; the pointers are valid until it is freed.
#[no_mangle]
pub unsafe extern "C" fn dr_out_buffers(
    out: *const Out, bytes: *mut *const u8, bytes_len: *mut usize, offsets: *mut *const i64, flags: *mut *const u8,
    rows: *mut usize, numbers: *mut *const u64, numbers_len: *mut usize,
) {
    let o = &*out;
    *bytes = o.bytes.as_ptr();
    *bytes_len = o.bytes.len();
    *offsets = o.offsets.as_ptr();
    *flags = o.flags.as_ptr();
    *rows = o.flags.len();
    *numbers = o.numbers.as_ptr();
    *numbers_len = o.numbers.len();
}

/// Hand an Out to the caller (who frees it with dr_out_free).
pub(crate) fn boxed(out: Out) -> *mut Out {
    Box::into_raw(Box::new(out))
}

/// For the tests: panics inside the guard, to show that a panic becomes an error and not a crash.
#[no_mangle]
pub extern "C" fn dr_selftest_panic() -> i32 {
    guard(|| panic!("a deliberate panic"))
}
