//! The [`Source`] trait that every reader implements, its error type, and rejected rows.

use std::error::Error as StdError;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Event, FieldName, Record, RecordId, SourceName};

/// Where in a source something happened. Every part is optional because sources differ: a CSV
/// file has lines and bytes, an API has only record numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The 1-based line where the record starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The 1-based record (data row) number, headers not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The byte offset where the record starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
}

impl Position {
    /// A position at a 1-based line.
    pub fn line(line: u64) -> Position {
        Position {
            line: Some(line),
            ..Position::default()
        }
    }

    /// A position at a 1-based record number.
    pub fn record(record: u64) -> Position {
        Position {
            record: Some(record),
            ..Position::default()
        }
    }
}

impl fmt::Display for Position {
    /// `line 17`, or `record 16` where there is no line, or `start`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.record) {
            (Some(l), _) => write!(f, "line {l}"),
            (None, Some(r)) => write!(f, "record {r}"),
            (None, None) => f.write_str("start"),
        }
    }
}

/// What went wrong while reading. Messages never contain the data that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// Reading failed below the format (a file vanished, a connection dropped). Fatal.
    Io {
        /// The I/O error, in words.
        message: String,
    },
    /// The header is unusable (missing, duplicated or conflicting columns). Fatal.
    Header {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The bytes are not valid in the format (an unterminated quote, broken JSON).
    Syntax {
        /// What the parser says, without the data.
        message: String,
    },
    /// A row has a different number of fields than the header.
    RaggedRow {
        /// The header's field count.
        expected: u64,
        /// This row's field count.
        found: u64,
    },
    /// A field is not valid UTF-8 (the file is probably in another encoding, such as Latin-1).
    InvalidUtf8,
    /// A value could not be converted to the type the column map asks for.
    InvalidValue {
        /// The type that was expected (`"bool"`, `"int"`, `"timestamp"`).
        expected: String,
    },
    /// A value the source needs is missing (an event without a timestamp).
    Missing,
    /// Anything else a source reports.
    Other {
        /// What went wrong.
        message: String,
    },
}

impl SourceErrorKind {
    /// A stable machine code (`"ragged_row"`, `"invalid_utf8"`, ...), as in the serde form.
    pub fn code(&self) -> &'static str {
        match self {
            SourceErrorKind::Io { .. } => "io",
            SourceErrorKind::Header { .. } => "header",
            SourceErrorKind::Syntax { .. } => "syntax",
            SourceErrorKind::RaggedRow { .. } => "ragged_row",
            SourceErrorKind::InvalidUtf8 => "invalid_utf8",
            SourceErrorKind::InvalidValue { .. } => "invalid_value",
            SourceErrorKind::Missing => "missing",
            SourceErrorKind::Other { .. } => "other",
        }
    }
}

impl fmt::Display for SourceErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceErrorKind::Io { message } => write!(f, "i/o error: {message}"),
            SourceErrorKind::Header { message } => write!(f, "bad header: {message}"),
            SourceErrorKind::Syntax { message } => write!(f, "malformed input: {message}"),
            SourceErrorKind::RaggedRow { expected, found } => {
                write!(f, "row has {found} fields but the header has {expected}")
            }
            SourceErrorKind::InvalidUtf8 => f.write_str(
                "invalid UTF-8 (the file may be in another encoding such as Latin-1; convert it to UTF-8)",
            ),
            SourceErrorKind::InvalidValue { expected } => {
                write!(f, "value is not a valid {expected}")
            }
            SourceErrorKind::Missing => f.write_str("required value is missing"),
            SourceErrorKind::Other { message } => f.write_str(message),
        }
    }
}

/// An error from a [`Source`]: what went wrong, in which source, where, and in which field.
///
/// The message names the position and never the value read:
///
/// ```
/// use mergetag_model::{Position, SourceError, SourceErrorKind};
///
/// let e = SourceError::new("hubspot.csv", Position::line(17), SourceErrorKind::InvalidUtf8)
///     .with_field("firstname");
/// assert!(e.to_string().starts_with("hubspot.csv: line 17, field `firstname`: invalid UTF-8"));
/// assert!(e.is_recoverable());
/// ```
///
/// Boxed inside, so that a `Result<bool, SourceError>` stays two words wide on the hot path.
#[derive(Debug)]
pub struct SourceError(Box<ErrorInner>);

#[derive(Debug)]
struct ErrorInner {
    source_name: SourceName,
    position: Position,
    field: Option<FieldName>,
    kind: SourceErrorKind,
    cause: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl SourceError {
    /// An error of `kind` at `position` in the source `source`.
    pub fn new(
        source: impl Into<SourceName>,
        position: Position,
        kind: SourceErrorKind,
    ) -> SourceError {
        SourceError(Box::new(ErrorInner {
            source_name: source.into(),
            position,
            field: None,
            kind,
            cause: None,
        }))
    }

    /// Names the field (column) the error is about.
    pub fn with_field(mut self, field: impl Into<FieldName>) -> SourceError {
        self.0.field = Some(field.into());
        self
    }

    /// Attaches the underlying error, reported by [`std::error::Error::source`].
    pub fn with_cause(mut self, cause: impl Into<Box<dyn StdError + Send + Sync>>) -> SourceError {
        self.0.cause = Some(cause.into());
        self
    }

    /// The source's name.
    pub fn source_name(&self) -> &SourceName {
        &self.0.source_name
    }

    /// Where it happened.
    pub fn position(&self) -> Position {
        self.0.position
    }

    /// The field it is about, if any.
    pub fn field(&self) -> Option<&FieldName> {
        self.0.field.as_ref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &SourceErrorKind {
        &self.0.kind
    }

    /// Whether the source can go on after this error: `true` for a bad row, `false` for an I/O
    /// or header error after which nothing more can be read.
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self.0.kind,
            SourceErrorKind::Io { .. } | SourceErrorKind::Header { .. }
        )
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.source_name, self.0.position)?;
        if let Some(field) = &self.0.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.0.kind)
    }
}

impl StdError for SourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .cause
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A row a source could not turn into a record, kept so that a run can quarantine it: where it
/// was, why it failed, and its raw text for repair and re-ingestion.
///
/// The raw text is personal data: it belongs in the quarantine file, never in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// The id the record would have had (its source and row).
    pub id: RecordId,
    /// Where the row is.
    pub position: Position,
    /// The field at fault, if one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldName>,
    /// What went wrong.
    pub error: SourceErrorKind,
    /// The row as it was read; invalid UTF-8 is replaced by U+FFFD.
    pub raw: String,
}

impl Reject {
    /// The error this reject stands for.
    pub fn to_error(&self) -> SourceError {
        let mut e = SourceError::new(self.id.source.clone(), self.position, self.error.clone());
        e.0.field = self.field.clone();
        e
    }
}

/// A reader of records: CSV files, JSON Lines, databases, APIs, in-memory data.
///
/// Pull-based and allocation-friendly: [`Source::read_record`] fills a record the caller owns,
/// so one record (and its buffers) serves a whole file. [`Source::records`] wraps it in an
/// iterator for convenience.
///
/// A bad row is a recoverable error ([`SourceError::is_recoverable`]): the caller may record it
/// and call `read_record` again for the next row. Sources that can collect bad rows instead of
/// returning them hand them over through [`Source::drain_rejects`].
///
/// Any iterator of `Result<Record, E>` can serve as a source through [`IterSource`]:
///
/// ```
/// use mergetag_model::{IterSource, Record, RecordId, Source, fields};
///
/// let rows = (1..=3).map(|i| {
///     let mut r = Record::new(RecordId::row("memory", i));
///     r.set(fields::EMAIL, format!("user{i}@example.com"));
///     Ok::<_, std::convert::Infallible>(r)
/// });
/// let mut source = IterSource::new("memory", rows);
///
/// let mut record = Record::default();
/// let mut n = 0;
/// while source.read_record(&mut record)? {
///     n += 1;
/// }
/// assert_eq!(n, 3);
/// # Ok::<(), mergetag_model::SourceError>(())
/// ```
pub trait Source {
    /// The source's name, used in record ids and error messages.
    fn name(&self) -> &SourceName;

    /// Reads the next record into `record`, replacing what it held. Returns `Ok(false)` at the
    /// end of the source.
    ///
    /// # Errors
    ///
    /// A [`SourceError`] naming the position. After a recoverable error the next call goes on
    /// with the next row; after any other, reading is over.
    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError>;

    /// Moves the rows this source set aside instead of failing on them into `out`, in the order
    /// they were met. Sources that never set rows aside keep this default, which does nothing.
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        let _ = out;
    }

    /// The source's own column names, when it knows them before reading (a CSV header), in
    /// its order; empty for sources without a fixed set of columns (the default).
    fn columns(&self) -> &[FieldName] {
        &[]
    }

    /// Counters the source keeps about how it read, by name, for a run report: an API
    /// source's requests, retries and waits (in milliseconds, names ending `_ms`). Empty for
    /// sources that keep none (the default).
    fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        std::collections::BTreeMap::new()
    }

    /// Says that the records this source handed out (and the rejects drained from it) have
    /// been processed and their results stored: a source that can acknowledge what it read,
    /// such as a message queue's consumer, makes that durable now, so that its next reader
    /// goes on after them; a source that cannot (a file, the default) does nothing.
    ///
    /// Call it only once the results are stored for good: what a source acknowledges is not
    /// read again, so acknowledging before (and then failing) loses it. Not calling it is
    /// always safe: the next reader gets the same records again (at least once), which a
    /// caller that stores them by record key absorbs. The pipeline calls it on every source
    /// through `RunOutput::commit_sources`, after its outputs are written.
    ///
    /// ```
    /// use mergetag_model::{IterSource, Record, RecordId, Source};
    ///
    /// let rows = (1..=2).map(|i| Ok::<_, std::convert::Infallible>(Record::new(RecordId::row("memory", i))));
    /// let mut source = IterSource::new("memory", rows);
    /// let mut stored = Vec::new();
    /// for record in source.records() {
    ///     stored.push(record?); // store the results first ...
    /// }
    /// source.commit()?; // ... then acknowledge (a no-op for an in-memory source)
    /// assert_eq!(stored.len(), 2);
    /// # Ok::<(), mergetag_model::SourceError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SourceError`] naming the source when the acknowledgement could not be made durable
    /// (a Kafka commit refused): nothing is lost, the records are read again by the next
    /// reader unless a later call succeeds.
    fn commit(&mut self) -> Result<(), SourceError> {
        Ok(())
    }

    /// An iterator over the records, each a new [`Record`]. It ends after the last record or
    /// after an error that is not recoverable.
    ///
    /// On a trait object, go through the forwarding impl: for `source: &mut dyn Source`, write
    /// `Source::records(&mut source)`; a `Box<dyn Source>` has `records()` directly.
    fn records(&mut self) -> Records<'_, Self>
    where
        Self: Sized,
    {
        Records {
            source: self,
            done: false,
        }
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn name(&self) -> &SourceName {
        (**self).name()
    }
    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        (**self).read_record(record)
    }
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        (**self).drain_rejects(out);
    }
    fn columns(&self) -> &[FieldName] {
        (**self).columns()
    }
    fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        (**self).counters()
    }
    fn commit(&mut self) -> Result<(), SourceError> {
        (**self).commit()
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn name(&self) -> &SourceName {
        (**self).name()
    }
    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        (**self).read_record(record)
    }
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        (**self).drain_rejects(out);
    }
    fn columns(&self) -> &[FieldName] {
        (**self).columns()
    }
    fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        (**self).counters()
    }
    fn commit(&mut self) -> Result<(), SourceError> {
        (**self).commit()
    }
}

/// What a reader does with a row it cannot read (ragged, not UTF-8, malformed JSON, a value of
/// the wrong type): one policy, with one name, for readers, the pipeline and the command line.
///
/// In configuration files it is written `on_bad_row = "quarantine"` or `"fail"`; the older
/// spellings `skip` and `collect` (for `quarantine`) and `error` (for `fail`) are accepted.
///
/// ```
/// use mergetag_model::OnBadRow;
///
/// #[derive(serde::Deserialize)]
/// struct Input { on_bad_row: OnBadRow }
///
/// let i: Input = serde_json::from_str(r#"{"on_bad_row": "skip"}"#).unwrap();
/// assert_eq!(i.on_bad_row, OnBadRow::Quarantine);
/// assert_eq!(OnBadRow::default(), OnBadRow::Quarantine);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRow {
    /// Set the row aside as a [`Reject`] (position, reason and raw text) and go on: a reader
    /// hands it over through [`Source::drain_rejects`], the pipeline quarantines it, the
    /// command line leaves it out of its outputs and reports it. The default.
    #[default]
    #[serde(alias = "skip", alias = "collect")]
    Quarantine,
    /// Stop: a reader returns the row as a recoverable [`SourceError`] (the caller decides
    /// whether to go on), the pipeline and the command line stop with an error naming it.
    #[serde(alias = "error")]
    Fail,
}

impl OnBadRow {
    /// `quarantine` or `fail`, as configuration files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OnBadRow::Quarantine => "quarantine",
            OnBadRow::Fail => "fail",
        }
    }
}

impl fmt::Display for OnBadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reader of behavioural events (identify, track, page), for computed traits, engagement
/// and suppressions: the event counterpart of [`Source`], with the same error and reject
/// conventions.
///
/// ```
/// use mergetag_model::{Event, EventSource, IterEventSource};
///
/// let events = vec![Event::track("Order Completed", "2026-03-01T14:22:05Z".parse().unwrap()).with_user_id("u1")];
/// let mut source = IterEventSource::new("memory", events.into_iter().map(Ok::<_, std::convert::Infallible>));
/// assert_eq!(source.read_event()?.unwrap().name.as_deref(), Some("Order Completed"));
/// assert!(source.read_event()?.is_none());
/// # Ok::<(), mergetag_model::SourceError>(())
/// ```
pub trait EventSource {
    /// The source's name, for the report and errors.
    fn name(&self) -> &SourceName;

    /// Reads the next event; `Ok(None)` at the end.
    ///
    /// # Errors
    ///
    /// A [`SourceError`]; after a recoverable one the next call goes on with the next event.
    fn read_event(&mut self) -> Result<Option<Event>, SourceError>;

    /// Moves the lines set aside instead of failing on them into `out`, in the order they
    /// were met (default: none).
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        let _ = out;
    }
}

impl<S: EventSource + ?Sized> EventSource for &mut S {
    fn name(&self) -> &SourceName {
        (**self).name()
    }
    fn read_event(&mut self) -> Result<Option<Event>, SourceError> {
        (**self).read_event()
    }
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        (**self).drain_rejects(out);
    }
}

impl<S: EventSource + ?Sized> EventSource for Box<S> {
    fn name(&self) -> &SourceName {
        (**self).name()
    }
    fn read_event(&mut self) -> Result<Option<Event>, SourceError> {
        (**self).read_event()
    }
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        (**self).drain_rejects(out);
    }
}

/// An [`EventSource`] over any iterator of `Result<Event, E>`; an `Err` becomes a recoverable
/// [`SourceError`] at the event's 1-based position, with the error as its cause.
#[derive(Debug, Clone)]
pub struct IterEventSource<I> {
    name: SourceName,
    iter: I,
    count: u64,
}

impl<I> IterEventSource<I> {
    /// A source named `name` reading from `iter`.
    pub fn new(name: impl Into<SourceName>, iter: I) -> IterEventSource<I> {
        IterEventSource {
            name: name.into(),
            iter,
            count: 0,
        }
    }
}

impl<I, E> EventSource for IterEventSource<I>
where
    I: Iterator<Item = Result<Event, E>>,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn read_event(&mut self) -> Result<Option<Event>, SourceError> {
        match self.iter.next() {
            None => Ok(None),
            Some(item) => {
                self.count += 1;
                item.map(Some).map_err(|e| {
                    SourceError::new(
                        self.name.clone(),
                        Position::record(self.count),
                        SourceErrorKind::Other {
                            message: "the iterator returned an error".to_owned(),
                        },
                    )
                    .with_cause(e)
                })
            }
        }
    }
}

/// The iterator returned by [`Source::records`].
#[derive(Debug)]
pub struct Records<'a, S> {
    source: &'a mut S,
    done: bool,
}

impl<S: Source> Iterator for Records<'_, S> {
    type Item = Result<Record, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut record = Record::default();
        match self.source.read_record(&mut record) {
            Ok(true) => Some(Ok(record)),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = !e.is_recoverable();
                Some(Err(e))
            }
        }
    }
}

/// A [`Source`] over any iterator of `Result<Record, E>`.
///
/// Records are passed on as they are (their ids included). An `Err` from the iterator becomes a
/// recoverable [`SourceError`] at the record's 1-based position, with the error as its cause.
#[derive(Debug, Clone)]
pub struct IterSource<I> {
    name: SourceName,
    iter: I,
    count: u64,
}

impl<I> IterSource<I> {
    /// A source named `name` reading from `iter`.
    pub fn new(name: impl Into<SourceName>, iter: I) -> IterSource<I> {
        IterSource {
            name: name.into(),
            iter,
            count: 0,
        }
    }
}

impl<I, E> Source for IterSource<I>
where
    I: Iterator<Item = Result<Record, E>>,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        match self.iter.next() {
            None => Ok(false),
            Some(item) => {
                self.count += 1;
                match item {
                    Ok(r) => {
                        *record = r;
                        Ok(true)
                    }
                    Err(e) => {
                        let cause: Box<dyn StdError + Send + Sync> = e.into();
                        Err(SourceError::new(
                            self.name.clone(),
                            Position::record(self.count),
                            SourceErrorKind::Other {
                                message: "the iterator returned an error".to_owned(),
                            },
                        )
                        .with_cause(cause))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Boom;
    impl fmt::Display for Boom {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("boom")
        }
    }
    impl StdError for Boom {}

    fn rows() -> impl Iterator<Item = Result<Record, Boom>> {
        (1..=4).map(|i| {
            if i == 2 {
                Err(Boom)
            } else {
                Ok(Record::new(RecordId::row("mem", i)))
            }
        })
    }

    #[test]
    fn iter_source_reports_errors_with_positions_and_goes_on() {
        let mut s = IterSource::new("mem", rows());
        let items: Vec<_> = s.records().collect();
        assert_eq!(items.len(), 4);
        let err = items[1].as_ref().unwrap_err();
        assert_eq!(err.position(), Position::record(2));
        assert!(err.is_recoverable());
        assert_eq!(err.source().unwrap().to_string(), "boom");
        assert_eq!(
            items[3].as_ref().unwrap().id,
            RecordId::row("mem", 4),
            "records after an error still come out"
        );
    }

    #[test]
    fn forwarding_impls_and_dyn() {
        let mut s = IterSource::new("mem", rows());
        let mut by_ref: &mut dyn Source = &mut s;
        assert_eq!(by_ref.name().as_str(), "mem");
        assert_eq!(
            Source::records(&mut by_ref).filter(Result::is_ok).count(),
            3
        );
        let mut boxed: Box<dyn Source> = Box::new(IterSource::new("mem", rows()));
        assert_eq!(boxed.records().filter(Result::is_ok).count(), 3);
        let mut out = Vec::new();
        boxed.drain_rejects(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn commit_is_forwarded_and_a_no_op_by_default() {
        struct Acked(u32);
        impl Source for Acked {
            fn name(&self) -> &SourceName {
                static NAME: std::sync::OnceLock<SourceName> = std::sync::OnceLock::new();
                NAME.get_or_init(|| SourceName::new("acked"))
            }
            fn read_record(&mut self, _: &mut Record) -> Result<bool, SourceError> {
                Ok(false)
            }
            fn commit(&mut self) -> Result<(), SourceError> {
                self.0 += 1;
                Ok(())
            }
        }
        let mut acked = Acked(0);
        Source::commit(&mut &mut acked).unwrap();
        assert_eq!(acked.0, 1, "forwarded through &mut");
        let mut boxed = Box::new(acked);
        boxed.commit().unwrap();
        assert_eq!(boxed.0, 2, "forwarded through Box");
        let mut dynamic: Box<dyn Source> = boxed;
        dynamic.commit().unwrap();
        let mut plain = IterSource::new("mem", rows());
        assert!(plain.commit().is_ok());
        let by_ref: &mut dyn Source = &mut plain;
        assert!(by_ref.commit().is_ok());
    }

    #[test]
    fn fatal_errors_end_the_iterator() {
        struct Broken;
        impl Source for Broken {
            fn name(&self) -> &SourceName {
                static NAME: std::sync::OnceLock<SourceName> = std::sync::OnceLock::new();
                NAME.get_or_init(|| SourceName::new("broken"))
            }
            fn read_record(&mut self, _: &mut Record) -> Result<bool, SourceError> {
                Err(SourceError::new(
                    "broken",
                    Position::default(),
                    SourceErrorKind::Io {
                        message: "gone".into(),
                    },
                ))
            }
        }
        assert_eq!(Broken.records().count(), 1);
    }

    #[test]
    fn reject_serde_and_error() {
        let r = Reject {
            id: RecordId::row("f.csv", 3),
            position: Position::line(4),
            field: Some(FieldName::new("email")),
            error: SourceErrorKind::RaggedRow {
                expected: 5,
                found: 4,
            },
            raw: "a,b,c,d".into(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""code":"ragged_row""#), "{json}");
        assert_eq!(serde_json::from_str::<Reject>(&json).unwrap(), r);
        assert_eq!(
            r.to_error().to_string(),
            "f.csv: line 4, field `email`: row has 4 fields but the header has 5"
        );
    }
}
