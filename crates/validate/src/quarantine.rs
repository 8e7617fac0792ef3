//! Quarantine: the records (and unreadable rows) held back, with every reason, as JSON Lines
//! that can be fixed and read back in.

use std::io::{BufRead, Write};

use mergetag_model::{Position, Record, Reject};
use serde::{Deserialize, Serialize};

use crate::{Error, Finding, Report, Result, Severity, codes};

/// One line of a quarantine file: a record that failed its rules, or a row its source could
/// not read.
///
/// The serde form is a JSON object tagged by `kind`:
///
/// ```json
/// {"kind":"record","record":{"id":{"source":"crm","key":7},"fields":{...}},"position":{"record":7},
///  "findings":[{"field":"email","code":"invalid_email.leading_dot","severity":"error",
///               "message":"email address: ...","value":".***@example.com"}]}
/// {"kind":"reject","reject":{"id":...,"position":{"line":12},"error":{"code":"ragged_row",...},"raw":"..."},
///  "findings":[{"code":"source.ragged_row","severity":"error","message":"row has 4 fields but the header has 5"}]}
/// ```
///
/// The record and the raw row are kept whole (they are what must be repaired), so a
/// quarantine file holds personal data; the findings show values redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum QuarantineEntry {
    /// A record with at least one error.
    Record {
        /// The record as it was checked.
        record: Record,
        /// Where it was in its source, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<Position>,
        /// Every finding, errors and warnings alike.
        findings: Vec<Finding>,
    },
    /// A row its source could not turn into a record.
    Reject {
        /// The row, where it was and why it failed.
        reject: Reject,
        /// One `source.<code>` finding (see [`reject_finding`]).
        findings: Vec<Finding>,
    },
}

impl QuarantineEntry {
    /// The findings.
    pub fn findings(&self) -> &[Finding] {
        match self {
            QuarantineEntry::Record { findings, .. } | QuarantineEntry::Reject { findings, .. } => {
                findings
            }
        }
    }

    /// The record, for an entry of a record (to fix and check again).
    pub fn record(&self) -> Option<&Record> {
        match self {
            QuarantineEntry::Record { record, .. } => Some(record),
            QuarantineEntry::Reject { .. } => None,
        }
    }

    /// The record, for an entry of a record.
    pub fn into_record(self) -> Option<Record> {
        match self {
            QuarantineEntry::Record { record, .. } => Some(record),
            QuarantineEntry::Reject { .. } => None,
        }
    }
}

/// The finding that stands for a source reject: code `source.<the source error's code>`
/// (`source.ragged_row`), severity error, the error's message, on the reject's field if any.
pub fn reject_finding(reject: &Reject) -> Finding {
    let code = format!("{}{}", codes::SOURCE_PREFIX, reject.error.code());
    let message = reject.error.to_string();
    match &reject.field {
        Some(field) => Finding::new(field.clone(), code, Severity::Error, message),
        None => Finding::record(code, Severity::Error, message),
    }
}

/// The borrowed twin of [`QuarantineEntry`], so that writing does not clone records.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum EntryRef<'a> {
    Record {
        record: &'a Record,
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<Position>,
        findings: &'a [Finding],
    },
    Reject {
        reject: &'a Reject,
        findings: [Finding; 1],
    },
}

/// Writes quarantine entries to any [`Write`] as JSON Lines, one entry a line.
///
/// ```
/// use mergetag_validate::{QuarantineReader, QuarantineWriter, Report, Rule, rules::Required};
/// use mergetag_validate::model::{Position, Record, RecordId};
///
/// let mut record = Record::new(RecordId::row("crm", 3));
/// record.set("first_name", "Ada");
/// let mut report = Report::new();
/// Required::new("email").check(&record, &mut report);
///
/// let mut q = QuarantineWriter::new(Vec::new());
/// q.write_record(&record, Some(Position::line(4)), &report)?;
/// let bytes = q.into_inner()?;
///
/// let entries: Vec<_> = QuarantineReader::new(&bytes[..]).collect::<Result<_, _>>()?;
/// assert_eq!(entries[0].record(), Some(&record));
/// assert_eq!(entries[0].findings()[0].code, "required");
/// # Ok::<(), mergetag_validate::Error>(())
/// ```
#[derive(Debug)]
pub struct QuarantineWriter<W: Write> {
    out: W,
    line: Vec<u8>,
    written: u64,
}

impl<W: Write> QuarantineWriter<W> {
    /// A writer to `out`. Wrap files in a [`std::io::BufWriter`].
    pub fn new(out: W) -> QuarantineWriter<W> {
        QuarantineWriter {
            out,
            line: Vec::with_capacity(512),
            written: 0,
        }
    }

    /// Writes a record with its findings.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the output fails.
    pub fn write_record(
        &mut self,
        record: &Record,
        position: Option<Position>,
        report: &Report,
    ) -> Result<()> {
        self.write(&EntryRef::Record {
            record,
            position,
            findings: report.findings(),
        })
    }

    /// Writes a row its source could not read.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the output fails.
    pub fn write_reject(&mut self, reject: &Reject) -> Result<()> {
        self.write(&EntryRef::Reject {
            reject,
            findings: [reject_finding(reject)],
        })
    }

    /// Writes an entry, as read back by a [`QuarantineReader`].
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the output fails.
    pub fn write_entry(&mut self, entry: &QuarantineEntry) -> Result<()> {
        self.write(entry)
    }

    fn write(&mut self, entry: &impl Serialize) -> Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry).map_err(|e| {
            // Serializing our own types to memory fails only on a broken Serialize impl.
            Error::Write(std::io::Error::other(e))
        })?;
        self.line.push(b'\n');
        self.out.write_all(&self.line).map_err(Error::Write)?;
        self.written += 1;
        Ok(())
    }

    /// The number of entries written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes the output.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the output fails.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::Write)
    }

    /// Flushes and returns the output.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] when the output fails.
    pub fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.out)
    }
}

/// Reads a quarantine file back, entry by entry; blank lines are skipped.
#[derive(Debug)]
pub struct QuarantineReader<R> {
    input: R,
    line: u64,
    buf: String,
}

impl<R: BufRead> QuarantineReader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> QuarantineReader<R> {
        QuarantineReader {
            input,
            line: 0,
            buf: String::new(),
        }
    }
}

impl<R: BufRead> Iterator for QuarantineReader<R> {
    type Item = Result<QuarantineEntry>;

    /// The next entry; an [`Error::Quarantine`] naming the line for a line that is not an
    /// entry, after which reading goes on with the next line.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            match self.input.read_line(&mut self.buf) {
                Ok(0) => return None,
                Ok(_) if self.buf.trim().is_empty() => continue,
                Ok(_) => {
                    return Some(serde_json::from_str(&self.buf).map_err(|e| {
                        let message =
                            mergetag_model::text_position::without_json_position(&e.to_string())
                                .to_owned();
                        Error::Quarantine {
                            line: self.line,
                            message,
                        }
                    }));
                }
                Err(e) => {
                    return Some(Err(Error::Quarantine {
                        line: self.line,
                        message: e.to_string(),
                    }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::{RecordId, SourceErrorKind, Value};

    #[test]
    fn records_and_rejects_round_trip() {
        let mut record = Record::new(RecordId::id("crm", "x1"));
        record.observed_at = "2026-03-01T14:22:05Z".parse().ok();
        record.set("email", ".jane@example.com");
        record.set("clv", 1234.5678);
        record.set("tags", Value::List(vec!["a".into(), Value::Null]));
        record.set(
            "birth_date",
            chrono::NaiveDate::from_ymd_opt(1985, 4, 3).unwrap(),
        );
        let report = Report::from(vec![
            Finding::new("email", "invalid_email.leading_dot", Severity::Error, "bad")
                .with_value(&Value::from(".jane@example.com")),
        ]);
        let reject = Reject {
            id: RecordId::row("f.csv", 3),
            position: Position::line(4),
            field: None,
            error: SourceErrorKind::RaggedRow {
                expected: 5,
                found: 4,
            },
            raw: "a,b,\"c\",d".into(),
        };
        let mut q = QuarantineWriter::new(Vec::new());
        q.write_record(&record, Some(Position::record(9)), &report)
            .unwrap();
        q.write_reject(&reject).unwrap();
        assert_eq!(q.written(), 2);
        let bytes = q.into_inner().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains(r#""code":"source.ragged_row""#), "{text}");

        let entries: Vec<QuarantineEntry> = QuarantineReader::new(&bytes[..])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            entries[0],
            QuarantineEntry::Record {
                record: record.clone(),
                position: Some(Position::record(9)),
                findings: report.findings().to_vec()
            }
        );
        assert_eq!(
            entries[1],
            QuarantineEntry::Reject {
                reject: reject.clone(),
                findings: vec![reject_finding(&reject)]
            }
        );
        // Writing the entries read back gives the same bytes.
        let mut again = QuarantineWriter::new(Vec::new());
        for e in &entries {
            again.write_entry(e).unwrap();
        }
        assert_eq!(again.into_inner().unwrap(), bytes);
    }

    #[test]
    fn bad_lines_name_their_line() {
        let text = "\n{\"kind\":\"record\"}\nnot json\n";
        let items: Vec<_> = QuarantineReader::new(text.as_bytes()).collect();
        assert_eq!(items.len(), 2);
        let e = items[1].as_ref().unwrap_err().to_string();
        assert!(e.starts_with("quarantine line 3: "), "{e}");
        let e = items[0].as_ref().unwrap_err().to_string();
        assert!(e.starts_with("quarantine line 2: missing field"), "{e}");
    }
}
