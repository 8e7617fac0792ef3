//! What the fuzz targets in `fuzz/fuzz_targets/` run, shared with the replay test
//! `tests/fuzz_regressions.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz targets include this file with `#[path = ...] mod`.
//!
//! Each public function takes the raw fuzz input, lets its first bytes choose the reader's
//! options, reads the rest to the end and panics when an invariant breaks:
//!
//! - nothing panics, and reading ends (at most one item per input byte, plus a few);
//! - every error and reject has a line or a record number, every record names its source;
//! - every row is accounted for once: records + recoverable errors + rejects (+ skipped
//!   events) = rows read (CSV: [`CsvSource::rows_read`]; JSON Lines: the non-blank lines,
//!   counted here independently); under [`OnBadRow::Quarantine`] no recoverable error comes out;
//! - after the end, reading gives `Ok(false)` again; after a fatal error it never gives a record;
//! - reading into one reused record gives what reading into new records gives;
//! - positions are exact: a bad row's byte offset is where its line (JSON Lines) or record
//!   (CSV: past blank lines, comment lines and a byte order mark) starts, and its line number
//!   is the line of that offset;
//! - CSV: the rows read are the records the csv crate reads, and an unterminated-quote error
//!   comes exactly when the input ends inside quotes (told by appending a line and seeing
//!   whether it makes one more record); then that row is the first line of the csv crate's
//!   last record, and the lines after it are read again on their own, as the csv crate reads
//!   them, so that every row is counted (a row that ran on through a stray quote is a syntax
//!   error too, naming the lines it spans);
//! - error messages leak no data (loose check, see [`Leaks`]).
//!
//! [`CsvSource::rows_read`]: mergetag_sources::CsvSource::rows_read

use std::collections::BTreeSet;

use mergetag_model::{
    Event, EventSource, Position, Record, Reject, Source, SourceError, SourceErrorKind,
};
use mergetag_sources::{
    ColumnMap, ColumnMapConfig, ColumnType, CsvSource, CsvSourceBuilder, DEFAULT_MAX_LINE_BYTES,
    Error, InvalidValues, JsonLinesBuilder, JsonObjectMapper, OnBadRow, Opened, SourceConfig,
    Unmapped,
};

/// The name of every source opened here.
const NAME: &str = "fuzz";

// ------------------------------------------------------------------------------ targets

/// `sources_csv`: byte 0 picks the delimiter (bits 0-1: `,` `;` tab `|`), flexible (bit 2),
/// no header (bit 3), [`OnBadRow::Quarantine`] (bit 4) and the column map (bits 5-7, see
/// [`column_map`]); byte 1 picks `'` as the quote (bit 0), `\` as the escape (bit 1), no
/// doubled quotes (bit 2) and `#` comments (bit 3). The rest is the CSV.
pub fn sources_csv(data: &[u8]) {
    let [opts, extra, ref input @ ..] = *data else {
        return;
    };
    let dialect = Dialect {
        delimiter: b",;\t|"[usize::from(opts & 3)],
        has_headers: opts & 8 == 0,
        quote: if extra & 1 == 0 { b'"' } else { b'\'' },
        escape: (extra & 2 != 0).then_some(b'\\'),
        double_quote: extra & 4 == 0,
        comment: (extra & 8 != 0).then_some(b'#'),
    };
    let mut builder = CsvSource::builder();
    dialect.apply(&mut builder);
    builder
        .flexible(opts & 4 != 0)
        .on_bad_row(policy(opts & 16 != 0));
    if let Some(map) = column_map(opts >> 5) {
        builder.column_map(map);
    }
    check_csv(&builder, &dialect, opts & 16 != 0, input, &[]);
}

/// `sources_jsonl`: byte 0 picks the reader (bits 0-1: records, events, identifies, records
/// again), [`OnBadRow::Quarantine`] (bit 2), `max_line_bytes` (bits 3-4: the default, 1, 16,
/// 128) and the column map for records and identifies (bits 5-7, see [`column_map`]; none
/// means each reader's default). The rest is the JSON Lines.
pub fn sources_jsonl(data: &[u8]) {
    let [opts, ref input @ ..] = *data else {
        return;
    };
    let limits = Limits {
        collect: opts & 4 != 0,
        max_line_bytes: [DEFAULT_MAX_LINE_BYTES, 1, 16, 128][usize::from((opts >> 3) & 3)],
    };
    let mut builder = JsonLinesBuilder::new();
    builder
        .on_bad_row(policy(limits.collect))
        .max_line_bytes(limits.max_line_bytes);
    if let Some(map) = column_map(opts >> 5) {
        builder.column_map(map);
    }
    match opts & 3 {
        1 => check_events(&builder, limits, input),
        2 => check_jsonl(&builder, limits, input, Mode::Identifies, &[]),
        _ => {
            check_jsonl(&builder, limits, input, Mode::Records, &[]);
            check_object_mapper(column_map(opts >> 5).unwrap_or_default(), input);
        }
    }
}

/// [`JsonObjectMapper`] (what a message-queue source maps each message with) maps each
/// non-blank line exactly as the JSON Lines reader does: the same record and key, or the same
/// fault.
fn check_object_mapper(map: ColumnMap, input: &[u8]) {
    let mut builder = JsonLinesBuilder::new();
    builder.on_bad_row(OnBadRow::Fail).column_map(map.clone());
    let mut source = builder.records(NAME, input);
    let mut mapper = JsonObjectMapper::new(map);
    let mut from_mapper = Record::default();
    let mut from_reader = Record::default();
    let lines = input
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    for line in lines {
        let mapped = mapper.fill(line, &mut from_mapper);
        match (source.read_record(&mut from_reader), mapped) {
            (Ok(true), Ok(key)) => {
                assert_eq!(from_reader.fields(), from_mapper.fields(), "fields differ");
                assert_eq!(from_reader.observed_at, from_mapper.observed_at);
                if let Some(k) = key.filter(|k| !k.is_empty()) {
                    assert_eq!(from_reader.id.key, mergetag_model::RecordKey::Id(k));
                }
            }
            (Err(e), Err(fault)) => {
                assert_eq!(e.kind(), &fault.kind, "faults differ");
                assert_eq!(e.field(), fault.column.as_ref(), "fault columns differ");
            }
            (reader, mapper) => panic!(
                "the reader gave {:?}, the object mapper {:?}",
                reader.map_err(|e| e.kind().code()),
                mapper.map_err(|f| f.kind.code())
            ),
        }
    }
}

/// `sources_column_map`: the input, as UTF-8 (lossy), loaded as a TOML and as a JSON column
/// map. A map that loads is used to read small fixed CSV and JSON Lines inputs, which must
/// not panic; a configuration that parses must survive a round trip through TOML and JSON.
pub fn sources_column_map(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.matches('\n').count() + 1;
    for (format, loaded) in [
        ("toml", ColumnMap::from_toml_str(&text)),
        ("json", ColumnMap::from_json_str(&text)),
    ] {
        match loaded {
            Ok(map) => use_map(&map),
            Err(Error::Parse(e)) => {
                assert!(
                    e.line <= lines,
                    "{format}: parse error at line {} of {lines}",
                    e.line
                );
            }
            Err(Error::Invalid { message, .. }) => assert!(!message.is_empty()),
            Err(other) => panic!("{format}: unexpected error loading a map from text: {other}"),
        }
    }
    if let Ok(config) = ColumnMapConfig::from_toml_str(&text, "<toml>") {
        round_trip(&config);
    }
    if let Ok(config) = ColumnMapConfig::from_json_str(&text, "<json>") {
        round_trip(&config);
    }
}

/// A source configuration ([`SourceConfig`]) from TOML and JSON text: loading and checking
/// must not panic, errors name a position inside the text or a key, and one that loads must
/// survive a round trip and open a reader over in-memory bytes without panicking.
pub fn sources_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = text.matches('\n').count() + 1;
    for (format, loaded) in [
        ("toml", SourceConfig::from_toml_str(&text)),
        ("json", SourceConfig::from_json_str(&text)),
    ] {
        match loaded {
            Ok(config) => {
                let toml = toml::to_string(&config).expect("a loaded source config serializes");
                assert_eq!(
                    SourceConfig::from_toml_str(&toml).expect("its TOML loads again"),
                    config,
                    "{format}: round trip"
                );
                // Open over a small CSV or JSON Lines body, never a file; a missing
                // column-map file is an error, not a panic.
                let body: &'static [u8] = b"id,email\n1,a@example.com\n{\"id\": 2}\n";
                if let Ok(opened) = config.open_reader(body, "/nonexistent") {
                    match opened {
                        Opened::Records(mut s) => {
                            let mut r = Record::default();
                            for _ in 0..4 {
                                if !matches!(s.read_record(&mut r), Ok(true) | Err(_)) {
                                    break;
                                }
                            }
                        }
                        Opened::Events(mut s) => {
                            for _ in 0..4 {
                                if matches!(s.read_event(), Ok(None)) {
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            Err(Error::Parse(e)) => assert!(
                e.line <= lines,
                "{format}: parse error at line {} of {lines}",
                e.line
            ),
            Err(Error::Invalid { message, .. }) => assert!(!message.is_empty()),
            Err(other) => panic!("{format}: unexpected error loading a source config: {other}"),
        }
    }
}

// ------------------------------------------------------------------------------ options

fn policy(collect: bool) -> OnBadRow {
    if collect {
        OnBadRow::Quarantine
    } else {
        OnBadRow::Fail
    }
}

/// A column map by number: 0 none, 1-5 the presets, 6 [`typed_map`], 7 [`typed_map`] keeping
/// invalid values as text and refusing unmapped columns.
fn column_map(choice: u8) -> Option<ColumnMap> {
    match choice {
        0 => None,
        1 => Some(ColumnMap::salesforce_contacts()),
        2 => Some(ColumnMap::salesforce_leads()),
        3 => Some(ColumnMap::hubspot_contacts()),
        4 => Some(ColumnMap::dynamics_contacts()),
        5 => Some(ColumnMap::segment_identify()),
        6 => Some(typed_map()),
        _ => Some(
            typed_map()
                .invalid_values(InvalidValues::KeepText)
                .unmapped(Unmapped::Reject)
                .ignore("x"),
        ),
    }
}

/// A small map with every column type, for inputs with the header `id,a,b,c,d,e`.
fn typed_map() -> ColumnMap {
    ColumnMap::new()
        .with_key("id")
        .with_typed_column("a", "a_int", ColumnType::Int)
        .with_typed_column("b", "b_bool", ColumnType::Bool)
        .with_typed_column("c", "c_float", ColumnType::Float)
        .with_typed_column("d", "updated_at", ColumnType::Timestamp)
        .with_column("e", "email")
        .with_observed_at("updated_at")
}

// ------------------------------------------------------------------------------ CSV

/// The options of a [`CsvSourceBuilder`] that decide where records start and end.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    delimiter: u8,
    has_headers: bool,
    quote: u8,
    escape: Option<u8>,
    double_quote: bool,
    comment: Option<u8>,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            has_headers: true,
            quote: b'"',
            escape: None,
            double_quote: true,
            comment: None,
        }
    }
}

impl Dialect {
    fn apply(&self, builder: &mut CsvSourceBuilder) {
        builder
            .delimiter(self.delimiter)
            .has_headers(self.has_headers)
            .quote(self.quote)
            .escape(self.escape)
            .double_quote(self.double_quote)
            .comment(self.comment);
    }

    /// The number of records, header included, in `input`: those the csv crate reads once a
    /// line break is appended (without one, csv-core 0.1.13 reads a comment line at the end
    /// as an empty record).
    fn count_records(&self, input: &[u8]) -> u64 {
        let mut input = input.to_vec();
        input.push(b'\n');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .escape(self.escape)
            .double_quote(self.double_quote)
            .comment(self.comment)
            .has_headers(false)
            .flexible(true)
            .from_reader(&input[..]);
        let mut record = csv::ByteRecord::new();
        let mut n = 0;
        while reader
            .read_byte_record(&mut record)
            .expect("reading CSV from memory")
        {
            n += 1;
        }
        n
    }

    /// The rows of `input` when each of `runaways` (the positions of rows whose quote ran to the
    /// end of the input, in order) is one bad row, its first line, and the input is read again
    /// from the line after it (without a header): the csv crate's records of each stretch
    /// between them. Asserts that each runaway is the row after the records before it and that
    /// the last stretch does not end inside quotes.
    fn count_rows_around(&self, input: &[u8], runaways: &[Position]) -> u64 {
        let mut header = u64::from(self.has_headers);
        let (mut at, mut rows) = (0, 0);
        for p in runaways {
            let start = usize::try_from(p.byte.expect("a byte offset")).expect("in memory");
            let stretch = &input[at..start];
            assert!(
                self.ends_in_quotes(&input[at..]),
                "a runaway quote at byte {start}, but the input from byte {at} does not end \
                 inside quotes"
            );
            rows += self.count_records(stretch).saturating_sub(header) + 1;
            assert_eq!(
                p.record,
                Some(rows),
                "the runaway quote's row follows the rows before it"
            );
            header = 0;
            let line = &input[start..];
            at = start
                + match line.iter().position(|&b| b == b'\n' || b == b'\r') {
                    Some(i) if line[i] == b'\r' && line.get(i + 1) == Some(&b'\n') => i + 2,
                    Some(i) => i + 1,
                    None => line.len(),
                };
        }
        let rest = &input[at..];
        assert!(
            !self.ends_in_quotes(rest) || self.count_records(rest) == 0,
            "the input read again from byte {at} ends inside quotes, but no row says so"
        );
        rows + self.count_records(rest)
    }

    /// Whether `input` ends inside a quoted field: then a further line appended to it is read
    /// into that field instead of making one more record.
    fn ends_in_quotes(&self, input: &[u8]) -> bool {
        let mut longer = input.to_vec();
        longer.extend_from_slice(b"\nzzz");
        self.count_records(&longer) == self.count_records(input)
    }
}

/// Opens `input` with `builder` (set up with `dialect`, collecting bad rows when `collect`)
/// and checks one reading into a reused record against one into new records. `names` are
/// column or field names that error messages may quote.
///
/// Beyond the checks of [`read_all`]: the rows read are the records the csv crate reads
/// (less the header); each bad row's position is where its record starts (at the start of a
/// line, past blank lines, comment lines and a byte order mark), its line agrees with its
/// byte offset and its raw text is the input there; a syntax error is reported exactly when
/// the input ends inside quotes, for the last row.
fn check_csv(
    builder: &CsvSourceBuilder,
    dialect: &Dialect,
    collect: bool,
    input: &[u8],
    names: &[&str],
) {
    let mut source = match builder.from_reader(NAME, input) {
        Ok(source) => source,
        Err(Error::Source(e)) => {
            // Header errors quote header columns by design, so only their shape is checked.
            assert!(
                !e.is_recoverable(),
                "an error opening a CSV must be fatal: {e}"
            );
            assert_has_position(e.position(), &e);
            return;
        }
        Err(other) => panic!("unexpected error opening a CSV: {other}"),
    };
    let mut leaks = Leaks::default();
    leaks.add_names(source.columns().iter().map(|c| c.as_str()));
    leaks.add_names(names.iter().copied());
    leaks.add_csv_cells(input);
    let limit = input.len() + 2;
    let first = read_all(&mut source, true, limit, &leaks);
    let rows = source.rows_read();
    first.assert_accounts_for(rows, collect);
    if !first.fatal {
        let header = u64::from(dialect.has_headers);
        let records = dialect.count_records(input);
        let mut runaways: Vec<Position> = Vec::new();
        for (p, k) in first.positions() {
            let SourceErrorKind::Syntax { message } = k else {
                continue;
            };
            if message.contains("ran to the end of the file") {
                let line = p.line.expect("a CSV position has a line");
                assert!(
                    message.contains(&format!("an unclosed quote opened at line {line} ")),
                    "a runaway quote names the line of its row: {message}"
                );
                runaways.push(p);
            } else {
                assert!(
                    message.contains(&format!("the row spans lines {} to ", p.line.unwrap_or(0))),
                    "a syntax error that is neither a runaway quote nor a row over several \
                     lines: {message}"
                );
            }
        }
        runaways.sort_by_key(|p| p.record);
        if runaways.is_empty() {
            assert!(
                records <= header || !dialect.ends_in_quotes(input),
                "the input ends inside quotes, but no row says so"
            );
            assert_eq!(
                rows,
                records.saturating_sub(header),
                "rows read vs records in the input"
            );
        } else {
            assert!(
                dialect.ends_in_quotes(input),
                "a runaway quote, but the input does not end inside quotes"
            );
            assert_eq!(
                dialect.count_rows_around(input, &runaways),
                rows,
                "rows read vs records in the input read again after each runaway quote"
            );
        }
    }
    for (p, _) in first.positions() {
        assert!(
            p.record.is_some_and(|r| (1..=rows).contains(&r)),
            "record {p:?} out of 1..={rows}"
        );
        assert_starts_record(input, p, dialect.comment);
    }
    for r in &first.rejects {
        let at = usize::try_from(r.position.byte.unwrap_or(0)).expect("an offset in memory");
        let rest = String::from_utf8_lossy(&input[at.min(input.len())..]);
        assert!(
            rest.starts_with(r.raw.as_str()) && !r.raw.is_empty(),
            "reject raw text {:?} is not the input at its offset {at}",
            r.raw
        );
    }
    let mut again = builder
        .from_reader(NAME, input)
        .expect("opened once, opens again");
    let second = read_all(&mut again, false, limit, &leaks);
    first.assert_same(&second);
    assert_eq!(again.rows_read(), rows);
}

/// Asserts that `p` names the first byte of a record of `input`, at the start of a line, and
/// the line that byte is on.
fn assert_starts_record(input: &[u8], p: Position, comment: Option<u8>) {
    let at = p.byte.expect("a CSV position has a byte offset");
    let at = usize::try_from(at).expect("an offset in memory");
    assert!(
        at < input.len(),
        "offset {at} past the input ({} bytes)",
        input.len()
    );
    let bom = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    assert!(
        at == bom || (at > bom && matches!(input[at - 1], b'\n' | b'\r')),
        "offset {at} is not at the start of a line"
    );
    assert!(
        !matches!(input[at], b'\n' | b'\r') && Some(input[at]) != comment,
        "offset {at} is on a blank or comment line, not on a record"
    );
    assert_line_at(input, p);
}

/// Asserts that the line of `p` is the line of its byte offset.
fn assert_line_at(input: &[u8], p: Position) {
    let at = usize::try_from(p.byte.expect("a position with a byte offset")).expect("in memory");
    let line = input[..at.min(input.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1;
    assert_eq!(p.line, Some(line), "the line of byte offset {at}");
}

// ------------------------------------------------------------------------------ JSON Lines

/// The options of a [`JsonLinesBuilder`] that the checks need to know.
#[derive(Debug, Clone, Copy)]
struct Limits {
    collect: bool,
    max_line_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Records,
    Identifies,
}

fn check_jsonl(
    builder: &JsonLinesBuilder,
    limits: Limits,
    input: &[u8],
    mode: Mode,
    names: &[&str],
) {
    let mut leaks = Leaks::default();
    leaks.add_names(names.iter().copied());
    leaks.add_json_lines(input);
    let limit = input.len() + 2;
    let lines = count_lines(input);
    let non_blank = non_blank_lines(input, limits.max_line_bytes);
    let (first, second, skipped) = match mode {
        Mode::Records => {
            let first = read_all(&mut builder.records(NAME, input), true, limit, &leaks);
            let second = read_all(&mut builder.records(NAME, input), false, limit, &leaks);
            (first, second, 0)
        }
        Mode::Identifies => {
            let mut source = builder.identifies(NAME, input);
            let first = read_all(&mut source, true, limit, &leaks);
            let skipped = source.skipped();
            let mut source = builder.identifies(NAME, input);
            let second = read_all(&mut source, false, limit, &leaks);
            assert_eq!(
                source.skipped(),
                skipped,
                "skipped events differ between readings"
            );
            (first, second, skipped)
        }
    };
    if !first.fatal {
        first.assert_accounts_for(non_blank - skipped, limits.collect);
    }
    for (p, _) in first.positions() {
        assert!(
            p.line.is_some_and(|l| (1..=lines).contains(&l)),
            "line {p:?} out of 1..={lines}"
        );
        assert!(
            p.record.is_some_and(|r| (1..=non_blank).contains(&r)),
            "record {p:?} out of 1..={non_blank}"
        );
        assert_starts_line(input, p);
    }
    first.assert_same(&second);
}

fn check_events(builder: &JsonLinesBuilder, limits: Limits, input: &[u8]) {
    let mut leaks = Leaks::default();
    leaks.add_json_lines(input);
    let limit = input.len() + 2;
    let lines = count_lines(input);
    let read = |leaks: &Leaks| {
        let mut events = builder.events(NAME, input);
        let mut items: Vec<Result<Event, (Position, SourceErrorKind)>> = Vec::new();
        let mut fatal = false;
        loop {
            assert!(items.len() <= limit, "the event reader does not end");
            match events.read_event() {
                Ok(Some(event)) => {
                    let origin = event.origin.as_ref().expect("every event has an origin");
                    assert_eq!(origin.source.as_str(), NAME);
                    items.push(Ok(event));
                }
                Ok(None) => break,
                Err(e) => {
                    leaks.check(&e);
                    assert_has_position(e.position(), &e);
                    items.push(Err((e.position(), e.kind().clone())));
                    if !e.is_recoverable() {
                        fatal = true;
                        break;
                    }
                }
            }
        }
        if !fatal {
            assert!(
                matches!(events.read_event(), Ok(None)),
                "reading after the end"
            );
        }
        let mut rejects = Vec::new();
        events.drain_rejects(&mut rejects);
        for r in &rejects {
            leaks.check(&r.to_error());
            assert_has_position(r.position, &r.to_error());
        }
        (items, rejects, fatal)
    };
    let (items, rejects, fatal) = read(&leaks);
    if !fatal {
        let non_blank = non_blank_lines(input, limits.max_line_bytes);
        if limits.collect {
            assert!(
                items.iter().all(Result::is_ok),
                "a recoverable error under OnBadRow::Quarantine"
            );
        }
        assert_eq!(
            (items.len() + rejects.len()) as u64,
            non_blank,
            "events + errors + rejects must be the non-blank lines"
        );
    }
    for p in items
        .iter()
        .filter_map(|i| i.as_ref().err().map(|e| e.0))
        .chain(rejects.iter().map(|r| r.position))
    {
        assert!(
            p.line.is_some_and(|l| (1..=lines).contains(&l)),
            "line {p:?} out of 1..={lines}"
        );
        assert_starts_line(input, p);
    }
    let (items2, rejects2, _) = read(&leaks);
    assert!(
        items == items2 && rejects == rejects2,
        "reading again differs"
    );
}

/// Asserts that the byte offset of `p` is at the start of a line of `input`, and its line
/// that line.
fn assert_starts_line(input: &[u8], p: Position) {
    let at = usize::try_from(p.byte.expect("a position with a byte offset")).expect("in memory");
    assert!(
        at == 0 || input.get(at - 1) == Some(&b'\n'),
        "offset {at} is not at the start of a line"
    );
    assert_line_at(input, p);
}

/// The lines the JSON Lines readers count: all but those that are blank (ASCII whitespace)
/// and not longer than `max` bytes.
fn non_blank_lines(input: &[u8], max: usize) -> u64 {
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .iter()
        .filter(|l| l.len() > max || !l.iter().all(u8::is_ascii_whitespace))
        .count() as u64
}

// ------------------------------------------------------------------------------ column maps

/// A fixed CSV with columns of the presets and of typed maps, with good and bad values.
const CRM_CSV: &str = "\
Id,FirstName,Last Name,Email,HasOptedOutOfEmail,LastModifiedDate,hs_object_id,zip,a,b,c,d,e
0031,Ada,Lovelace,ada@example.com,false,2024-03-01T14:22:05.000+0000,901,62704,1,yes,2.5,2024-03-01,x
0032,Bób,,böb@example.com,maybe,yesterday,902,,x,2,NaN,03/01/2024,
,Cy,Young,cy@example.com,1,1709302925000,,10115,-3,,1e3,1709302925,y
0034,Di,Ross,di@example.com,,,904
0035,\"Eve, \"\"E\"\"\",Long,eve@example.com,n,2024-03-01 14:22,905,1,2,3,4,5,6,7
";

/// A fixed CSV with generic column names.
const PLAIN_CSV: &str = "\
id;email;name;score;updated;active;tags
1;ada@example.com;Ada;2.5;2024-03-01T14:22:05Z;true;vip
2;bob@example.com;Bób;many;not a date;maybe;
3;;Cy;-1;1709302925000;0;a|b
";

/// A fixed JSON Lines input with plain records, nested keys and identify events.
const JSONL: &str = r#"{"id": 7, "email": "ada@example.com", "traits": {"first_name": "Ada", "address": {"city": "Oslo"}}, "score": "2.5", "updated": 1709302925000}
{"type":"identify","userId":"u1","timestamp":"2026-01-02T03:04:05Z","traits":{"firstName":"Ada","first_name":"Adá","email":"ada@example.com","score":"x","active":"yes"}}
{"type":"track","event":"Order Completed","userId":"u1","timestamp":"2026-01-03T00:00:00Z","properties":{"total":89.5}}
{"type":"identify","anonymousId":"a2","timestamp":1709302925000,"traits":{"email":"bob@example.com","updated":"2024-03-01","Id":"B2"}}
"#;

fn use_map(map: &ColumnMap) {
    let fields: Vec<&str> = map.rules().iter().map(|r| r.field.as_str()).collect();
    for collect in [false, true] {
        let mut csv = CsvSource::builder();
        csv.column_map(map.clone()).on_bad_row(policy(collect));
        check_csv(
            &csv,
            &Dialect::default(),
            collect,
            CRM_CSV.as_bytes(),
            &fields,
        );
        let dialect = Dialect {
            delimiter: b';',
            ..Dialect::default()
        };
        dialect.apply(&mut csv);
        csv.flexible(true);
        check_csv(&csv, &dialect, collect, PLAIN_CSV.as_bytes(), &fields);

        let limits = Limits {
            collect,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        };
        let mut jsonl = JsonLinesBuilder::new();
        jsonl.column_map(map.clone()).on_bad_row(policy(collect));
        check_jsonl(&jsonl, limits, JSONL.as_bytes(), Mode::Records, &fields);
        check_jsonl(&jsonl, limits, JSONL.as_bytes(), Mode::Identifies, &fields);
    }
}

/// A parsed configuration written back as JSON and as TOML reads back the same.
fn round_trip(config: &ColumnMapConfig) {
    let json = serde_json::to_string(config).expect("a configuration serializes to JSON");
    let back = ColumnMapConfig::from_json_str(&json, "<json>")
        .unwrap_or_else(|e| panic!("JSON written from a configuration does not load: {e}\n{json}"));
    assert_eq!(&back, config, "JSON round trip\n{json}");
    let toml = toml::to_string(config).expect("a configuration serializes to TOML");
    let back = ColumnMapConfig::from_toml_str(&toml, "<toml>")
        .unwrap_or_else(|e| panic!("TOML written from a configuration does not load: {e}\n{toml}"));
    assert_eq!(&back, config, "TOML round trip\n{toml}");
    assert_eq!(
        back.build().ok(),
        config.build().ok(),
        "a configuration builds the same map after a round trip"
    );
}

// ------------------------------------------------------------------------------ reading

#[derive(Debug, PartialEq)]
enum Item {
    Record(Record),
    Error(Position, SourceErrorKind),
}

/// Everything one reading of a source gave.
#[derive(Debug)]
struct Reading {
    items: Vec<Item>,
    rejects: Vec<Reject>,
    fatal: bool,
}

impl Reading {
    fn positions(&self) -> impl Iterator<Item = (Position, &SourceErrorKind)> {
        let errors = self.items.iter().filter_map(|i| match i {
            Item::Error(p, k) => Some((*p, k)),
            Item::Record(_) => None,
        });
        let rejects = self.rejects.iter().map(|r| (r.position, &r.error));
        errors
            .chain(rejects)
            .filter(|(_, k)| !matches!(k, SourceErrorKind::Io { .. }))
    }

    /// Records + recoverable errors + rejects = `rows`; no recoverable error under Collect.
    fn assert_accounts_for(&self, rows: u64, collect: bool) {
        let records = self
            .items
            .iter()
            .filter(|i| matches!(i, Item::Record(_)))
            .count();
        let errors = self
            .items
            .iter()
            .filter(|i| matches!(i, Item::Error(_, k) if !matches!(k, SourceErrorKind::Io { .. } | SourceErrorKind::Header { .. })))
            .count();
        if collect {
            assert_eq!(errors, 0, "a recoverable error under OnBadRow::Quarantine");
        }
        assert_eq!(
            (records + errors + self.rejects.len()) as u64,
            rows,
            "records ({records}) + errors ({errors}) + rejects ({}) must be the rows read",
            self.rejects.len()
        );
    }

    fn assert_same(&self, other: &Reading) {
        if let Some(at) = self
            .items
            .iter()
            .zip(&other.items)
            .position(|(a, b)| a != b)
        {
            panic!(
                "reading into a reused record and into new records differ at item {at}: {:?} vs {:?}",
                self.items[at], other.items[at]
            );
        }
        assert_eq!(
            self.items.len(),
            other.items.len(),
            "readings differ in length"
        );
        assert_eq!(
            self.rejects, other.rejects,
            "readings set aside different rejects"
        );
        assert_eq!(self.fatal, other.fatal);
    }
}

/// Reads `source` to the end, or to a fatal error, going on after recoverable errors.
fn read_all<S: Source>(source: &mut S, reuse: bool, limit: usize, leaks: &Leaks) -> Reading {
    let mut items = Vec::new();
    let mut shared = Record::default();
    let mut fatal = false;
    loop {
        assert!(
            items.len() <= limit,
            "the source does not end: more than {limit} items"
        );
        let mut fresh = Record::default();
        let record = if reuse { &mut shared } else { &mut fresh };
        match source.read_record(record) {
            Ok(true) => {
                assert_eq!(
                    record.id.source.as_str(),
                    NAME,
                    "a record must name its source"
                );
                items.push(Item::Record(record.clone()));
            }
            Ok(false) => break,
            Err(e) => {
                assert_eq!(
                    e.source_name().as_str(),
                    NAME,
                    "an error must name its source"
                );
                assert_has_position(e.position(), &e);
                leaks.check(&e);
                items.push(Item::Error(e.position(), e.kind().clone()));
                if !e.is_recoverable() {
                    fatal = true;
                    break;
                }
            }
        }
    }
    for _ in 0..2 {
        match source.read_record(&mut shared) {
            Ok(false) => {}
            Ok(true) => panic!("a record after the end or after a fatal error"),
            Err(e) if fatal => {
                assert!(!e.is_recoverable(), "a recoverable error after a fatal one")
            }
            Err(e) => panic!("an error after the end: {e}"),
        }
    }
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    let mut more = Vec::new();
    source.drain_rejects(&mut more);
    assert!(more.is_empty(), "drain_rejects gave the same rejects twice");
    for r in &rejects {
        let e = r.to_error();
        assert_eq!(r.id.source.as_str(), NAME, "a reject must name its source");
        assert_has_position(r.position, &e);
        leaks.check(&e);
    }
    Reading {
        items,
        rejects,
        fatal,
    }
}

fn assert_has_position(p: Position, e: &SourceError) {
    assert!(
        p.line.is_some() || p.record.is_some(),
        "an error or reject without a line or record number: {e}"
    );
}

fn count_lines(input: &[u8]) -> u64 {
    input.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

// ------------------------------------------------------------------------------ leaks

/// A loose check that error messages quote no data.
///
/// Error messages are fixed English text, numbers, the source name and the names of columns
/// and fields, all of which may be anything a file says. Telling a leaked value from a column
/// name that happens to contain it cannot be exact, so the check is narrowed to rule out
/// false positives:
///
/// - only values (CSV cell pieces between delimiters, quotes and line breaks; JSON strings,
///   and pieces of raw lines between JSON punctuation) of more than 3 characters that hold an
///   `@` or a non-ASCII character, like emails and most names outside English, are checked,
///   since the crate's fixed texts hold neither;
/// - values that are part of a column, key or field name are skipped, and such names are cut
///   out of the message before searching it;
/// - header errors (raised when opening a CSV) are not checked: they name header columns by
///   design.
#[derive(Debug, Default)]
struct Leaks {
    values: BTreeSet<String>,
    /// Names that hold an `@` or a non-ASCII character, longest first when searched.
    names: BTreeSet<String>,
}

fn distinctive(s: &str) -> bool {
    s.chars().any(|c| c == '@' || !c.is_ascii())
}

impl Leaks {
    fn add_value(&mut self, v: &str) {
        if v.chars().count() > 3 && distinctive(v) {
            self.values.insert(v.to_owned());
        }
    }

    fn add_names<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for n in names {
            for n in [n, n.trim()] {
                if distinctive(n) {
                    self.names.insert(n.to_owned());
                }
            }
        }
    }

    fn add_csv_cells(&mut self, input: &[u8]) {
        let text = String::from_utf8_lossy(input);
        // Split on every delimiter, quote and line break any option could choose.
        for piece in text.split([',', ';', '\t', '|', '"', '\'', '\n', '\r']) {
            self.add_value(piece);
            self.add_value(piece.trim());
        }
    }

    fn add_json_lines(&mut self, input: &[u8]) {
        let text = String::from_utf8_lossy(input);
        for piece in text.split(|c: char| "\"\\{}[],:".contains(c) || c.is_whitespace()) {
            self.add_value(piece);
        }
        for line in input.split(|&b| b == b'\n') {
            if let Ok(json) = serde_json::from_slice::<serde_json::Value>(line) {
                self.add_json(&json, &mut Vec::new());
            }
        }
    }

    /// Adds the strings of `json` as values, and its keys as names: each key alone, its path
    /// of keys joined with dots (as JSON Lines records flatten them) and that path without its
    /// first key (as identify traits are flattened).
    fn add_json(&mut self, json: &serde_json::Value, path: &mut Vec<String>) {
        match json {
            serde_json::Value::String(s) => self.add_value(s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| self.add_json(v, path)),
            serde_json::Value::Object(o) => {
                for (k, v) in o {
                    path.push(k.clone());
                    let flat = path.join(".");
                    let inner = path[1..].join(".");
                    self.add_names([k.as_str(), flat.as_str(), inner.as_str()]);
                    self.add_json(v, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn check(&self, e: &SourceError) {
        if self.values.is_empty() {
            return;
        }
        let mut message = e.to_string();
        let mut names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if let Some(f) = e.field() {
            names.extend([f.as_str(), f.as_str().trim()]);
        }
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for n in &names {
            if !n.is_empty() {
                message = message.replace(n, "\u{0}");
            }
        }
        for v in &self.values {
            if names.iter().any(|n| n.contains(v.as_str())) {
                continue;
            }
            assert!(
                !message.contains(v.as_str()),
                "error message quotes the value {v:?}: {e}"
            );
        }
    }
}

/// The leak check itself finds a quoted value and lets names pass.
#[cfg(test)]
#[test]
fn leak_check_finds_values_and_lets_names_pass() {
    let mut leaks = Leaks::default();
    leaks.add_value("ada@example.com");
    leaks.add_value("Émail");
    leaks.add_names(["Émail"]);
    let leaky = SourceError::new(
        NAME,
        Position::line(2),
        SourceErrorKind::Other {
            message: "cannot read ada@example.com".into(),
        },
    );
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| leaks.check(&leaky)));
    assert!(caught.is_err(), "the leak check misses a quoted email");
    let named =
        SourceError::new(NAME, Position::line(2), SourceErrorKind::InvalidUtf8).with_field("Émail");
    leaks.check(&named);
}
