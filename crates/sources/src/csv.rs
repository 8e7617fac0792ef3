//! CSV files: any delimiter, quoting, UTF-8 with or without BOM, LF or CRLF.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use mergetag_model::{
    FieldName, Position, Record, Reject, Source, SourceError, SourceErrorKind, SourceName, Value,
};

use crate::column_map::{Action, ColumnMap, InvalidValues, Plan};
use crate::convert::ColumnType;
use crate::error::{Error, Result};
use crate::row::{OnBadRow, RowError, observed_at, set_key};

/// Configures and opens a [`CsvSource`].
///
/// Setters take `&mut self` and return it, so they chain; `from_reader` and `from_path` take
/// `&self` and may be called again to open more files with the same settings.
#[derive(Debug, Clone)]
pub struct CsvSourceBuilder {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    double_quote: bool,
    comment: Option<u8>,
    has_headers: bool,
    flexible: bool,
    on_bad_row: OnBadRow,
    column_map: ColumnMap,
}

impl Default for CsvSourceBuilder {
    fn default() -> Self {
        CsvSourceBuilder {
            delimiter: b',',
            quote: b'"',
            escape: None,
            double_quote: true,
            comment: None,
            has_headers: true,
            flexible: false,
            on_bad_row: OnBadRow::Error,
            column_map: ColumnMap::new(),
        }
    }
}

impl CsvSourceBuilder {
    /// The field delimiter (default `,`; `;` and `\t` are common too).
    pub fn delimiter(&mut self, delimiter: u8) -> &mut Self {
        self.delimiter = delimiter;
        self
    }

    /// The quote character (default `"`).
    pub fn quote(&mut self, quote: u8) -> &mut Self {
        self.quote = quote;
        self
    }

    /// An escape character inside quotes, such as `\` (default: none; quotes are doubled).
    pub fn escape(&mut self, escape: Option<u8>) -> &mut Self {
        self.escape = escape;
        self
    }

    /// Whether a doubled quote inside quotes stands for one quote (default `true`).
    pub fn double_quote(&mut self, yes: bool) -> &mut Self {
        self.double_quote = yes;
        self
    }

    /// Lines starting with this byte are skipped (default: none).
    pub fn comment(&mut self, comment: Option<u8>) -> &mut Self {
        self.comment = comment;
        self
    }

    /// Whether the first row is a header (default `true`). Without one, columns are named
    /// `column_1`, `column_2`, ... and the column map should use those names.
    pub fn has_headers(&mut self, yes: bool) -> &mut Self {
        self.has_headers = yes;
        self
    }

    /// Whether a row with fewer fields than the header is accepted, its missing trailing fields
    /// null (default `false`: such a row is a bad row). A row with more fields than the header
    /// is always a bad row, since its extra values would have no column.
    pub fn flexible(&mut self, yes: bool) -> &mut Self {
        self.flexible = yes;
        self
    }

    /// What to do with bad rows (default [`OnBadRow::Error`]).
    pub fn on_bad_row(&mut self, policy: OnBadRow) -> &mut Self {
        self.on_bad_row = policy;
        self
    }

    /// The column map (default: every column kept under its own name, rows keyed by number).
    pub fn column_map(&mut self, map: ColumnMap) -> &mut Self {
        self.column_map = map;
        self
    }

    /// Opens the file at `path`; the source is named by `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened, and the errors of
    /// [`CsvSourceBuilder::from_reader`].
    pub fn from_path(&self, name: &str, path: impl AsRef<Path>) -> Result<CsvSource<File>> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        self.from_reader(name, file)
    }

    /// Reads CSV from `reader` (it is buffered inside); the header is read now.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] with a header error: the file is UTF-16, the header is not UTF-8, or
    /// the column map cannot be applied to it (two columns for one field, an unmapped column
    /// that the map refuses).
    pub fn from_reader<R: Read>(&self, name: &str, reader: R) -> Result<CsvSource<R>> {
        let name = SourceName::new(name);
        let mut csv = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .escape(self.escape)
            .double_quote(self.double_quote)
            .comment(self.comment)
            .has_headers(self.has_headers)
            .flexible(true)
            .from_reader(Tee::new(reader));
        let header_error = |message: String| {
            Error::Source(SourceError::new(
                name.clone(),
                Position::line(1),
                SourceErrorKind::Header { message },
            ))
        };
        let header = match csv.byte_headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(Error::Source(io_error(&name, Position::line(1), e)));
            }
        };
        let prefix = csv.get_ref().prefix();
        if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
            return Err(header_error(
                "the file is UTF-16; convert it to UTF-8 (for example with `iconv -f UTF-16 -t UTF-8`)".into(),
            ));
        }
        let columns: Vec<String> = if self.has_headers {
            header
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    std::str::from_utf8(h)
                        .map(|s| s.trim().to_owned())
                        .map_err(|_| {
                            header_error(format!(
                                "column {} of the header is not valid UTF-8; convert the file to UTF-8",
                                i + 1
                            ))
                        })
                })
                .collect::<Result<_>>()?
        } else {
            (1..=header.len()).map(|i| format!("column_{i}")).collect()
        };
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let plan = self.column_map.plan(&names).map_err(header_error)?;
        let field_names = columns.iter().map(|c| FieldName::new(c)).collect();
        // Without a header, the first row was read as one and comes next; it starts at 0.
        let cursor = if self.has_headers {
            csv.position().byte()
        } else {
            0
        };
        Ok(CsvSource {
            name,
            reader: csv,
            plan,
            columns: field_names,
            observed_at: self.column_map.observed_at_fields().to_vec(),
            invalid: self.column_map.invalid_value_policy(),
            flexible: self.flexible,
            on_bad_row: self.on_bad_row,
            quoting: Quoting {
                delimiter: self.delimiter,
                quote: self.quote,
                escape: self.escape,
                double_quote: self.double_quote,
                comment: self.comment,
            },
            cursor,
            row: csv::ByteRecord::new(),
            rejects: Vec::new(),
            lines: LineCounter::default(),
            data_rows: 0,
            done: false,
        })
    }
}

/// One row read: where it was, and whether it became a record.
type RowOutcome = (Position, Result<(), RowError>);

/// A [`Source`] reading CSV, streaming with memory independent of the file's size.
///
/// Every row becomes a [`Record`]: mapped columns become canonical fields (converted to their
/// [`ColumnType`]), unmapped columns become attributes, empty cells become [`Value::Null`] and
/// text is kept exactly as read. The record's key is the map's key column, or the data row
/// number (1-based, header not counted) when there is none or it is empty.
///
/// Bad rows are errors naming the source, line and column, or rejects ([`OnBadRow`]). A row
/// with more or fewer fields than the header, a field that is not UTF-8, a value that does not
/// convert and a quote that is never closed are bad rows; an I/O error ends reading.
///
/// ```
/// use mergetag_model::{fields, Source};
/// use mergetag_sources::{ColumnMap, CsvSource, OnBadRow};
///
/// let data = "Id,FirstName,Email,HasOptedOutOfEmail\n\
///             0031,Ada,ada@example.com,false\n\
///             0032,Bob,bob@example.com\n\
///             0033,Cy,cy@example.com,true\n";
/// let mut source = CsvSource::builder()
///     .column_map(ColumnMap::salesforce_contacts())
///     .on_bad_row(OnBadRow::Collect)
///     .from_reader("salesforce", data.as_bytes())?;
///
/// let records: Vec<_> = source.records().collect::<Result<_, _>>()?;
/// assert_eq!(records.len(), 2);
/// assert_eq!(records[1].id.to_string(), "salesforce:0033");
/// assert_eq!(records[1].get(fields::EMAIL_OPT_OUT), Some(&true.into()));
///
/// let mut rejects = Vec::new();
/// source.drain_rejects(&mut rejects);
/// assert_eq!(rejects[0].position.line, Some(3));
/// assert_eq!(rejects[0].error.code(), "ragged_row");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CsvSource<R> {
    name: SourceName,
    reader: csv::Reader<Tee<R>>,
    plan: Plan,
    columns: Vec<FieldName>,
    observed_at: Vec<FieldName>,
    invalid: InvalidValues,
    flexible: bool,
    on_bad_row: OnBadRow,
    quoting: Quoting,
    /// Where the csv reader stopped after the last row (or the header).
    cursor: u64,
    row: csv::ByteRecord,
    rejects: Vec<Reject>,
    lines: LineCounter,
    data_rows: u64,
    done: bool,
}

impl CsvSource<File> {
    /// A builder with the defaults: comma-separated, double quotes, a header row.
    pub fn builder() -> CsvSourceBuilder {
        CsvSourceBuilder::default()
    }
}

impl<R: Read> CsvSource<R> {
    /// The header's column names (trimmed), or `column_1`, ... without a header.
    pub fn columns(&self) -> &[FieldName] {
        &self.columns
    }

    /// The number of data rows read so far, good and bad.
    pub fn rows_read(&self) -> u64 {
        self.data_rows
    }

    /// Reads the next row, good or bad. `Ok(None)` at the end.
    fn next_row(&mut self, record: &mut Record) -> Result<Option<RowOutcome>, SourceError> {
        match self.reader.read_byte_record(&mut self.row) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                self.done = true;
                let pos = Position::line(self.lines.line);
                return Err(io_error(&self.name, pos, e));
            }
        }
        // The csv crate's record positions are where it stopped after the previous record, before
        // what it skips (the `\n` of a CRLF, blank and comment lines, a byte order mark; and the
        // first row of a file without header was read before), so the row's start is found here.
        // Its offsets count the byte order mark (csv-core 0.1.13).
        let end = self.reader.position().byte();
        let tee = self.reader.get_mut();
        let skip = skip_to_record(
            tee.slice(self.cursor, end),
            self.cursor == 0,
            self.quoting.comment,
        );
        let start = self.cursor + skip as u64;
        self.cursor = end;
        if start >= end {
            // Nothing but skipped bytes: csv-core reads a comment line that ends the input
            // without a line break as an empty record.
            return Ok(None);
        }
        self.data_rows += 1;
        let line = self.lines.line_at(tee, start);
        tee.keep_from(start);
        let position = Position {
            line: Some(line),
            record: Some(self.data_rows),
            byte: Some(start),
        };
        let is_last = tee.eof && end >= tee.end();
        if is_last && unterminated_quote(tee.slice(start, end), &self.quoting) {
            let kind = SourceErrorKind::Syntax {
                message: "a quoted field is never closed (unterminated quote); close it or \
                          escape the quote by doubling it"
                    .into(),
            };
            return Ok(Some((position, Err(RowError::new(kind, None)))));
        }
        let result = self.fill(record);
        Ok(Some((position, result)))
    }

    fn fill(&mut self, record: &mut Record) -> Result<(), RowError> {
        // One UTF-8 validation of the whole row, then each field sliced out of it: faster than
        // the csv crate's field-by-field check of rows with non-ASCII text. The row's bytes are
        // its fields back to back, so a field boundary inside a character (two halves of one
        // multi-byte sequence in two fields) is caught when slicing.
        let bytes = self.row.as_slice();
        let base = bytes.as_ptr() as usize;
        let field_at = |offset: usize| {
            self.row
                .iter()
                .position(|f| offset < f.as_ptr() as usize - base + f.len())
                .unwrap_or(0)
        };
        let all = std::str::from_utf8(bytes).map_err(|e| {
            let field = self.columns.get(field_at(e.valid_up_to())).cloned();
            RowError::new(SourceErrorKind::InvalidUtf8, field)
        })?;
        let n = self.row.len();
        let expected = self.plan.actions.len();
        if n > expected || (n < expected && !self.flexible) {
            return Err(RowError::new(
                SourceErrorKind::RaggedRow {
                    expected: expected as u64,
                    found: n as u64,
                },
                None,
            ));
        }
        let mut key = None;
        let mut w = record.refill();
        // Iterating the row walks its field ends once; `get(i)` would look each one up.
        let cells = self
            .row
            .iter()
            .map(|f| {
                let start = f.as_ptr() as usize - base;
                all.get(start..start + f.len())
            })
            .chain(std::iter::repeat(Some("")));
        for (i, (action, text)) in self.plan.actions.iter().zip(cells).enumerate() {
            let Some(text) = text else {
                return Err(RowError::new(
                    SourceErrorKind::InvalidUtf8,
                    self.columns.get(i).cloned(),
                ));
            };
            match action {
                Action::Key => key = Some(text),
                Action::Ignore | Action::Unmapped => {}
                Action::Field(name, ColumnType::Text) => {
                    if text.is_empty() {
                        w.value(name, Value::Null);
                    } else {
                        w.text(name, text);
                    }
                }
                Action::Field(name, kind) => match kind.convert(text) {
                    Some(v) => w.value(name, v),
                    None if self.invalid == InvalidValues::KeepText => {
                        w.text(name, text);
                    }
                    None => {
                        return Err(RowError::new(
                            SourceErrorKind::InvalidValue {
                                expected: kind.as_str().to_owned(),
                            },
                            Some(self.columns[i].clone()),
                        ));
                    }
                },
            }
        }
        drop(w);
        // Comparing the text is cheaper than the atomic increment and decrement of a clone.
        if record.id.source != self.name {
            record.id.source = self.name.clone();
        }
        set_key(&mut record.id.key, key.map(str::trim), self.data_rows);
        record.observed_at = observed_at(record, &self.observed_at);
        Ok(())
    }

    fn reject(&self, position: Position, err: RowError) -> Reject {
        let start = position.byte.unwrap_or(0);
        let end = self.reader.position().byte();
        err.into_reject(
            &self.name,
            self.data_rows,
            position,
            self.reader.get_ref().slice(start, end),
        )
    }
}

impl<R: Read> Source for CsvSource<R> {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        if self.done {
            return Ok(false);
        }
        loop {
            match self.next_row(record)? {
                None => {
                    self.done = true;
                    return Ok(false);
                }
                Some((_, Ok(()))) => return Ok(true),
                Some((position, Err(err))) => {
                    record.clear();
                    match self.on_bad_row {
                        OnBadRow::Collect => {
                            let reject = self.reject(position, err);
                            self.rejects.push(reject);
                        }
                        OnBadRow::Error => return Err(err.into_error(&self.name, position)),
                    }
                }
            }
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }
}

fn io_error(name: &SourceName, position: Position, e: csv::Error) -> SourceError {
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => "the CSV reader failed".to_owned(),
    };
    SourceError::new(name.clone(), position, SourceErrorKind::Io { message }).with_cause(e)
}

/// The quoting rules of a CSV dialect.
#[derive(Debug, Clone, Copy)]
struct Quoting {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    double_quote: bool,
    comment: Option<u8>,
}

/// How many bytes at the start of `raw` the csv crate skips before a record: a byte order mark
/// at the start of the input, line breaks (blank lines, the `\n` of a CRLF) and comment lines.
fn skip_to_record(raw: &[u8], at_start: bool, comment: Option<u8>) -> usize {
    let mut i = if at_start && raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    while let Some(&b) = raw.get(i) {
        if b == b'\n' || b == b'\r' {
            i += 1;
        } else if Some(b) == comment {
            i = raw[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(raw.len(), |n| i + n + 1);
        } else {
            break;
        }
    }
    i
}

/// Whether `raw`, the bytes of the last record, ends inside a quoted field.
///
/// The csv crate reads an unclosed quote to the end of the input without complaint; this
/// replays its quoting rules over the last record to tell.
fn unterminated_quote(raw: &[u8], q: &Quoting) -> bool {
    let Quoting {
        delimiter,
        quote,
        escape,
        double_quote,
        ..
    } = *q;
    #[derive(PartialEq)]
    enum State {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        Escaped,
    }
    let mut state = State::Start;
    for &b in raw {
        state = match state {
            State::Start if b == quote => State::Quoted,
            State::Start | State::Unquoted => {
                if b == b'\n' || b == b'\r' || b == delimiter {
                    State::Start
                } else {
                    State::Unquoted
                }
            }
            State::Quoted if Some(b) == escape => State::Escaped,
            State::Quoted if b == quote => State::QuoteInQuoted,
            State::Quoted | State::Escaped => State::Quoted,
            State::QuoteInQuoted if b == quote && double_quote => State::Quoted,
            State::QuoteInQuoted if b == b'\n' || b == b'\r' || b == delimiter => State::Start,
            State::QuoteInQuoted => State::Unquoted,
        };
    }
    matches!(state, State::Quoted | State::Escaped)
}

/// Counts lines incrementally: the line of a byte offset, given offsets that only grow.
#[derive(Debug)]
struct LineCounter {
    /// Bytes before `at` have been counted.
    at: u64,
    /// The 1-based line of byte `at`.
    line: u64,
}

impl Default for LineCounter {
    fn default() -> Self {
        LineCounter { at: 0, line: 1 }
    }
}

impl LineCounter {
    fn line_at<R>(&mut self, tee: &Tee<R>, offset: u64) -> u64 {
        if offset > self.at {
            let newlines = count_newlines(tee.slice(self.at, offset));
            self.line += newlines;
            self.at = offset;
        }
        self.line
    }
}

/// Counts `\n` bytes. Summing into a `u8` per block of 255 lets the compiler compare 16 or 32
/// bytes an instruction; counting into a `usize` directly (or with `memchr_iter`, which stops at
/// every match of a needle this frequent) measured several times slower.
fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|chunk| u64::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// A reader that keeps the bytes it hands on, from the start of the current record, so that a
/// bad row can be quarantined exactly as it was written and lines can be counted.
///
/// The csv crate's own line numbers and record offsets include the blank lines, comment lines
/// and byte order mark it skips before a record; counting here keeps positions exact.
#[derive(Debug)]
struct Tee<R> {
    inner: R,
    buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
}

/// Bytes kept before the current record before the buffer is compacted; compacting rarely keeps
/// the cost per byte constant.
const TEE_COMPACT: usize = 64 * 1024;

impl<R> Tee<R> {
    fn new(inner: R) -> Tee<R> {
        Tee {
            inner,
            buf: Vec::new(),
            base: 0,
            eof: false,
        }
    }

    /// The first bytes of the input (for encoding sniffing), while they are still kept.
    fn prefix(&self) -> &[u8] {
        if self.base == 0 {
            &self.buf[..self.buf.len().min(4)]
        } else {
            &[]
        }
    }

    /// The absolute offset after the last byte read.
    fn end(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// The kept bytes between two absolute offsets (clamped to what is kept).
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let s = start.saturating_sub(self.base).min(self.buf.len() as u64) as usize;
        let e = end.saturating_sub(self.base).min(self.buf.len() as u64) as usize;
        &self.buf[s..e.max(s)]
    }

    /// Allows the bytes before `offset` to be dropped.
    fn keep_from(&mut self, offset: u64) {
        let drop = offset.saturating_sub(self.base).min(self.buf.len() as u64) as usize;
        if drop >= TEE_COMPACT && drop * 2 >= self.buf.len() {
            self.buf.drain(..drop);
            self.base += drop as u64;
        }
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        if n == 0 {
            self.eof = true;
        }
        self.buf.extend_from_slice(&out[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_counted_across_blocks() {
        let mut bytes = vec![b'x'; 1000];
        for i in (0..1000).step_by(3) {
            bytes[i] = b'\n';
        }
        assert_eq!(count_newlines(&bytes), 334);
        assert_eq!(count_newlines(b""), 0);
        assert_eq!(count_newlines(&[b'\n'; 600]), 600);
    }

    #[test]
    fn quote_scanner() {
        let std = Quoting {
            delimiter: b',',
            quote: b'"',
            escape: None,
            double_quote: true,
            comment: None,
        };
        assert!(unterminated_quote(b"1,\"abc\n", &std));
        // A quoted field, then another that is never closed.
        assert!(unterminated_quote(b"\"a\",\"b\n", &std));
        assert!(!unterminated_quote(b"\"a\"\n\"b\"", &std));
        assert!(!unterminated_quote(b"1,\"a\"\"bc\"\n", &std));
        assert!(unterminated_quote(b"1,\"a\"\"bc\n", &std));
        assert!(!unterminated_quote(b"1,a\"bc\n", &std));
        assert!(!unterminated_quote(
            b"1;\"a\"\n",
            &Quoting {
                delimiter: b';',
                ..std
            }
        ));
        let esc = Quoting {
            escape: Some(b'\\'),
            double_quote: false,
            ..std
        };
        assert!(unterminated_quote(b"\"a\\\"", &esc));
        assert!(!unterminated_quote(b"\"a\\\"\"", &esc));
    }

    #[test]
    fn records_start_past_what_csv_skips() {
        assert_eq!(skip_to_record(b"1,2\n", false, None), 0);
        assert_eq!(skip_to_record(b"\n\r\n1,2\n", false, None), 3);
        assert_eq!(skip_to_record(b"\xEF\xBB\xBF\n1,2", true, None), 4);
        assert_eq!(skip_to_record(b"\xEF\xBB\xBF1,2", false, None), 0);
        assert_eq!(skip_to_record(b"\n# a\n#b\r\n1,2", false, Some(b'#')), 9);
        assert_eq!(skip_to_record(b"#a", false, Some(b'#')), 2);
    }
}
