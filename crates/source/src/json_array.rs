//! A streaming splitter for a top-level JSON array.
//!
//! Export chunks can be hundreds of megabytes. [`ArraySplitter`] takes the body as it arrives,
//! in pieces of any size, and hands out each element's bytes as soon as the element is
//! complete, so no more than one element is ever buffered. It validates structure (brackets,
//! strings, escapes, commas), not the elements' contents: those are parsed by whoever
//! receives them.
//!
//! ```
//! use tenax_source::json_array::ArraySplitter;
//! let mut s = ArraySplitter::new();
//! let mut got = Vec::new();
//! for piece in [&b"[{\"a\":1},"[..], &b" {\"b\":\"]\"}]"[..]] {
//!     s.feed(piece, |e| { got.push(String::from_utf8(e.to_vec()).unwrap()); Ok::<_, tenax_source::json_array::SplitError>(()) }).unwrap();
//! }
//! s.finish().unwrap();
//! assert_eq!(got, ["{\"a\":1}", "{\"b\":\"]\"}"]);
//! ```

/// The body is not a well-formed JSON array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// Malformed structure at a byte offset.
    #[error("invalid JSON array at byte {offset}: {what}")]
    Syntax {
        /// Offset from the start of the body.
        offset: u64,
        /// What was expected.
        what: &'static str,
    },
    /// The body ended before the array was closed.
    #[error("JSON array truncated after {bytes} bytes")]
    Truncated {
        /// Bytes seen.
        bytes: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// Inside the array, before an element; `true` right after a comma.
    Between(bool),
    InElem,
    After,
    Done,
}

/// Splits a JSON array body into its elements, incrementally. See the module docs.
#[derive(Debug)]
pub struct ArraySplitter {
    state: State,
    depth: u32,
    in_string: bool,
    escape: bool,
    buf: Vec<u8>,
    offset: u64,
    elements: u64,
}

impl Default for ArraySplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl ArraySplitter {
    /// A splitter expecting `[` first.
    pub fn new() -> Self {
        Self {
            state: State::Start,
            depth: 0,
            in_string: false,
            escape: false,
            buf: Vec::new(),
            offset: 0,
            elements: 0,
        }
    }

    /// Elements emitted so far.
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.offset
    }

    /// Feeds the next piece of the body; calls `emit` with each element completed by it.
    pub fn feed<E, F>(&mut self, data: &[u8], mut emit: F) -> Result<(), E>
    where
        E: From<SplitError>,
        F: FnMut(&[u8]) -> Result<(), E>,
    {
        let mut i = 0;
        // Start of the current element within `data` (when it started in this piece).
        let mut start = 0;
        while i < data.len() {
            let b = data[i];
            match self.state {
                State::Start => {
                    if b == b'[' {
                        self.state = State::Between(false);
                    } else if !is_ws(b) {
                        return Err(self.syntax(i, "expected `[`").into());
                    }
                    i += 1;
                }
                State::Between(after_comma) => {
                    if is_ws(b) {
                        i += 1;
                    } else if b == b']' {
                        if after_comma {
                            return Err(self.syntax(i, "expected an element after `,`").into());
                        }
                        self.state = State::Done;
                        i += 1;
                    } else if b == b',' {
                        return Err(self.syntax(i, "unexpected `,`").into());
                    } else {
                        self.state = State::InElem;
                        self.depth = 0;
                        start = i;
                    }
                }
                State::InElem => {
                    if self.in_string {
                        if self.escape {
                            self.escape = false;
                            i += 1;
                            continue;
                        }
                        match memchr::memchr2(b'"', b'\\', &data[i..]) {
                            None => i = data.len(),
                            Some(j) => {
                                i += j;
                                if data[i] == b'\\' {
                                    self.escape = true;
                                } else {
                                    self.in_string = false;
                                }
                                i += 1;
                            }
                        }
                        continue;
                    }
                    match b {
                        b'"' => {
                            self.in_string = true;
                            i += 1;
                        }
                        b'{' | b'[' => {
                            self.depth += 1;
                            i += 1;
                        }
                        b'}' | b']' if self.depth > 0 => {
                            self.depth -= 1;
                            i += 1;
                            if self.depth == 0 {
                                self.emit(&data[start..i], &mut emit)?;
                                self.state = State::After;
                            }
                        }
                        b']' | b',' if self.depth == 0 => {
                            // End of a scalar element.
                            self.emit(&data[start..i], &mut emit)?;
                            self.state = State::After;
                        }
                        b'}' => return Err(self.syntax(i, "unbalanced `}`").into()),
                        _ => i += 1,
                    }
                }
                State::After => {
                    match b {
                        b',' => self.state = State::Between(true),
                        b']' => self.state = State::Done,
                        _ if is_ws(b) => {}
                        _ => return Err(self.syntax(i, "expected `,` or `]`").into()),
                    }
                    i += 1;
                }
                State::Done => {
                    if !is_ws(b) {
                        return Err(self.syntax(i, "data after the closing `]`").into());
                    }
                    i += 1;
                }
            }
        }
        if self.state == State::InElem {
            self.buf.extend_from_slice(&data[start..]);
        }
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Checks that the array was closed.
    pub fn finish(&self) -> Result<(), SplitError> {
        if self.state == State::Done {
            Ok(())
        } else {
            Err(SplitError::Truncated { bytes: self.offset })
        }
    }

    fn emit<E, F>(&mut self, tail: &[u8], emit: &mut F) -> Result<(), E>
    where
        F: FnMut(&[u8]) -> Result<(), E>,
    {
        self.elements += 1;
        if self.buf.is_empty() {
            emit(trim_end(tail))
        } else {
            self.buf.extend_from_slice(tail);
            let r = emit(trim_end(&self.buf));
            self.buf.clear();
            r
        }
    }

    fn syntax(&self, i: usize, what: &'static str) -> SplitError {
        SplitError::Syntax {
            offset: self.offset + i as u64,
            what,
        }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn trim_end(s: &[u8]) -> &[u8] {
    let mut end = s.len();
    while end > 0 && is_ws(s[end - 1]) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in(body: &[u8], piece: usize) -> Result<Vec<String>, SplitError> {
        let mut s = ArraySplitter::new();
        let mut out = Vec::new();
        for p in body.chunks(piece.max(1)) {
            s.feed(p, |e| {
                out.push(String::from_utf8_lossy(e).into_owned());
                Ok::<_, SplitError>(())
            })?;
        }
        s.finish()?;
        Ok(out)
    }

    #[test]
    fn splits_at_any_piece_size() {
        let body = br#" [ {"a":"x\"]}","b":[1,{"c":2}]} , 3, "s,]" ,{} ,[] ,null ] "#;
        let want = vec![
            r#"{"a":"x\"]}","b":[1,{"c":2}]}"#,
            "3",
            r#""s,]""#,
            "{}",
            "[]",
            "null",
        ];
        for piece in 1..body.len() + 1 {
            assert_eq!(split_in(body, piece).unwrap(), want, "piece size {piece}");
        }
    }

    #[test]
    fn empty_array() {
        assert_eq!(split_in(b"[]", 1).unwrap(), Vec::<String>::new());
        assert_eq!(split_in(b" [ \n ] ", 3).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn escaped_backslash_before_quote() {
        let body = br#"[{"p":"C:\\"},{"q":1}]"#;
        for piece in 1..body.len() {
            assert_eq!(
                split_in(body, piece).unwrap(),
                [r#"{"p":"C:\\"}"#, r#"{"q":1}"#]
            );
        }
    }

    #[test]
    fn truncation_is_detected() {
        let body = br#"[{"a":1},{"b":2"#;
        assert_eq!(
            split_in(body, 4),
            Err(SplitError::Truncated {
                bytes: body.len() as u64
            })
        );
        assert_eq!(split_in(b"", 4), Err(SplitError::Truncated { bytes: 0 }));
        assert_eq!(
            split_in(b"[{\"a\":1},", 4),
            Err(SplitError::Truncated { bytes: 9 })
        );
    }

    #[test]
    fn malformed_is_rejected() {
        assert!(matches!(
            split_in(b"{\"a\":1}", 2),
            Err(SplitError::Syntax { offset: 0, .. })
        ));
        assert!(matches!(
            split_in(b"[1,,2]", 2),
            Err(SplitError::Syntax { offset: 3, .. })
        ));
        assert!(matches!(
            split_in(b"[1,]", 2),
            Err(SplitError::Syntax { .. })
        ));
        assert!(matches!(
            split_in(b"[{}}]", 2),
            Err(SplitError::Syntax { .. })
        ));
        assert!(matches!(
            split_in(b"[1] x", 2),
            Err(SplitError::Syntax { .. })
        ));
    }
}
