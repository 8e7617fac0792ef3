//! Building a [`Pipeline`]: [`PipelineBuilder`], [`SourceOptions`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mergetag_dedup::Deduper;
use mergetag_dedup::survivorship::SurvivorshipConfig;
use mergetag_mapping::{
    Engagement, Exporter, ExporterBuilder, Mapping, Platform, SuppressionRules, TraitSet,
};
use mergetag_model::{EventSource, FieldName, OnBadRow, Source};
use mergetag_normalize::RecordNormalizer;
use mergetag_validate::Validator;

use super::consent::ConsentRule;
use super::stage::{ProfileStage, RecordStage, StageAt};
use crate::error::{Error, Result};

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
    /// What the run does with a row the source reports as bad: quarantine it (the default,
    /// whatever the source's own policy), or stop with an error naming it.
    pub on_bad_row: OnBadRow,
}

impl SourceOptions {
    /// Options that join on `field`.
    pub fn join(field: &str) -> SourceOptions {
        SourceOptions {
            join: Some(FieldName::new(field)),
            ..SourceOptions::default()
        }
    }

    /// Sets [`SourceOptions::key_as`].
    pub fn with_key_as(mut self, field: &str) -> SourceOptions {
        self.key_as = Some(FieldName::new(field));
        self
    }

    /// Sets [`SourceOptions::on_bad_row`].
    pub fn with_on_bad_row(mut self, policy: OnBadRow) -> SourceOptions {
        self.on_bad_row = policy;
        self
    }
}

pub(super) struct SourceSlot {
    pub(super) source: Box<dyn Source>,
    pub(super) options: SourceOptions,
}

pub(super) struct Output {
    pub(super) platform: Platform,
    /// Index into `mappings`; 0 is the default mapping.
    pub(super) mapping: usize,
    pub(super) batch_size: Option<usize>,
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
    profile_stages: Vec<Box<dyn ProfileStage>>,
    deduper: Option<Deduper>,
    survivorship: SurvivorshipConfig,
    traits: Option<TraitSet>,
    engagement: Option<Engagement>,
    now: Option<DateTime<Utc>>,
    mapping: Option<Mapping>,
    extra_mappings: Vec<Mapping>,
    outputs: Vec<Output>,
    suppressed: Vec<String>,
    consent: ConsentRule,
    suppression: SuppressionRules,
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

    /// Adds a boxed stream of events.
    pub fn events_boxed(&mut self, events: Box<dyn EventSource>) -> &mut Self {
        self.events.push(events);
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

    /// Adds a stage of your own that sees every golden profile after traits are computed and
    /// adds traits ([`ProfileStage`]). Profile stages run in the order added.
    pub fn profile_stage(&mut self, stage: impl ProfileStage + 'static) -> &mut Self {
        self.profile_stages.push(Box::new(stage));
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

    /// The consent every recipient needs (default [`ConsentRule::default`]: a record from a
    /// source that is not a join source). Profiles that lack it are left out of every
    /// audience and counted in each output's report as `no_consent.<reason>`.
    pub fn consent(&mut self, rule: ConsentRule) -> &mut Self {
        self.consent = rule;
        self
    }

    /// How bounce, complaint and unsubscribe events become suppressions (default
    /// [`SuppressionRules::default`]: the webhooks of SendGrid, Mailchimp, Braze, Klaviyo and
    /// Segment-shaped events; a hard bounce suppresses its address, a complaint or unsubscribe
    /// the person, three soft bounces the address).
    pub fn suppression(&mut self, rules: SuppressionRules) -> &mut Self {
        self.suppression = rules;
        self
    }

    /// Adds an address from an external suppression list: it is left out of every audience.
    pub fn suppress_address(&mut self, email: &str) -> &mut Self {
        self.suppressed.push(email.to_owned());
        self
    }

    /// Where [`RunOutput::write_to`](super::RunOutput::write_to) should write, when a caller asks the pipeline
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
        let mut mappings: Vec<Option<Arc<Mapping>>> =
            Vec::with_capacity(1 + b.extra_mappings.len());
        mappings.push(b.mapping.map(Arc::new));
        mappings.extend(b.extra_mappings.into_iter().map(|m| Some(Arc::new(m))));
        // Each exporter is built (and so checked) once, here, and kept for the run.
        let mut exporters = Vec::with_capacity(b.outputs.len());
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
            let exporter = exporter_builder(o, &b.suppressed).build_shared(Arc::clone(mapping))?;
            exporters.push(PlannedOutput {
                exporter,
                variables: mapping.variables().len(),
            });
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
            profile_stages: b.profile_stages,
            deduper: b.deduper,
            survivorship: b.survivorship,
            traits: b.traits,
            engagement: b.engagement,
            now: b.now,
            coverage_mapping: mappings.swap_remove(0),
            outputs: exporters,
            consent: b.consent,
            suppression: b.suppression,
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

/// Sources and stages wired together; [`Pipeline::run`] runs them once. See the [module
/// docs](super).
pub struct Pipeline {
    pub(super) sources: Vec<SourceSlot>,
    pub(super) events: Vec<Box<dyn EventSource>>,
    pub(super) normalizer: Option<RecordNormalizer>,
    pub(super) validator: Option<Validator>,
    /// Each stage with where it runs and its name in the timings (`stage.<name>`).
    pub(super) stages: Vec<(StageAt, Box<dyn RecordStage>, String)>,
    pub(super) profile_stages: Vec<Box<dyn ProfileStage>>,
    pub(super) deduper: Option<Deduper>,
    pub(super) survivorship: SurvivorshipConfig,
    pub(super) traits: Option<TraitSet>,
    pub(super) engagement: Option<Engagement>,
    pub(super) now: Option<DateTime<Utc>>,
    /// The default mapping, whose coverage the report shows.
    pub(super) coverage_mapping: Option<Arc<Mapping>>,
    /// One exporter per output, built once.
    pub(super) outputs: Vec<PlannedOutput>,
    pub(super) consent: ConsentRule,
    pub(super) suppression: SuppressionRules,
    pub(super) output_dir: Option<PathBuf>,
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
            .field(
                "profile_stages",
                &self
                    .profile_stages
                    .iter()
                    .map(|s| s.name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .field("dedup", &self.deduper.is_some())
            .field(
                "outputs",
                &self
                    .outputs
                    .iter()
                    .map(|o| o.exporter.platform().as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// An output of a built pipeline: its exporter, and how many variables its mapping has.
pub(super) struct PlannedOutput {
    pub(super) exporter: Exporter<'static>,
    pub(super) variables: usize,
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
}
