//! CSV files: any delimiter, quoting, UTF-8 with or without BOM, LF or CRLF.
//!
//! UTF-16 (with a byte order mark, or without one when NUL bytes fill alternate positions of the
//! first kilobyte) is refused with a header error that says how to convert it.
//!
//! A quote that is never closed would make the rest of the file one field. When the last
//! record of the input ends inside quotes, the reader reports the first line of that record as
//! one bad row (a syntax error naming the line where the quote opened and how many lines it ran
//! to), then reads on from the next line, so no later row disappears. Only the first line is
//! left out because a stray quote often pairs with the opening quote of a later, good quoted
//! field, so that the record runs on from there; its first line holds the quote that started
//! the run. If the lines read again still end inside quotes, the same happens to the next
//! record, so every line is either in a row read or in a bad row. Quoted fields over several
//! lines that are closed are read as usual. In the header, such a quote is a (fatal) header
//! error.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use mergetag_model::{
    FieldName, Position, Record, Reject, Source, SourceError, SourceErrorKind, SourceName, Value,
};

use crate::column_map::{Action, ColumnMap, InvalidValues, Plan};
use crate::convert::ColumnType;
use crate::error::{Error, Result};
use mergetag_model::OnBadRow;

use crate::row::{RowError, set_key};

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
            on_bad_row: OnBadRow::Fail,
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

    /// What to do with bad rows (default [`OnBadRow::Fail`]).
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
        let core = csv_core::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .escape(self.escape)
            .double_quote(self.double_quote)
            .comment(self.comment)
            .build();
        let mut raw = RawReader::new(core, reader);
        let header_error = |message: String| {
            Error::Source(SourceError::new(
                name.clone(),
                Position::line(1),
                SourceErrorKind::Header { message },
            ))
        };
        if let Err(e) = raw.read(0) {
            return Err(Error::Source(io_error(&name, Position::line(1), e)));
        }
        let prefix = raw.prefix();
        if prefix.starts_with(&[0xFF, 0xFE])
            || prefix.starts_with(&[0xFE, 0xFF])
            || looks_like_utf16(raw.head(UTF16_SNIFF_BYTES))
        {
            return Err(header_error(
                "the file is UTF-16; convert it to UTF-8 (for example with `iconv -f UTF-16 -t UTF-8`)".into(),
            ));
        }
        let quoting = Quoting {
            delimiter: self.delimiter,
            quote: self.quote,
            escape: self.escape,
            double_quote: self.double_quote,
            comment: self.comment,
        };
        // A header whose quote never closes has swallowed the whole file.
        if self.has_headers && raw.eof && raw.position() >= raw.end() {
            let bytes = raw.slice(0, raw.position());
            let skip = skip_to_record(bytes, true, self.comment);
            if unterminated_quote(&bytes[skip..], &quoting) {
                let line = 1 + count_newlines(&bytes[..skip]);
                let runaway = Runaway::new(&bytes[skip..], line);
                return Err(header_error(format!(
                    "{}; close it or escape the quote by doubling it",
                    runaway.describe()
                )));
            }
        }
        let columns: Vec<String> = if self.has_headers {
            raw.fields()
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
            (1..=raw.len).map(|i| format!("column_{i}")).collect()
        };
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let plan = self.column_map.plan(&names).map_err(header_error)?;
        let field_names = columns.iter().map(|c| FieldName::new(c)).collect();
        let observed_rank = observed_rank(&plan, self.column_map.observed_at_fields());
        // Without a header, the first row was read as one and comes next; it starts at 0.
        let (cursor, cursor_line) = if self.has_headers {
            (raw.position(), raw.line())
        } else {
            (0, 1)
        };
        Ok(CsvSource {
            name,
            plan,
            columns: field_names,
            observed_rank,
            invalid: self.column_map.invalid_value_policy(),
            flexible: self.flexible,
            on_bad_row: self.on_bad_row,
            quoting,
            pending_first: !self.has_headers,
            raw,
            cursor,
            cursor_line,
            fresh_at: 0,
            line: 1,
            rejects: Vec::new(),
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
///     .on_bad_row(OnBadRow::Quarantine)
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
    raw: RawReader<R>,
    plan: Plan,
    columns: Vec<FieldName>,
    /// Per column: its rank among the map's observed-at fields, when its value is the one a
    /// lookup of that field finds (see [`observed_rank`]).
    observed_rank: Vec<Option<usize>>,
    invalid: InvalidValues,
    flexible: bool,
    on_bad_row: OnBadRow,
    quoting: Quoting,
    /// Without a header, the first row was read to count the columns and is the next row.
    pending_first: bool,
    /// Where the parser stopped after the last row (or the header).
    cursor: u64,
    /// The 1-based line of `cursor`.
    cursor_line: u64,
    /// Where the parser started afresh (0, or the line after an unclosed quote): a byte order
    /// mark there is skipped by the parser.
    fresh_at: u64,
    /// The line of the last row read (1 before the first), for I/O errors.
    line: u64,
    rejects: Vec<Reject>,
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
        if self.pending_first {
            // Read as the header; the csv crate yields it as a row unless it has no fields.
            self.pending_first = false;
            if self.raw.len == 0 {
                return Ok(None);
            }
        } else {
            match self.raw.read(self.cursor) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => {
                    self.done = true;
                    return Err(io_error(&self.name, Position::line(self.line), e));
                }
            }
        }
        // The parser stops after a record, before what it skips (the `\n` of a CRLF, blank and
        // comment lines, a byte order mark; and the first row of a file without header was read
        // before), so the row's start is found here. Its offsets count the byte order mark.
        let end = self.raw.position();
        let skipped = self.raw.slice(self.cursor, end);
        let skip = skip_to_record(skipped, self.cursor == self.fresh_at, self.quoting.comment);
        let start = self.cursor + skip as u64;
        // The parser counts every `\n` it consumes, so only the skipped bytes are counted here.
        let line = self.cursor_line + count_newlines(&skipped[..skip]);
        self.cursor = end;
        self.cursor_line = self.raw.line();
        if start >= end {
            // Nothing but skipped bytes: csv-core reads a comment line that ends the input
            // without a line break as an empty record.
            return Ok(None);
        }
        self.data_rows += 1;
        self.line = line;
        let position = Position {
            line: Some(line),
            record: Some(self.data_rows),
            byte: Some(start),
        };
        let is_last = self.raw.eof && end >= self.raw.end();
        if is_last && unterminated_quote(self.raw.slice(start, end), &self.quoting) {
            // A quote ran to the end of the input. The bad row is the record's first line (see
            // the module docs); reading starts afresh on the line after it.
            let row = self.raw.slice(start, end);
            let runaway = Runaway::new(row, line);
            let resume = start + runaway.line_end as u64;
            self.cursor = resume;
            self.cursor_line = line + count_newlines(&row[..runaway.line_end]);
            self.fresh_at = resume;
            self.raw.restart(resume, self.cursor_line);
            let kind = SourceErrorKind::Syntax {
                message: format!(
                    "a quoted field is never closed (unterminated quote): {}; the lines after \
                     it are read on their own; close the quote or escape it by doubling it",
                    runaway.describe()
                ),
            };
            return Ok(Some((position, Err(RowError::new(kind, None)))));
        }
        let result = match self.fill(record) {
            Err(RowError {
                kind: SourceErrorKind::RaggedRow { expected, found },
                field,
            }) => Err(RowError::new(
                spanning(self.raw.slice(start, end), line, expected, found)
                    .unwrap_or(SourceErrorKind::RaggedRow { expected, found }),
                field,
            )),
            other => other,
        };
        Ok(Some((position, result)))
    }

    fn fill(&mut self, record: &mut Record) -> Result<(), RowError> {
        // One UTF-8 validation of the whole row, then each field sliced out of it: faster than
        // the csv crate's field-by-field check of rows with non-ASCII text. The row's bytes are
        // its fields back to back, so a field boundary inside a character (two halves of one
        // multi-byte sequence in two fields) is caught when slicing.
        let ends = &self.raw.ends[..self.raw.len];
        let bytes = &self.raw.fields[..ends.last().copied().unwrap_or(0)];
        let field_at = |offset: usize| ends.iter().position(|&e| offset < e).unwrap_or(0);
        let all = std::str::from_utf8(bytes).map_err(|e| {
            let field = self.columns.get(field_at(e.valid_up_to())).cloned();
            RowError::new(SourceErrorKind::InvalidUtf8, field)
        })?;
        let n = ends.len();
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
        let mut observed: Option<(usize, DateTime<Utc>)> = None;
        let mut w = record.refill();
        let cells = ends
            .iter()
            .scan(0, |start, &end| {
                let cell = all.get(*start..end);
                *start = end;
                Some(cell)
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
                    Some(v) => {
                        if let (Some(rank), Value::DateTime(t)) = (self.observed_rank[i], &v)
                            && observed.is_none_or(|(best, _)| rank < best)
                        {
                            observed = Some((rank, *t));
                        }
                        w.value(name, v);
                    }
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
        record.observed_at = observed.map(|(_, t)| t);
        Ok(())
    }

    fn reject(&self, position: Position, err: RowError) -> Reject {
        let start = position.byte.unwrap_or(0);
        err.into_reject(
            &self.name,
            self.data_rows,
            position,
            self.raw.slice(start, self.cursor),
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
                        OnBadRow::Quarantine => {
                            let reject = self.reject(position, err);
                            self.rejects.push(reject);
                        }
                        OnBadRow::Fail => return Err(err.into_error(&self.name, position)),
                    }
                }
            }
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }

    fn columns(&self) -> &[FieldName] {
        CsvSource::columns(self)
    }
}

fn io_error(name: &SourceName, position: Position, e: io::Error) -> SourceError {
    let message = e.to_string();
    // Wrapped as the csv crate did when it read the input, so the cause chain is unchanged.
    let cause = csv::Error::from(e);
    SourceError::new(name.clone(), position, SourceErrorKind::Io { message }).with_cause(cause)
}

/// For each column of `plan`, the rank of its field among the observed-at `fields`.
///
/// A record's observed-at time is the first of `fields` whose value is a timestamp. Looking each
/// one up by name in every filled record (a scan comparing names) measured about 5% of reading
/// the bench's HubSpot fixture; instead the reader keeps the best-ranked timestamp as it writes
/// the row. Only the first column of a field gets a rank: a lookup finds that one.
fn observed_rank(plan: &Plan, fields: &[FieldName]) -> Vec<Option<usize>> {
    let mut seen = std::collections::HashSet::new();
    plan.actions
        .iter()
        .map(|action| match action {
            Action::Field(name, _) if seen.insert(name) => fields.iter().position(|f| f == name),
            _ => None,
        })
        .collect()
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

/// How many bytes at the start of the input are sniffed for UTF-16 without a byte order mark.
const UTF16_SNIFF_BYTES: usize = 1024;

/// Whether `head`, the first bytes of the input, looks like UTF-16 without a byte order mark:
/// more than a quarter of its even or of its odd bytes are NUL (the high bytes of ASCII text
/// in UTF-16), and at least two. Text in UTF-8 has no NUL bytes but by accident.
fn looks_like_utf16(head: &[u8]) -> bool {
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in head.chunks(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair.get(1) == Some(&0));
    }
    let (n_even, n_odd) = (head.len().div_ceil(2), head.len() / 2);
    (even >= 2 && even * 4 > n_even) || (odd >= 2 && odd * 4 > n_odd)
}

/// For a row of `raw` bytes starting on `line` with the wrong number of fields: when it spans
/// several lines, a syntax error saying which (a stray quote that pairs with a later one makes
/// one row of many lines); `None` for a row on one line.
fn spanning(raw: &[u8], line: u64, expected: u64, found: u64) -> Option<SourceErrorKind> {
    let body = raw
        .iter()
        .rposition(|&b| b != b'\n' && b != b'\r')
        .map_or(&raw[..0], |i| &raw[..=i]);
    let breaks = count_newlines(body);
    (breaks > 0).then(|| SourceErrorKind::Syntax {
        message: format!(
            "the row spans lines {line} to {} ({} lines) and has {found} fields but the header \
             has {expected}; a quote may be unbalanced: check the quotes from line {line}",
            line + breaks,
            breaks + 1
        ),
    })
}

/// A record whose quote ran to the end of the input: the quote that started the run opened on
/// its first line (a record goes on past a line break only inside quotes).
struct Runaway {
    /// The 1-based line where the quote opened: the record's first.
    quote_line: u64,
    /// The lines from that one to the end of the input.
    lines: u64,
    /// The offset in the record's bytes after its first line (after its `\n`, `\r\n` or
    /// `\r`; the end of the record when it is the last line).
    line_end: usize,
}

impl Runaway {
    /// The record `record` (its bytes to the end of the input), starting on line `line`.
    fn new(record: &[u8], line: u64) -> Runaway {
        let line_end = match record.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) if record[i] == b'\r' && record.get(i + 1) == Some(&b'\n') => i + 2,
            Some(i) => i + 1,
            None => record.len(),
        };
        Runaway {
            quote_line: line,
            lines: count_newlines(record) + u64::from(!record.ends_with(b"\n")),
            line_end,
        }
    }

    /// Where the quote opened and how far it ran, without the data.
    fn describe(&self) -> String {
        let s = if self.lines == 1 { "" } else { "s" };
        format!(
            "an unclosed quote opened at line {} ran to the end of the file ({} line{s})",
            self.quote_line, self.lines
        )
    }
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

/// Counts `\n` bytes. Summing into a `u8` per block of 255 lets the compiler compare 16 or 32
/// bytes an instruction; counting into a `usize` directly (or with `memchr_iter`, which stops at
/// every match of a needle this frequent) measured several times slower.
fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|chunk| u64::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// The csv crate's parser driven on a buffer of input that this reader owns.
///
/// The parser works on the buffer in place, so the raw bytes of the current row (for a
/// quarantined bad row, byte-exact) and of what was skipped before it (for line numbers) are
/// there to slice, with no second copy of the input. Going through `csv::Reader` instead meant
/// copying every input byte once more into a side buffer, and its record bookkeeping on top:
/// this measured about a fifth of the time of reading the bench's fixture.
///
/// It reads as `csv::Reader` does (one `read` whenever the parser has used up the buffer, the
/// parser's byte order mark and end-of-input handling), so rows and offsets are the same.
struct RawReader<R> {
    core: csv_core::Reader,
    inner: R,
    /// Input bytes; `buf[..filled]` are read, the rest is room to read into.
    buf: Vec<u8>,
    /// Absolute offset of `buf[0]`.
    base: u64,
    /// The parser has consumed `buf[..pos]`.
    pos: usize,
    filled: usize,
    /// A read returned no bytes.
    eof: bool,
    /// The parser reported the end of the input.
    ended: bool,
    /// The fields of the last record read, unescaped, back to back.
    fields: Vec<u8>,
    /// The end of each field in `fields`; `ends[..len]` are the last record's.
    ends: Vec<usize>,
    len: usize,
}

impl<R> std::fmt::Debug for RawReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the buffers: they hold data (personal, and a lot of it).
        f.debug_struct("RawReader")
            .field("position", &(self.base + self.pos as u64))
            .field("line", &self.core.line())
            .field("buffered", &(self.filled - self.pos))
            .field("eof", &self.eof)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// The first size of the input buffer, and about how much is asked of the reader at least.
/// Large enough that the bytes kept across a refill (the part of a row read so far) are few;
/// it grows for longer rows. 16 to 64 KiB measured the same.
const RAW_BUFFER: usize = 32 * 1024;

impl<R: Read> RawReader<R> {
    fn new(core: csv_core::Reader, inner: R) -> RawReader<R> {
        RawReader {
            core,
            inner,
            buf: vec![0; RAW_BUFFER],
            base: 0,
            pos: 0,
            filled: 0,
            eof: false,
            ended: false,
            fields: vec![0; 1024],
            ends: vec![0; 32],
            len: 0,
        }
    }

    /// Reads the next record into `fields` and `ends`; `Ok(false)` at the end of the input.
    /// Input from absolute offset `keep` on stays in the buffer.
    fn read(&mut self, keep: u64) -> io::Result<bool> {
        use csv_core::ReadRecordResult;

        self.len = 0;
        if self.ended {
            return Ok(false);
        }
        let (mut nout, mut nend) = (0, 0);
        loop {
            if self.pos == self.filled {
                self.refill(keep)?;
            }
            let (res, nin, o, e) = self.core.read_record(
                &self.buf[self.pos..self.filled],
                &mut self.fields[nout..],
                &mut self.ends[nend..],
            );
            self.pos += nin;
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.fields.len() * 2;
                    self.fields.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    self.len = nend;
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.ended = true;
                    return Ok(false);
                }
            }
        }
    }

    /// Reads more input after the parser used up the buffer, keeping the bytes from absolute
    /// offset `keep` on. One `read`: zero bytes tell the parser the input ended.
    fn refill(&mut self, keep: u64) -> io::Result<()> {
        if self.eof {
            // Only after a restart: the input is all in the buffer; no bytes tell the end.
            return Ok(());
        }
        let keep = keep.saturating_sub(self.base).min(self.filled as u64) as usize;
        if keep > 0 {
            self.buf.copy_within(keep..self.filled, 0);
            self.base += keep as u64;
            self.pos -= keep;
            self.filled -= keep;
        }
        if self.buf.len() - self.filled < RAW_BUFFER / 2 {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        let n = self.inner.read(&mut self.buf[self.filled..])?;
        if n == 0 {
            self.eof = true;
        }
        self.filled += n;
        Ok(())
    }

    /// Starts the parser afresh at absolute offset `at` (kept in the buffer), on line `line`.
    fn restart(&mut self, at: u64, line: u64) {
        self.core.reset();
        self.core.set_line(line);
        self.pos = at.saturating_sub(self.base).min(self.filled as u64) as usize;
        self.ended = false;
        self.len = 0;
    }

    /// The fields of the last record read.
    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        self.ends[..self.len].iter().scan(0, |start, &end| {
            let field = &self.fields[*start..end];
            *start = end;
            Some(field)
        })
    }

    /// The absolute offset after what the parser has consumed.
    fn position(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The 1-based line of [`RawReader::position`]: the parser counts every `\n` it consumes.
    fn line(&self) -> u64 {
        self.core.line()
    }

    /// The absolute offset after the last byte read.
    fn end(&self) -> u64 {
        self.base + self.filled as u64
    }

    /// The first bytes of the input (for encoding sniffing), while they are still kept.
    fn prefix(&self) -> &[u8] {
        if self.base == 0 {
            &self.buf[..self.filled.min(4)]
        } else {
            &[]
        }
    }

    /// Up to `n` first bytes of the input, while they are still kept.
    fn head(&self, n: usize) -> &[u8] {
        if self.base == 0 {
            &self.buf[..self.filled.min(n)]
        } else {
            &[]
        }
    }

    /// The kept bytes between two absolute offsets (clamped to what is kept).
    fn slice(&self, start: u64, end: u64) -> &[u8] {
        let s = start.saturating_sub(self.base).min(self.filled as u64) as usize;
        let e = end.saturating_sub(self.base).min(self.filled as u64) as usize;
        &self.buf[s..e.max(s)]
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
    fn utf16_sniffing() {
        let le: Vec<u8> = "id,x\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = "id,x\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(looks_like_utf16(&le));
        assert!(looks_like_utf16(&be));
        assert!(!looks_like_utf16(b"id,x\n1,\0\n"));
        assert!(!looks_like_utf16(b""));
        assert!(!looks_like_utf16(b"\0"));
    }

    #[test]
    fn runaway_quotes_count_their_lines() {
        let r = Runaway::new(b"1,\"a\r\n2\r\n", 5);
        assert_eq!((r.quote_line, r.lines, r.line_end), (5, 2, 6));
        let r = Runaway::new(b"1,\"x\n\"2,\"a\n3", 5);
        assert_eq!((r.quote_line, r.lines, r.line_end), (5, 3, 5));
        let r = Runaway::new(b"1,\"a\r2", 7);
        assert_eq!((r.quote_line, r.lines, r.line_end), (7, 1, 5));
        let r = Runaway::new(b"1,\"a", 1);
        assert_eq!((r.quote_line, r.lines, r.line_end), (1, 1, 4));
        assert!(r.describe().ends_with("(1 line)"));
    }

    #[test]
    fn observed_at_is_the_first_timestamp_a_lookup_finds() {
        use crate::column_map::InvalidValues;
        use crate::row::observed_at;
        let fields = [FieldName::new("updated_at"), FieldName::new("created_at")];
        let map = ColumnMap::new()
            .with_typed_column("c", "created_at", ColumnType::Timestamp)
            .with_typed_column("u", "updated_at", ColumnType::Timestamp)
            .with_column("t", "updated_at_text")
            .with_observed_at("updated_at")
            .with_observed_at("created_at")
            .invalid_values(InvalidValues::KeepText);
        let data = "c,u,t\n\
                    1709302925,1709302999,x\n\
                    1709302925,,x\n\
                    1709302925,soon,x\n\
                    ,,x\n\
                    ,1709302999,x\n";
        let mut source = CsvSource::builder()
            .column_map(map)
            .from_reader("s", data.as_bytes())
            .unwrap();
        let mut record = Record::default();
        let mut found = Vec::new();
        while source.read_record(&mut record).unwrap() {
            assert_eq!(record.observed_at, observed_at(&record, &fields));
            found.push(record.observed_at.map(|t| t.timestamp()));
        }
        let (c, u) = (Some(1_709_302_925), Some(1_709_302_999));
        assert_eq!(found, [u, c, c, None, u]);
    }

    /// Hands out its bytes a few at a time, as a pipe or a socket may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        reads: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = (1 + self.reads % self.step)
                .min(out.len())
                .min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read_all(reader: impl Read) -> (Vec<Record>, Vec<Reject>) {
        let mut source = CsvSource::builder()
            .comment(Some(b'#'))
            .on_bad_row(OnBadRow::Quarantine)
            .from_reader("s", reader)
            .unwrap();
        let mut records = Vec::new();
        let mut record = Record::default();
        while source.read_record(&mut record).unwrap() {
            records.push(record.clone());
        }
        let mut rejects = Vec::new();
        source.drain_rejects(&mut rejects);
        (records, rejects)
    }

    #[test]
    fn reads_in_any_chunks_give_the_same_rows() {
        let long = "x".repeat(150_000);
        let mut data = Vec::new();
        data.extend_from_slice(b"a,b\r\n1,\"two\nlines\"\r\n\r\n# note\n2,\xFF\n3\n");
        for i in 0..2000 {
            data.extend_from_slice(format!("{i},\"{}\"\n", &long[..i % 300]).as_bytes());
        }
        data.extend_from_slice(format!("4,{long}\n\n5,\"{long}").as_bytes());
        let whole = read_all(&data[..]);
        assert_eq!(whole.0.len(), 2002);
        assert_eq!(whole.1.len(), 3);
        assert_eq!(whole.1[2].position.line, Some(2010));
        for step in [1, 2, 3, 7, 300, 70_000] {
            let trickle = Trickle {
                data: &data,
                step,
                reads: 2,
            };
            assert_eq!(read_all(trickle), whole, "step {step}");
        }
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
