//! A read-only view of an Arrow `large_string` array's buffers, checked once: every offset inside the data, the
//! offsets non-decreasing, every row valid UTF-8. After the check, rows are borrowed `&str`s; nothing is copied.

pub struct Strings<'a> {
    offsets: &'a [i64],
    data: &'a [u8],
}

impl<'a> Strings<'a> {
    /// # Safety
    /// `offsets` points to `n + 1` readable i64s and `data` to `data_len` readable bytes (the caller's Arrow
    /// buffers, alive for the call).
    pub unsafe fn from_raw(n: usize, offsets: *const i64, data: *const u8, data_len: usize) -> Result<Self, String> {
        if offsets.is_null() {
            return Err("null offsets buffer".into());
        }
        let offsets = std::slice::from_raw_parts(offsets, n + 1);
        let data: &[u8] = if data_len == 0 || data.is_null() { &[] } else { std::slice::from_raw_parts(data, data_len) };
        let mut last = offsets[0];
        if last < 0 {
            return Err("negative offset".into());
        }
        for &o in &offsets[1..] {
            if o < last {
                return Err("offsets decrease".into());
            }
            last = o;
        }
        if last as usize > data.len() {
            return Err(format!("offset {last} past the data buffer of {} bytes", data.len()));
        }
        let s = Strings { offsets, data };
        for i in 0..n {
            if std::str::from_utf8(s.bytes(i)).is_err() {
                return Err(format!("row {i} is not valid UTF-8"));
            }
        }
        Ok(s)
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn bytes(&self, i: usize) -> &'a [u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    pub fn get(&self, i: usize) -> &'a str {
        // SAFETY: every row was checked to be UTF-8 in from_raw.
        unsafe { std::str::from_utf8_unchecked(self.bytes(i)) }
    }
}

/// Variable-length results handed back to Python: strings (bytes and offsets) with a per-row flag, or numbers.
#[derive(Default)]
pub struct Out {
    pub bytes: Vec<u8>,
    pub offsets: Vec<i64>,
    pub flags: Vec<u8>,
    pub numbers: Vec<u64>,
}

impl Out {
    pub fn strings() -> Self {
        Out { offsets: vec![0], ..Default::default() }
    }

    /// Append a row: `Some(text)` or `None` (flag 0, empty).
    pub fn push(&mut self, text: Option<&str>) {
        if let Some(t) = text {
            self.bytes.extend_from_slice(t.as_bytes());
        }
        self.flags.push(text.is_some() as u8);
        self.offsets.push(self.bytes.len() as i64);
    }
}
