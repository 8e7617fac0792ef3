//! Running a [`Pipeline`]: one private function per step, in the order they run.
//!
//! [`Pipeline::run`] only sequences them: [`Pipeline::read_sources`] (with the per-record
//! stages), [`Pipeline::read_events`], [`Pipeline::dedup`], [`join`], [`Pipeline::profiles`],
//! [`Pipeline::traits`], [`Pipeline::profile_stages`], [`Pipeline::export`], and
//! [`RunState::report`] to add it all up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mergetag_dedup::DedupResult;
use mergetag_dedup::DedupWarning;
use mergetag_dedup::survivorship::golden_profiles;
use mergetag_mapping::{Audience, IdentityGraph, Recipient, SuppressedAddresses, VariableCoverage};
use mergetag_model::{
    Channel, Event, FieldName, OnBadRow, Position, Profile, ProfileId, Record, RecordId, RecordKey,
    Reject, Source, SourceError, SourceErrorKind, SourceName, Value,
};
use mergetag_normalize::{ChangeLog, Tally};
use mergetag_validate::{
    Finding, QuarantineEntry, Report, Severity, Validator, Verdict, reject_finding,
};

use super::builder::SourceSlot;
use super::output::{ReadSources, RunOutput};
use super::report::{
    DedupReport, EventsReport, OutputReport, ProfilesReport, RunReport, RunWarning, SourceReport,
    StageReport, StageTime,
};
use super::stage::{Decision, ProfileBatch, StageAt};
use super::{PROGRESS_EVERY, Pipeline, Progress, Step};
use crate::error::{Error, Result};

/// What accumulates across the steps of one run.
struct RunState<'p> {
    progress: &'p mut dyn FnMut(Progress),
    timings: Timings,
    quarantine: Vec<QuarantineEntry>,
    by_reason: BTreeMap<String, u64>,
    warnings: Vec<RunWarning>,
    /// What the profile stages reported.
    stages: Vec<StageReport>,
    /// The join sources: their records alone give no consent.
    third_party: HashSet<SourceName>,
}

impl RunState<'_> {
    fn progress(&mut self, step: Step, item: Option<&str>, done: u64, total: Option<u64>) {
        (self.progress)(Progress {
            step,
            item: item.map(str::to_owned),
            done,
            total,
            finished: false,
        });
    }

    fn finished(&mut self, step: Step, item: Option<&str>, done: u64) {
        (self.progress)(Progress {
            step,
            item: item.map(str::to_owned),
            done,
            total: Some(done),
            finished: true,
        });
    }

    /// Quarantines a row a source could not read; returns its reason code.
    fn quarantine_reject(&mut self, reject: Reject) -> String {
        let finding = reject_finding(&reject);
        let code = finding.code.to_string();
        self.quarantine.push(QuarantineEntry::Reject {
            reject,
            findings: vec![finding],
        });
        code
    }
}

/// The records read: those to deduplicate, those to join, what each source did, and the
/// sources themselves, kept to be acknowledged once the results are stored.
struct Read {
    contacts: Vec<Record>,
    joiners: Vec<(Record, FieldName)>,
    sources: Vec<SourceReport>,
    opened: Vec<Box<dyn Source>>,
    tally: Option<Tally>,
}

/// The events read, and their report (when any event source ran).
struct Events {
    events: Vec<Event>,
    report: Option<EventsReport>,
}

/// The audiences rendered, their reports, and the default mapping's coverage.
struct Exported {
    audiences: Vec<Audience>,
    outputs: Vec<OutputReport>,
    coverage: BTreeMap<String, VariableCoverage>,
}

/// Clusters of the deduplicated records, and what dedup found.
struct Clusters {
    clusters: Vec<u32>,
    result: Option<DedupResult>,
    report: Option<DedupReport>,
}

impl Pipeline {
    /// Runs every stage once, calling `progress` as it goes (pass `|_| {}` to ignore it).
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when a source fails in a way that ends it (an I/O error, an unusable
    /// header), or reports a bad row while its [`SourceOptions::on_bad_row`] is
    /// [`OnBadRow::Fail`], naming the source and position. Otherwise bad rows are never
    /// errors: they are quarantined. [`Error::Stage`] when a [`ProfileStage`] fails.
    ///
    /// The run acknowledges nothing to its sources: the [`RunOutput`] keeps them, and its
    /// [`RunOutput::commit_sources`] acknowledges them once you have stored the results (a
    /// Kafka source then commits). A run that fails drops its sources unacknowledged.
    ///
    /// [`SourceOptions::on_bad_row`]: super::SourceOptions::on_bad_row
    /// [`ProfileStage`]: super::ProfileStage
    pub fn run(mut self, mut progress: impl FnMut(Progress)) -> Result<RunOutput> {
        let mut state = RunState {
            progress: &mut progress,
            timings: Timings::default(),
            quarantine: Vec::new(),
            by_reason: BTreeMap::new(),
            warnings: Vec::new(),
            stages: Vec::new(),
            third_party: HashSet::new(),
        };
        let read = self.read_sources(&mut state)?;
        let events = self.read_events(&mut state)?;
        let mut clusters = self.dedup(&mut state, &read.contacts);
        let start = Instant::now();
        let (records, joined) = join(read.contacts, read.joiners, &mut clusters.clusters);
        if let Some(d) = &mut clusters.report {
            d.joined = joined;
        }
        let (mut profiles, profile_of, mut profiles_report) =
            self.profiles(&mut state, &records, &clusters.clusters, start, joined);
        let mut events = events;
        let suppressed = self.suppress(&mut state, &mut profiles, &events.events);
        profiles_report.suppressed_email = profiles
            .iter()
            .filter(|p| p.is_suppressed(Channel::Email))
            .count() as u64;
        let (traits, event_profiles) = self.traits(&mut state, &profiles, &mut events)?;
        let exported = self.export(&mut state, &profiles, &traits, &suppressed);
        let report = state.report(
            read.sources,
            read.tally,
            clusters.report,
            profiles_report,
            events.report,
            exported.outputs,
            exported.coverage,
        );
        Ok(RunOutput {
            records,
            profile_of,
            profiles,
            traits,
            events: events.events,
            event_profiles,
            dedup: clusters.result,
            quarantine: state.quarantine,
            audit: self.validator.as_ref().and_then(Validator::audit),
            audiences: exported.audiences,
            report,
            sources: ReadSources(read.opened),
        })
    }

    /// Steps 1-4: reads every source to its end, running normalization, validation and the
    /// record stages on each record; bad rows and rejected records go to quarantine.
    fn read_sources(&mut self, state: &mut RunState<'_>) -> Result<Read> {
        let mut read = Read {
            contacts: Vec::new(),
            joiners: Vec::new(),
            sources: Vec::new(),
            opened: Vec::new(),
            tally: self.normalizer.as_ref().map(|_| Tally::default()),
        };
        let mut per_record = PerRecord {
            record: Record::default(),
            log: ChangeLog::new(),
            report: Report::new(),
        };
        let mut rejects: Vec<Reject> = Vec::new();
        for mut slot in std::mem::take(&mut self.sources) {
            let sr =
                self.read_source(state, &mut slot, &mut read, &mut per_record, &mut rejects)?;
            read.sources.push(sr);
            read.opened.push(slot.source);
        }
        Ok(read)
    }

    /// Reads one source; see [`Pipeline::read_sources`].
    fn read_source(
        &mut self,
        state: &mut RunState<'_>,
        slot: &mut SourceSlot,
        read: &mut Read,
        per: &mut PerRecord,
        rejects: &mut Vec<Reject>,
    ) -> Result<SourceReport> {
        let name = slot.source.name().to_string();
        if slot.options.join.is_some() {
            state.third_party.insert(slot.source.name().clone());
        }
        let mut sr = SourceReport {
            name: name.clone(),
            role: if slot.options.join.is_some() {
                "join".into()
            } else {
                "dedup".into()
            },
            ..SourceReport::default()
        };
        state.progress(Step::Read, Some(&name), 0, None);
        let mut row = 0u64;
        // The row of each record key met so far: a key met twice is a bad row.
        let mut keys: HashMap<String, u64> = HashMap::new();
        loop {
            let start = Instant::now();
            let result = slot.source.read_record(&mut per.record);
            slot.source.drain_rejects(rejects);
            state.timings.add("read", start.elapsed());
            let (more, failed) = match result {
                Ok(more) => (more, false),
                Err(e) if e.is_recoverable() && slot.options.on_bad_row == OnBadRow::Quarantine => {
                    row += 1;
                    rejects.push(reject_of(&e, e.position().record.unwrap_or(row)));
                    (true, true)
                }
                Err(e) => return Err(Error::Source(e)),
            };
            if slot.options.on_bad_row == OnBadRow::Fail
                && let Some(r) = rejects.first()
            {
                return Err(Error::Source(r.to_error()));
            }
            for reject in rejects.drain(..) {
                row += 1;
                sr.read += 1;
                sr.rejected += 1;
                if let Some(v) = &mut self.validator {
                    v.count_reject(&reject);
                }
                let code = state.quarantine_reject(reject);
                *state.by_reason.entry(code).or_default() += 1;
            }
            if !more {
                break;
            }
            if failed {
                continue;
            }
            row += 1;
            sr.read += 1;
            if let RecordKey::Id(key) = &per.record.id.key {
                if let Some(&first) = keys.get(key.as_str()) {
                    let fate = duplicate_key(&per.record, row, first);
                    if slot.options.on_bad_row == OnBadRow::Fail {
                        return Err(Error::Source(SourceError::new(
                            per.record.id.source.clone(),
                            Position::record(row),
                            SourceErrorKind::Other {
                                message: format!(
                                    "the record id is the same as record {first}'s; a source's ids must be unique"
                                ),
                            },
                        )));
                    }
                    if let Fate::Quarantined { reason, entry } = fate {
                        sr.quarantined += 1;
                        *state.by_reason.entry(reason).or_default() += 1;
                        state.quarantine.push(*entry);
                    }
                    continue;
                }
                keys.insert(key.clone(), row);
            }
            if let Some(field) = &slot.options.key_as {
                let key = per.record.id.key.to_string();
                per.record.set(field.clone(), key);
            }
            match self.process(per, row, &mut read.tally, &mut state.timings) {
                Fate::Accepted => {
                    sr.accepted += 1;
                    match &slot.options.join {
                        None => read.contacts.push(per.record.clone()),
                        Some(f) => read.joiners.push((per.record.clone(), f.clone())),
                    }
                }
                Fate::Quarantined { reason, entry } => {
                    sr.quarantined += 1;
                    *state.by_reason.entry(reason).or_default() += 1;
                    state.quarantine.push(*entry);
                }
            }
            if sr.read.is_multiple_of(PROGRESS_EVERY) {
                state.progress(Step::Read, Some(&name), sr.read, None);
            }
        }
        state.finished(Step::Read, Some(&name), sr.read);
        sr.counters = slot.source.counters();
        if sr.read == 0 {
            state.warnings.push(RunWarning::new(
                format!("read.{name}"),
                "empty_source",
                "the source yielded no row; check its path and that the file is not empty",
            ));
        }
        Ok(sr)
    }

    /// Reads every event source; unreadable lines go to quarantine.
    fn read_events(&mut self, state: &mut RunState<'_>) -> Result<Events> {
        let event_sources = std::mem::take(&mut self.events);
        let mut out = Events {
            events: Vec::new(),
            report: None,
        };
        if event_sources.is_empty() {
            return Ok(out);
        }
        let mut er = EventsReport::default();
        let start = Instant::now();
        let mut rejects: Vec<Reject> = Vec::new();
        for mut es in event_sources {
            let name = es.name().to_string();
            state.progress(Step::Events, Some(&name), 0, None);
            let mut n = 0u64;
            loop {
                match es.read_event() {
                    Ok(Some(e)) => {
                        n += 1;
                        out.events.push(e);
                    }
                    Ok(None) => break,
                    Err(e) if e.is_recoverable() => {
                        n += 1;
                        rejects.push(reject_of(&e, e.position().line.unwrap_or(n)));
                    }
                    Err(e) => return Err(Error::Source(e)),
                }
            }
            es.drain_rejects(&mut rejects);
            for reject in rejects.drain(..) {
                er.quarantined += 1;
                let code = state.quarantine_reject(reject);
                *er.quarantined_by_reason.entry(code).or_default() += 1;
            }
            state.finished(Step::Events, Some(&name), n);
            if n == 0 {
                state.warnings.push(RunWarning::new(
                    format!("events.{name}"),
                    "empty_source",
                    "the event source yielded no event; check its path and that the file is not empty",
                ));
            }
        }
        er.accepted = out.events.len() as u64;
        er.read = er.accepted + er.quarantined;
        state.timings.add("events", start.elapsed());
        out.report = Some(er);
        Ok(out)
    }

    /// Step 5: clusters the records to deduplicate (each its own cluster without a deduper,
    /// numbered in record-id order).
    fn dedup(&self, state: &mut RunState<'_>, contacts: &[Record]) -> Clusters {
        let n = contacts.len() as u64;
        state.progress(Step::Dedup, None, 0, Some(n));
        let out = match &self.deduper {
            Some(deduper) => {
                let result = state.timings.time("dedup", || deduper.run(contacts));
                for w in deduper.diagnose(contacts, &result) {
                    state
                        .warnings
                        .push(RunWarning::new("dedup", warning_code(&w), w.to_string()));
                }
                let report = DedupReport {
                    records: n,
                    candidate_pairs: result.blocking.candidate_pairs,
                    matches: result.matches.len() as u64,
                    clusters: result.cluster_count as u64,
                    refused_bridges: result.refused_bridges,
                    oversized_blocks: result
                        .blocking
                        .passes
                        .iter()
                        .map(|p| p.oversized_blocks as u64)
                        .sum(),
                    joined: 0,
                };
                Clusters {
                    clusters: result.clusters.clone(),
                    result: Some(result),
                    report: Some(report),
                }
            }
            None => {
                let mut order: Vec<usize> = (0..contacts.len()).collect();
                order.sort_by(|&a, &b| contacts[a].id.cmp(&contacts[b].id));
                let mut clusters = vec![0u32; contacts.len()];
                for (c, i) in order.into_iter().enumerate() {
                    clusters[i] = c as u32;
                }
                Clusters {
                    clusters,
                    result: None,
                    report: None,
                }
            }
        };
        state.finished(Step::Dedup, None, n);
        out
    }

    /// Step 6: one golden profile per cluster.
    fn profiles(
        &self,
        state: &mut RunState<'_>,
        records: &[Record],
        clusters: &[u32],
        start: Instant,
        joined: u64,
    ) -> (Vec<Profile>, Vec<ProfileId>, ProfilesReport) {
        state.progress(Step::Profiles, None, 0, Some(records.len() as u64));
        let profiles = golden_profiles(records, clusters, &self.survivorship);
        let profile_of: Vec<ProfileId> =
            clusters.iter().map(|&c| ProfileId(u64::from(c))).collect();
        state.timings.add("profiles", start.elapsed());
        state.finished(Step::Profiles, None, profiles.len() as u64);
        let report = ProfilesReport {
            profiles: profiles.len() as u64,
            members: profiles.iter().map(|p| p.members.len() as u64).sum(),
            merged: profiles.iter().filter(|p| p.members.len() > 1).count() as u64,
            joined,
            suppressed_email: profiles
                .iter()
                .filter(|p| p.is_suppressed(Channel::Email))
                .count() as u64,
        };
        (profiles, profile_of, report)
    }

    /// Step 6b: bounces, complaints and unsubscribes among the events become suppressions:
    /// of the profiles the events belong to (kept with their provenance, like an opt-out), and
    /// of the mailboxes they name, whichever profile holds them.
    fn suppress(
        &self,
        state: &mut RunState<'_>,
        profiles: &mut [Profile],
        events: &[Event],
    ) -> SuppressedAddresses {
        if events.is_empty() {
            return SuppressedAddresses::default();
        }
        state
            .timings
            .time("suppression", || self.suppression.apply(profiles, events))
    }

    /// Step 7: attributes events to profiles and computes traits and engagement, then runs the
    /// profile stages; returns each profile's traits, and the profile of each event.
    #[allow(clippy::type_complexity)]
    fn traits(
        &mut self,
        state: &mut RunState<'_>,
        profiles: &[Profile],
        events: &mut Events,
    ) -> Result<(Vec<BTreeMap<String, Value>>, Vec<Option<ProfileId>>)> {
        let mut traits: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); profiles.len()];
        let now = self
            .now
            .or_else(|| events.events.iter().map(|e| e.timestamp).max())
            .unwrap_or_else(Utc::now);
        let computes = self.traits.is_some() || self.engagement.is_some();
        if !computes && self.profile_stages.is_empty() {
            // Nothing uses the events but the outputs: attribute them all the same.
            let owners = if events.events.is_empty() {
                Vec::new()
            } else {
                let mut graph = IdentityGraph::from_profiles(profiles);
                graph.link(&events.events);
                events.events.iter().map(|e| graph.resolve(e)).collect()
            };
            return Ok((traits, owners));
        }
        let total = Some(profiles.len() as u64);
        state.progress(Step::Traits, None, 0, total);
        let start = Instant::now();
        let mut graph = IdentityGraph::from_profiles(profiles);
        graph.link(&events.events);
        let owners: Vec<Option<ProfileId>> =
            events.events.iter().map(|e| graph.resolve(e)).collect();
        let mut groups = graph.group(&events.events);
        if let Some(er) = &mut events.report {
            let attributed: u64 = groups.values().map(|g| g.len() as u64).sum();
            er.attributed = attributed;
            er.unattributed = er.accepted - attributed;
            er.profiles_with_events = groups.len() as u64;
            er.now = Some(now);
        }
        let per_profile: Vec<Vec<&Event>> = profiles
            .iter()
            .map(|p| groups.remove(&p.id).unwrap_or_default())
            .collect();
        if computes {
            for (evs, t) in per_profile.iter().zip(traits.iter_mut()) {
                if let Some(set) = &self.traits {
                    *t = set.compute(evs, now);
                }
                if let Some(e) = &self.engagement {
                    e.score(evs, now).insert_into(t);
                }
            }
            state.timings.add("traits", start.elapsed());
        }
        state.finished(Step::Traits, None, profiles.len() as u64);
        self.profile_stages(state, profiles, &per_profile, &mut traits, now)?;
        Ok((traits, owners))
    }

    /// Step 8: the profile stages, in the order added, each seeing the traits so far.
    fn profile_stages(
        &mut self,
        state: &mut RunState<'_>,
        profiles: &[Profile],
        events: &[Vec<&Event>],
        traits: &mut [BTreeMap<String, Value>],
        now: DateTime<Utc>,
    ) -> Result<()> {
        for stage in &mut self.profile_stages {
            let name = stage.name().to_owned();
            state.progress(
                Step::ProfileStages,
                Some(&name),
                0,
                Some(profiles.len() as u64),
            );
            let start = Instant::now();
            let mut batch = ProfileBatch::new(profiles, events, traits, now);
            stage.process(&mut batch).map_err(|source| Error::Stage {
                stage: name.clone(),
                source,
            })?;
            state
                .timings
                .add(&format!("profile_stage.{name}"), start.elapsed());
            let mut report = stage.report();
            state.warnings.append(&mut report.warnings);
            if !report.facts.is_empty() {
                report.stage = name.clone();
                state.stages.push(report);
            }
            state.finished(Step::ProfileStages, Some(&name), profiles.len() as u64);
        }
        Ok(())
    }

    /// Step 9: renders each output's audience (suppression enforced) and the mapping's
    /// coverage.
    fn export(
        &self,
        state: &mut RunState<'_>,
        profiles: &[Profile],
        traits: &[BTreeMap<String, Value>],
        suppressed: &SuppressedAddresses,
    ) -> Exported {
        let recipients: Vec<Recipient<'_>> = profiles
            .iter()
            .zip(traits)
            .map(|(profile, traits)| Recipient { profile, traits })
            .collect();
        let mut coverage = BTreeMap::new();
        if let Some(mapping) = &self.coverage_mapping {
            coverage = state.timings.time("mapping", || {
                mergetag_mapping::coverage(mapping, &recipients)
            });
        }
        // Consent first: a profile without it is no recipient of any output.
        let mut refused: BTreeMap<String, u64> = BTreeMap::new();
        let consented: Vec<Recipient<'_>> = if self.outputs.is_empty() {
            Vec::new()
        } else {
            recipients
                .iter()
                .filter(
                    |r| match self.consent.refusal(r.profile, &state.third_party) {
                        None => true,
                        Some(why) => {
                            *refused.entry(format!("no_consent.{why}")).or_default() += 1;
                            false
                        }
                    },
                )
                .copied()
                .collect()
        };
        let n_refused: u64 = refused.values().sum();
        let mut audiences = Vec::new();
        let mut outputs = Vec::new();
        let total = recipients.len() as u64;
        for o in &self.outputs {
            let platform = o.exporter.platform().to_string();
            state.progress(Step::Export, Some(&platform), 0, Some(total));
            let start = Instant::now();
            let audience = o.exporter.export_with(&consented, suppressed);
            state
                .timings
                .add(&format!("export.{platform}"), start.elapsed());
            let r = &audience.report;
            let variables = o.variables as u64;
            let mut excluded: BTreeMap<String, u64> = r
                .excluded
                .iter()
                .map(|(k, n)| (exclusion_name(k), *n as u64))
                .collect();
            excluded.extend(refused.iter().map(|(k, n)| (k.clone(), *n)));
            outputs.push(OutputReport {
                platform: platform.clone(),
                recipients: r.recipients as u64 + n_refused,
                exported: r.exported as u64,
                suppressed: r.suppressed() as u64,
                excluded,
                variables,
                values_emitted: (r.exported as u64 * variables)
                    .saturating_sub(r.rejections.len() as u64),
                rejected_values: r.rejections.len() as u64,
                payloads: r.payloads as u64,
            });
            state.finished(Step::Export, Some(&platform), total);
            audiences.push(audience);
        }
        Exported {
            audiences,
            outputs,
            coverage,
        }
    }

    /// Runs the per-record stages on one record.
    fn process(
        &mut self,
        per: &mut PerRecord,
        row: u64,
        tally: &mut Option<Tally>,
        timings: &mut Timings,
    ) -> Fate {
        let record = &mut per.record;
        if let Some(f) = self.run_stages(StageAt::BeforeNormalize, record, row, timings) {
            return f;
        }
        if let Some(n) = &self.normalizer {
            let start = Instant::now();
            n.normalize(record, &mut per.log);
            timings.add("normalize", start.elapsed());
            if let Some(t) = tally {
                t.add(&per.log);
            }
        }
        if let Some(f) = self.run_stages(StageAt::AfterNormalize, record, row, timings) {
            return f;
        }
        if let Some(v) = &mut self.validator {
            let start = Instant::now();
            let verdict = v.check(record, &mut per.report);
            timings.add("validate", start.elapsed());
            if verdict == Verdict::Quarantined {
                let findings = per.report.findings().to_vec();
                return Fate::Quarantined {
                    reason: reason_of(&findings),
                    entry: Box::new(QuarantineEntry::Record {
                        record: record.clone(),
                        position: Some(Position::record(row)),
                        findings,
                    }),
                };
            }
        }
        if let Some(f) = self.run_stages(StageAt::AfterValidate, record, row, timings) {
            return f;
        }
        Fate::Accepted
    }

    /// Runs the record stages placed at `at`; the first that quarantines the record decides.
    fn run_stages(
        &mut self,
        at: StageAt,
        record: &mut Record,
        row: u64,
        timings: &mut Timings,
    ) -> Option<Fate> {
        for (where_, stage, key) in &mut self.stages {
            if *where_ != at {
                continue;
            }
            let start = Instant::now();
            let decision = stage.process(record);
            timings.add(key, start.elapsed());
            if let Decision::Quarantine(reason) = decision {
                let code = key.clone();
                let finding = Finding::record(code.clone(), Severity::Error, reason);
                return Some(Fate::Quarantined {
                    reason: code,
                    entry: Box::new(QuarantineEntry::Record {
                        record: record.clone(),
                        position: Some(Position::record(row)),
                        findings: vec![finding],
                    }),
                });
            }
        }
        None
    }
}

impl RunState<'_> {
    /// The run report: the counts of every step, adding up, and the timings.
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        sources: Vec<SourceReport>,
        normalization: Option<Tally>,
        dedup: Option<DedupReport>,
        profiles: ProfilesReport,
        events: Option<EventsReport>,
        outputs: Vec<OutputReport>,
        coverage: BTreeMap<String, VariableCoverage>,
    ) -> RunReport {
        let accepted: u64 = sources.iter().map(|s| s.accepted).sum();
        let quarantined: u64 = sources.iter().map(|s| s.quarantined + s.rejected).sum();
        RunReport {
            records_in: sources.iter().map(|s| s.read).sum(),
            accepted,
            quarantined,
            sources,
            quarantined_by_reason: std::mem::take(&mut self.by_reason),
            normalization,
            dedup,
            profiles,
            events,
            outputs,
            coverage,
            timings: std::mem::take(&mut self.timings.0)
                .into_iter()
                .map(|(stage, d)| StageTime {
                    stage,
                    millis: d.as_secs_f64() * 1000.0,
                })
                .collect(),
            warnings: std::mem::take(&mut self.warnings),
            stages: std::mem::take(&mut self.stages),
        }
    }
}

/// The stable code of a dedup warning (its serde tag).
fn warning_code(w: &DedupWarning) -> String {
    match serde_json::to_value(w) {
        Ok(serde_json::Value::Object(m)) => m
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or("dedup")
            .to_owned(),
        _ => "dedup".to_owned(),
    }
}

/// A record whose key an earlier record of its source had: quarantined, since two records
/// with one id would be one record id in two places.
fn duplicate_key(record: &Record, row: u64, first: u64) -> Fate {
    let code = "source.duplicate_id".to_owned();
    let finding = Finding::record(
        code.clone(),
        Severity::Error,
        format!("the record id is the same as record {first}'s; a source's ids must be unique"),
    );
    Fate::Quarantined {
        reason: code,
        entry: Box::new(QuarantineEntry::Record {
            record: record.clone(),
            position: Some(Position::record(row)),
            findings: vec![finding],
        }),
    }
}

/// The buffers one record goes through, reused from record to record.
struct PerRecord {
    record: Record,
    log: ChangeLog,
    report: Report,
}

/// A reject standing for a recoverable error a source returned (no raw text: the source kept
/// none).
fn reject_of(e: &SourceError, number: u64) -> Reject {
    Reject {
        id: RecordId::row(e.source_name().clone(), number),
        position: e.position(),
        field: e.field().cloned(),
        error: e.kind().clone(),
        raw: String::new(),
    }
}

/// Step 5b: the records of join sources join the cluster whose deduplicated records have the
/// same key, or make one of their own; returns all records (deduplicated first, then joined
/// in record-id order) and how many joined an existing cluster.
fn join(
    contacts: Vec<Record>,
    mut joiners: Vec<(Record, FieldName)>,
    clusters: &mut Vec<u32>,
) -> (Vec<Record>, u64) {
    let mut joined = 0u64;
    if !joiners.is_empty() {
        joiners.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let mut next = clusters.iter().map(|&c| c + 1).max().unwrap_or(0);
        let mut keys: HashMap<(FieldName, String), u32> = HashMap::new();
        let mut key = String::new();
        let mut fields: Vec<&FieldName> = joiners.iter().map(|(_, f)| f).collect();
        fields.sort();
        fields.dedup();
        for field in fields {
            for (r, &c) in contacts.iter().zip(clusters.iter()) {
                if let Some(v) = r.get(field.as_str()) {
                    join_key(field.as_str(), v, &mut key);
                    if !key.is_empty() {
                        keys.entry((field.clone(), key.clone()))
                            .and_modify(|p| *p = (*p).min(c))
                            .or_insert(c);
                    }
                }
            }
        }
        for (r, field) in &joiners {
            match r.get(field.as_str()) {
                Some(v) => join_key(field.as_str(), v, &mut key),
                None => key.clear(),
            }
            let found = (!key.is_empty())
                .then(|| keys.get(&(field.clone(), key.clone())).copied())
                .flatten();
            match found {
                Some(c) => {
                    clusters.push(c);
                    joined += 1;
                }
                None => {
                    clusters.push(next);
                    if !key.is_empty() {
                        keys.insert((field.clone(), key.clone()), next);
                    }
                    next += 1;
                }
            }
        }
    }
    let mut records = contacts;
    records.extend(joiners.into_iter().map(|(r, _)| r));
    (records, joined)
}

/// Accumulated time per stage, in first-seen order.
#[derive(Default)]
struct Timings(Vec<(String, Duration)>);

impl Timings {
    fn add(&mut self, stage: &str, d: Duration) {
        match self.0.iter_mut().find(|(s, _)| s == stage) {
            Some((_, t)) => *t += d,
            None => self.0.push((stage.to_owned(), d)),
        }
    }

    fn time<T>(&mut self, stage: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.add(stage, start.elapsed());
        out
    }
}

/// What became of one record in the per-record stages.
enum Fate {
    Accepted,
    Quarantined {
        reason: String,
        entry: Box<QuarantineEntry>,
    },
}

/// The first error's code, the reason a record is counted under.
fn reason_of(findings: &[Finding]) -> String {
    findings
        .iter()
        .find(|f| f.severity == Severity::Error)
        .or(findings.first())
        .map_or_else(|| "unknown".to_owned(), |f| f.code.to_string())
}

/// The key a join compares: an email folded as dedup does, anything else trimmed and
/// lower-cased.
fn join_key(field: &str, value: &Value, out: &mut String) {
    out.clear();
    let text = match value {
        Value::Text(s) => s.as_str(),
        Value::Null => return,
        other => {
            out.push_str(&other.to_string());
            return;
        }
    };
    if field == mergetag_model::fields::EMAIL {
        mergetag_dedup::fold::email(text, out);
    } else {
        out.push_str(&text.trim().to_lowercase());
    }
}

fn exclusion_name(e: &mergetag_mapping::Exclusion) -> String {
    // The serde name (`no_address`, `opt_out_field`, `suppressed`...), with the reason.
    match serde_json::to_value(e) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}.{s}"),
                v => format!("{k}.{v}"),
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => format!("{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keys_fold_emails_and_text() {
        let mut key = String::new();
        join_key(
            "email",
            &Value::from(" Ada.Lovelace+news@GoogleMail.com"),
            &mut key,
        );
        let mut other = String::new();
        join_key("email", &Value::from("adalovelace@gmail.com"), &mut other);
        assert_eq!(key, other);
        join_key("company", &Value::from("  ACME Inc "), &mut key);
        assert_eq!(key, "acme inc");
        join_key("company", &Value::Null, &mut key);
        assert!(key.is_empty());
        join_key("employee_count", &Value::Int(12), &mut key);
        assert_eq!(key, "12");
    }

    #[test]
    fn the_reason_is_the_first_error() {
        let findings = vec![
            Finding::record("role_account", Severity::Warning, "a warning"),
            Finding::record("invalid_email", Severity::Error, "an error"),
        ];
        assert_eq!(reason_of(&findings), "invalid_email");
        assert_eq!(reason_of(&findings[..1]), "role_account");
        assert_eq!(reason_of(&[]), "unknown");
    }

    #[test]
    fn steps_have_names() {
        assert_eq!(Step::Read.to_string(), "read");
        assert_eq!(Step::Export.as_str(), "export");
    }

    #[test]
    fn timings_accumulate_in_first_seen_order() {
        let mut t = Timings::default();
        t.add("read", Duration::from_millis(2));
        t.add("dedup", Duration::from_millis(5));
        t.add("read", Duration::from_millis(3));
        assert_eq!(t.0[0], ("read".to_owned(), Duration::from_millis(5)));
        assert_eq!(t.0.len(), 2);
    }
}
