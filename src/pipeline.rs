//! The [`Pipeline`]: sources → normalize → validate → dedup → golden profiles → mapping →
//! outputs, any subset of them, with one [`RunReport`] and a progress callback.
//!
//! Build one in code with [`Pipeline::builder`], or describe it in one TOML file
//! ([`PipelineConfig`], format in [`config`]) and build it with [`Pipeline::from_config`]:
//!
//! ```
//! use mergetag::dedup::{DedupConfig, Deduper};
//! use mergetag::normalize::NormalizeConfig;
//! use mergetag::pipeline::Pipeline;
//! use mergetag::sources::{ColumnMap, CsvSource};
//!
//! let crm = "\
//! hs_object_id,firstname,lastname,email,phone,zip
//! 1,Robert,Smith,bob.smith@gmail.com,(312) 555-0147,62704
//! 2,Bob,SMITH,BobSmith+news@gmail.com,312.555.0147,62704
//! 3,Alice,Jones,alice@example.com,,10001
//! ";
//! let source = CsvSource::builder()
//!     .column_map(ColumnMap::hubspot_contacts())
//!     .from_reader("hubspot", crm.as_bytes())?;
//!
//! let output = Pipeline::builder()
//!     .source(source)
//!     .normalizer(NormalizeConfig::standard().build()?)
//!     .dedup(Deduper::new(DedupConfig::contacts())?)
//!     .build()?
//!     .run(|_progress| {})?;
//!
//! assert_eq!(output.profiles.len(), 2); // Robert and Bob Smith are one person
//! assert_eq!(output.report.accepted, 3);
//! assert!(output.report.adds_up());
//! # Ok::<(), mergetag::Error>(())
//! ```
//!
//! What each stage does with a record, in order:
//!
//! 1. **Read**: every [`Source`] is read to its end; rows it cannot read ([`Reject`]s, and
//!    recoverable errors) go to quarantine with their position and reason.
//! 2. **Normalize** ([`RecordNormalizer`]): fields are made canonical; every change and flag
//!    is counted by field ([`Tally`]).
//! 3. **Validate** ([`Validator`]): a record with an error finding goes to quarantine with
//!    every finding; the data-quality [`Audit`] is kept.
//! 4. **Your stages** ([`RecordStage`], or a closure through [`stage_fn`]): keep the record
//!    (changed as you like) or quarantine it with a reason. They run where you put them
//!    ([`StageAt`]).
//! 5. **Dedup** ([`Deduper`]): the accepted records of the sources that are not joined are
//!    clustered; without a deduper each record is its own cluster. Records of a *join*
//!    source ([`SourceOptions::join`], such as an enrichment file keyed by email) join the
//!    cluster whose records have the same key, or make one of their own.
//! 6. **Golden profiles** ([`survivorship`](mergetag_dedup::survivorship)): one [`Profile`]
//!    per cluster, with the provenance of every value and the suppressions that survive.
//! 7. **Traits**: events from [`EventSource`]s are attributed to profiles (user id, email,
//!    anonymous ids linked by identify calls) and turned into computed traits and an
//!    engagement level.
//! 8. **Mapping and outputs**: for each platform, the [`Mapping`] renders each profile's
//!    template variables into the platform's request bodies, suppression enforced.
//!
//! Nothing is lost: every row read is accepted or quarantined with its reasons, and every
//! accepted record belongs to exactly one profile ([`RunReport::adds_up`]).
//!
//! [`Tally`]: mergetag_normalize::Tally
//! [`Audit`]: mergetag_validate::Audit
//! [`Profile`]: mergetag_model::Profile

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mergetag_dedup::survivorship::{SurvivorshipConfig, golden_profiles};
use mergetag_dedup::{DedupResult, Deduper};
use mergetag_mapping::{
    Audience, Engagement, ExporterBuilder, IdentityGraph, Mapping, Platform, Recipient, TraitSet,
};
pub use mergetag_model::EventSource;
use mergetag_model::{
    Channel, Event, FieldName, Position, Profile, ProfileId, Record, RecordId, Reject, Source,
    Value,
};
use mergetag_normalize::{ChangeLog, RecordNormalizer, Tally};
use mergetag_validate::{
    Audit, Finding, QuarantineEntry, QuarantineWriter, Report, Severity, Validator, Verdict,
    reject_finding,
};

use crate::error::{Error, Result};

pub mod config;
mod report;

pub use config::PipelineConfig;
pub use report::{
    DedupReport, EventsReport, OutputReport, ProfilesReport, RunReport, SourceReport, StageTime,
};

// ------------------------------------------------------------------------------ stages

/// What a [`RecordStage`] decides about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The record goes on (as the stage left it).
    Keep,
    /// The record goes to quarantine with this reason (a short sentence, without personal
    /// values: it is printed in summaries).
    Quarantine(String),
}

/// A stage of your own, run on every record: change it, keep it, or quarantine it with a
/// reason. Closures become stages through [`stage_fn`].
///
/// ```
/// use mergetag::pipeline::{Decision, RecordStage};
/// use mergetag::{Record, RecordId, fields};
///
/// /// Test accounts never reach a campaign.
/// struct DropTestAccounts;
///
/// impl RecordStage for DropTestAccounts {
///     fn name(&self) -> &str {
///         "drop_test_accounts"
///     }
///     fn process(&mut self, record: &mut Record) -> Decision {
///         match record.text(fields::EMAIL) {
///             Some(e) if e.ends_with("@test.example.com") => {
///                 Decision::Quarantine("test account".into())
///             }
///             _ => Decision::Keep,
///         }
///     }
/// }
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set(fields::EMAIL, "qa@test.example.com");
/// assert_eq!(DropTestAccounts.process(&mut r), Decision::Quarantine("test account".into()));
/// ```
pub trait RecordStage {
    /// The stage's name, used in the report, the progress callback and quarantine codes
    /// (`stage.<name>`).
    fn name(&self) -> &str;

    /// Processes one record.
    fn process(&mut self, record: &mut Record) -> Decision;
}

impl<S: RecordStage + ?Sized> RecordStage for &mut S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (**self).process(record)
    }
}

impl<S: RecordStage + ?Sized> RecordStage for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (**self).process(record)
    }
}

/// A [`RecordStage`] made from a closure; see [`stage_fn`].
pub struct FnStage<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnStage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStage").field("name", &self.name).finish()
    }
}

impl<F: FnMut(&mut Record) -> Decision> RecordStage for FnStage<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (self.f)(record)
    }
}

/// A stage named `name` that runs `f` on every record.
///
/// ```
/// use mergetag::pipeline::{Decision, RecordStage, stage_fn};
/// use mergetag::{Record, RecordId};
///
/// let mut tag = stage_fn("tag_region", |r: &mut Record| {
///     r.set("campaign_region", "midwest");
///     Decision::Keep
/// });
/// let mut r = Record::new(RecordId::row("crm", 1));
/// assert_eq!(tag.process(&mut r), Decision::Keep);
/// assert_eq!(r.text("campaign_region"), Some("midwest"));
/// ```
pub fn stage_fn<F: FnMut(&mut Record) -> Decision>(name: &str, f: F) -> FnStage<F> {
    FnStage {
        name: name.to_owned(),
        f,
    }
}

/// Where a [`RecordStage`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StageAt {
    /// Right after reading, before normalization.
    BeforeNormalize,
    /// After normalization, before validation.
    AfterNormalize,
    /// After validation, before dedup (the default): only accepted records reach it.
    #[default]
    AfterValidate,
}

// ------------------------------------------------------------------------------ progress

/// The stages a run goes through, as the progress callback and the report name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Step {
    /// Reading records (with normalization, validation and your stages, record by record).
    Read,
    /// Reading events.
    Events,
    /// Deduplication.
    Dedup,
    /// Golden profiles and joins.
    Profiles,
    /// Attribution of events and computed traits.
    Traits,
    /// Rendering the outputs of one platform.
    Export,
}

impl Step {
    /// The name: `read`, `events`, `dedup`, `profiles`, `traits`, `export`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::Events => "events",
            Step::Dedup => "dedup",
            Step::Profiles => "profiles",
            Step::Traits => "traits",
            Step::Export => "export",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a run is, for a progress bar: reported at the start and end of each step and
/// every [`PROGRESS_EVERY`] records while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The step.
    pub step: Step,
    /// What the step works on: the source's name while reading, the platform while exporting.
    pub item: Option<String>,
    /// Units done (records, events, profiles).
    pub done: u64,
    /// Units in all, when known (sources are read without knowing their length).
    pub total: Option<u64>,
    /// Whether this step (for this item) is finished.
    pub finished: bool,
}

/// While reading, progress is reported every this many rows.
pub const PROGRESS_EVERY: u64 = 1024;

// ------------------------------------------------------------------------------ the builder

/// How the records of one source are used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceOptions {
    /// Join instead of dedup: each record joins the profile whose deduplicated records have the
    /// same value in this field (emails compared case-, dot- and `+tag`-insensitively, other
    /// fields case-insensitively), or makes a profile of its own. For lookup files such as an
    /// enrichment file keyed by email.
    pub join: Option<FieldName>,
    /// Copy the record's key into this field, so that later stages can use it; for example
    /// `user_id` for a HubSpot export, whose ids are the `userId`s its events carry.
    pub key_as: Option<FieldName>,
}

impl SourceOptions {
    /// Options that join on `field`.
    pub fn join(field: &str) -> SourceOptions {
        SourceOptions {
            join: Some(FieldName::new(field)),
            key_as: None,
        }
    }

    /// Sets [`SourceOptions::key_as`].
    pub fn with_key_as(mut self, field: &str) -> SourceOptions {
        self.key_as = Some(FieldName::new(field));
        self
    }
}

struct SourceSlot {
    source: Box<dyn Source>,
    options: SourceOptions,
}

struct Output {
    platform: Platform,
    /// Index into `mappings`; 0 is the default mapping.
    mapping: usize,
    batch_size: Option<usize>,
}

/// Builds a [`Pipeline`]: add sources, then the stages you want; any stage left out is
/// skipped. Setters take and return `&mut Self`, so calls chain.
#[derive(Default)]
pub struct PipelineBuilder {
    sources: Vec<SourceSlot>,
    events: Vec<Box<dyn EventSource>>,
    normalizer: Option<RecordNormalizer>,
    validator: Option<Validator>,
    stages: Vec<(StageAt, Box<dyn RecordStage>)>,
    deduper: Option<Deduper>,
    survivorship: SurvivorshipConfig,
    traits: Option<TraitSet>,
    engagement: Option<Engagement>,
    now: Option<DateTime<Utc>>,
    mapping: Option<Mapping>,
    extra_mappings: Vec<Mapping>,
    outputs: Vec<Output>,
    suppressed: Vec<String>,
    output_dir: Option<PathBuf>,
}

impl fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("sources", &self.sources.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// Adds a source whose records are deduplicated.
    pub fn source(&mut self, source: impl Source + 'static) -> &mut Self {
        self.source_with(source, SourceOptions::default())
    }

    /// Adds a source with options (join on a field, copy the key into a field).
    pub fn source_with(
        &mut self,
        source: impl Source + 'static,
        options: SourceOptions,
    ) -> &mut Self {
        self.sources.push(SourceSlot {
            source: Box::new(source),
            options,
        });
        self
    }

    /// Adds a boxed source with options.
    pub fn source_boxed(&mut self, source: Box<dyn Source>, options: SourceOptions) -> &mut Self {
        self.sources.push(SourceSlot { source, options });
        self
    }

    /// Adds a stream of events for computed traits and engagement.
    pub fn events(&mut self, events: impl EventSource + 'static) -> &mut Self {
        self.events.push(Box::new(events));
        self
    }

    /// Normalizes every record with `normalizer`.
    pub fn normalizer(&mut self, normalizer: RecordNormalizer) -> &mut Self {
        self.normalizer = Some(normalizer);
        self
    }

    /// Validates every record with `validator`; records with errors go to quarantine.
    pub fn validator(&mut self, validator: Validator) -> &mut Self {
        self.validator = Some(validator);
        self
    }

    /// Adds a stage of your own after validation ([`StageAt::AfterValidate`]).
    pub fn stage(&mut self, stage: impl RecordStage + 'static) -> &mut Self {
        self.stage_at(StageAt::AfterValidate, stage)
    }

    /// Adds a stage of your own at `at`. Stages at one place run in the order added.
    pub fn stage_at(&mut self, at: StageAt, stage: impl RecordStage + 'static) -> &mut Self {
        self.stages.push((at, Box::new(stage)));
        self
    }

    /// Deduplicates the records of the sources that are not joined.
    pub fn dedup(&mut self, deduper: Deduper) -> &mut Self {
        self.deduper = Some(deduper);
        self
    }

    /// How golden profiles choose their values (default: [`SurvivorshipConfig::default`],
    /// the most recent value).
    pub fn survivorship(&mut self, config: SurvivorshipConfig) -> &mut Self {
        self.survivorship = config;
        self
    }

    /// Computes these traits for each profile from its events.
    pub fn traits(&mut self, traits: TraitSet) -> &mut Self {
        self.traits = Some(traits);
        self
    }

    /// Scores each profile's engagement from its events (traits `engagement_score` and
    /// `engagement_level`).
    pub fn engagement(&mut self, engagement: Engagement) -> &mut Self {
        self.engagement = Some(engagement);
        self
    }

    /// "Now" for traits and engagement (default: the time of the latest event, so that a run
    /// gives the same result whenever it runs; the current time when there are no events).
    pub fn now(&mut self, now: DateTime<Utc>) -> &mut Self {
        self.now = Some(now);
        self
    }

    /// The mapping document that turns profiles and traits into template variables.
    pub fn mapping(&mut self, mapping: Mapping) -> &mut Self {
        self.mapping = Some(mapping);
        self
    }

    /// Renders an audience for `platform` with the mapping of [`PipelineBuilder::mapping`].
    pub fn output(&mut self, platform: Platform) -> &mut Self {
        self.outputs.push(Output {
            platform,
            mapping: 0,
            batch_size: None,
        });
        self
    }

    /// Renders an audience for `platform` with its own mapping (Mailchimp's merge tags, for
    /// one, are at most 10 characters) and optionally its own batch size.
    pub fn output_with(
        &mut self,
        platform: Platform,
        mapping: Mapping,
        batch_size: Option<usize>,
    ) -> &mut Self {
        self.extra_mappings.push(mapping);
        self.outputs.push(Output {
            platform,
            mapping: self.extra_mappings.len(),
            batch_size,
        });
        self
    }

    /// Adds an address from an external suppression list: it is left out of every audience.
    pub fn suppress_address(&mut self, email: &str) -> &mut Self {
        self.suppressed.push(email.to_owned());
        self
    }

    /// Where [`RunOutput::write_to`] should write, when a caller asks the pipeline
    /// ([`Pipeline::output_dir`]).
    pub fn output_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.output_dir = Some(dir.into());
        self
    }

    /// Checks the pipeline and builds it, leaving the builder empty.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when an output has no mapping, and [`Error::Mapping`] when a
    /// mapping's variable names do not suit its platform or a batch size is out of range.
    pub fn build(&mut self) -> Result<Pipeline> {
        let b = std::mem::take(self);
        let mut mappings = Vec::with_capacity(1 + b.extra_mappings.len());
        mappings.push(b.mapping);
        mappings.extend(b.extra_mappings.into_iter().map(Some));
        for (i, o) in b.outputs.iter().enumerate() {
            let Some(mapping) = &mappings[o.mapping] else {
                return Err(Error::Invalid {
                    origin: "<code>".into(),
                    path: format!("outputs[{i}]"),
                    message: format!(
                        "the {} output needs a mapping document; add one with `mapping`",
                        o.platform
                    ),
                });
            };
            exporter_builder(o, &b.suppressed).build(mapping)?;
        }
        Ok(Pipeline {
            sources: b.sources,
            events: b.events,
            normalizer: b.normalizer,
            validator: b.validator,
            stages: b
                .stages
                .into_iter()
                .map(|(at, stage)| {
                    let key = format!("stage.{}", stage.name());
                    (at, stage, key)
                })
                .collect(),
            deduper: b.deduper,
            survivorship: b.survivorship,
            traits: b.traits,
            engagement: b.engagement,
            now: b.now,
            mappings,
            outputs: b.outputs,
            suppressed: b.suppressed,
            output_dir: b.output_dir,
        })
    }
}

fn exporter_builder(o: &Output, suppressed: &[String]) -> ExporterBuilder {
    let mut eb = ExporterBuilder::new(o.platform);
    if let Some(n) = o.batch_size {
        eb.batch_size(n);
    }
    for a in suppressed {
        eb.suppress_address(a);
    }
    eb
}

// ------------------------------------------------------------------------------ the pipeline

/// Sources and stages wired together; [`Pipeline::run`] runs them once. See the [module
/// docs](self).
pub struct Pipeline {
    sources: Vec<SourceSlot>,
    events: Vec<Box<dyn EventSource>>,
    normalizer: Option<RecordNormalizer>,
    validator: Option<Validator>,
    /// Each stage with where it runs and its name in the timings (`stage.<name>`).
    stages: Vec<(StageAt, Box<dyn RecordStage>, String)>,
    deduper: Option<Deduper>,
    survivorship: SurvivorshipConfig,
    traits: Option<TraitSet>,
    engagement: Option<Engagement>,
    now: Option<DateTime<Utc>>,
    /// The default mapping first, then per-output ones.
    mappings: Vec<Option<Mapping>>,
    outputs: Vec<Output>,
    suppressed: Vec<String>,
    output_dir: Option<PathBuf>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "sources",
                &self
                    .sources
                    .iter()
                    .map(|s| s.source.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .field("normalize", &self.normalizer.is_some())
            .field("validate", &self.validator.is_some())
            .field("stages", &self.stages.len())
            .field("dedup", &self.deduper.is_some())
            .field(
                "outputs",
                &self
                    .outputs
                    .iter()
                    .map(|o| o.platform.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Everything a run produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutput {
    /// The accepted records, as the stages left them: first those that were deduplicated, in
    /// reading order, then those that were joined, in record-id order.
    pub records: Vec<Record>,
    /// The profile of each record: `profile_of[i]` for `records[i]`.
    pub profile_of: Vec<ProfileId>,
    /// The golden profiles, in profile-id order.
    pub profiles: Vec<Profile>,
    /// The computed traits (and engagement) of each profile: `traits[i]` for `profiles[i]`;
    /// empty maps when no trait or engagement stage ran.
    pub traits: Vec<BTreeMap<String, Value>>,
    /// The result of deduplication, when it ran; its indices refer to the first
    /// `dedup.clusters.len()` entries of `records`.
    pub dedup: Option<DedupResult>,
    /// Everything quarantined, in the order met: rows the sources could not read, records
    /// that failed validation or a stage of yours, and unreadable event lines.
    pub quarantine: Vec<QuarantineEntry>,
    /// The data-quality audit of the validated records, when validation ran.
    pub audit: Option<Audit>,
    /// One audience per output, in the order configured.
    pub audiences: Vec<Audience>,
    /// The counts and timings.
    pub report: RunReport,
}

/// The files [`RunOutput::write_to`] writes.
pub mod files {
    /// The golden profiles, one JSON object a line.
    pub const PROFILES: &str = "profiles.jsonl";
    /// The quarantine, one JSON object a line, as `mergetag_validate::QuarantineReader` reads it.
    pub const QUARANTINE: &str = "quarantine.jsonl";
    /// The data-quality audit as JSON (when validation ran).
    pub const AUDIT_JSON: &str = "audit.json";
    /// The data-quality audit as a table (when validation ran).
    pub const AUDIT_TEXT: &str = "audit.txt";
    /// The run report as JSON.
    pub const REPORT_JSON: &str = "report.json";
    /// The run report as a readable summary.
    pub const REPORT_TEXT: &str = "report.txt";
}

impl RunOutput {
    /// Writes the outputs to `dir` (created if needed): [`files::PROFILES`],
    /// [`files::QUARANTINE`], the audit ([`files::AUDIT_JSON`], [`files::AUDIT_TEXT`]), the
    /// report ([`files::REPORT_JSON`], [`files::REPORT_TEXT`]) and one `<platform>.jsonl` per
    /// audience, one request body (or, for `jsonl`, one recipient) a line. Returns the paths
    /// written.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming the file that could not be written.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_owned(),
            source,
        })?;
        let mut written = Vec::new();
        let write_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Write { path, source }
        };

        let path = dir.join(files::PROFILES);
        write_lines(&path, self.profiles.iter())?;
        written.push(path);

        let path = dir.join(files::QUARANTINE);
        let file = File::create(&path).map_err(write_err(&path))?;
        let mut q = QuarantineWriter::new(BufWriter::new(file));
        for entry in &self.quarantine {
            q.write_entry(entry).map_err(|e| Error::Write {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?;
        }
        q.flush().map_err(|e| Error::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        written.push(path);

        if let Some(audit) = &self.audit {
            let path = dir.join(files::AUDIT_JSON);
            fs::write(&path, to_json_pretty(audit)).map_err(write_err(&path))?;
            written.push(path);
            let path = dir.join(files::AUDIT_TEXT);
            fs::write(&path, audit.to_string()).map_err(write_err(&path))?;
            written.push(path);
        }

        for audience in &self.audiences {
            let path = dir.join(format!("{}.jsonl", audience.platform));
            fs::write(&path, audience.to_jsonl()).map_err(write_err(&path))?;
            written.push(path);
        }

        let path = dir.join(files::REPORT_JSON);
        fs::write(&path, to_json_pretty(&self.report)).map_err(write_err(&path))?;
        written.push(path);
        let path = dir.join(files::REPORT_TEXT);
        fs::write(&path, self.report.to_string()).map_err(write_err(&path))?;
        written.push(path);
        Ok(written)
    }
}

fn to_json_pretty<T: serde::Serialize>(value: &T) -> String {
    // Our own types serialize to memory without failing.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

fn write_lines<'a, T: serde::Serialize + 'a>(
    path: &Path,
    items: impl Iterator<Item = &'a T>,
) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut f = BufWriter::new(File::create(path).map_err(err)?);
    for item in items {
        serde_json::to_writer(&mut f, item).map_err(|e| err(std::io::Error::other(e)))?;
        f.write_all(b"\n").map_err(err)?;
    }
    f.flush().map_err(err)
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

impl Pipeline {
    /// A builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The directory the configuration asked outputs to be written to, if any.
    pub fn output_dir(&self) -> Option<&Path> {
        self.output_dir.as_deref()
    }

    /// Runs every stage once, calling `progress` as it goes (pass `|_| {}` to ignore it).
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when a source fails in a way that ends it (an I/O error, an unusable
    /// header), naming the source and position. Bad rows are never errors: they are
    /// quarantined.
    pub fn run(mut self, mut progress: impl FnMut(Progress)) -> Result<RunOutput> {
        let mut timings = Timings::default();
        let mut quarantine: Vec<QuarantineEntry> = Vec::new();
        let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
        let mut source_reports: Vec<SourceReport> = Vec::new();
        let mut tally = self.normalizer.as_ref().map(|_| Tally::default());
        let mut contacts: Vec<Record> = Vec::new();
        let mut joiners: Vec<(Record, FieldName)> = Vec::new();

        // 1-4. Read, normalize, validate and run the stages, record by record.
        let mut record = Record::default();
        let mut log = ChangeLog::new();
        let mut report = Report::new();
        let mut rejects: Vec<Reject> = Vec::new();
        let sources = std::mem::take(&mut self.sources);
        for mut slot in sources {
            let name = slot.source.name().to_string();
            let mut sr = SourceReport {
                name: name.clone(),
                role: if slot.options.join.is_some() {
                    "join".into()
                } else {
                    "dedup".into()
                },
                ..SourceReport::default()
            };
            progress(Progress {
                step: Step::Read,
                item: Some(name.clone()),
                done: 0,
                total: None,
                finished: false,
            });
            let mut row = 0u64;
            loop {
                let start = Instant::now();
                let read = slot.source.read_record(&mut record);
                slot.source.drain_rejects(&mut rejects);
                timings.add("read", start.elapsed());
                let (more, failed) = match read {
                    Ok(more) => (more, false),
                    Err(e) if e.is_recoverable() => {
                        row += 1;
                        let position = e.position();
                        rejects.push(Reject {
                            id: RecordId::row(
                                e.source_name().clone(),
                                position.record.unwrap_or(row),
                            ),
                            position,
                            field: e.field().cloned(),
                            error: e.kind().clone(),
                            raw: String::new(),
                        });
                        (true, true)
                    }
                    Err(e) => return Err(Error::Source(e)),
                };
                for reject in rejects.drain(..) {
                    row += 1;
                    sr.read += 1;
                    sr.rejected += 1;
                    if let Some(v) = &mut self.validator {
                        v.count_reject(&reject);
                    }
                    let finding = reject_finding(&reject);
                    *by_reason.entry(finding.code.to_string()).or_default() += 1;
                    quarantine.push(QuarantineEntry::Reject {
                        reject,
                        findings: vec![finding],
                    });
                }
                if !more {
                    break;
                }
                if failed {
                    continue;
                }
                row += 1;
                sr.read += 1;
                if let Some(field) = &slot.options.key_as {
                    let key = record.id.key.to_string();
                    record.set(field.clone(), key);
                }
                match self.process(
                    &mut record,
                    row,
                    &mut log,
                    &mut report,
                    &mut tally,
                    &mut timings,
                ) {
                    Fate::Accepted => {
                        sr.accepted += 1;
                        match &slot.options.join {
                            None => contacts.push(record.clone()),
                            Some(f) => joiners.push((record.clone(), f.clone())),
                        }
                    }
                    Fate::Quarantined { reason, entry } => {
                        sr.quarantined += 1;
                        *by_reason.entry(reason).or_default() += 1;
                        quarantine.push(*entry);
                    }
                }
                if sr.read.is_multiple_of(PROGRESS_EVERY) {
                    progress(Progress {
                        step: Step::Read,
                        item: Some(name.clone()),
                        done: sr.read,
                        total: None,
                        finished: false,
                    });
                }
            }
            progress(Progress {
                step: Step::Read,
                item: Some(name.clone()),
                done: sr.read,
                total: Some(sr.read),
                finished: true,
            });
            source_reports.push(sr);
        }

        // Events.
        let mut events: Vec<Event> = Vec::new();
        let mut events_report = None;
        let event_sources = std::mem::take(&mut self.events);
        if !event_sources.is_empty() {
            let mut er = EventsReport::default();
            let start = Instant::now();
            for mut es in event_sources {
                let name = es.name().to_string();
                progress(Progress {
                    step: Step::Events,
                    item: Some(name.clone()),
                    done: 0,
                    total: None,
                    finished: false,
                });
                let mut n = 0u64;
                loop {
                    match es.read_event() {
                        Ok(Some(e)) => {
                            n += 1;
                            events.push(e);
                        }
                        Ok(None) => break,
                        Err(e) if e.is_recoverable() => {
                            n += 1;
                            let position = e.position();
                            rejects.push(Reject {
                                id: RecordId::row(
                                    e.source_name().clone(),
                                    position.line.unwrap_or(n),
                                ),
                                position,
                                field: e.field().cloned(),
                                error: e.kind().clone(),
                                raw: String::new(),
                            });
                        }
                        Err(e) => return Err(Error::Source(e)),
                    }
                }
                es.drain_rejects(&mut rejects);
                for reject in rejects.drain(..) {
                    er.quarantined += 1;
                    let finding = reject_finding(&reject);
                    *er.quarantined_by_reason
                        .entry(finding.code.to_string())
                        .or_default() += 1;
                    quarantine.push(QuarantineEntry::Reject {
                        reject,
                        findings: vec![finding],
                    });
                }
                progress(Progress {
                    step: Step::Events,
                    item: Some(name),
                    done: n,
                    total: Some(n),
                    finished: true,
                });
            }
            er.accepted = events.len() as u64;
            er.read = er.accepted + er.quarantined;
            timings.add("events", start.elapsed());
            events_report = Some(er);
        }

        // 5. Dedup (or one cluster per record), then joins.
        let n_contacts = contacts.len() as u64;
        progress(Progress {
            step: Step::Dedup,
            item: None,
            done: 0,
            total: Some(n_contacts),
            finished: false,
        });
        let (mut clusters, dedup_result, mut dedup_report) = match &self.deduper {
            Some(deduper) => {
                let result = timings.time("dedup", || deduper.run(&contacts));
                let report = DedupReport {
                    records: n_contacts,
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
                (result.clusters.clone(), Some(result), Some(report))
            }
            None => {
                // Each record its own cluster, numbered in record-id order.
                let mut order: Vec<usize> = (0..contacts.len()).collect();
                order.sort_by(|&a, &b| contacts[a].id.cmp(&contacts[b].id));
                let mut clusters = vec![0u32; contacts.len()];
                for (c, i) in order.into_iter().enumerate() {
                    clusters[i] = c as u32;
                }
                (clusters, None, None)
            }
        };
        progress(Progress {
            step: Step::Dedup,
            item: None,
            done: n_contacts,
            total: Some(n_contacts),
            finished: true,
        });

        let start = Instant::now();
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
                for (r, &c) in contacts.iter().zip(&clusters) {
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
        if let Some(d) = &mut dedup_report {
            d.joined = joined;
        }
        let mut records = contacts;
        records.extend(joiners.into_iter().map(|(r, _)| r));

        // 6. Golden profiles.
        progress(Progress {
            step: Step::Profiles,
            item: None,
            done: 0,
            total: Some(records.len() as u64),
            finished: false,
        });
        let profiles = golden_profiles(&records, &clusters, &self.survivorship);
        let profile_of: Vec<ProfileId> =
            clusters.iter().map(|&c| ProfileId(u64::from(c))).collect();
        timings.add("profiles", start.elapsed());
        progress(Progress {
            step: Step::Profiles,
            item: None,
            done: profiles.len() as u64,
            total: Some(profiles.len() as u64),
            finished: true,
        });
        let profiles_report = ProfilesReport {
            profiles: profiles.len() as u64,
            members: profiles.iter().map(|p| p.members.len() as u64).sum(),
            merged: profiles.iter().filter(|p| p.members.len() > 1).count() as u64,
            joined,
            suppressed_email: profiles
                .iter()
                .filter(|p| p.is_suppressed(Channel::Email))
                .count() as u64,
        };

        // 7. Traits and engagement.
        let mut traits: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new(); profiles.len()];
        if self.traits.is_some() || self.engagement.is_some() {
            progress(Progress {
                step: Step::Traits,
                item: None,
                done: 0,
                total: Some(profiles.len() as u64),
                finished: false,
            });
            let start = Instant::now();
            let now = self
                .now
                .or_else(|| events.iter().map(|e| e.timestamp).max())
                .unwrap_or_else(Utc::now);
            let mut graph = IdentityGraph::from_profiles(&profiles);
            graph.link(&events);
            let groups = graph.group(&events);
            let attributed: u64 = groups.values().map(|g| g.len() as u64).sum();
            if let Some(er) = &mut events_report {
                er.attributed = attributed;
                er.unattributed = er.accepted - attributed;
                er.profiles_with_events = groups.len() as u64;
                er.now = Some(now);
            }
            let empty = Vec::new();
            for (p, t) in profiles.iter().zip(traits.iter_mut()) {
                let evs = groups.get(&p.id).unwrap_or(&empty);
                if let Some(set) = &self.traits {
                    *t = set.compute(evs, now);
                }
                if let Some(e) = &self.engagement {
                    e.score(evs, now).insert_into(t);
                }
            }
            timings.add("traits", start.elapsed());
            progress(Progress {
                step: Step::Traits,
                item: None,
                done: profiles.len() as u64,
                total: Some(profiles.len() as u64),
                finished: true,
            });
        }

        // 8. Outputs.
        let mut audiences = Vec::new();
        let mut outputs = Vec::new();
        let mut coverage = BTreeMap::new();
        {
            let recipients: Vec<Recipient<'_>> = profiles
                .iter()
                .zip(&traits)
                .map(|(profile, traits)| Recipient { profile, traits })
                .collect();
            if let Some(Some(mapping)) = self.mappings.first() {
                coverage = timings.time("mapping", || {
                    mergetag_mapping::coverage(mapping, &recipients)
                });
            }
            for o in &self.outputs {
                let Some(mapping) = &self.mappings[o.mapping] else {
                    continue; // `build` made sure every output has a mapping
                };
                progress(Progress {
                    step: Step::Export,
                    item: Some(o.platform.to_string()),
                    done: 0,
                    total: Some(recipients.len() as u64),
                    finished: false,
                });
                let start = Instant::now();
                let exporter = exporter_builder(o, &self.suppressed).build(mapping)?;
                let audience = exporter.export(&recipients);
                timings.add(&format!("export.{}", o.platform), start.elapsed());
                let r = &audience.report;
                let variables = mapping.variables().len() as u64;
                outputs.push(OutputReport {
                    platform: o.platform.to_string(),
                    recipients: r.recipients as u64,
                    exported: r.exported as u64,
                    suppressed: r.suppressed() as u64,
                    excluded: r
                        .excluded
                        .iter()
                        .map(|(k, n)| (exclusion_name(k), *n as u64))
                        .collect(),
                    variables,
                    values_emitted: (r.exported as u64 * variables)
                        .saturating_sub(r.rejections.len() as u64),
                    rejected_values: r.rejections.len() as u64,
                    payloads: r.payloads as u64,
                });
                progress(Progress {
                    step: Step::Export,
                    item: Some(o.platform.to_string()),
                    done: recipients.len() as u64,
                    total: Some(recipients.len() as u64),
                    finished: true,
                });
                audiences.push(audience);
            }
        }

        let accepted: u64 = source_reports.iter().map(|s| s.accepted).sum();
        let quarantined: u64 = source_reports
            .iter()
            .map(|s| s.quarantined + s.rejected)
            .sum();
        let report = RunReport {
            records_in: source_reports.iter().map(|s| s.read).sum(),
            accepted,
            quarantined,
            sources: source_reports,
            quarantined_by_reason: by_reason,
            normalization: tally,
            dedup: dedup_report,
            profiles: profiles_report,
            events: events_report,
            outputs,
            coverage,
            timings: timings
                .0
                .into_iter()
                .map(|(stage, d)| StageTime {
                    stage,
                    millis: d.as_secs_f64() * 1000.0,
                })
                .collect(),
        };
        Ok(RunOutput {
            records,
            profile_of,
            profiles,
            traits,
            dedup: dedup_result,
            quarantine,
            audit: self.validator.as_ref().and_then(Validator::audit),
            audiences,
            report,
        })
    }

    /// Runs the per-record stages on one record.
    fn process(
        &mut self,
        record: &mut Record,
        row: u64,
        log: &mut ChangeLog,
        report: &mut Report,
        tally: &mut Option<Tally>,
        timings: &mut Timings,
    ) -> Fate {
        if let Some(f) = self.run_stages(StageAt::BeforeNormalize, record, row, timings) {
            return f;
        }
        if let Some(n) = &self.normalizer {
            let start = Instant::now();
            n.normalize(record, log);
            timings.add("normalize", start.elapsed());
            if let Some(t) = tally {
                t.add(log);
            }
        }
        if let Some(f) = self.run_stages(StageAt::AfterNormalize, record, row, timings) {
            return f;
        }
        if let Some(v) = &mut self.validator {
            let start = Instant::now();
            let verdict = v.check(record, report);
            timings.add("validate", start.elapsed());
            if verdict == Verdict::Quarantined {
                let findings = report.findings().to_vec();
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

/// Loads the pipeline configuration at `path`, builds it, runs it with `progress`, and writes
/// the outputs to the configured `outputs.dir` (if any): what `mergetag run --config` does.
///
/// # Errors
///
/// Those of [`PipelineConfig::load`], [`Pipeline::from_config`], [`Pipeline::run`] and
/// [`RunOutput::write_to`].
pub fn run_config(path: impl AsRef<Path>, progress: impl FnMut(Progress)) -> Result<RunOutput> {
    let config = PipelineConfig::load(path)?;
    let pipeline = Pipeline::from_config(&config)?;
    let dir = pipeline.output_dir().map(Path::to_owned);
    let output = pipeline.run(progress)?;
    if let Some(dir) = dir {
        output.write_to(dir)?;
    }
    Ok(output)
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
