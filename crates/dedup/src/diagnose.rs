//! Warnings about a run that can only find little or nothing: a compared field no record
//! has, EM that did not run or did not converge, thousands of records and no pair at all.
//! The pipeline's run report and the command line show them; nothing here stops a run.

use std::fmt;

use mergetag_model::{Record, Value};
use serde::{Deserialize, Serialize};

use crate::dedup::{DedupResult, Deduper};

/// From this many records on, finding no pair at all is suspicious.
pub const NO_PAIRS_WARNING_RECORDS: usize = 1000;

/// Something about a run that probably makes its result useless, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DedupWarning {
    /// No record has a value in a compared field: the comparison can tell nothing apart.
    FieldMissing {
        /// The field.
        field: String,
    },
    /// No random pair was drawn (`random_pairs = 0`), so how often non-matches agree (`u`) is
    /// a flat guess and the weights mean little.
    NoRandomPairs,
    /// EM ran no iteration (`em_iterations = 0`), so the weights are the starting guesses.
    EmDidNotRun,
    /// EM stopped at its iteration limit before its parameters settled.
    EmDidNotConverge {
        /// The iterations run.
        iterations: usize,
    },
    /// Many records and not a single pair above the threshold.
    NoPairs {
        /// The records deduplicated.
        records: usize,
    },
}

impl fmt::Display for DedupWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DedupWarning::FieldMissing { field } => write!(
                f,
                "no record has a value in the compared field `{field}`; check the column map or remove the comparison"
            ),
            DedupWarning::NoRandomPairs => f.write_str(
                "no random pairs were drawn (random_pairs = 0): how often different people agree is guessed, not measured; set random_pairs (default 1000000)",
            ),
            DedupWarning::EmDidNotRun => f.write_str(
                "EM did not run (em_iterations = 0): the match weights are untrained guesses; set em_iterations (default 25)",
            ),
            DedupWarning::EmDidNotConverge { iterations } => write!(
                f,
                "EM did not converge in {iterations} iterations: the match weights may be off; raise em_iterations"
            ),
            DedupWarning::NoPairs { records } => write!(
                f,
                "{records} records and no pair found: check the comparisons, the blocking passes and the threshold"
            ),
        }
    }
}

impl Deduper {
    /// The warnings about a run of this deduper on `records` that gave `result`, in a fixed
    /// order: missing fields (in comparison order), EM, pairs.
    ///
    /// ```
    /// use mergetag_dedup::{DedupConfig, DedupWarning, Deduper};
    /// use mergetag_model::{Record, RecordId, fields};
    ///
    /// let records: Vec<Record> = (0..3)
    ///     .map(|i| {
    ///         let mut r = Record::new(RecordId::row("crm", i));
    ///         r.set(fields::EMAIL, format!("user{i}@example.com"));
    ///         r
    ///     })
    ///     .collect();
    /// let deduper = DedupConfig::contacts().build()?;
    /// let result = deduper.run(&records);
    /// let warnings = deduper.diagnose(&records, &result);
    /// assert!(warnings.contains(&DedupWarning::FieldMissing { field: "first_name".into() }));
    /// # Ok::<(), mergetag_dedup::Error>(())
    /// ```
    pub fn diagnose(&self, records: &[Record], result: &DedupResult) -> Vec<DedupWarning> {
        let mut out = Vec::new();
        if !records.is_empty() {
            let mut seen: Vec<&str> = Vec::new();
            for c in &self.config().comparisons {
                if seen.contains(&c.field.as_str()) {
                    continue;
                }
                seen.push(&c.field);
                let present = records.iter().any(|r| {
                    r.get(c.field.as_str()).is_some_and(|v| {
                        !matches!(v, Value::Null) && !v.to_string().trim().is_empty()
                    })
                });
                if !present {
                    out.push(DedupWarning::FieldMissing {
                        field: c.field.clone(),
                    });
                }
            }
        }
        if self.config().random_pairs == 0 && records.len() > 1 {
            out.push(DedupWarning::NoRandomPairs);
        }
        if self.config().em_iterations == 0 {
            out.push(DedupWarning::EmDidNotRun);
        } else if result.model.iterations > 0 && !result.model.converged {
            out.push(DedupWarning::EmDidNotConverge {
                iterations: result.model.iterations,
            });
        }
        if records.len() >= NO_PAIRS_WARNING_RECORDS && result.matches.is_empty() {
            out.push(DedupWarning::NoPairs {
                records: records.len(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DedupConfig;
    use mergetag_model::{RecordId, fields};

    fn people(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let mut r = Record::new(RecordId::row("crm", i as u64 + 1));
                r.set(fields::FIRST_NAME, format!("Name{i}"));
                r.set(fields::LAST_NAME, format!("Family{}", i * 7919 % 1000));
                r.set(fields::EMAIL, format!("person{i}@example.com"));
                r
            })
            .collect()
    }

    #[test]
    fn em_that_did_not_run_and_missing_fields_are_reported() {
        let mut config = DedupConfig::contacts();
        config.em_iterations = 0;
        let deduper = config.build().unwrap();
        let records = people(20);
        let result = deduper.run(&records);
        let w = deduper.diagnose(&records, &result);
        assert!(w.contains(&DedupWarning::EmDidNotRun), "{w:?}");
        assert!(
            w.contains(&DedupWarning::FieldMissing {
                field: fields::PHONE.into()
            }),
            "{w:?}"
        );
        assert!(
            !w.iter()
                .any(|x| matches!(x, DedupWarning::FieldMissing { field } if field == "email"))
        );
        assert!(w.iter().all(|x| !x.to_string().is_empty()));
    }

    #[test]
    fn no_random_pairs_is_reported() {
        let mut config = DedupConfig::contacts();
        config.random_pairs = 0;
        let deduper = config.build().unwrap();
        let records = people(10);
        let result = deduper.run(&records);
        assert!(
            deduper
                .diagnose(&records, &result)
                .contains(&DedupWarning::NoRandomPairs)
        );
    }

    #[test]
    fn thousands_of_distinct_records_and_no_pair() {
        let deduper = DedupConfig::contacts().build().unwrap();
        let records = people(NO_PAIRS_WARNING_RECORDS);
        let result = deduper.run(&records);
        assert!(result.matches.is_empty());
        let w = deduper.diagnose(&records, &result);
        assert!(
            w.contains(&DedupWarning::NoPairs {
                records: NO_PAIRS_WARNING_RECORDS
            }),
            "{w:?}"
        );
    }
}
