//! Incremental matching with stable profile ids: an index of existing profiles that new
//! records are matched against one at a time, with a merge log, splits, erasure, and a
//! versioned file format.
//!
//! ```
//! use mergetag_dedup::index::{Action, MatchIndex};
//! use mergetag_dedup::{DedupConfig, Deduper};
//! use mergetag_model::{fields, Record, RecordId};
//!
//! let person = |id: &str, first: &str, last: &str, email: &str| {
//!     let mut r = Record::new(RecordId::id("crm", id));
//!     r.set(fields::FIRST_NAME, first);
//!     r.set(fields::LAST_NAME, last);
//!     r.set(fields::EMAIL, email);
//!     r
//! };
//! let existing = vec![
//!     person("1", "Robert", "Smith", "bob.smith@gmail.com"),
//!     person("2", "Bob", "Smith", "BobSmith+news@gmail.com"),
//!     person("3", "Alice", "Jones", "alice@example.com"),
//! ];
//! // Train once on the existing records (or load a reviewed model), then index them.
//! let deduper = Deduper::new(DedupConfig::contacts())?;
//! let model = deduper.run(&existing).model;
//! let mut index = MatchIndex::build(&deduper, &model, existing)?;
//! assert_eq!(index.profile_count(), 2);
//!
//! // A new sign-up joins Robert's profile, with the evidence; its id does not change.
//! let robert = index.profile_of(&RecordId::id("crm", "1")).unwrap();
//! let outcome = index.add(person("4", "Rob", "Smith", "bob.smith@gmail.com"));
//! assert_eq!(outcome.action, Action::Attached);
//! assert_eq!(outcome.profile, robert);
//! assert!(outcome.evidence[0].explanation.probability > 0.9);
//!
//! // A stranger gets a new profile.
//! let outcome = index.add(person("5", "Carol", "White", "carol@example.org"));
//! assert_eq!(outcome.action, Action::Created);
//! assert_eq!(index.profile_count(), 3);
//! # Ok::<(), mergetag_dedup::Error>(())
//! ```
//!
//! How it decides: a new record is folded and keyed as in a batch run, compared with every
//! indexed record that shares a blocking key (blocks larger than `max_block_size` are skipped,
//! as in a batch run), and scored with the trained model, its `prior` used as given. Matches
//! are followed strongest first: the first one attaches the record to that profile; each
//! further one to another profile merges that profile in (the oldest profile id survives),
//! unless the bridge guard refuses it (see [`DedupConfig::guard_bridges`]).
//!
//! With key-based blocking, no term-frequency adjustment and the guard off, the clusters equal
//! those of a batch run ([`Deduper::run_with_fixed_model`]) on the same records, whatever their
//! arrival order. Term-frequency adjusted comparisons use the frequencies in the index at the
//! moment a record arrives, and the guard judges each arrival's links as they come, so with
//! either on an arrival order can matter at the margin.
//!
//! # File format, version 1
//!
//! [`MatchIndex::save`] writes one header line and a JSON body:
//!
//! ```text
//! mergetag-index 1 <body length in bytes> <FNV-1a 64 of the body, 16 hex digits>\n
//! {"config": ..., "model": ..., "next_profile": ..., "records": [...], "links": [...], ...}
//! ```
//!
//! The body holds the configuration, the model, each live record with its profile id, the
//! scored pairs between them (by position in `records`), the merge log and the pending batch.
//! Blocking keys and folded columns are not stored; loading recomputes them. A file that is
//! truncated, altered, or of another version is an [`Error::Corrupt`], never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};

use mergetag_model::{Profile, ProfileId, Record, RecordId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::{Edge, cluster, refuse_bridge};
use crate::config::{BlockingPass, ComparisonConfig, DedupConfig, KeyPart};
use crate::dedup::{
    Deduper, Explanation, FieldEvidence, Tables, TrainedModel, level_name, level_of, probability,
};
use crate::error::{Error, Result};
use crate::packed::Packed;
use crate::prepare::{
    PassKeys, Prepared, Scratch, append_extracted, column_specs, empty_extracted, extract,
    extract_record, pass_specs, per_comparison,
};
use crate::survivorship::{self, SurvivorshipConfig};

/// The file format version [`MatchIndex::save`] writes and [`MatchIndex::load`] reads.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: &str = "mergetag-index";

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

/// What adding a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// No match: the record starts a new profile.
    Created,
    /// It matched one profile and joined it.
    Attached,
    /// It matched several profiles and bridged them into one (the oldest id survives).
    Merged,
}

/// The result of [`MatchIndex::add`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The record.
    pub record: RecordId,
    /// The profile it belongs to now.
    pub profile: ProfileId,
    /// What happened.
    pub action: Action,
    /// Profiles merged into `profile` (empty unless `action` is `Merged`).
    pub absorbed: Vec<ProfileId>,
    /// The matches followed, strongest first.
    pub evidence: Vec<Evidence>,
    /// Matches the bridge guard refused to follow (the profiles stay apart).
    pub refused: Vec<Evidence>,
    /// When the record replaced an earlier version of itself (a correction): what taking the
    /// old version out did.
    pub corrected: Option<Removal>,
}

/// The result of taking a record out of the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Removal {
    /// The profile it belonged to.
    pub profile: ProfileId,
    /// Profiles split off from it because the record held them together (new ids; the part
    /// with the most records keeps `profile`).
    pub split_into: Vec<ProfileId>,
    /// Whether the profile is gone (the record was its last member).
    pub emptied: bool,
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

/// A record similar enough to be a candidate, as [`MatchIndex::find`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The indexed record.
    pub record: RecordId,
    /// Its profile.
    pub profile: ProfileId,
    /// The match weight.
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
    /// Whether the probability meets the threshold.
    pub matched: bool,
}

/// One scored pair kept for splits and the bridge guard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Link {
    to: u32,
    weight: f32,
    matched: bool,
}

/// The slots sharing each key of one hashed blocking slot: a sorted array for the records
/// indexed in bulk (compact: 12 bytes a record) and a map for those added one at a time.
///
/// Keys are hashes, so their top bits are uniform: `directory[t]` is where keys with top 16
/// bits `t` start in `sorted`, and a lookup binary-searches only that bucket (a few entries
/// at a million records) instead of the whole array, which at a million records was about 20
/// cache misses a key.
#[derive(Debug, Default)]
struct Blocks {
    sorted: Vec<(u64, u32)>,
    directory: Vec<u32>,
    added: HashMap<u64, Vec<u32>>,
}

const DIRECTORY_BITS: u32 = 16;

impl Blocks {
    /// The blocks of every hashed key slot, from each record's keys (record `i` is slot `i`).
    fn from_keys(keys: Vec<PassKeys>) -> Vec<Blocks> {
        let hashed: Vec<Vec<u64>> = keys.into_iter().flat_map(|k| k.hashed).collect();
        hashed
            .par_iter()
            .map(|keys| {
                let mut sorted: Vec<(u64, u32)> = keys
                    .iter()
                    .enumerate()
                    .filter(|&(_, &k)| k != 0)
                    .map(|(i, &k)| (k, i as u32))
                    .collect();
                sorted.par_sort_unstable();
                Blocks::from_sorted(sorted)
            })
            .collect()
    }

    fn from_sorted(sorted: Vec<(u64, u32)>) -> Blocks {
        let buckets = 1usize << DIRECTORY_BITS;
        let mut directory = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for t in 0..=buckets {
            while at < sorted.len() && ((sorted[at].0 >> (64 - DIRECTORY_BITS)) as usize) < t {
                at += 1;
            }
            directory.push(at as u32);
        }
        Blocks {
            sorted,
            directory,
            added: HashMap::new(),
        }
    }

    fn bulk(&self, key: u64) -> &[(u64, u32)] {
        let t = (key >> (64 - DIRECTORY_BITS)) as usize;
        let (lo, hi) = match (self.directory.get(t), self.directory.get(t + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, self.sorted.len()),
        };
        let bucket = self.sorted.get(lo..hi).unwrap_or(&[]);
        let start = bucket.partition_point(|&(k, _)| k < key);
        let end = start + bucket[start..].partition_point(|&(k, _)| k == key);
        &bucket[start..end]
    }

    fn for_each(&self, key: u64, mut f: impl FnMut(u32)) {
        for &(_, s) in self.bulk(key) {
            f(s);
        }
        if let Some(v) = self.added.get(&key) {
            for &s in v {
                f(s);
            }
        }
    }

    fn remove(&mut self, key: u64, slot: u32) {
        if let Some(v) = self.added.get_mut(&key) {
            v.retain(|&s| s != slot);
            if v.is_empty() {
                self.added.remove(&key);
            }
        }
        // Bulk entries stay (removing one would shift the directory); a removed slot is
        // skipped at lookup because it is no longer live.
    }
}

/// How often each folded value occurs, for term-frequency adjusted comparisons.
#[derive(Debug, Default)]
struct TermCounts {
    counts: HashMap<Box<str>, u32>,
    total: u32,
}

impl TermCounts {
    fn add(&mut self, v: &str) {
        if !v.is_empty() {
            *self.counts.entry(v.into()).or_default() += 1;
            self.total += 1;
        }
    }

    fn remove(&mut self, v: &str) {
        if let Some(c) = self.counts.get_mut(v) {
            *c -= 1;
            self.total = self.total.saturating_sub(1);
            if *c == 0 {
                self.counts.remove(v);
            }
        }
    }

    /// The frequency of `v`, counting `extra` more occurrences of it (a record about to be
    /// added), computed as a batch run computes it.
    fn frequency(&self, v: &str, extra: u32) -> f32 {
        let total = self.total + extra;
        if v.is_empty() || total == 0 {
            return 0.0;
        }
        (self.counts.get(v).copied().unwrap_or(0) + extra) as f32 / total as f32
    }
}

/// One hashed blocking slot: a plain pass, or one band of a MinHash pass.
#[derive(Debug, Clone, Copy)]
struct KeySlot {
    pass: usize,
}

/// A probe: one record folded for comparison, with its blocking keys.
struct Probe {
    prepared: Vec<Prepared>,
    keys: Vec<u64>,
}

/// An index of matched records and their profiles; see the [module docs](self).
#[derive(Debug)]
pub struct MatchIndex {
    config: DedupConfig,
    model: TrainedModel,
    tables: Tables,
    key_slots: Vec<KeySlot>,
    /// Per comparison, every slot's folded values.
    store: Vec<Prepared>,
    blocks: Vec<Blocks>,
    terms: Vec<Option<TermCounts>>,
    /// Per slot: the record's id and its fields, packed (`None` once removed).
    records: Vec<Option<(RecordId, Packed)>>,
    slot_of: HashMap<RecordId, u32>,
    /// Per slot: its profile id (meaningless for a removed slot).
    profile_of: Vec<u64>,
    /// Per profile: its member slots.
    profiles: BTreeMap<u64, Vec<u32>>,
    /// Per slot: every pair scored with it.
    links: Vec<Vec<Link>>,
    next_profile: u64,
    next_tombstone: u64,
    log: Vec<LogEntry>,
    pending: Vec<Record>,
}

fn pass_name(pass: &BlockingPass) -> String {
    pass.keys
        .iter()
        .map(|k: &KeyPart| {
            let t = serde_json::to_value(k.transform)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{}:{t}", k.field)
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The checksum of an index file's body, as the header gives it: FNV-1a, 64 bits. It catches
/// altered or truncated bodies; it is not an authenticity check.
///
/// ```
/// assert_eq!(mergetag_dedup::index::body_checksum(b""), 0xcbf2_9ce4_8422_2325);
/// ```
pub fn body_checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The body of an index file, as written.
#[derive(Serialize)]
struct IndexFileOut<'a> {
    config: &'a DedupConfig,
    model: &'a TrainedModel,
    next_profile: u64,
    next_tombstone: u64,
    /// Live records and their profile ids, in slot order.
    records: SavedRecords<'a>,
    /// Scored pairs `(a, b, weight, matched)` by position in `records`, `a < b`.
    links: Vec<(u32, u32, f32, bool)>,
    log: &'a [LogEntry],
    pending: &'a [Record],
}

/// The body of an index file, as read (the same fields).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFileIn {
    config: DedupConfig,
    model: TrainedModel,
    next_profile: u64,
    next_tombstone: u64,
    records: LoadedRecords,
    links: Vec<(u32, u32, f32, bool)>,
    log: Vec<LogEntry>,
    pending: Vec<Record>,
}

/// The live records of an index, serialized one at a time from their packed form, so that
/// saving never holds every record unpacked at once.
struct SavedRecords<'a> {
    index: &'a MatchIndex,
    live: &'a [u32],
}

impl Serialize for SavedRecords<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.live.len()))?;
        for &s in self.live {
            let record = self
                .index
                .unpack(s)
                .ok_or_else(|| S::Error::custom("a stored record could not be unpacked"))?;
            seq.serialize_element(&(record, self.index.profile_of[s as usize]))?;
        }
        seq.end()
    }
}

/// Records read from a file, packed as they are parsed (a million unpacked records take about
/// 1.3 GB that would otherwise be freed into fragments right after loading).
struct LoadedRecords(Vec<(RecordId, Packed, u64)>);

impl<'de> Deserialize<'de> for LoadedRecords {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = LoadedRecords;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of [record, profile id] pairs")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LoadedRecords, A::Error> {
                // The size hint comes from the file: never trust it for an allocation.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some((record, profile)) = seq.next_element::<(Record, u64)>()? {
                    let packed = Packed::new(&record);
                    out.push((record.id, packed, profile));
                }
                Ok(LoadedRecords(out))
            }
        }
        deserializer.deserialize_seq(Visit)
    }
}

impl MatchIndex {
    /// An empty index for this configuration and model.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the model does not fit the configuration, or the configuration
    /// has a sorted-neighbourhood (`window`) pass, which has no key to look a new record up by.
    pub fn new(deduper: &Deduper, model: &TrainedModel) -> Result<MatchIndex> {
        let config = deduper.config().clone();
        model.check(&config)?;
        if let Some(p) = config.blocking.iter().find(|p| p.window.is_some()) {
            return Err(Error::Invalid(format!(
                "blocking pass `{}` is a sorted-neighbourhood (window) pass, which an index cannot \
                 look new records up by; use key or minhash passes for incremental matching",
                pass_name(p)
            )));
        }
        let mut key_slots = Vec::new();
        for (pass, p) in config.blocking.iter().enumerate() {
            let bands = p.minhash.map_or(1, |m| m.bands);
            key_slots.extend((0..bands).map(|_| KeySlot { pass }));
        }
        let store = config.comparisons.iter().map(Prepared::empty).collect();
        let terms = config
            .comparisons
            .iter()
            .map(|c| c.term_frequency.then(TermCounts::default))
            .collect();
        Ok(MatchIndex {
            tables: Tables::new(model),
            blocks: key_slots.iter().map(|_| Blocks::default()).collect(),
            key_slots,
            store,
            terms,
            records: Vec::new(),
            slot_of: HashMap::new(),
            profile_of: Vec::new(),
            profiles: BTreeMap::new(),
            links: Vec::new(),
            next_profile: 1,
            next_tombstone: 1,
            log: Vec::new(),
            pending: Vec::new(),
            model: model.clone(),
            config,
        })
    }

    /// Builds an index from a batch of records: blocked, scored and clustered in parallel as
    /// [`Deduper::run_with_fixed_model`] does, with profile ids numbered from 1 in record-id
    /// order of each profile's first member.
    ///
    /// # Errors
    ///
    /// Those of [`MatchIndex::new`], and [`Error::Invalid`] when two records share an id.
    pub fn build(
        deduper: &Deduper,
        model: &TrainedModel,
        records: Vec<Record>,
    ) -> Result<MatchIndex> {
        let mut index = MatchIndex::new(deduper, model)?;
        index.bulk_load(deduper, records, None)?;
        Ok(index)
    }

    /// Builds an index from existing profiles (from an earlier run or another system) and
    /// their member records, keeping their profile ids. Records in no profile start profiles
    /// of their own.
    ///
    /// # Errors
    ///
    /// Those of [`MatchIndex::new`], and [`Error::Invalid`] when two records share an id, a
    /// record is a member of two profiles, or a profile names a record that is not given.
    pub fn from_profiles(
        deduper: &Deduper,
        model: &TrainedModel,
        records: Vec<Record>,
        profiles: &[Profile],
    ) -> Result<MatchIndex> {
        let mut given: HashMap<&RecordId, u64> = HashMap::new();
        for p in profiles {
            for m in &p.members {
                if given.insert(m, p.id.0).is_some() {
                    return Err(Error::Invalid(format!(
                        "record `{m}` is a member of two profiles"
                    )));
                }
            }
        }
        let known: std::collections::HashSet<&RecordId> = records.iter().map(|r| &r.id).collect();
        if let Some(missing) = given.keys().find(|id| !known.contains(*id)) {
            return Err(Error::Invalid(format!(
                "profile member `{missing}` is not among the records given"
            )));
        }
        let assigned: Vec<Option<u64>> =
            records.iter().map(|r| given.get(&r.id).copied()).collect();
        drop(known);
        drop(given);
        let mut index = MatchIndex::new(deduper, model)?;
        index.bulk_load(deduper, records, Some(assigned))?;
        Ok(index)
    }

    /// Loads records into an empty index in bulk. With `assigned` (per input record), those
    /// profile ids are kept and the rest get new ones; without, profiles come from clustering.
    /// Logs the build.
    fn bulk_load(
        &mut self,
        deduper: &Deduper,
        records: Vec<Record>,
        assigned: Option<Vec<Option<u64>>>,
    ) -> Result<()> {
        let run = deduper.prepare(&records);
        let n = records.len();
        for w in run.order.windows(2) {
            if records[w[0]].id == records[w[1]].id {
                return Err(Error::Invalid(format!(
                    "record id `{}` appears twice; ids must be unique in an index",
                    records[w[0]].id
                )));
            }
        }
        let (pairs, _) = deduper.block(&run);
        let tables = &self.tables;
        let threshold = self.config.threshold;
        let edges: Vec<Edge> = pairs
            .par_iter()
            .map(|&(a, b)| {
                let pattern = run.levels(a as usize, b as usize);
                let weight = run.weight(tables, a as usize, b as usize, pattern);
                Edge {
                    a,
                    b,
                    weight,
                    matched: probability(weight) >= threshold,
                }
            })
            .collect();
        // Slots are sorted positions: records in record-id order.
        let order = run.order.clone();
        self.records = order
            .par_iter()
            .map(|&i| Some((records[i].id.clone(), Packed::new(&records[i]))))
            .collect();
        drop(records);
        let assigned: Option<Vec<Option<u64>>> =
            assigned.map(|a| order.iter().map(|&i| a[i]).collect());
        self.install_columns(run.prepared, run.keys);
        self.install_links(
            n,
            edges.iter().map(|e| (e.a, e.b, e.weight as f32, e.matched)),
        );
        self.slot_of = self
            .records
            .iter()
            .enumerate()
            .filter_map(|(s, r)| r.as_ref().map(|(id, _)| (id.clone(), s as u32)))
            .collect();
        let profile_of = match assigned {
            Some(assigned) => {
                let max = assigned.iter().flatten().copied().max().unwrap_or(0);
                self.next_profile = self.next_profile.max(max.saturating_add(1));
                assigned
                    .iter()
                    .map(|a| a.unwrap_or_else(|| self.new_profile_id()))
                    .collect()
            }
            None => {
                let (roots, _) = cluster(n, &edges, self.config.guard_bridges);
                let mut id_of_root: HashMap<u32, u64> = HashMap::new();
                roots
                    .iter()
                    .map(|&root| {
                        *id_of_root
                            .entry(root)
                            .or_insert_with(|| self.new_profile_id())
                    })
                    .collect()
            }
        };
        self.install_profiles(profile_of);
        let profiles = self.profiles.len();
        self.push_log(LogEvent::Built {
            records: n,
            profiles,
        });
        Ok(())
    }

    /// The next profile id.
    fn new_profile_id(&mut self) -> u64 {
        let id = self.next_profile;
        self.next_profile += 1;
        id
    }

    /// Takes the folded columns and blocking keys of every slot (after a bulk load); the index
    /// keeps its own term counts instead of a batch's frequencies.
    fn install_columns(&mut self, mut store: Vec<Prepared>, keys: Vec<PassKeys>) {
        for p in &mut store {
            p.tf = Vec::new();
        }
        self.store = store;
        self.blocks = Blocks::from_keys(keys);
        for (terms, store) in self.terms.iter_mut().zip(&self.store) {
            if let Some(t) = terms {
                for i in 0..store.value_count() {
                    t.add(store.value(i));
                }
            }
        }
    }

    /// Takes the scored pairs `(a, b, weight, matched)` between `n` slots (after a bulk load).
    fn install_links(&mut self, n: usize, pairs: impl IntoIterator<Item = (u32, u32, f32, bool)>) {
        self.links = vec![Vec::new(); n];
        for (a, b, weight, matched) in pairs {
            self.links[a as usize].push(Link {
                to: b,
                weight,
                matched,
            });
            self.links[b as usize].push(Link {
                to: a,
                weight,
                matched,
            });
        }
    }

    /// Takes every slot's profile id (after a bulk load).
    fn install_profiles(&mut self, profile_of: Vec<u64>) {
        for (s, &p) in profile_of.iter().enumerate() {
            self.profiles.entry(p).or_default().push(s as u32);
        }
        self.profile_of = profile_of;
    }

    /// The configuration.
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// The model it scores with.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// The number of records in the index.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether the index holds no record.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// The number of profiles.
    pub fn profile_count(&self) -> usize {
        self.profiles.len()
    }

    /// The profile of a record.
    pub fn profile_of(&self, id: &RecordId) -> Option<ProfileId> {
        self.slot_of
            .get(id)
            .map(|&s| ProfileId(self.profile_of[s as usize]))
    }

    /// The record with this id (records are held packed; this unpacks a copy).
    pub fn record(&self, id: &RecordId) -> Option<Record> {
        self.slot_of.get(id).and_then(|&s| self.unpack(s))
    }

    fn unpack(&self, slot: u32) -> Option<Record> {
        let (id, packed) = self.records.get(slot as usize)?.as_ref()?;
        packed.unpack(id.clone())
    }

    /// The member records of a profile, sorted by id.
    pub fn members(&self, profile: ProfileId) -> Option<Vec<Record>> {
        let slots = self.profiles.get(&profile.0)?;
        let mut members: Vec<Record> = slots.iter().filter_map(|&s| self.unpack(s)).collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Some(members)
    }

    /// Every profile id with its member record ids (sorted), in profile-id order.
    pub fn profiles(&self) -> impl Iterator<Item = (ProfileId, Vec<&RecordId>)> + '_ {
        self.profiles.iter().map(|(&id, slots)| {
            let mut ids: Vec<&RecordId> = slots.iter().filter_map(|&s| self.record_id(s)).collect();
            ids.sort();
            (ProfileId(id), ids)
        })
    }

    /// The golden profile of one profile, by the survivorship rules.
    pub fn golden(&self, profile: ProfileId, config: &SurvivorshipConfig) -> Option<Profile> {
        let members = self.members(profile)?;
        let members: Vec<&Record> = members.iter().collect();
        Some(survivorship::profile(profile, &members, config))
    }

    /// Every golden profile, in profile-id order.
    pub fn golden_profiles(&self, config: &SurvivorshipConfig) -> Vec<Profile> {
        let ids: Vec<u64> = self.profiles.keys().copied().collect();
        ids.par_iter()
            .filter_map(|&id| self.golden(ProfileId(id), config))
            .collect()
    }

    /// The merge log, oldest first.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Records waiting in the pending batch.
    pub fn pending(&self) -> &[Record] {
        &self.pending
    }

    fn push_log(&mut self, event: LogEvent) {
        let seq = self.log.len() as u64;
        self.log.push(LogEntry { seq, event });
    }

    /// Folds a record and computes its blocking keys.
    fn probe(&self, record: &Record) -> Probe {
        // The same extraction a batch run does, for one record.
        let (specs, passes) = (column_specs(&self.config), pass_specs(&self.config));
        let mut extracted = empty_extracted(&specs, &passes);
        extract_record(
            record,
            &specs,
            &passes,
            &mut extracted,
            &mut Scratch::default(),
        );
        let (columns, keys) = extracted;
        let prepared = per_comparison(&self.config, &columns)
            .into_iter()
            .map(|(c, main, swap)| {
                let mut p = Prepared::empty(c);
                p.push(
                    main.map_or("", |col| col.get(0)),
                    swap.map_or("", |col| col.get(0)),
                );
                p
            })
            .collect();
        let keys = keys
            .iter()
            .flat_map(|k| k.hashed.iter().map(|v| v.first().copied().unwrap_or(0)))
            .collect();
        Probe { prepared, keys }
    }

    /// The live slots sharing a key with the probe (blocks over the size cap skipped), each
    /// with the first key slot that found it, sorted by slot.
    fn candidates(&self, probe: &Probe, skip: Option<u32>) -> Vec<(u32, usize)> {
        let mut out: Vec<(u32, usize)> = Vec::new();
        for (k, &key) in probe.keys.iter().enumerate() {
            if key == 0 {
                continue;
            }
            let start = out.len();
            let mut members = 0;
            self.blocks[k].for_each(key, |s| {
                if self.records[s as usize].is_some() {
                    members += 1;
                    if Some(s) != skip {
                        out.push((s, k));
                    }
                }
            });
            // Blocks over the cap are skipped, as in a batch run; the probe itself would be
            // one more member (unless it is already in, as `skip`).
            if members + usize::from(skip.is_none()) > self.config.max_block_size {
                out.truncate(start);
            }
        }
        out.sort_unstable();
        out.dedup_by_key(|&mut (s, _)| s);
        out
    }

    /// The weight of the probe against slot `s`, and the level pattern. `extra` is 1 when the
    /// probe is not yet counted in the term frequencies.
    fn score(&self, probe: &Probe, s: u32, extra: u32) -> (f64, u64) {
        let mut pattern = 0u64;
        let mut w = self.tables.prior;
        for (c, p) in probe.prepared.iter().enumerate() {
            let l = p.level_between(0, &self.store[c], s as usize);
            pattern |= u64::from(l) << (4 * c);
            w += self.field_weight(c, usize::from(l), p.value(0), extra);
        }
        (w, pattern)
    }

    fn field_weight(&self, c: usize, l: usize, value: &str, extra: u32) -> f64 {
        if l == 1
            && let Some(log_m) = self.tables.log_m_exact.get(c).copied().flatten()
            && let Some(Some(terms)) = self.terms.get(c)
        {
            let tf = terms.frequency(value, extra);
            if tf > 0.0 {
                return log_m - f64::from(tf).log2();
            }
        }
        self.tables
            .weights
            .get(c)
            .and_then(|w| w.get(l))
            .copied()
            .unwrap_or(0.0)
    }

    fn explanation(&self, probe: &Probe, pattern: u64, weight: f64, extra: u32) -> Explanation {
        let fields = self
            .config
            .comparisons
            .iter()
            .enumerate()
            .map(|(c, conf): (usize, &ComparisonConfig)| {
                let l = level_of(pattern, c);
                FieldEvidence {
                    field: conf.field.clone(),
                    level: level_name(conf.kind, l).to_owned(),
                    weight: self.field_weight(c, l, probe.prepared[c].value(0), extra),
                }
            })
            .collect();
        Explanation {
            prior: self.tables.prior,
            fields,
            weight,
            probability: probability(weight),
        }
    }

    /// Scores a record against the index without changing it: every candidate sharing a
    /// blocking key, strongest first (ties by record id). The read-only half of
    /// [`MatchIndex::add`], for previews and lookups.
    pub fn find(&self, record: &Record) -> Vec<Candidate> {
        let probe = self.probe(record);
        let skip = self.slot_of.get(&record.id).copied();
        let mut out: Vec<Candidate> = self
            .candidates(&probe, skip)
            .into_iter()
            .filter_map(|(s, _)| {
                let (weight, _) = self.score(&probe, s, 1);
                let id = self.record_id(s)?;
                let p = probability(weight);
                Some(Candidate {
                    record: id.clone(),
                    profile: ProfileId(self.profile_of[s as usize]),
                    weight,
                    probability: p,
                    matched: p >= self.config.threshold,
                })
            })
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.record.cmp(&b.record)));
        out
    }

    /// Matches a record against the index and adds it: it joins the profile it matches,
    /// bridges the profiles it matches into one (the oldest id survives, logged as a merge),
    /// or starts a new profile. A record whose id is already indexed replaces that record
    /// (a correction): the old version is taken out first, which may split its profile.
    pub fn add(&mut self, record: Record) -> Outcome {
        let corrected = if self.slot_of.contains_key(&record.id) {
            self.take_out(&record.id, SplitCause::Corrected, &BTreeSet::new())
                .ok()
        } else {
            None
        };
        let probe = self.probe(&record);
        let candidates = self.candidates(&probe, None);
        let slot = self.records.len() as u32;
        // Count the record's values first: frequencies then match a batch run that has it.
        for (c, terms) in self.terms.iter_mut().enumerate() {
            if let Some(t) = terms {
                t.add(probe.prepared[c].value(0));
            }
        }
        let scored: Vec<(u32, usize, f64, u64)> = candidates
            .iter()
            .map(|&(s, k)| {
                let (w, pattern) = self.score(&probe, s, 0);
                (s, k, w, pattern)
            })
            .collect();
        // Store the record.
        for (c, p) in probe.prepared.iter().enumerate() {
            let swap = p.swap.as_ref().map_or("", |col| col.get(0));
            self.store[c].push(p.value(0), swap);
        }
        for (k, &key) in probe.keys.iter().enumerate() {
            if key != 0 {
                self.blocks[k].added.entry(key).or_default().push(slot);
            }
        }
        let threshold = self.config.threshold;
        let mut own = Vec::with_capacity(scored.len());
        for &(s, _, w, _) in &scored {
            let link = |to| Link {
                to,
                weight: w as f32,
                matched: probability(w) >= threshold,
            };
            own.push(link(s));
            self.links[s as usize].push(link(slot));
        }
        self.links.push(own);
        let id = record.id.clone();
        self.slot_of.insert(id.clone(), slot);
        self.records
            .push(Some((record.id.clone(), Packed::new(&record))));
        self.profile_of.push(0);

        // Follow matches strongest first (ties by slot: record-arrival order).
        let mut matches: Vec<&(u32, usize, f64, u64)> = scored
            .iter()
            .filter(|&&(_, _, w, _)| probability(w) >= threshold)
            .collect();
        matches.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let mut joined: Vec<u64> = Vec::new();
        let mut group: Vec<u32> = vec![slot];
        let mut evidence = Vec::new();
        let mut refused = Vec::new();
        for &&(s, k, w, pattern) in &matches {
            let p = self.profile_of[s as usize];
            if joined.contains(&p) {
                continue;
            }
            let ev = Evidence {
                with: RecordRef::Record(self.record_id(s).unwrap_or(&id).clone()),
                profile: ProfileId(p),
                rule: format!(
                    "blocking `{}`; probability {:.4} >= threshold {}",
                    pass_name(&self.config.blocking[self.key_slots[k].pass]),
                    probability(w),
                    threshold
                ),
                explanation: self.explanation(&probe, pattern, w, 0),
            };
            let members = self.profiles.get(&p).map_or(&[][..], Vec::as_slice);
            if self.config.guard_bridges && group.len() >= 2 && members.len() >= 2 {
                let (small, other): (&[u32], &[u32]) = if group.len() <= members.len() {
                    (&group, members)
                } else {
                    (members, &group)
                };
                let other: BTreeSet<u32> = other.iter().copied().collect();
                let between = small.iter().flat_map(|&x| {
                    self.links[x as usize]
                        .iter()
                        .filter(|l| other.contains(&l.to))
                        .map(|l| l.matched)
                });
                if refuse_bridge(between) {
                    refused.push(ev);
                    continue;
                }
            }
            group.extend_from_slice(members);
            joined.push(p);
            evidence.push(ev);
        }
        let rref = RecordRef::Record(id.clone());
        let (profile, action, absorbed) = match joined.iter().copied().min() {
            None => {
                let p = self.new_profile_id();
                self.profiles.insert(p, vec![slot]);
                self.profile_of[slot as usize] = p;
                self.push_log(LogEvent::Created {
                    profile: ProfileId(p),
                    record: rref.clone(),
                });
                (p, Action::Created, Vec::new())
            }
            Some(keep) => {
                let mut absorbed: Vec<u64> =
                    joined.iter().copied().filter(|&p| p != keep).collect();
                absorbed.sort_unstable();
                let mut members = self.profiles.remove(&keep).unwrap_or_default();
                for p in &absorbed {
                    members.extend(self.profiles.remove(p).unwrap_or_default());
                }
                members.push(slot);
                for &m in &members {
                    self.profile_of[m as usize] = keep;
                }
                self.profiles.insert(keep, members);
                if absorbed.is_empty() {
                    self.push_log(LogEvent::Attached {
                        profile: ProfileId(keep),
                        record: rref.clone(),
                        evidence: evidence[0].clone(),
                    });
                    (keep, Action::Attached, Vec::new())
                } else {
                    let absorbed: Vec<ProfileId> = absorbed.into_iter().map(ProfileId).collect();
                    self.push_log(LogEvent::Merged {
                        profile: ProfileId(keep),
                        absorbed: absorbed.clone(),
                        record: rref.clone(),
                        evidence: evidence.clone(),
                    });
                    (keep, Action::Merged, absorbed)
                }
            }
        };
        for ev in &refused {
            self.push_log(LogEvent::RefusedBridge {
                profile: ProfileId(profile),
                other: ev.profile,
                record: rref.clone(),
                evidence: ev.clone(),
            });
        }
        Outcome {
            record: id,
            profile: ProfileId(profile),
            action,
            absorbed,
            evidence,
            refused,
            corrected,
        }
    }

    /// Adds a batch, in record-id order (so the result does not depend on the batch's order).
    pub fn add_batch(&mut self, mut records: Vec<Record>) -> Vec<Outcome> {
        records.sort_by(|a, b| a.id.cmp(&b.id));
        records.into_iter().map(|r| self.add(r)).collect()
    }

    /// Queues a record in the pending batch, to be matched by
    /// [`MatchIndex::process_pending`]. Pending records are saved with the index and erased
    /// with the person.
    pub fn enqueue(&mut self, record: Record) {
        self.pending.push(record);
    }

    /// Matches and adds every pending record (in record-id order).
    pub fn process_pending(&mut self) -> Vec<Outcome> {
        let pending = std::mem::take(&mut self.pending);
        self.add_batch(pending)
    }

    /// Removes a record (a deleted CRM contact, say). When it held its profile together, the
    /// profile splits: the part with the most records keeps the id (ties: the part with the
    /// smallest record id), the others get new ids, and the split is logged.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownRecord`] when the index has no such record.
    pub fn remove(&mut self, id: &RecordId) -> Result<Removal> {
        self.take_out(id, SplitCause::Removed, &BTreeSet::new())
    }

    /// Takes a record out. `leaving` are other slots about to be taken out too (an erasure):
    /// when only they remain, the profile is not re-clustered, since they go next.
    fn take_out(
        &mut self,
        id: &RecordId,
        cause: SplitCause,
        leaving: &BTreeSet<u32>,
    ) -> Result<Removal> {
        let slot = self
            .slot_of
            .remove(id)
            .ok_or_else(|| Error::UnknownRecord(id.clone()))?;
        let s = slot as usize;
        let profile = self.profile_of[s];
        let record = self.unpack(slot);
        self.records[s] = None;
        // Its folded values leave the counts and the blocks.
        for (c, terms) in self.terms.iter_mut().enumerate() {
            if let Some(t) = terms {
                t.remove(self.store[c].value(s));
            }
        }
        if let Some(record) = &record {
            let probe = self.probe(record);
            for (k, &key) in probe.keys.iter().enumerate() {
                if key != 0 {
                    self.blocks[k].remove(key, slot);
                }
            }
        }
        for l in std::mem::take(&mut self.links[s]) {
            self.links[l.to as usize].retain(|x| x.to != slot);
        }
        let mut members = self.profiles.remove(&profile).unwrap_or_default();
        members.retain(|&m| m != slot);
        let rref = RecordRef::Record(id.clone());
        let emptied = members.is_empty();
        self.push_log(LogEvent::Removed {
            profile: ProfileId(profile),
            record: rref.clone(),
            emptied,
        });
        if emptied {
            return Ok(Removal {
                profile: ProfileId(profile),
                split_into: Vec::new(),
                emptied,
            });
        }
        // Members about to leave too are not re-clustered: they ride with the largest part
        // until their turn.
        let (going, staying): (Vec<u32>, Vec<u32>) =
            members.iter().partition(|m| leaving.contains(m));
        let mut parts = if staying.is_empty() {
            vec![Vec::new()]
        } else {
            self.components(&staying)
        };
        parts[0].extend(going);
        let mut split_into = Vec::new();
        let mut parts = parts.into_iter();
        if let Some(first) = parts.next() {
            self.profiles.insert(profile, first);
        }
        for part in parts {
            let p = self.new_profile_id();
            for &m in &part {
                self.profile_of[m as usize] = p;
            }
            self.profiles.insert(p, part);
            split_into.push(ProfileId(p));
        }
        if !split_into.is_empty() {
            self.push_log(LogEvent::Split {
                profile: ProfileId(profile),
                into: split_into.clone(),
                record: rref,
                cause,
            });
        }
        Ok(Removal {
            profile: ProfileId(profile),
            split_into,
            emptied: false,
        })
    }

    /// The clusters of some members by the pairs scored among them (with the bridge guard as
    /// configured), largest first, ties by smallest record id.
    fn components(&self, members: &[u32]) -> Vec<Vec<u32>> {
        let mut local: Vec<u32> = members.to_vec();
        // Record-id order, as a batch run clusters.
        local.sort_by(|&a, &b| self.record_id(a).cmp(&self.record_id(b)));
        let pos: HashMap<u32, u32> = local
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, i as u32))
            .collect();
        let mut edges = Vec::new();
        for (i, &s) in local.iter().enumerate() {
            for l in &self.links[s as usize] {
                if let Some(&j) = pos.get(&l.to)
                    && (i as u32) < j
                {
                    edges.push(Edge {
                        a: i as u32,
                        b: j,
                        weight: f64::from(l.weight),
                        matched: l.matched,
                    });
                }
            }
        }
        let (roots, _) = cluster(local.len(), &edges, self.config.guard_bridges);
        let mut parts: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (i, &root) in roots.iter().enumerate() {
            parts.entry(root).or_default().push(local[i]);
        }
        // Roots are each part's first member in record-id order, so this order breaks ties.
        let mut parts: Vec<Vec<u32>> = parts.into_values().collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
        parts
    }

    fn record_id(&self, slot: u32) -> Option<&RecordId> {
        self.records.get(slot as usize)?.as_ref().map(|(id, _)| id)
    }

    /// Erases records on request (the right to be forgotten): they leave the index, their
    /// profiles (which may split), their folded values are overwritten in memory, pending
    /// copies are dropped, and the merge log keeps only a tombstone number in their place.
    /// Unknown ids are ignored (erasure is idempotent).
    pub fn erase(&mut self, ids: &[RecordId]) -> Erasure {
        let tombstone = self.next_tombstone;
        self.next_tombstone += 1;
        let wanted: std::collections::HashSet<&RecordId> = ids.iter().collect();
        let before = self.pending.len();
        self.pending.retain(|r| !wanted.contains(&r.id));
        let pending = before - self.pending.len();
        let mut profiles = BTreeSet::new();
        let mut records = 0;
        let leaving: BTreeSet<u32> = ids
            .iter()
            .filter_map(|id| self.slot_of.get(id).copied())
            .collect();
        for id in ids {
            let Some(&slot) = self.slot_of.get(id) else {
                continue;
            };
            profiles.insert(self.profile_of[slot as usize]);
            if self.take_out(id, SplitCause::Erased, &leaving).is_ok() {
                records += 1;
                for p in &mut self.store {
                    p.blank(slot as usize);
                }
            }
        }
        for entry in &mut self.log {
            redact_event(&mut entry.event, &wanted, tombstone);
        }
        self.push_log(LogEvent::Erased {
            tombstone,
            records,
            pending,
        });
        Erasure {
            tombstone,
            records,
            pending,
            profiles: profiles.into_iter().map(ProfileId).collect(),
        }
    }

    /// Erases a person: every record of the profile, and every pending record that would
    /// match one of them (a copy of the person waiting to be matched).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProfile`] when the index has no such profile.
    pub fn erase_profile(&mut self, profile: ProfileId) -> Result<Erasure> {
        let slots = self
            .profiles
            .get(&profile.0)
            .ok_or(Error::UnknownProfile(profile))?
            .clone();
        let mut ids: Vec<RecordId> = slots
            .iter()
            .filter_map(|&s| self.record_id(s).cloned())
            .collect();
        let member_set: BTreeSet<u32> = slots.iter().copied().collect();
        for r in &self.pending {
            let probe = self.probe(r);
            let hit = self
                .candidates(&probe, None)
                .into_iter()
                .filter(|(s, _)| member_set.contains(s))
                .any(|(s, _)| probability(self.score(&probe, s, 1).0) >= self.config.threshold);
            if hit {
                ids.push(r.id.clone());
            }
        }
        Ok(self.erase(&ids))
    }

    /// Writes the index in the versioned format (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing fails.
    pub fn save<W: Write>(&self, mut writer: W) -> Result<()> {
        let live: Vec<u32> = (0..self.records.len() as u32)
            .filter(|&s| self.records[s as usize].is_some())
            .collect();
        let mut pos = vec![u32::MAX; self.records.len()];
        for (i, &s) in live.iter().enumerate() {
            pos[s as usize] = i as u32;
        }
        let mut links = Vec::new();
        for &s in &live {
            for l in &self.links[s as usize] {
                let (a, b) = (pos[s as usize], pos[l.to as usize]);
                if a < b && b != u32::MAX {
                    links.push((a, b, l.weight, l.matched));
                }
            }
        }
        let file = IndexFileOut {
            config: &self.config,
            model: &self.model,
            next_profile: self.next_profile,
            next_tombstone: self.next_tombstone,
            records: SavedRecords {
                index: self,
                live: &live,
            },
            links,
            log: &self.log,
            pending: &self.pending,
        };
        let body = serde_json::to_vec(&file).map_err(|e| Error::Io {
            origin: "<writer>".into(),
            source: std::io::Error::other(e),
        })?;
        let io = |source| Error::Io {
            origin: "<writer>".into(),
            source,
        };
        writeln!(
            writer,
            "{MAGIC} {FORMAT_VERSION} {} {:016x}",
            body.len(),
            body_checksum(&body)
        )
        .map_err(io)?;
        writer.write_all(&body).map_err(io)?;
        writer.flush().map_err(io)
    }

    /// Writes the index to a file (through a temporary file renamed into place, so a crash
    /// never leaves half a file under the name).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file.
    pub fn save_to_path(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let tmp = path.with_extension("tmp");
        let io = |source| Error::Io {
            origin: origin.clone(),
            source,
        };
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        self.save(&mut w).map_err(|e| match e {
            Error::Io { source, .. } => io(source),
            other => other,
        })?;
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads an index written by [`MatchIndex::save`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading fails; [`Error::Corrupt`] when the data is not an index of
    /// this format version, is truncated or altered, or is inconsistent.
    pub fn load<R: Read>(reader: R) -> Result<MatchIndex> {
        MatchIndex::load_named(reader, "<reader>")
    }

    /// Reads an index from a file.
    ///
    /// # Errors
    ///
    /// As [`MatchIndex::load`], naming the file.
    pub fn load_from_path(path: impl AsRef<std::path::Path>) -> Result<MatchIndex> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        MatchIndex::load_named(std::io::BufReader::new(file), &origin)
    }

    fn load_named<R: Read>(mut reader: R, origin: &str) -> Result<MatchIndex> {
        let corrupt = |message: String| Error::Corrupt {
            origin: origin.to_owned(),
            message,
        };
        // The header: at most 128 bytes up to the newline.
        let mut header = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match reader.read(&mut byte) {
                Ok(0) => return Err(corrupt("the file ends inside the header line".into())),
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => header.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        origin: origin.to_owned(),
                        source,
                    });
                }
            }
            if header.len() > 128 {
                return Err(corrupt("no header line (is this a mergetag index?)".into()));
            }
        }
        let header = String::from_utf8_lossy(&header);
        let parts: Vec<&str> = header.split(' ').collect();
        let [magic, version, len, sum] = parts[..] else {
            return Err(corrupt(
                "malformed header line (is this a mergetag index?)".into(),
            ));
        };
        if magic != MAGIC {
            return Err(corrupt("not a mergetag index file".into()));
        }
        if version != FORMAT_VERSION.to_string() {
            return Err(corrupt(format!(
                "format version {version}; this build reads version {FORMAT_VERSION}"
            )));
        }
        let len: u64 = len
            .parse()
            .map_err(|_| corrupt("malformed body length in the header".into()))?;
        let sum = u64::from_str_radix(sum, 16)
            .map_err(|_| corrupt("malformed checksum in the header".into()))?;
        let mut body = Vec::new();
        // Read at most one byte more than announced, so a longer file is caught too.
        (&mut reader)
            .take(len.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|source| Error::Io {
                origin: origin.to_owned(),
                source,
            })?;
        if (body.len() as u64) < len {
            return Err(corrupt(format!(
                "truncated: the header announces {len} bytes, the file holds {}",
                body.len()
            )));
        }
        if body.len() as u64 > len {
            return Err(corrupt(format!(
                "the file holds more than the {len} bytes its header announces"
            )));
        }
        if body_checksum(&body) != sum {
            return Err(corrupt(
                "checksum mismatch: the file was altered or damaged".into(),
            ));
        }
        let file: IndexFileIn = serde_json::from_slice(&body).map_err(|e| {
            corrupt(format!(
                "body line {}, column {}: {}",
                e.line(),
                e.column(),
                mergetag_model::text_position::without_json_position(&e.to_string())
            ))
        })?;
        MatchIndex::from_file(file).map_err(|e| match e {
            Error::Invalid(message) => corrupt(message),
            other => other,
        })
    }

    /// Rebuilds an index from a file body, checking its consistency.
    fn from_file(file: IndexFileIn) -> Result<MatchIndex> {
        file.config.validate()?;
        let deduper = Deduper::new(file.config.clone())?;
        let mut index = MatchIndex::new(&deduper, &file.model)?;
        let records = file.records.0;
        let n = records.len();
        if n >= u32::MAX as usize {
            return Err(Error::Invalid("too many records".into()));
        }
        if let Some(&(_, _, p)) = records.iter().find(|(_, _, p)| *p >= file.next_profile) {
            return Err(Error::Invalid(format!(
                "profile id {p} is not below next_profile {}",
                file.next_profile
            )));
        }
        let mut slot_of = HashMap::with_capacity(n);
        for (s, (id, _, _)) in records.iter().enumerate() {
            if slot_of.insert(id.clone(), s as u32).is_some() {
                return Err(Error::Invalid(format!("record id `{id}` appears twice")));
            }
        }
        // Folded columns and blocking keys, a chunk of records unpacked at a time.
        let specs = column_specs(&index.config);
        let passes = pass_specs(&index.config);
        let mut extracted = extract(&[], &specs, &passes);
        for chunk in records.chunks(1 << 16) {
            let unpacked: Vec<Record> = chunk
                .par_iter()
                .map(|(id, packed, _)| packed.unpack(id.clone()))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::Invalid("a record could not be stored".into()))?;
            append_extracted(&mut extracted, extract(&unpacked, &specs, &passes));
        }
        let (columns, keys) = extracted;
        let store = per_comparison(&index.config, columns)
            .into_iter()
            .map(|(c, main, swap)| Prepared::new(c, main.unwrap_or_default(), swap))
            .collect();
        index.install_columns(store, keys);
        if let Some(&(a, b, ..)) = file
            .links
            .iter()
            .find(|&&(a, b, weight, _)| a >= b || b as usize >= n || !weight.is_finite())
        {
            return Err(Error::Invalid(format!(
                "scored pair ({a}, {b}) does not name two records of the file"
            )));
        }
        index.install_links(n, file.links);
        index.install_profiles(records.iter().map(|&(_, _, p)| p).collect());
        index.records = records
            .into_iter()
            .map(|(id, packed, _)| Some((id, packed)))
            .collect();
        index.slot_of = slot_of;
        index.next_profile = file.next_profile.max(1);
        index.next_tombstone = file.next_tombstone.max(1);
        for (i, e) in file.log.iter().enumerate() {
            if e.seq != i as u64 {
                return Err(Error::Invalid(format!(
                    "merge log entry {i} is numbered {}",
                    e.seq
                )));
            }
        }
        index.log = file.log;
        index.pending = file.pending;
        Ok(index)
    }
}

/// Replaces erased record ids in one log event by the tombstone.
fn redact_event(
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
