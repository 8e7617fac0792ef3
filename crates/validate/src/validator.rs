//! [`Validator`]: rules over a stream of records, with counts, quarantine and audit.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use mergetag_model::{Position, Record, RecordId, Reject, Source};
use serde::{Deserialize, Serialize};

use crate::audit::{Audit, AuditBuilder};
use crate::quarantine::reject_finding;
use crate::{QuarantineWriter, Report, Result, Rule, Severity};

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No finding at all.
    Accepted,
    /// Accepted, with warnings or infos.
    Flagged,
    /// At least one error: the record goes to quarantine.
    Quarantined,
}

impl Verdict {
    /// Whether the record goes on ([`Verdict::Accepted`] or [`Verdict::Flagged`]).
    pub fn is_accepted(self) -> bool {
        self != Verdict::Quarantined
    }

    fn of(report: &Report) -> Verdict {
        match report.severity() {
            None => Verdict::Accepted,
            Some(Severity::Error) => Verdict::Quarantined,
            Some(_) => Verdict::Flagged,
        }
    }
}

/// The counts of a run. They always add up: `read == records + rejects` and
/// `read == accepted + quarantined` ([`Stats::adds_up`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Rows read: records and source rejects.
    pub read: u64,
    /// Records checked.
    pub records: u64,
    /// Rows the source could not read (each quarantined).
    pub rejects: u64,
    /// Records accepted, flagged ones included.
    pub accepted: u64,
    /// Records accepted with warnings or infos.
    pub flagged: u64,
    /// Records and rejects quarantined.
    pub quarantined: u64,
    /// Findings by code, rejects under `source.<code>`.
    pub by_code: BTreeMap<String, u64>,
}

impl Stats {
    /// Whether the counts add up (they always should).
    pub fn adds_up(&self) -> bool {
        self.read == self.records + self.rejects
            && self.read == self.accepted + self.quarantined
            && self.flagged <= self.accepted
    }
}

impl fmt::Display for Stats {
    /// `read 100: 97 accepted (3 flagged), 3 quarantined (1 unreadable)`, then the findings
    /// by code, one a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "read {}: {} accepted ({} flagged), {} quarantined ({} unreadable)",
            self.read, self.accepted, self.flagged, self.quarantined, self.rejects
        )?;
        for (code, n) in &self.by_code {
            write!(f, "\n  {code}: {n}")?;
        }
        Ok(())
    }
}

/// Builds a [`Validator`]; see [`Validator::builder`].
#[derive(Debug, Clone)]
pub struct ValidatorBuilder {
    audit: bool,
}

impl Default for ValidatorBuilder {
    fn default() -> Self {
        ValidatorBuilder { audit: true }
    }
}

impl ValidatorBuilder {
    /// Whether to collect the [`Audit`] (default `true`). Without it a run is faster and
    /// holds no per-value memory.
    pub fn audit(&mut self, yes: bool) -> &mut Self {
        self.audit = yes;
        self
    }

    /// The validator for `rules`. The builder can be used again.
    pub fn build(&self, rules: impl Rule + 'static) -> Validator {
        let rules: Box<dyn Rule> = Box::new(rules);
        let audit = self.audit.then(|| {
            let mut a = AuditBuilder::default();
            a.declare(&rules.fields());
            a
        });
        Validator {
            rules,
            stats: Stats::default(),
            audit,
        }
    }
}

/// Checks records against a rule (usually a [`RuleSet`](crate::RuleSet)), decides which go on
/// and which go to quarantine, and keeps the [`Stats`] and the [`Audit`] of the run.
///
/// Deterministic: the same records in the same order give the same verdicts, counts, audit
/// and quarantine bytes.
///
/// ```
/// use mergetag_validate::{QuarantineWriter, RuleSet, Validator, Verdict};
/// use mergetag_validate::model::{IterSource, Record, RecordId};
///
/// let rules = RuleSet::from_toml_str(r#"
///     as_of = "2026-03-01"
///     [fields.email]
///     required = true
///     email = true
/// "#)?;
/// let records = ["ada@example.org", "bob@@example.org", "info@example.org"].map(|e| {
///     let mut r = Record::new(RecordId::id("crm", e));
///     r.set("email", e);
///     Ok::<_, std::convert::Infallible>(r)
/// });
///
/// let mut validator = Validator::new(rules);
/// let mut quarantine = QuarantineWriter::new(Vec::new());
/// let mut accepted = Vec::new();
/// validator.run(&mut IterSource::new("crm", records.into_iter()), &mut quarantine, |r, _| {
///     accepted.push(r.id.clone())
/// })?;
///
/// let stats = validator.stats();
/// assert_eq!((stats.read, stats.accepted, stats.flagged, stats.quarantined), (3, 2, 1, 1));
/// assert!(stats.adds_up());
/// assert_eq!(stats.by_code["invalid_email.multiple_at"], 1);
/// assert_eq!(quarantine.written(), 1);
/// let audit = validator.audit().unwrap();
/// assert_eq!(audit.fields["email"].validity, Some(2.0 / 3.0));
/// # Ok::<(), mergetag_validate::Error>(())
/// ```
pub struct Validator {
    rules: Box<dyn Rule>,
    stats: Stats,
    audit: Option<AuditBuilder>,
}

impl Validator {
    /// A validator for `rules`, with the audit on.
    pub fn new(rules: impl Rule + 'static) -> Validator {
        ValidatorBuilder::default().build(rules)
    }

    /// A builder for other options.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// Checks one record: clears `report`, fills it with every finding, counts the record and
    /// adds it to the audit. Writing the record to quarantine is the caller's job (see
    /// [`Validator::run`] for a loop that does it).
    pub fn check(&mut self, record: &Record, report: &mut Report) -> Verdict {
        report.clear();
        self.rules.check(record, report);
        let verdict = Verdict::of(report);
        let s = &mut self.stats;
        s.read += 1;
        s.records += 1;
        match verdict {
            Verdict::Accepted => s.accepted += 1,
            Verdict::Flagged => {
                s.accepted += 1;
                s.flagged += 1;
            }
            Verdict::Quarantined => s.quarantined += 1,
        }
        for finding in report.iter() {
            count(&mut s.by_code, &finding.code);
        }
        if let Some(audit) = &mut self.audit {
            audit.add(record, report);
        }
        verdict
    }

    /// Counts a row its source could not read as read and quarantined. Writing it to
    /// quarantine is the caller's job.
    pub fn count_reject(&mut self, reject: &Reject) {
        let s = &mut self.stats;
        s.read += 1;
        s.rejects += 1;
        s.quarantined += 1;
        count(&mut s.by_code, &reject_finding(reject).code);
    }

    /// Reads `source` to the end: accepted records go to `accepted` with their report (warnings
    /// included); records with errors, rows the source set aside, and rows it reported as
    /// recoverable errors go to `quarantine`. Rows are numbered from 1 in the order read
    /// (records and rejects alike), and a quarantined record's position is its number.
    ///
    /// # Errors
    ///
    /// [`Error::Source`](crate::Error::Source) for an error after which the source cannot go
    /// on, and [`Error::Write`](crate::Error::Write) when the quarantine cannot be written;
    /// the counts include every row read before the error.
    pub fn run<S, W, F>(
        &mut self,
        source: &mut S,
        quarantine: &mut QuarantineWriter<W>,
        mut accepted: F,
    ) -> Result<()>
    where
        S: Source + ?Sized,
        W: Write,
        F: FnMut(&Record, &Report),
    {
        let mut record = Record::default();
        let mut report = Report::new();
        let mut rejects = Vec::new();
        let mut row = 0u64;
        loop {
            let read = source.read_record(&mut record);
            // Rows set aside while reading came before the record returned.
            source.drain_rejects(&mut rejects);
            for reject in rejects.drain(..) {
                row += 1;
                self.count_reject(&reject);
                quarantine.write_reject(&reject)?;
            }
            match read {
                Ok(false) => return Ok(()),
                Ok(true) => {
                    row += 1;
                    if self.check(&record, &mut report).is_accepted() {
                        accepted(&record, &report);
                    } else {
                        quarantine.write_record(&record, Some(Position::record(row)), &report)?;
                    }
                }
                Err(e) if e.is_recoverable() => {
                    row += 1;
                    let position = e.position();
                    let reject = Reject {
                        id: RecordId::row(e.source_name().clone(), position.record.unwrap_or(row)),
                        position,
                        field: e.field().cloned(),
                        error: e.kind().clone(),
                        raw: String::new(),
                    };
                    self.count_reject(&reject);
                    quarantine.write_reject(&reject)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The audit so far, or `None` when it was turned off.
    pub fn audit(&self) -> Option<Audit> {
        self.audit.as_ref().map(AuditBuilder::build)
    }

    /// Starts a new run: clears the counts and the audit, and resets the rules.
    pub fn reset(&mut self) {
        self.stats = Stats::default();
        if let Some(a) = &mut self.audit {
            *a = AuditBuilder::default();
            a.declare(&self.rules.fields());
        }
        self.rules.reset();
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("fields", &self.rules.fields())
            .field("stats", &self.stats)
            .field("audit", &self.audit.is_some())
            .finish()
    }
}

fn count(map: &mut BTreeMap<String, u64>, code: &str) {
    match map.get_mut(code) {
        Some(n) => *n += 1,
        None => {
            map.insert(code.to_owned(), 1);
        }
    }
}
