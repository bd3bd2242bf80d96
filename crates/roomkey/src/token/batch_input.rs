//! `roomkey token batch`'s input: the file or standard input cut into chunks of whole rows
//! (CSV records, which may hold quoted newlines, or JSON Lines), each numbered from its first
//! row, for the workers to parse.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

/// Whole rows as read, not yet parsed: the workers parse them, so that reading is a copy.
pub(super) struct Chunk {
    pub(super) seq: usize,
    /// The number of the chunk's first row (CSV) or line (JSON Lines), from 1.
    pub(super) first: u64,
    pub(super) bytes: Vec<u8>,
}

pub(super) fn open_input(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(file))
}

/// Cuts the input into chunks of whole rows.
pub(super) struct Reader {
    input: Box<dyn io::BufRead + Send>,
    /// Rows are CSV records (a quoted field may hold a newline) rather than lines.
    csv: bool,
    /// Bytes read after the last whole row.
    carry: Vec<u8>,
    /// The number of the next chunk's first row or line.
    next_first: u64,
    done: bool,
}

/// Bytes read per chunk, about 3,000 typical CSV rows: large enough that handing a chunk over
/// costs nothing per token, small enough that the first tokens are written at once.
pub(super) const CHUNK_BYTES: usize = 64 * 1024;

impl Reader {
    /// A reader of `input` (buffered), whose rows are CSV records if `csv`, else lines.
    pub(super) fn new(input: Box<dyn io::BufRead + Send>, csv: bool) -> Self {
        Reader {
            input,
            csv,
            carry: Vec::new(),
            next_first: 1,
            done: false,
        }
    }

    /// Reads the next chunk; `None` at the end of the input.
    pub(super) fn next_chunk(&mut self, seq: usize) -> Result<Option<Chunk>> {
        while !self.done && self.carry.len() < CHUNK_BYTES {
            let buf = self.input.fill_buf().context("cannot read the input")?;
            if buf.is_empty() {
                self.done = true;
                break;
            }
            let n = buf.len();
            self.carry.extend_from_slice(buf);
            self.input.consume(n);
        }
        if self.carry.is_empty() {
            return Ok(None);
        }
        let cut = if self.done {
            self.carry.len()
        } else {
            match last_row_end(&self.carry, self.csv) {
                Some(end) => end,
                // One row longer than a chunk: read on until it ends.
                None if self.carry.len() < 64 * CHUNK_BYTES => {
                    let more = CHUNK_BYTES;
                    let mut extra = vec![0; more];
                    let n = self
                        .input
                        .read(&mut extra)
                        .context("cannot read the input")?;
                    if n == 0 {
                        self.done = true;
                    }
                    self.carry.extend_from_slice(&extra[..n]);
                    return self.next_chunk(seq);
                }
                None => bail!("a row is longer than {} bytes", 64 * CHUNK_BYTES),
            }
        };
        let rest = self.carry.split_off(cut);
        let bytes = std::mem::replace(&mut self.carry, rest);
        let first = self.next_first;
        self.next_first += count_rows(&bytes, self.csv);
        Ok(Some(Chunk { seq, first, bytes }))
    }
}

/// Where the last whole row ends (just after its newline): for CSV, a newline outside quotes.
pub(super) fn last_row_end(bytes: &[u8], csv: bool) -> Option<usize> {
    if !csv {
        return memchr_last_newline(bytes);
    }
    let mut in_quotes = false;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            // A doubled quote inside quotes toggles twice: still inside.
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => end = Some(i + 1),
            _ => {}
        }
    }
    end
}

pub(super) fn memchr_last_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|&b| b == b'\n').map(|i| i + 1)
}

/// How many row numbers a chunk uses: its lines (JSON Lines, blank ones too), or its CSV
/// records (blank lines are not records).
pub(super) fn count_rows(bytes: &[u8], csv: bool) -> u64 {
    if !csv {
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let unterminated = u64::from(bytes.last().is_some_and(|&b| b != b'\n'));
        return newlines + unterminated;
    }
    let (mut rows, mut in_quotes, mut empty) = (0, false, true);
    for &b in bytes {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                empty = false;
            }
            b'\n' if !in_quotes => {
                rows += u64::from(!empty);
                empty = true;
            }
            b'\r' if !in_quotes => {}
            _ => empty = false,
        }
    }
    rows + u64::from(!empty)
}
