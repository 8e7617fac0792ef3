//! Incremental matching with stable profile ids: an index of existing profiles that new
//! records are matched against one at a time, with a merge log, splits, erasure, and a
//! versioned file format.
//!
//! ```
//! use mergetag_dedup::index::{Action, MatchIndex};
//! use mergetag_dedup::DedupConfig;
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
//! let deduper = DedupConfig::contacts().build()?;
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

mod blocks;
mod file;
mod log;
mod terms;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mergetag_model::{Profile, ProfileId, Record, RecordId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blocking::{PassKeys, pass_specs};
use crate::cluster::{Edge, cluster, refuse_bridge};
use crate::comparison::{ComparisonConfig, Prepared, derive_from_names, name_sources};
use crate::config::DedupConfig;
use crate::dedup::{
    Deduper, Explanation, FieldEvidence, Tables, TrainedModel, level_name, level_of, probability,
};
use crate::error::{Error, Result};
use crate::packed::Packed;
use crate::prepare::{Scratch, column_specs, empty_extracted, extract_record, per_comparison};
use crate::survivorship::{self, SurvivorshipConfig};

use self::blocks::Blocks;
pub use self::file::{FORMAT_VERSION, body_checksum};
use self::log::redact_event;
pub use self::log::{Erasure, Evidence, LogEntry, LogEvent, RecordRef, SplitCause};
use self::terms::TermCounts;

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

/// The result of [`MatchIndex::link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Linked {
    /// The profile both records belong to now.
    pub profile: ProfileId,
    /// The profile merged into it, now gone (`None` when both were already one).
    pub absorbed: Option<ProfileId>,
}

/// The weight a linked pair is kept with: a match, above any the model gives.
const LINKED_WEIGHT: f32 = 1.0e6;

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
        if config.blocking.is_empty() {
            return Err(Error::invalid(
                "blocking",
                "an index needs blocking passes to find candidates; use the passes a batch run chose (DedupResult::chosen_blocking) or Deduper::choose_blocking",
            ));
        }
        if let Some((i, p)) = config
            .blocking
            .iter()
            .enumerate()
            .find(|(_, p)| p.window.is_some())
        {
            return Err(Error::invalid(
                format!("blocking[{i}].window"),
                format!(
                    "blocking pass `{}` is a sorted-neighbourhood (window) pass, which an index \
                     cannot look new records up by; use key or minhash passes for incremental \
                     matching",
                    p.label()
                ),
            ));
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
                    return Err(Error::invalid(
                        "profiles",
                        format!("record `{m}` is a member of two profiles; keep it in one"),
                    ));
                }
            }
        }
        let known: std::collections::HashSet<&RecordId> = records.iter().map(|r| &r.id).collect();
        if let Some(missing) = given.keys().find(|id| !known.contains(*id)) {
            return Err(Error::invalid(
                "profiles",
                format!(
                    "profile member `{missing}` is not among the records given; give its record \
                     or drop it from the profile"
                ),
            ));
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
                return Err(Error::invalid(
                    "records",
                    format!(
                        "record id `{}` appears twice; ids must be unique in an index",
                        records[w[0]].id
                    ),
                ));
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
        // Loaded columns carry no name flags; batch-prepared ones have them already.
        derive_from_names(&mut store, &name_sources(&self.config.comparisons));
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
        let mut prepared: Vec<Prepared> = per_comparison(&self.config, &columns)
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
        derive_from_names(&mut prepared, &name_sources(&self.config.comparisons));
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
        derive_from_names(&mut self.store, &name_sources(&self.config.comparisons));
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
                    self.config.blocking[self.key_slots[k].pass].label(),
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

    /// Links two indexed records as one person on an outside assertion, such as an alias
    /// call tying an anonymous id to an account: their profiles merge (the older profile id
    /// survives) whatever the model says, and the pair is kept as a match, so the link holds
    /// when other records leave. Logged as [`LogEvent::Linked`] with `reason`. A record
    /// added again under its id (a correction) leaves its links behind: link it again.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownRecord`] when either record is not in the index.
    pub fn link(&mut self, a: &RecordId, b: &RecordId, reason: &str) -> Result<Linked> {
        let slot = |id: &RecordId| {
            self.slot_of
                .get(id)
                .copied()
                .ok_or_else(|| Error::UnknownRecord(id.clone()))
        };
        let (sa, sb) = (slot(a)?, slot(b)?);
        if sa != sb {
            for (x, y) in [(sa, sb), (sb, sa)] {
                let links = &mut self.links[x as usize];
                match links.iter_mut().find(|l| l.to == y) {
                    Some(l) => {
                        l.matched = true;
                        l.weight = LINKED_WEIGHT;
                    }
                    None => links.push(Link {
                        to: y,
                        weight: LINKED_WEIGHT,
                        matched: true,
                    }),
                }
            }
        }
        let (pa, pb) = (self.profile_of[sa as usize], self.profile_of[sb as usize]);
        let (keep, gone) = (pa.min(pb), pa.max(pb));
        let absorbed = (pa != pb).then(|| {
            let moved = self.profiles.remove(&gone).unwrap_or_default();
            for &m in &moved {
                self.profile_of[m as usize] = keep;
            }
            let members = self.profiles.entry(keep).or_default();
            members.extend(moved);
            ProfileId(gone)
        });
        self.push_log(LogEvent::Linked {
            profile: ProfileId(keep),
            absorbed,
            records: [RecordRef::Record(a.clone()), RecordRef::Record(b.clone())],
            reason: reason.to_owned(),
        });
        Ok(Linked {
            profile: ProfileId(keep),
            absorbed,
        })
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
}
