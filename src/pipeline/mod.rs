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
//! 8. **Profile stages** ([`ProfileStage`], or a closure through [`profile_stage_fn`]): code
//!    of yours that sees every golden profile with its events and traits, and adds traits
//!    (segments, predictive scores), which mapping variables then use like any other.
//! 9. **Mapping and outputs**: for each platform, the [`Mapping`] renders each profile's
//!    template variables into the platform's request bodies, suppression enforced.
//!
//! A pipeline loaded from a configuration file can be extended in code before it is built:
//!
//! ```
//! use mergetag::pipeline::{Pipeline, PipelineConfig, ProfileBatch, profile_stage_fn};
//!
//! let config = PipelineConfig::load("examples/data/pipeline.toml")?;
//! let output = Pipeline::builder_from_config(&config)?
//!     .profile_stage(profile_stage_fn("event_count", |batch: &mut ProfileBatch<'_>| {
//!         for i in 0..batch.len() {
//!             let n = batch.events(i).len() as i64;
//!             batch.set_trait(i, "event_count", n);
//!         }
//!         Ok(())
//!     }))
//!     .build()?
//!     .run(|_| {})?;
//! assert!(output.traits.iter().all(|t| t.contains_key("event_count")));
//! # Ok::<(), mergetag::Error>(())
//! ```
//!
//! The code is laid out by step: [`PipelineBuilder`] in `builder.rs`, each step of a run as
//! its own function in `run.rs`, [`RunOutput`] and its files in `output.rs`, the
//! configuration file in [`config`], the stages of your own in `stage.rs`.
//!
//! Nothing is lost: every row read is accepted or quarantined with its reasons, and every
//! accepted record belongs to exactly one profile ([`RunReport::adds_up`]).
//!
//! [`Tally`]: mergetag_normalize::Tally
//! [`Source`]: mergetag_model::Source
//! [`Reject`]: mergetag_model::Reject
//! [`RecordNormalizer`]: mergetag_normalize::RecordNormalizer
//! [`Validator`]: mergetag_validate::Validator
//! [`Deduper`]: mergetag_dedup::Deduper
//! [`Mapping`]: mergetag_mapping::Mapping
//! [`Audit`]: mergetag_validate::Audit
//! [`Profile`]: mergetag_model::Profile

use std::fmt;
use std::path::Path;

use crate::error::Result;

mod builder;
mod clusters;
pub mod config;
mod consent;
#[cfg(feature = "lake")]
mod lake;
mod output;
mod predict;
mod report;
mod run;
mod segments;
mod stage;

pub use builder::{Pipeline, PipelineBuilder, SourceOptions};
pub use clusters::{ClusterHandle, ClusterResult, ClusterStage};
pub use config::PipelineConfig;
pub use consent::ConsentRule;
#[cfg(feature = "lake")]
pub use lake::{STAGE_TABLES, SemanticStage, VIEW_TRAIT, parquet_files};
pub use mergetag_model::EventSource;
pub use output::{ParquetOutput, RunOutput, files};
pub use predict::{PredictHandle, PredictStage};
pub use report::{
    DedupReport, EventsReport, OutputReport, ProfilesReport, RunReport, RunWarning, SourceReport,
    StageReport, StageTime,
};
pub use segments::{RfmConfig, RfmStage, SegmentStage};
pub use stage::{
    Decision, FnProfileStage, FnStage, ProfileBatch, ProfileStage, RecordStage, StageAt,
    StageError, profile_stage_fn, stage_fn,
};

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
    /// One profile stage (its name is the progress item).
    ProfileStages,
    /// Rendering the outputs of one platform.
    Export,
}

impl Step {
    /// The name: `read`, `events`, `dedup`, `profiles`, `traits`, `profile_stages`, `export`.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::Events => "events",
            Step::Dedup => "dedup",
            Step::Profiles => "profiles",
            Step::Traits => "traits",
            Step::ProfileStages => "profile_stages",
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

/// Loads the pipeline configuration at `path`, builds it, runs it with `progress`, and writes
/// the outputs to the configured `outputs.dir` (if any) and, with the feature `lake`, the
/// run's tables as Parquet to `outputs.parquet.dir` (if any): what `mergetag run --config`
/// does.
///
/// Once every output is written, the sources are acknowledged ([`RunOutput::commit_sources`]:
/// a Kafka source with `commit = "after_outputs"` commits then); a run that fails before
/// commits nothing. Without `outputs.dir` or `[outputs.parquet]` nothing is written and
/// nothing acknowledged: call `commit_sources` on the output once you have stored it.
///
/// # Errors
///
/// Those of [`PipelineConfig::load`], [`Pipeline::from_config`], [`Pipeline::run`],
/// [`RunOutput::write_to`] (and of `PipelineConfig::write_parquet`) and
/// [`RunOutput::commit_sources`].
pub fn run_config(path: impl AsRef<Path>, progress: impl FnMut(Progress)) -> Result<RunOutput> {
    let config = PipelineConfig::load(path)?;
    let pipeline = Pipeline::from_config(&config)?;
    let dir = pipeline.output_dir().map(Path::to_owned);
    let mut output = pipeline.run(progress)?;
    let mut wrote = false;
    if let Some(dir) = dir {
        output.write_to(dir)?;
        wrote = true;
    }
    #[cfg(feature = "lake")]
    {
        wrote |= config.parquet_dir()?.is_some();
        config.write_parquet(&output)?;
    }
    // Every output is written: only now are the sources acknowledged.
    if wrote {
        output.commit_sources()?;
    }
    Ok(output)
}
