//! The merge log: what happened to which record and profile, with the evidence, and the
//! tombstones that replace erased records' ids in it.

use mergetag_model::{ProfileId, RecordId};
use serde::{Deserialize, Serialize};

use crate::dedup::Explanation;

/// A record as the merge log names it: by id, or by the tombstone of its erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordRef {
    /// A record that is, or was, in the index.
    Record(RecordId),
    /// A record erased on request: only the erasure's tombstone number is kept.
    Erased(u64),
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordRef::Record(id) => write!(f, "{id}"),
            RecordRef::Erased(t) => write!(f, "<erased #{t}>"),
        }
    }
}

/// Why a new record was linked (or refused a link) to an indexed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The indexed record it matched.
    pub with: RecordRef,
    /// The profile that record belonged to when the match was scored.
    pub profile: ProfileId,
    /// The rule that made the pair a candidate and a match: the blocking pass that found it,
    /// and the threshold the probability met.
    pub rule: String,
    /// Each field's level and weight.
    pub explanation: Explanation,
}

/// Why a profile split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitCause {
    /// A member record was removed.
    Removed,
    /// A member record was corrected and no longer links its neighbours.
    Corrected,
    /// A member record was erased on request.
    Erased,
}

/// One entry of the merge log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    /// The index was built from a batch.
    Built {
        /// Records indexed.
        records: usize,
        /// Profiles formed.
        profiles: usize,
    },
    /// A record started a new profile.
    Created {
        /// The new profile.
        profile: ProfileId,
        /// The record.
        record: RecordRef,
    },
    /// A record joined a profile.
    Attached {
        /// The profile.
        profile: ProfileId,
        /// The record.
        record: RecordRef,
        /// The match that decided it.
        evidence: Evidence,
    },
    /// A record bridged profiles into one.
    Merged {
        /// The surviving profile.
        profile: ProfileId,
        /// The profiles merged into it, now gone.
        absorbed: Vec<ProfileId>,
        /// The bridging record.
        record: RecordRef,
        /// The matches followed, strongest first.
        evidence: Vec<Evidence>,
    },
    /// The bridge guard refused a match, keeping two profiles apart.
    RefusedBridge {
        /// The profile the record joined.
        profile: ProfileId,
        /// The profile it was kept apart from.
        other: ProfileId,
        /// The record.
        record: RecordRef,
        /// The refused match.
        evidence: Evidence,
    },
    /// A record left a profile.
    Removed {
        /// The profile.
        profile: ProfileId,
        /// The record.
        record: RecordRef,
        /// Whether the profile is gone.
        emptied: bool,
    },
    /// A profile split because a record that held it together left.
    Split {
        /// The profile that split (it keeps its largest part).
        profile: ProfileId,
        /// The new profiles.
        into: Vec<ProfileId>,
        /// The record whose leaving split it.
        record: RecordRef,
        /// Why it left.
        cause: SplitCause,
    },
    /// Two records were linked as one person on an outside assertion (an alias call), their
    /// profiles merged whatever the model says.
    Linked {
        /// The surviving profile.
        profile: ProfileId,
        /// The profile merged into it, now gone (`None` when both were already one).
        absorbed: Option<ProfileId>,
        /// The two records.
        records: [RecordRef; 2],
        /// Who asserted it (`alias: previousId -> userId`).
        reason: String,
    },
    /// A person's records were erased on request.
    Erased {
        /// The erasure's tombstone number: log entries of the erased records now name it.
        tombstone: u64,
        /// Records erased from the index.
        records: usize,
        /// Records dropped from the pending batch.
        pending: usize,
    },
}

/// A numbered merge-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The entry's number, from 0, in the order things happened.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: LogEvent,
}

/// The result of an erasure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// The tombstone number that replaces the erased record ids in the merge log.
    pub tombstone: u64,
    /// Records removed from the index.
    pub records: usize,
    /// Records dropped from the pending batch.
    pub pending: usize,
    /// Profiles that lost members (and may have split or gone).
    pub profiles: Vec<ProfileId>,
}

/// Replaces erased record ids in one log event by the tombstone.
pub(super) fn redact_event(
    event: &mut LogEvent,
    erased: &std::collections::HashSet<&RecordId>,
    tombstone: u64,
) {
    let fix = |r: &mut RecordRef| {
        if let RecordRef::Record(id) = r
            && erased.contains(id)
        {
            *r = RecordRef::Erased(tombstone);
        }
    };
    match event {
        LogEvent::Built { .. } | LogEvent::Erased { .. } => {}
        LogEvent::Created { record, .. } | LogEvent::Removed { record, .. } => fix(record),
        LogEvent::Split { record, .. } => fix(record),
        LogEvent::Linked { records, .. } => records.iter_mut().for_each(fix),
        LogEvent::Attached {
            record, evidence, ..
        }
        | LogEvent::RefusedBridge {
            record, evidence, ..
        } => {
            fix(record);
            fix(&mut evidence.with);
        }
        LogEvent::Merged {
            record, evidence, ..
        } => {
            fix(record);
            for e in evidence {
                fix(&mut e.with);
            }
        }
    }
}
