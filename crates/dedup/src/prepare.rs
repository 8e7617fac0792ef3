//! Prepare once, compare many: each compared field folded into a compact column.

use mergetag_model::{Record, Value};
use rayon::prelude::*;

use crate::blocking::{PassKeys, PassSpec, block_key, minhash_bands, part_text, sort_key};
use crate::comparison::{ComparisonConfig, Prepared};
use crate::config::DedupConfig;
use crate::fold;

/// Strings of one field for every record, in one buffer: value `i` is
/// `buf[ends[i - 1]..ends[i]]`, empty for a missing value.
#[derive(Debug, Default, Clone)]
pub(crate) struct Column {
    buf: String,
    ends: Vec<u32>,
}

impl Column {
    pub(crate) fn push(&mut self, s: &str) {
        self.buf.push_str(s);
        // Columns over 4 GiB are out of the design's range (10M records of ~20 bytes a field).
        self.ends
            .push(u32::try_from(self.buf.len()).unwrap_or(u32::MAX));
    }

    /// The number of values.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        self.buf.get(start..end).unwrap_or("")
    }

    /// Reads the end offset of value `i` (nothing when out of range): a load issued ahead of
    /// comparing, so that the cache misses of many records overlap (see
    /// `PreparedRecords::levels_of`).
    #[inline]
    pub(crate) fn touch_offset(&self, i: usize) -> u32 {
        self.ends.get(i).copied().unwrap_or(0)
    }

    /// Reads the first and last bytes of value `i` (0 when empty or out of range): the second
    /// load ahead of comparing, once the offsets are in cache. A value of a few bytes spans
    /// one or two cache lines, and these are their ends.
    #[inline]
    pub(crate) fn touch_text(&self, i: usize) -> u8 {
        let start = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0) as usize,
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        if end <= start {
            return 0;
        }
        let bytes = self.buf.as_bytes();
        bytes.get(start).copied().unwrap_or(0) ^ bytes.get(end - 1).copied().unwrap_or(0)
    }

    /// Overwrites value `i` with NUL bytes of the same length: what an erased record leaves
    /// behind, so its folded text is gone from memory while every other offset stays valid.
    pub(crate) fn blank(&mut self, i: usize) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends[i] as usize;
        if start < end && end <= self.buf.len() {
            self.buf
                .replace_range(start..end, &"\0".repeat(end - start));
        }
    }

    fn append(&mut self, other: &Column) {
        let base = self.buf.len() as u32;
        self.buf.push_str(&other.buf);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }
}

/// A column to extract: a field and how to fold it.
pub(crate) struct ColumnSpec<'a> {
    pub(crate) field: &'a str,
    pub(crate) fold: fn(&str, &mut String),
}

/// Reads every record once, in input order, and extracts all the columns and blocking keys a
/// run needs.
///
/// One pass per record, not one per column: a record's fields are a separate heap block, and
/// reading them once while they are in cache measured about twice as fast on a million records
/// as reading each column in its own pass.
pub(crate) fn extract<R: std::borrow::Borrow<Record> + Sync>(
    records: &[R],
    columns: &[ColumnSpec<'_>],
    passes: &[PassSpec<'_>],
) -> (Vec<Column>, Vec<PassKeys>) {
    // A few large chunks per thread rather than many small ones: on a million records, small
    // chunks left their freed buffers in the allocator's per-thread arenas (about 150 MB of
    // resident memory nothing else reused), while large ones go back to the system.
    let chunk = records
        .len()
        .div_ceil(4 * rayon::current_num_threads())
        .max(8_192);
    let chunks: Vec<(Vec<Column>, Vec<PassKeys>)> = records
        .par_chunks(chunk)
        .map(|chunk| {
            let mut out = empty_extracted(columns, passes);
            let mut scratch = Scratch::default();
            for r in chunk {
                extract_record(r.borrow(), columns, passes, &mut out, &mut scratch);
            }
            out
        })
        .collect();
    let mut out = empty_extracted(columns, passes);
    // Sized exactly before appending: arrays grown by doubling can leave almost as much again
    // unused.
    for (k, col) in out.0.iter_mut().enumerate() {
        let (bytes, values) = chunks
            .iter()
            .filter_map(|c| c.0.get(k))
            .fold((0, 0), |(b, v), c| (b + c.buf.len(), v + c.ends.len()));
        col.buf.reserve_exact(bytes);
        col.ends.reserve_exact(values);
    }
    for (p, keys) in out.1.iter_mut().enumerate() {
        for (b, band) in keys.hashed.iter_mut().enumerate() {
            band.reserve_exact(
                chunks
                    .iter()
                    .filter_map(|c| c.1.get(p)?.hashed.get(b))
                    .map(Vec::len)
                    .sum(),
            );
        }
    }
    for chunk in chunks {
        append_extracted(&mut out, chunk);
    }
    out
}

/// Empty columns and keys for [`extract_record`] to fill.
pub(crate) fn empty_extracted(
    columns: &[ColumnSpec<'_>],
    passes: &[PassSpec<'_>],
) -> (Vec<Column>, Vec<PassKeys>) {
    let keys = passes
        .iter()
        .map(|p| match p {
            PassSpec::Block(_) => PassKeys {
                hashed: vec![Vec::new()],
                sort: None,
            },
            PassSpec::Window(_) => PassKeys {
                hashed: Vec::new(),
                sort: Some(Column::default()),
            },
            PassSpec::MinHash { bands, .. } => PassKeys {
                hashed: vec![Vec::new(); *bands],
                sort: None,
            },
        })
        .collect();
    (columns.iter().map(|_| Column::default()).collect(), keys)
}

/// Buffers [`extract_record`] reuses from one record to the next.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    tmp: String,
    text: String,
    joined: String,
    bands: Vec<u64>,
}

/// Appends one record's folded columns and blocking keys: a batch run's extraction, and an
/// index's probe of one new record.
pub(crate) fn extract_record(
    r: &Record,
    columns: &[ColumnSpec<'_>],
    passes: &[PassSpec<'_>],
    (cols, keys): &mut (Vec<Column>, Vec<PassKeys>),
    scratch: &mut Scratch,
) {
    let Scratch {
        tmp,
        text,
        joined,
        bands,
    } = scratch;
    for (spec, col) in columns.iter().zip(cols.iter_mut()) {
        tmp.clear();
        if let Some(s) = value_text(r.get(spec.field), text) {
            (spec.fold)(s, tmp);
        }
        col.push(tmp);
    }
    for (pass, k) in passes.iter().zip(keys.iter_mut()) {
        match pass {
            PassSpec::Block(parts) => {
                if let Some(dst) = k.hashed.first_mut() {
                    dst.push(block_key(r, parts, tmp, text));
                }
            }
            PassSpec::Window(parts) => {
                sort_key(r, parts, tmp, text, joined);
                if let Some(col) = &mut k.sort {
                    col.push(joined);
                }
            }
            PassSpec::MinHash {
                part,
                bands: b,
                rows,
            } => {
                part_text(r, part, tmp, text);
                bands.clear();
                minhash_bands(tmp, *b, *rows, bands);
                for (dst, &key) in k.hashed.iter_mut().zip(bands.iter()) {
                    dst.push(key);
                }
            }
        }
    }
}

/// Appends what [`extract`] gave for later records to what it gave for earlier ones.
pub(crate) fn append_extracted(
    (cols, keys): &mut (Vec<Column>, Vec<PassKeys>),
    (c, k): (Vec<Column>, Vec<PassKeys>),
) {
    for (dst, src) in cols.iter_mut().zip(&c) {
        dst.append(src);
    }
    for (dst, src) in keys.iter_mut().zip(k) {
        for (d, s) in dst.hashed.iter_mut().zip(src.hashed) {
            d.extend(s);
        }
        if let (Some(d), Some(s)) = (&mut dst.sort, &src.sort) {
            d.append(s);
        }
    }
}

/// The text of a value for matching: text as is, dates in ISO 8601, numbers in decimal.
pub(crate) fn value_text<'a>(v: Option<&'a Value>, buf: &'a mut String) -> Option<&'a str> {
    match v? {
        Value::Text(s) => Some(s),
        Value::Null | Value::List(_) | Value::Object(_) => None,
        other => {
            use std::fmt::Write;
            buf.clear();
            let _ = write!(buf, "{other}");
            Some(buf)
        }
    }
}

/// The columns a configuration compares: each comparison's field folded for its kind, and its
/// `swap_with` field after it when the kind uses one.
pub(crate) fn column_specs(config: &DedupConfig) -> Vec<ColumnSpec<'_>> {
    let mut specs = Vec::new();
    for c in &config.comparisons {
        specs.push(ColumnSpec {
            field: &c.field,
            fold: Prepared::folder(c.kind),
        });
        if Prepared::uses_swap(c) {
            specs.push(ColumnSpec {
                field: c.swap_with.as_deref().unwrap_or_default(),
                fold: fold::name,
            });
        }
    }
    specs
}

/// Deals columns extracted by [`column_specs`] out to their comparisons: each comparison with
/// its main column and, when it uses one, its swap column.
pub(crate) fn per_comparison<T>(
    config: &DedupConfig,
    columns: impl IntoIterator<Item = T>,
) -> Vec<(&ComparisonConfig, Option<T>, Option<T>)> {
    let mut columns = columns.into_iter();
    config
        .comparisons
        .iter()
        .map(|c| {
            let main = columns.next();
            let swap = if Prepared::uses_swap(c) {
                columns.next()
            } else {
                None
            };
            (c, main, swap)
        })
        .collect()
}
