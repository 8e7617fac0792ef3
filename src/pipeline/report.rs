//! The run report: counts per stage that add up, quarantine reasons, timings.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use mergetag_mapping::VariableCoverage;
use mergetag_normalize::Tally;
use serde::Serialize;

/// What one run did, stage by stage. Serializes to JSON; [`fmt::Display`] prints a readable
/// summary.
///
/// The counts add up ([`RunReport::adds_up`]): for each source, `read == rejected +
/// quarantined + accepted`; over all sources, `records_in == accepted + quarantined`; the
/// quarantine reasons sum to `quarantined`; the profiles' members sum to `accepted`; every
/// event is accepted or quarantined; every output's recipients are exported or excluded.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// Rows read from every record source (records and unreadable rows).
    pub records_in: u64,
    /// Records accepted: they are in exactly one profile.
    pub accepted: u64,
    /// Rows quarantined: unreadable rows, records that failed validation or a stage of yours.
    pub quarantined: u64,
    /// Per source, in the order read.
    pub sources: Vec<SourceReport>,
    /// Quarantined rows by reason (one reason per row: its first error's code; unreadable rows
    /// as `source.<code>`, your stages as `stage.<name>`).
    pub quarantined_by_reason: BTreeMap<String, u64>,
    /// Normalization changes and flags by field and kind, when normalization ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Tally>,
    /// What deduplication did, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupReport>,
    /// The golden profiles.
    pub profiles: ProfilesReport,
    /// The events, when there were event sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsReport>,
    /// One per output, in the order configured.
    pub outputs: Vec<OutputReport>,
    /// Per variable of the mapping document: how many profiles get a value, the fallback, or
    /// nothing (empty without a mapping).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub coverage: BTreeMap<String, VariableCoverage>,
    /// Time spent per stage, in the order first met.
    pub timings: Vec<StageTime>,
    /// What probably went wrong without stopping the run (a source that yielded nothing, a
    /// deduplication that could find nothing), in the order met. The command line prints them
    /// on stderr.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RunWarning>,
    /// What the profile stages said about their work ([`ProfileStage::report`]), in the
    /// order they ran; stages that said nothing are left out. The predict stage says where
    /// its model came from, the saved model's training window and the drift verdict.
    ///
    /// [`ProfileStage::report`]: super::ProfileStage::report
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageReport>,
}

/// What a [`ProfileStage`](super::ProfileStage) says about its last run for the run report:
/// facts by name, and warnings (which the run adds to [`RunReport::warnings`]).
///
/// ```
/// use mergetag::pipeline::{RunWarning, StageReport};
///
/// let r = StageReport::default()
///     .fact("model", "saved")
///     .warning(RunWarning::new("profile_stage.predict", "model_drift", "retrain the model"));
/// assert_eq!(r.facts["model"], "saved");
/// assert_eq!(r.warnings.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's name (set by the run).
    pub stage: String,
    /// What the stage says, by name (e.g. `model_file`, `drift_verdict`).
    pub facts: BTreeMap<String, String>,
    /// What probably went wrong without stopping the stage (moved to
    /// [`RunReport::warnings`] by the run).
    #[serde(skip)]
    pub warnings: Vec<RunWarning>,
}

impl StageReport {
    /// Adds the fact `name` = `value` (replacing an earlier one).
    pub fn fact(mut self, name: impl Into<String>, value: impl Into<String>) -> StageReport {
        self.facts.insert(name.into(), value.into());
        self
    }

    /// Adds a warning.
    pub fn warning(mut self, warning: RunWarning) -> StageReport {
        self.warnings.push(warning);
        self
    }

    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.warnings.is_empty()
    }
}

/// A warning of a run: where, a stable code, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunWarning {
    /// The step (`read`, `events`, `dedup`) and, for a source, its name: `read.hubspot`.
    pub at: String,
    /// A stable code: `empty_source`, `field_missing`, `no_random_pairs`, `em_did_not_run`,
    /// `em_did_not_converge`, `no_pairs`.
    pub code: String,
    /// What happened and how to fix it; never a personal value.
    pub message: String,
}

impl RunWarning {
    /// A warning at `at` with `code` and `message`.
    pub fn new(
        at: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> RunWarning {
        RunWarning {
            at: at.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RunWarning {
    /// `at: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// What one record source gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SourceReport {
    /// The source's name.
    pub name: String,
    /// `dedup` or `join`.
    pub role: String,
    /// Rows read: `rejected + quarantined + accepted`.
    pub read: u64,
    /// Rows the source could not read (quarantined).
    pub rejected: u64,
    /// Records quarantined by validation or a stage of yours.
    pub quarantined: u64,
    /// Records accepted.
    pub accepted: u64,
    /// The source's own counters ([`Source::counters`](mergetag_model::Source::counters)):
    /// for an API source, `requests`, `retries` (with `rate_limited`, `server_errors`,
    /// `transport_errors`, `bad_bodies`), `backoff_wait_ms`, `throttle_wait_ms`. Empty for
    /// files.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
}

/// What deduplication did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DedupReport {
    /// Records deduplicated.
    pub records: u64,
    /// Candidate pairs blocking produced.
    pub candidate_pairs: u64,
    /// Pairs at or above the threshold.
    pub matches: u64,
    /// Clusters (people) found among the deduplicated records.
    pub clusters: u64,
    /// Matches not followed to avoid chaining two people together.
    pub refused_bridges: u64,
    /// Blocks skipped for their size.
    pub oversized_blocks: u64,
    /// Records of join sources that joined a cluster.
    pub joined: u64,
}

/// The golden profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProfilesReport {
    /// Profiles made.
    pub profiles: u64,
    /// Their member records, summed (equal to the accepted records).
    pub members: u64,
    /// Profiles of more than one record.
    pub merged: u64,
    /// Records of join sources that joined a profile of other records.
    pub joined: u64,
    /// Profiles suppressed for email (opted out, bounced or without consent).
    pub suppressed_email: u64,
}

/// The events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EventsReport {
    /// Lines read: `accepted + quarantined`.
    pub read: u64,
    /// Events read.
    pub accepted: u64,
    /// Lines that were not events (quarantined).
    pub quarantined: u64,
    /// Quarantined lines by reason.
    pub quarantined_by_reason: BTreeMap<String, u64>,
    /// Events attributed to a profile (when traits ran).
    pub attributed: u64,
    /// Events attributed to no profile (anonymous visitors never identified).
    pub unattributed: u64,
    /// Profiles with at least one event.
    pub profiles_with_events: u64,
    /// "Now" for traits and engagement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
}

/// One platform's audience.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutputReport {
    /// The platform (`sendgrid`, `mailchimp`, `braze`, `klaviyo`, `jsonl`).
    pub platform: String,
    /// Profiles considered: `exported + sum(excluded)`.
    pub recipients: u64,
    /// Recipients written.
    pub exported: u64,
    /// Recipients left out as suppressed (opt-out, bounce, no consent, suppressed address).
    pub suppressed: u64,
    /// Recipients left out, by reason (`no_address` included).
    pub excluded: BTreeMap<String, u64>,
    /// Variables in the mapping document.
    pub variables: u64,
    /// Variable values written (`exported * variables`, less values the platform would refuse).
    pub values_emitted: u64,
    /// Values left out because the platform would refuse them.
    pub rejected_values: u64,
    /// Request bodies (or lines, for JSON Lines).
    pub payloads: u64,
}

/// Time spent in one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    /// The stage: `read`, `normalize`, `validate`, `stage.<name>`, `events`, `dedup`,
    /// `profiles`, `traits`, `mapping`, `export.<platform>`.
    pub stage: String,
    /// Milliseconds.
    pub millis: f64,
}

impl RunReport {
    /// Why the counts do not add up, one sentence per problem; empty when they do.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sources {
            if s.read != s.rejected + s.quarantined + s.accepted {
                out.push(format!(
                    "source {}: read {} != rejected {} + quarantined {} + accepted {}",
                    s.name, s.read, s.rejected, s.quarantined, s.accepted
                ));
            }
        }
        let sum = |f: fn(&SourceReport) -> u64| self.sources.iter().map(f).sum::<u64>();
        if self.records_in != sum(|s| s.read) {
            out.push("records_in is not the sum of the sources' rows".into());
        }
        if self.accepted != sum(|s| s.accepted) {
            out.push("accepted is not the sum of the sources' accepted records".into());
        }
        if self.quarantined != sum(|s| s.rejected + s.quarantined) {
            out.push("quarantined is not the sum of the sources' quarantined rows".into());
        }
        if self.records_in != self.accepted + self.quarantined {
            out.push(format!(
                "records in {} != accepted {} + quarantined {}",
                self.records_in, self.accepted, self.quarantined
            ));
        }
        if self.quarantined_by_reason.values().sum::<u64>() != self.quarantined {
            out.push("the quarantine reasons do not sum to the quarantined rows".into());
        }
        if self.profiles.members != self.accepted {
            out.push(format!(
                "profile members {} != accepted {}",
                self.profiles.members, self.accepted
            ));
        }
        if let Some(e) = &self.events {
            if e.read != e.accepted + e.quarantined {
                out.push("events read != accepted + quarantined".into());
            }
            if e.quarantined_by_reason.values().sum::<u64>() != e.quarantined {
                out.push("the event quarantine reasons do not sum".into());
            }
        }
        for o in &self.outputs {
            if o.recipients != o.exported + o.excluded.values().sum::<u64>() {
                out.push(format!("{}: recipients != exported + excluded", o.platform));
            }
            if o.recipients != self.profiles.profiles {
                out.push(format!("{}: recipients != profiles", o.platform));
            }
        }
        out
    }

    /// Whether every count adds up ([`RunReport::problems`] is empty).
    pub fn adds_up(&self) -> bool {
        self.problems().is_empty()
    }

    /// Rows in quarantine: records and unreadable rows of the sources, and unreadable event
    /// lines (the length of [`RunOutput::quarantine`](super::RunOutput::quarantine)).
    pub fn quarantine_entries(&self) -> u64 {
        self.quarantined + self.events.as_ref().map_or(0, |e| e.quarantined)
    }
}

impl fmt::Display for RunReport {
    /// A summary: the sources table, quarantine reasons, normalization, dedup, profiles,
    /// events, outputs and timings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if !self.warnings.is_empty() {
            writeln!(f)?;
        }
        writeln!(
            f,
            "{:<16} {:>6} {:>8} {:>9} {:>12} {:>9}",
            "source", "role", "rows in", "rejected", "quarantined", "accepted"
        )?;
        for s in &self.sources {
            writeln!(
                f,
                "{:<16} {:>6} {:>8} {:>9} {:>12} {:>9}",
                s.name, s.role, s.read, s.rejected, s.quarantined, s.accepted
            )?;
        }
        writeln!(
            f,
            "{:<16} {:>6} {:>8} {:>9} {:>12} {:>9}",
            "total",
            "",
            self.records_in,
            self.sources.iter().map(|s| s.rejected).sum::<u64>(),
            self.sources.iter().map(|s| s.quarantined).sum::<u64>(),
            self.accepted
        )?;
        if !self.quarantined_by_reason.is_empty() {
            writeln!(f, "\nquarantined by reason:")?;
            for (reason, n) in &self.quarantined_by_reason {
                writeln!(f, "  {reason:<40} {n:>6}")?;
            }
        }
        if let Some(t) = &self.normalization {
            writeln!(
                f,
                "\nnormalization: {} records, {} values changed, {} invalid, {} ambiguous",
                t.records,
                t.total("changed"),
                t.total("invalid"),
                t.total("ambiguous")
            )?;
            for (field, kinds) in &t.by_field {
                let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
                writeln!(f, "  {field:<24} {}", kinds.join(", "))?;
            }
        }
        if let Some(d) = &self.dedup {
            writeln!(
                f,
                "\ndedup: {} records -> {} clusters ({} matches among {} candidate pairs, {} refused bridges, {} oversized blocks)",
                d.records,
                d.clusters,
                d.matches,
                d.candidate_pairs,
                d.refused_bridges,
                d.oversized_blocks
            )?;
        }
        let p = &self.profiles;
        writeln!(
            f,
            "\nprofiles: {} ({} merged from several records, {} records joined), {} suppressed for email",
            p.profiles, p.merged, p.joined, p.suppressed_email
        )?;
        if let Some(e) = &self.events {
            writeln!(
                f,
                "events: {} read ({} accepted, {} quarantined), {} attributed to {} profiles, {} unattributed",
                e.read,
                e.accepted,
                e.quarantined,
                e.attributed,
                e.profiles_with_events,
                e.unattributed
            )?;
        }
        if !self.outputs.is_empty() {
            writeln!(
                f,
                "\n{:<10} {:>10} {:>9} {:>9} {:>11} {:>10} {:>9}",
                "output",
                "recipients",
                "exported",
                "left out",
                "suppressed",
                "variables",
                "payloads"
            )?;
            for o in &self.outputs {
                writeln!(
                    f,
                    "{:<10} {:>10} {:>9} {:>9} {:>11} {:>10} {:>9}",
                    o.platform,
                    o.recipients,
                    o.exported,
                    o.recipients.saturating_sub(o.exported),
                    o.suppressed,
                    o.values_emitted,
                    o.payloads
                )?;
            }
            // Why recipients were left out, over all outputs (each output lists its own in
            // the JSON report).
            let mut why: BTreeMap<&str, u64> = BTreeMap::new();
            for o in &self.outputs {
                for (k, n) in &o.excluded {
                    let e = why.entry(k.as_str()).or_default();
                    *e = (*e).max(*n);
                }
            }
            if !why.is_empty() {
                let parts: Vec<String> = why.iter().map(|(k, n)| format!("{k} {n}")).collect();
                writeln!(f, "left out (most in one output): {}", parts.join(", "))?;
            }
        }
        for st in self.stages.iter().filter(|st| !st.facts.is_empty()) {
            let parts: Vec<String> = st.facts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(f, "\n{}: {}", st.stage, parts.join(", "))?;
        }
        if !self.timings.is_empty() {
            let parts: Vec<String> = self
                .timings
                .iter()
                .map(|t| format!("{} {:.1} ms", t.stage, t.millis))
                .collect();
            writeln!(f, "\ntime: {}", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> RunReport {
        RunReport {
            records_in: 10,
            accepted: 8,
            quarantined: 2,
            sources: vec![SourceReport {
                name: "crm".into(),
                role: "dedup".into(),
                read: 10,
                rejected: 1,
                quarantined: 1,
                accepted: 8,
                counters: BTreeMap::new(),
            }],
            quarantined_by_reason: [
                ("source.ragged_row".to_owned(), 1),
                ("required".to_owned(), 1),
            ]
            .into_iter()
            .collect(),
            profiles: ProfilesReport {
                profiles: 6,
                members: 8,
                ..ProfilesReport::default()
            },
            ..RunReport::default()
        }
    }

    #[test]
    fn a_consistent_report_adds_up() {
        let r = report();
        assert!(r.adds_up(), "{:?}", r.problems());
        assert_eq!(r.quarantine_entries(), 2);
        let text = r.to_string();
        assert!(text.contains("crm"), "{text}");
        assert!(text.contains("source.ragged_row"), "{text}");
    }

    #[test]
    fn every_broken_count_is_reported() {
        let mut r = report();
        r.profiles.members = 7;
        r.sources[0].accepted = 9;
        r.quarantined_by_reason.clear();
        let problems = r.problems();
        assert!(
            problems.iter().any(|p| p.contains("profile members 7")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("source crm")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("reasons")),
            "{problems:?}"
        );
        r = report();
        r.outputs.push(OutputReport {
            platform: "sendgrid".into(),
            recipients: 6,
            exported: 5,
            ..OutputReport::default()
        });
        assert!(!r.adds_up());
    }
}
