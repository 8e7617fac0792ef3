//! JSON Lines: one JSON object a line, for records and for Segment-style events.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use mergetag_model::{
    Event, EventKind, EventSource, FieldName, OnBadRow, Position, Record, RecordId, Reject, Source,
    SourceError, SourceErrorKind, SourceName, Value, fields,
};
use serde_json::Value as Json;

use crate::column_map::{Action, ColumnMap, InvalidValues};
use crate::convert::{ColumnType, parse_timestamp};
use crate::error::{Error, Result};
use crate::row::{RowError, observed_at, set_key};

/// The longest line read by default: 16 MiB. A longer line is a bad row.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

/// Reads lines with a length limit, counting them and their byte offsets.
#[derive(Debug)]
struct Lines<R> {
    reader: BufReader<R>,
    buf: Vec<u8>,
    max: usize,
    /// The 1-based number of the line in `buf`.
    line: u64,
    /// The byte offset of the line in `buf`.
    offset: u64,
    next_offset: u64,
}

/// One line: its text, or why it could not be read whole.
enum Line {
    Text,
    TooLong,
}

impl<R: Read> Lines<R> {
    fn new(reader: R, max: usize) -> Lines<R> {
        Lines {
            reader: BufReader::with_capacity(64 * 1024, reader),
            buf: Vec::new(),
            max,
            line: 0,
            offset: 0,
            next_offset: 0,
        }
    }

    /// Reads the next line into `self.buf` (without its line ending). `Ok(None)` at the end.
    fn next(&mut self) -> std::io::Result<Option<Line>> {
        self.buf.clear();
        self.offset = self.next_offset;
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                let room = self.max.saturating_sub(self.buf.len());
                let body = if done { take - 1 } else { take };
                if body > room {
                    too_long = true;
                    self.buf.extend_from_slice(&chunk[..room]);
                } else {
                    self.buf.extend_from_slice(&chunk[..body]);
                }
            }
            self.reader.consume(take);
            self.next_offset += take as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(if too_long { Line::TooLong } else { Line::Text }))
    }

    fn position(&self, record: u64) -> Position {
        Position {
            line: Some(self.line),
            record: Some(record),
            byte: Some(self.offset),
        }
    }
}

/// Parses the line in `buf` into a JSON object.
fn parse_object(buf: &[u8]) -> Result<serde_json::Map<String, Json>, RowError> {
    let text =
        std::str::from_utf8(buf).map_err(|_| RowError::new(SourceErrorKind::InvalidUtf8, None))?;
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(RowError::new(
            SourceErrorKind::Syntax {
                message: format!("expected a JSON object, found {}", json_kind(&other)),
            },
            None,
        )),
        Err(e) => Err(RowError::new(
            SourceErrorKind::Syntax {
                message: format!(
                    "invalid JSON at column {}: {}",
                    e.column(),
                    json_error_class(&e)
                ),
            },
            None,
        )),
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The class of a JSON error, in words, without the data around it.
fn json_error_class(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "the line ends in the middle of a value (truncated?)",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

/// The text of a JSON id: a string as it is, a number in decimal.
fn id_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Fills records from JSON objects through a column map, flattening nested objects into dotted
/// keys (`address.city`).
#[derive(Debug)]
struct ObjectMapper {
    map: ColumnMap,
    /// Key -> action, so that each distinct key is matched once. Bounded, since a hostile file
    /// can have any number of distinct keys.
    cache: HashMap<String, Action>,
}

const ACTION_CACHE_MAX: usize = 4096;

impl ObjectMapper {
    fn new(map: ColumnMap) -> ObjectMapper {
        ObjectMapper {
            map,
            cache: HashMap::new(),
        }
    }

    fn action(&mut self, key: &str) -> Action {
        if let Some(a) = self.cache.get(key) {
            return a.clone();
        }
        let a = self.map.action(key);
        if self.cache.len() < ACTION_CACHE_MAX {
            self.cache.insert(key.to_owned(), a.clone());
        }
        a
    }

    /// Fills `record` from `object`. Returns the key column's text, if any.
    fn fill(
        &mut self,
        object: serde_json::Map<String, Json>,
        record: &mut Record,
    ) -> Result<Option<String>, RowError> {
        record.clear();
        let mut key: Option<(usize, String)> = None;
        let mut stack: Vec<(String, Json)> = Vec::new();
        // Reverse so that popping visits keys in file order.
        for (k, v) in object.into_iter().rev() {
            stack.push((k, v));
        }
        while let Some((k, v)) = stack.pop() {
            if let Json::Object(inner) = v {
                for (ik, iv) in inner.into_iter().rev() {
                    stack.push((format!("{k}.{ik}"), iv));
                }
                continue;
            }
            if let Some(rank) = self.map.key_rank(&k) {
                if key.as_ref().is_none_or(|(r, _)| rank < *r)
                    && let Some(text) = id_text(&v)
                {
                    key = Some((rank, text));
                }
                continue;
            }
            match self.action(&k) {
                Action::Key | Action::Ignore => {}
                Action::Unmapped => {
                    return Err(RowError::new(
                        SourceErrorKind::Other {
                            message: "key is not in the column map; map it, list it under `ignore`, or set `unmapped = \"keep\"`".into(),
                        },
                        Some(FieldName::new(&k)),
                    ));
                }
                Action::Field(name, kind) => {
                    let value = match kind.convert_value(Value::from(v)) {
                        Ok(v) => v,
                        Err(v) if self.map.invalid_value_policy() == InvalidValues::KeepText => {
                            Value::Text(v.to_string())
                        }
                        Err(_) => {
                            return Err(RowError::new(
                                SourceErrorKind::InvalidValue {
                                    expected: kind.as_str().to_owned(),
                                },
                                Some(FieldName::new(&k)),
                            ));
                        }
                    };
                    self.put(record, name, value, &k)?;
                }
            }
        }
        record.observed_at = observed_at(record, self.map.observed_at_fields());
        Ok(key.map(|(_, k)| k))
    }

    /// Sets a field, refusing two different values for one field from two keys
    /// (`firstName` and `first_name` in one object).
    fn put(
        &self,
        record: &mut Record,
        name: FieldName,
        value: Value,
        key: &str,
    ) -> Result<(), RowError> {
        crate::values::put_field(record, name, value).map_err(|name| {
            RowError::new(
                SourceErrorKind::Other {
                    message: format!(
                        "two keys give different values for field `{name}`; map one of them elsewhere or ignore it"
                    ),
                },
                Some(FieldName::new(key)),
            )
        })
    }
}

/// Maps one JSON object, given as the bytes of one JSON Lines line, into a record exactly as
/// [`JsonLinesSource`] maps a line: for sources whose rows arrive as JSON documents one at a
/// time (a message queue's payloads), so that they take the same column maps, presets and
/// faults as JSON Lines files.
///
/// ```
/// use mergetag_model::{fields, Record, SourceErrorKind};
/// use mergetag_sources::{ColumnMap, JsonObjectMapper};
///
/// let map = ColumnMap::new().with_key("id").with_column("traits.first_name", fields::FIRST_NAME);
/// let mut mapper = JsonObjectMapper::new(map);
/// let mut record = Record::default();
/// let key = mapper.fill(br#"{"id": 7, "traits": {"first_name": "Ada"}}"#, &mut record)?;
/// assert_eq!(key.as_deref(), Some("7"));
/// assert_eq!(record.text(fields::FIRST_NAME), Some("Ada"));
///
/// // Not an object: a fault that says what was found, never the data.
/// let fault = mapper.fill(b"[1, 2]", &mut record).unwrap_err();
/// assert!(matches!(fault.kind, SourceErrorKind::Syntax { .. }));
/// # Ok::<(), mergetag_sources::FieldFault>(())
/// ```
#[derive(Debug)]
pub struct JsonObjectMapper {
    mapper: ObjectMapper,
}

impl JsonObjectMapper {
    /// A mapper through `map`.
    pub fn new(map: ColumnMap) -> JsonObjectMapper {
        JsonObjectMapper {
            mapper: ObjectMapper::new(map),
        }
    }

    /// Clears `record`'s fields and fills them from `json`, one JSON object in UTF-8. Returns
    /// the text of the best-ranked key column that has a value; the record's id is left as it
    /// is.
    ///
    /// # Errors
    ///
    /// A [`FieldFault`](crate::FieldFault): bytes that are not UTF-8 or not a JSON object
    /// (no column), or, naming the key, a value that does not convert, a key the map refuses,
    /// or two keys that give one field different values.
    pub fn fill(
        &mut self,
        json: &[u8],
        record: &mut Record,
    ) -> Result<Option<String>, crate::FieldFault> {
        parse_object(json)
            .and_then(|object| self.mapper.fill(object, record))
            .map_err(|e| crate::FieldFault::new(e.kind, e.field))
    }
}

/// Configures and opens JSON Lines readers: [`JsonLinesSource`] for records,
/// [`JsonLinesEvents`] for events and [`IdentifySource`] for the records of identify calls.
#[derive(Debug, Clone)]
pub struct JsonLinesBuilder {
    column_map: Option<ColumnMap>,
    on_bad_row: OnBadRow,
    max_line_bytes: usize,
}

impl Default for JsonLinesBuilder {
    fn default() -> Self {
        JsonLinesBuilder {
            column_map: None,
            on_bad_row: OnBadRow::Fail,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

impl JsonLinesBuilder {
    /// A builder with the defaults.
    pub fn new() -> JsonLinesBuilder {
        JsonLinesBuilder::default()
    }

    /// The column map for records (default: every key kept under its own name for
    /// [`JsonLinesSource`], [`ColumnMap::segment_identify`] for [`IdentifySource`]). Keys of
    /// nested objects are matched flattened with dots (`address.city`).
    pub fn column_map(&mut self, map: ColumnMap) -> &mut Self {
        self.column_map = Some(map);
        self
    }

    /// What to do with bad lines (default [`OnBadRow::Fail`]).
    pub fn on_bad_row(&mut self, policy: OnBadRow) -> &mut Self {
        self.on_bad_row = policy;
        self
    }

    /// The longest line accepted, in bytes (default [`DEFAULT_MAX_LINE_BYTES`]).
    pub fn max_line_bytes(&mut self, max: usize) -> &mut Self {
        self.max_line_bytes = max;
        self
    }

    fn open(path: &Path) -> Result<File> {
        File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// A record reader over `reader`, named `name`.
    pub fn records<R: Read>(&self, name: &str, reader: R) -> JsonLinesSource<R> {
        JsonLinesSource {
            core: Core::new(name, reader, self),
            mapper: ObjectMapper::new(self.column_map.clone().unwrap_or_default()),
        }
    }

    /// A record reader over the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened.
    pub fn records_from_path(
        &self,
        name: &str,
        path: impl AsRef<Path>,
    ) -> Result<JsonLinesSource<File>> {
        Ok(self.records(name, Self::open(path.as_ref())?))
    }

    /// An event reader over `reader`, named `name`.
    pub fn events<R: Read>(&self, name: &str, reader: R) -> JsonLinesEvents<R> {
        JsonLinesEvents {
            core: Core::new(name, reader, self),
        }
    }

    /// An event reader over the file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened.
    pub fn events_from_path(
        &self,
        name: &str,
        path: impl AsRef<Path>,
    ) -> Result<JsonLinesEvents<File>> {
        Ok(self.events(name, Self::open(path.as_ref())?))
    }

    /// A record reader over the identify calls of an event file.
    pub fn identifies<R: Read>(&self, name: &str, reader: R) -> IdentifySource<R> {
        IdentifySource {
            events: self.events(name, reader),
            mapper: ObjectMapper::new(
                self.column_map
                    .clone()
                    .unwrap_or_else(ColumnMap::segment_identify),
            ),
            skipped: 0,
        }
    }

    /// A record reader over the identify calls of the event file at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened.
    pub fn identifies_from_path(
        &self,
        name: &str,
        path: impl AsRef<Path>,
    ) -> Result<IdentifySource<File>> {
        Ok(self.identifies(name, Self::open(path.as_ref())?))
    }
}

/// What the JSON Lines readers share: lines, counts, the bad-row policy and rejects.
#[derive(Debug)]
struct Core<R> {
    name: SourceName,
    lines: Lines<R>,
    on_bad_row: OnBadRow,
    rejects: Vec<Reject>,
    records: u64,
    done: bool,
}

impl<R: Read> Core<R> {
    fn new(name: &str, reader: R, b: &JsonLinesBuilder) -> Core<R> {
        Core {
            name: SourceName::new(name),
            lines: Lines::new(reader, b.max_line_bytes),
            on_bad_row: b.on_bad_row,
            rejects: Vec::new(),
            records: 0,
            done: false,
        }
    }

    /// Reads lines until one parses into an object (passed to `take`, which may still refuse
    /// it), applying the bad-row policy. Blank lines are skipped and not counted.
    fn next<T>(
        &mut self,
        mut take: impl FnMut(serde_json::Map<String, Json>, u64) -> Result<T, RowError>,
    ) -> Result<Option<T>, SourceError> {
        while !self.done {
            let line = match self.lines.next() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.done = true;
                    return Err(SourceError::new(
                        self.name.clone(),
                        self.lines.position(self.records),
                        SourceErrorKind::Io {
                            message: e.to_string(),
                        },
                    )
                    .with_cause(e));
                }
            };
            if matches!(line, Line::Text) && self.lines.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.records += 1;
            let position = self.lines.position(self.records);
            let result = match line {
                Line::TooLong => Err(RowError::new(
                    SourceErrorKind::Syntax {
                        message: format!("line is longer than {} bytes", self.lines.max),
                    },
                    None,
                )),
                Line::Text => parse_object(&self.lines.buf).and_then(|o| take(o, self.lines.line)),
            };
            match result {
                Ok(t) => return Ok(Some(t)),
                Err(err) => match self.on_bad_row {
                    OnBadRow::Fail => return Err(err.into_error(&self.name, position)),
                    OnBadRow::Quarantine => {
                        let reject =
                            err.into_reject(&self.name, self.records, position, &self.lines.buf);
                        self.rejects.push(reject);
                    }
                },
            }
        }
        Ok(None)
    }
}

/// A [`Source`] reading one JSON object a line into records.
///
/// Nested objects are flattened into dotted keys and go through the column map like CSV
/// columns; arrays become [`Value::List`]; numbers become [`Value::Int`] or [`Value::Float`].
/// Blank lines are skipped. Records are keyed by the map's key column, else by the 1-based
/// record number.
///
/// ```
/// use mergetag_model::{fields, Source};
/// use mergetag_sources::{ColumnMap, JsonLinesBuilder};
///
/// let data = r#"{"id": 7, "traits": {"first_name": "Ada"}, "tags": ["vip"]}
/// {"id": 8, "traits": {"first_name": "Bob"}}
/// "#;
/// let map = ColumnMap::new().with_key("id").with_column("traits.first_name", fields::FIRST_NAME);
/// let mut source = JsonLinesBuilder::new().column_map(map).records("app", data.as_bytes());
/// let records: Vec<_> = source.records().collect::<Result<_, _>>()?;
/// assert_eq!(records[0].id.to_string(), "app:7");
/// assert_eq!(records[1].text(fields::FIRST_NAME), Some("Bob"));
/// assert_eq!(records[0].get("tags").unwrap().as_list().unwrap().len(), 1);
/// # Ok::<(), mergetag_model::SourceError>(())
/// ```
#[derive(Debug)]
pub struct JsonLinesSource<R> {
    core: Core<R>,
    mapper: ObjectMapper,
}

impl<R: Read> Source for JsonLinesSource<R> {
    fn name(&self) -> &SourceName {
        &self.core.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        let mapper = &mut self.mapper;
        let name = self.core.name.clone();
        let records = self.core.records;
        let got = self.core.next(|object, _line| {
            let key = mapper.fill(object, record)?;
            record.id.source = name.clone();
            set_key(&mut record.id.key, key.as_deref(), records + 1);
            Ok(())
        })?;
        if got.is_none() {
            record.clear();
        }
        Ok(got.is_some())
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.core.rejects);
    }
}

/// Reads Segment-spec events, one JSON object a line: an iterator of `Result<Event, _>`.
///
/// From each object: `type` (required), the time from `timestamp`, `originalTimestamp`,
/// `sentAt` or `receivedAt` (the first present; required), `messageId`, `userId` (a string or a
/// number), `anonymousId`, the track `event` name (required for track) or the page/screen
/// `name`, `properties`, and identify `traits`. The email comes from `traits.email`,
/// `context.traits.email` or `properties.email`. Each event's `origin` is its source and line.
///
/// ```
/// use mergetag_model::EventKind;
/// use mergetag_sources::JsonLinesBuilder;
///
/// let data = r#"{"type":"track","event":"Order Completed","userId":"901","timestamp":"2026-05-01T10:00:00Z","properties":{"total":89.5,"products":[{"name":"Yoga Mat"}]}}"#;
/// let events: Vec<_> = JsonLinesBuilder::new().events("events", data.as_bytes()).collect::<Result<_, _>>()?;
/// assert_eq!(events[0].kind, EventKind::Track);
/// assert_eq!(events[0].property("products.0.name").unwrap().as_str(), Some("Yoga Mat"));
/// # Ok::<(), mergetag_model::SourceError>(())
/// ```
#[derive(Debug)]
pub struct JsonLinesEvents<R> {
    core: Core<R>,
}

impl<R: Read> EventSource for JsonLinesEvents<R> {
    fn name(&self) -> &SourceName {
        &self.core.name
    }

    /// Moves the lines set aside under [`OnBadRow::Quarantine`] into `out`.
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.core.rejects);
    }

    /// Reads the next event; `Ok(None)` at the end.
    ///
    /// # Errors
    ///
    /// A bad line under [`OnBadRow::Fail`] (recoverable: call again for the next line), or an
    /// I/O error (after which reading is over).
    fn read_event(&mut self) -> Result<Option<Event>, SourceError> {
        let name = self.core.name.clone();
        self.core
            .next(|object, line| parse_event(object, &name, line))
    }
}

impl<R: Read> Iterator for JsonLinesEvents<R> {
    type Item = Result<Event, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_event().transpose()
    }
}

fn take_string(object: &mut serde_json::Map<String, Json>, key: &str) -> Option<String> {
    match object.remove(key) {
        Some(v) => id_text(&v),
        None => None,
    }
}

fn take_map(
    object: &mut serde_json::Map<String, Json>,
    key: &str,
) -> Result<BTreeMap<String, Value>, RowError> {
    match object.remove(key) {
        None | Some(Json::Null) => Ok(BTreeMap::new()),
        Some(Json::Object(o)) => Ok(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        Some(_) => Err(RowError::new(
            SourceErrorKind::InvalidValue {
                expected: "object".into(),
            },
            Some(FieldName::new(key)),
        )),
    }
}

fn parse_event(
    mut object: serde_json::Map<String, Json>,
    source: &SourceName,
    line: u64,
) -> Result<Event, RowError> {
    let missing =
        |field: &str| RowError::new(SourceErrorKind::Missing, Some(FieldName::new(field)));
    let invalid = |field: &str, expected: &str| {
        RowError::new(
            SourceErrorKind::InvalidValue {
                expected: expected.into(),
            },
            Some(FieldName::new(field)),
        )
    };
    let kind = match object.get("type") {
        None | Some(Json::Null) => return Err(missing("type")),
        Some(Json::String(s)) => EventKind::parse(s.trim()).ok_or_else(|| {
            invalid(
                "type",
                "event type (identify, track, page, screen, group or alias)",
            )
        })?,
        Some(_) => {
            return Err(invalid(
                "type",
                "event type (identify, track, page, screen, group or alias)",
            ));
        }
    };
    let mut timestamp = None;
    for key in ["timestamp", "originalTimestamp", "sentAt", "receivedAt"] {
        match object.get(key) {
            None | Some(Json::Null) => continue,
            Some(Json::String(s)) => {
                timestamp =
                    Some(parse_timestamp(s.trim()).ok_or_else(|| invalid(key, "timestamp"))?);
            }
            Some(Json::Number(n)) => {
                let v = n.as_i64().map(Value::Int).unwrap_or(Value::Null);
                timestamp = match ColumnType::Timestamp.convert_value(v) {
                    Ok(Value::DateTime(t)) => Some(t),
                    _ => return Err(invalid(key, "timestamp")),
                };
            }
            Some(_) => return Err(invalid(key, "timestamp")),
        }
        break;
    }
    let timestamp = timestamp.ok_or_else(|| missing("timestamp"))?;
    let mut event = Event::new(kind, timestamp);
    event.origin = Some(RecordId::row(source.clone(), line));
    event.message_id = take_string(&mut object, "messageId");
    event.user_id = take_string(&mut object, "userId");
    event.anonymous_id = take_string(&mut object, "anonymousId");
    event.name = match kind {
        EventKind::Track => {
            Some(take_string(&mut object, "event").ok_or_else(|| missing("event"))?)
        }
        _ => take_string(&mut object, "name"),
    };
    event.properties = take_map(&mut object, "properties")?;
    event.traits = take_map(&mut object, "traits")?;
    let context_email = object
        .get("context")
        .and_then(|c| c.get("traits"))
        .and_then(|t| t.get("email"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    event.email = [
        event
            .traits
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned),
        context_email,
        event
            .properties
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned),
    ]
    .into_iter()
    .flatten()
    .find(|e| !e.trim().is_empty());
    Ok(event)
}

/// A [`Source`] of the records that the identify calls of an event file describe.
///
/// Each identify call becomes one record: its traits, flattened and mapped (by default with
/// [`ColumnMap::segment_identify`]), plus `user_id` and `anonymous_id` fields from the call,
/// keyed by its line (`segment:#12`; a person identified twice gives two records), and
/// observed at the event's time. Other calls are skipped and counted ([`IdentifySource::skipped`]).
///
/// ```
/// use mergetag_model::{fields, Source};
/// use mergetag_sources::JsonLinesBuilder;
///
/// let data = r#"{"type":"identify","userId":"u1","timestamp":"2026-01-02T03:04:05Z","traits":{"firstName":"Ada","address":{"city":"Oslo"}}}
/// {"type":"track","event":"Email Opened","userId":"u1","timestamp":"2026-01-03T00:00:00Z"}"#;
/// let mut source = JsonLinesBuilder::new().identifies("segment", data.as_bytes());
/// let records: Vec<_> = source.records().collect::<Result<_, _>>()?;
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].id.to_string(), "segment:#1");
/// assert_eq!(records[0].text(fields::USER_ID), Some("u1"));
/// assert_eq!(records[0].text(fields::CITY), Some("Oslo"));
/// assert_eq!(source.skipped(), 1);
/// # Ok::<(), mergetag_model::SourceError>(())
/// ```
#[derive(Debug)]
pub struct IdentifySource<R> {
    events: JsonLinesEvents<R>,
    mapper: ObjectMapper,
    skipped: u64,
}

impl<R: Read> IdentifySource<R> {
    /// How many events were skipped because they were not identify calls.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl<R: Read> Source for IdentifySource<R> {
    fn name(&self) -> &SourceName {
        self.events.name()
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            let Some(event) = self.events.read_event()? else {
                record.clear();
                return Ok(false);
            };
            if event.kind != EventKind::Identify {
                self.skipped += 1;
                continue;
            }
            let line = event.origin.as_ref().map_or(0, |o| match o.key {
                mergetag_model::RecordKey::Row(n) => n,
                mergetag_model::RecordKey::Id(_) => 0,
            });
            let traits: serde_json::Map<String, Json> = event
                .traits
                .into_iter()
                .map(|(k, v)| (k, value_to_json(v)))
                .collect();
            match self.mapper.fill(traits, record) {
                Ok(_) => {}
                Err(err) => {
                    let position = Position {
                        line: Some(line),
                        record: Some(self.events.core.records),
                        byte: Some(self.events.core.lines.offset),
                    };
                    match self.events.core.on_bad_row {
                        OnBadRow::Fail => return Err(err.into_error(self.events.name(), position)),
                        OnBadRow::Quarantine => {
                            let reject = err.into_reject(
                                self.events.name(),
                                self.events.core.records,
                                position,
                                &self.events.core.lines.buf,
                            );
                            self.events.core.rejects.push(reject);
                            continue;
                        }
                    }
                }
            }
            record.id.source = self.events.name().clone();
            // One record per identify call, keyed by its line: a person identified twice gives
            // two records (two observations), which dedup merges by `user_id`.
            set_key(&mut record.id.key, None, line);
            for (field, id) in [
                (fields::USER_ID, event.user_id),
                (fields::ANONYMOUS_ID, event.anonymous_id),
            ] {
                if let Some(id) = id {
                    record.set(field, id);
                }
            }
            record.observed_at = Some(event.timestamp);
            return Ok(true);
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        self.events.drain_rejects(out);
    }
}

/// The JSON form of a value, for re-mapping traits that were already converted.
fn value_to_json(v: Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s),
        Value::Date(d) => Json::String(d.to_string()),
        Value::DateTime(t) => Json::String(t.to_rfc3339()),
        Value::List(l) => Json::Array(l.into_iter().map(value_to_json).collect()),
        Value::Object(o) => {
            Json::Object(o.into_iter().map(|(k, v)| (k, value_to_json(v))).collect())
        }
    }
}
