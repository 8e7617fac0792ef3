//! The checks every [`Source`] must pass, for our readers and for yours.
//!
//! [`check`] opens a source twice through a factory and verifies the contract that later
//! stages rely on:
//!
//! - every record comes out once, in order, named after its source, with a unique id;
//! - every error names the source and a position (line or record number);
//! - reading into one reused [`Record`] gives the same records as reading each into a new one
//!   (no value leaks from one row into the next);
//! - reading again gives the same records and the same errors;
//! - after the end, reading goes on returning `Ok(false)`.
//!
//! It returns a [`Summary`] for the caller to compare with what the input holds.
//!
//! ```
//! use mergetag_sources::{conformance, CsvSource};
//!
//! let data = "id,name\n1,Ada\n2,Bob,extra\n3,Cy\n";
//! let summary = conformance::check(|| CsvSource::builder().from_reader("t", data.as_bytes()).unwrap())?;
//! assert_eq!(summary.records, 2);
//! assert_eq!(summary.errors.len(), 1);
//! assert_eq!(summary.errors[0].position.line, Some(3));
//! # Ok::<(), String>(())
//! ```

use std::collections::HashSet;

use mergetag_model::{Position, Record, RecordId, Reject, Source, SourceErrorKind};

/// What a conforming source produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// How many records came out.
    pub records: usize,
    /// Their ids, in order.
    pub ids: Vec<RecordId>,
    /// The recoverable errors, in order.
    pub errors: Vec<ErrorSeen>,
    /// The rows the source set aside, in order.
    pub rejects: Vec<Reject>,
    /// Whether reading ended on an error that is not recoverable.
    pub fatal: bool,
}

/// One error a source returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSeen {
    /// Where.
    pub position: Position,
    /// What.
    pub kind: SourceErrorKind,
}

/// The most items one check reads, so that a source that never ends fails instead of hanging.
pub const MAX_ITEMS: usize = 10_000_000;

#[derive(Debug, PartialEq)]
enum Item {
    Record(Record),
    Error(ErrorSeen),
}

fn read_all<S: Source>(source: &mut S, reuse: bool) -> Result<(Vec<Item>, bool), String> {
    let mut items = Vec::new();
    let mut shared = Record::default();
    let mut fatal = false;
    loop {
        if items.len() >= MAX_ITEMS {
            return Err(format!(
                "more than {MAX_ITEMS} items; the source does not end"
            ));
        }
        let mut fresh = Record::default();
        let record = if reuse { &mut shared } else { &mut fresh };
        match source.read_record(record) {
            Ok(true) => items.push(Item::Record(record.clone())),
            Ok(false) => break,
            Err(e) => {
                if e.source_name() != source.name() {
                    return Err(format!(
                        "error names source `{}`, the source is `{}`",
                        e.source_name(),
                        source.name()
                    ));
                }
                let p = e.position();
                if e.is_recoverable() && p.line.is_none() && p.record.is_none() {
                    return Err(format!("error without a line or record number: {e}"));
                }
                items.push(Item::Error(ErrorSeen {
                    position: p,
                    kind: e.kind().clone(),
                }));
                if !e.is_recoverable() {
                    fatal = true;
                    break;
                }
            }
        }
    }
    if !fatal {
        for _ in 0..2 {
            match source.read_record(&mut shared) {
                Ok(false) => {}
                other => {
                    return Err(format!(
                        "reading after the end gave {other:?}, not Ok(false)"
                    ));
                }
            }
        }
    }
    Ok((items, fatal))
}

/// Runs the checks on two sources made by `open`, which must read the same input each time.
///
/// # Errors
///
/// A description of the first broken rule.
pub fn check<S: Source>(mut open: impl FnMut() -> S) -> Result<Summary, String> {
    let mut first = open();
    let (items, fatal) = read_all(&mut first, true)?;
    let mut rejects = Vec::new();
    first.drain_rejects(&mut rejects);
    let mut more = Vec::new();
    first.drain_rejects(&mut more);
    if !more.is_empty() {
        return Err("drain_rejects returned the same rejects twice".into());
    }

    let mut second = open();
    let (again, _) = read_all(&mut second, false)?;
    if again != items {
        let at = items
            .iter()
            .zip(&again)
            .position(|(a, b)| a != b)
            .unwrap_or(items.len().min(again.len()));
        return Err(format!(
            "reading into a reused record and into new records differ at item {at} \
             (or reading again differs): {:?} vs {:?}",
            items.get(at),
            again.get(at)
        ));
    }
    let mut rejects_again = Vec::new();
    second.drain_rejects(&mut rejects_again);
    if rejects_again != rejects {
        return Err("reading again set aside different rejects".into());
    }

    let mut ids = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        match item {
            Item::Record(r) => {
                if r.id.source != *first.name() {
                    return Err(format!(
                        "record {} does not name its source `{}`",
                        r.id,
                        first.name()
                    ));
                }
                if !seen.insert(r.id.clone()) {
                    return Err(format!("record id {} comes out twice", r.id));
                }
                ids.push(r.id);
            }
            Item::Error(e) => errors.push(e),
        }
    }
    for r in &rejects {
        if r.position.line.is_none() && r.position.record.is_none() {
            return Err(format!("reject {} has no line or record number", r.id));
        }
    }
    Ok(Summary {
        records: ids.len(),
        ids,
        errors,
        rejects,
        fatal,
    })
}
