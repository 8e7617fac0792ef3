//! The whole pipeline in one TOML file: [`PipelineConfig`].
//!
//! Every table is optional but `[[sources]]`; a stage whose table is absent is skipped.
//! Unknown keys are errors, reported with their line and column. Relative paths are resolved
//! against the directory of the configuration file ([`PipelineConfig::load`]), or against the
//! directory given to [`PipelineConfig::with_base_dir`].
//!
//! ```toml
//! # "Now" for traits and engagement, RFC 3339 (default: the time of the latest event).
//! now = "2026-11-21T00:00:00Z"
//!
//! # Record sources, read in this order. `format` is csv, jsonl or events (default: from the
//! # extension: .csv is csv, .jsonl / .ndjson is jsonl).
//! [[sources]]
//! name = "salesforce"
//! path = "salesforce_contacts.csv"
//! preset = "salesforce_contacts"          # a column-map preset (see below)
//! [sources.columns]                       # columns over the preset: field, or field and type
//! Loyalty_Tier__c = "loyalty_tier"
//! Customer_Lifetime_Value__c = { field = "customer_lifetime_value", type = "float" }
//!
//! [[sources]]
//! name = "hubspot"
//! path = "hubspot_contacts.csv"
//! preset = "hubspot_contacts"
//! key_as = "user_id"                      # copy the record key into a field
//!
//! [[sources]]
//! name = "enrichment"
//! path = "enrichment.csv"
//! key = "email"                           # the column with the record's key,
//! key_as = "email"                        # copied into the `email` field,
//! join = "email"                          # to join profiles on instead of dedup
//!
//! [[sources]]
//! name = "events"
//! path = "events.jsonl"
//! format = "events"                       # Segment-style events, for traits and engagement
//!
//! [normalize]                             # mergetag_normalize::NormalizeConfig, plus:
//! standard = true                         # start from the standard normalizers
//! default_country = "US"                  # rows without a country (phones, regions, ZIPs)
//! null_markers = ["NULL", "N/A", "-"]     # read as missing (default: the usual spellings)
//! [normalize.fields.loyalty_tier]
//! normalizer = "terms"
//! terms = { gold = ["Gold Member"], platinum = ["Platinum Member"] }
//!
//! [rules]                                 # mergetag_validate::RuleSetConfig
//! as_of = "2026-11-21"
//! [rules.fields.email]
//! email = true
//!
//! [dedup]                                 # mergetag_dedup::DedupConfig
//! preset = "contacts"                     # or write `comparisons` and `blocking` in full
//! threshold = 0.9
//! [dedup.survivorship]                    # mergetag_dedup::survivorship::SurvivorshipConfig
//! source_priority = ["salesforce", "hubspot", "enrichment"]
//!
//! [[traits]]                              # mergetag_mapping::TraitConfig
//! name = "orders"
//! event = "Order Completed"
//! aggregate = "count"
//!
//! [engagement]                            # mergetag_mapping::EngagementConfig (all optional)
//! half_life_days = 30
//!
//! [[segments]]                            # rule segments: trait `segments` (SegmentConfig)
//! name = "engaged_buyers"
//! rule = { field = "traits.orders", op = "gte", value = 2 }
//!
//! [rfm]                                   # RFM scores: traits rfm_r/f/m, rfm_segment
//! order_event = "Order Completed"
//! amount = "total"
//!
//! [clusters]                              # segments found in the data (SegmentConfig):
//! k = 4                                   # traits segment, segment_name, segment_distance
//! model = "segments.json"                 # kept across runs: ids stay, changes reported
//! names = { 1 = "Loyal runners" }
//! [[clusters.features]]
//! kind = "recency"
//!
//! [predict]                               # predictions (PredictConfig): traits
//! holdout_days = 90                       # expected_purchases_90d, p_alive, churn_risk,
//! discount_rate = 0.01                    # churn_risk_band, clv_12m, recommended_product,
//!                                         # best_send_hour, trending_product
//! model_file = "model.json"              # written by `mergetag predict fit|retrain`; a run
//!                                         # scores with it when it exists (no refit)
//! refit = false                           # true: fit afresh on every run whatever the file
//! [predict.churn]                         # supervised churn (ChurnConfig; optional):
//! label = "churned"                       # a label trait/field (default: no order in
//! window_days = 90                        # window_days); or model_file = "churn.json";
//! [predict.churn.classifier]              # traits churn_probability(_band)
//! model = "gbt"                           # or "logistic"; calibration = "sigmoid" or
//! calibration = "isotonic"                # "isotonic", fitted on 5 folds
//!
//! [mapping]                               # mergetag_mapping::MappingConfig
//! [[mapping.variables]]
//! name = "first_name"
//! source = "profile.first_name"
//! fallback = "there"
//!
//! [outputs]
//! dir = "out"                             # where `mergetag run` writes
//! platforms = ["sendgrid", "mailchimp", "klaviyo", "jsonl"]
//! suppress = ["complaints@example.com"]   # external suppression list (optional)
//! [outputs.suppression]                   # bounce/complaint/unsubscribe events (optional)
//! soft_bounce_threshold = 3               # SuppressionRulesConfig; the built-in rules apply
//! [outputs.consent]                       # who may be emailed (ConsentRule; optional)
//! first_party = true                      # the default: a record from a non-join source
//! field = "email_consent"                 # a field that must be true (default: none)
//! [outputs.mapping.mailchimp]             # a platform's own mapping document (optional)
//! [[outputs.mapping.mailchimp.variables]]
//! name = "fname"
//! source = "profile.first_name"
//! ```
//!
//! With the feature `lake` (without it, these tables are errors saying so):
//!
//! ```toml
//! [outputs.parquet]                       # the run's tables as Parquet, each file atomic:
//! dir = "out/lake"                        # a directory (relative to this file), or
//!                                         # file:///..., s3://bucket/prefix
//! partition_by = { events = "date", audiences = "platform" }   # Hive partitions (optional):
//!                                         # events: date, month, kind; audiences: platform;
//!                                         # quarantine, members, clusters: source;
//!                                         # segments: segment
//!
//! # SQL views over profiles, provenance, traits, events, segments and members, planned
//! # when the pipeline is built: an unknown table, function or column, or a type error, is
//! # an error naming the view. Mapping variables read `source = "view.NAME.COLUMN"`.
//! [semantic.views]
//! favourite_category = """
//!     SELECT profile_id, name AS category, count(*) AS n FROM events
//!     GROUP BY profile_id, name ORDER BY profile_id, n DESC, category"""
//! ```
//!
//! Each `[[sources]]` entry is a [`SourceConfig`] (the same type the command line and your code
//! use): its column map is a preset, the inline keys `preset`, `key`, `observed_at`,
//! `ignore`, `unmapped`, `invalid_values` and `columns` (as in
//! [`ColumnMapConfig`](mergetag_sources::ColumnMapConfig)), or a file: `column_map_file =
//! "hubspot.toml"`. Its other keys: `on_bad_row` (`quarantine`, the default: the row is
//! quarantined with its reason; or `fail`: the run stops with an error naming the source, line
//! and field), `delimiter` (one character, CSV), `max_line_bytes` (JSON Lines), `join` and
//! `key_as`.
//!
//! A source with `kind = "kafka"` (feature `kafka`) reads a consumer group's topics; its
//! `[sources.settings]` keys are those of `mergetag_kafka::KafkaSettings`. Its offsets are
//! committed only as `commit` says:
//!
//! ```toml
//! [[sources]]
//! name = "identifies"
//! kind = "kafka"                          # JSON messages, mapped as JSON Lines lines
//! key = "messageId"
//! [sources.settings]
//! brokers = "127.0.0.1:9092"
//! topic = "identifies"
//! group_id = "mergetag"
//! commit = "after_outputs"                # commit the offsets read once every output is
//!                                         # written, never when reading ends: a run that
//!                                         # fails before commits nothing; "never" (the
//!                                         # default): each run rereads from the last commit
//! ```
//!
//! `[normalize]`, `[rules]`, `[dedup]` and `[mapping]` (and each `outputs.mapping.<platform>`)
//! can instead name a file with `file = "..."`, in that stage's own format; keys written
//! beside `file` override or extend it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use mergetag_dedup::survivorship::SurvivorshipConfig;
use mergetag_dedup::{BlockingPass, ComparisonConfig, DedupConfig};
use mergetag_mapping::{
    Engagement, EngagementConfig, Mapping, MappingConfig, Platform, SegmentConfig, SegmentSet,
    SegmentSetConfig, SuppressionRules, SuppressionRulesConfig, TraitConfig, TraitSet,
    TraitSetConfig, VariableConfig,
};
use mergetag_model::ParseError;
use mergetag_model::config::{self as loader, Format, LoadError};
use mergetag_model::redact;
use mergetag_normalize::{FieldConfig, NormalizeConfig, RecordNormalizer};
use mergetag_sources::{Opened, SourceKind};
pub use mergetag_sources::{SourceConfig, SourceFormat};
use mergetag_validate::config::{Checks, FieldRules};
use mergetag_validate::{RuleSet, RuleSetConfig, Validator};
use serde::{Deserialize, Serialize};

use super::{
    ClusterStage, ConsentRule, ParquetOutput, Pipeline, PipelineBuilder, PredictStage, RfmConfig,
    RfmStage, SegmentStage, SourceOptions,
};
use crate::error::{Error, Result};

/// A whole pipeline as written in a TOML file; see the [module docs](self) for the format.
/// [`Pipeline::from_config`] builds the runnable [`Pipeline`].
///
/// ```
/// use mergetag::pipeline::{Pipeline, PipelineConfig};
///
/// let config = PipelineConfig::from_toml_str(r#"
///     [[sources]]
///     name = "hubspot"
///     path = "examples/data/hubspot_contacts.csv"
///     preset = "hubspot_contacts"
///
///     [dedup]
///     preset = "contacts"
/// "#)?;
/// let output = Pipeline::from_config(&config)?.run(|_| {})?;
/// assert_eq!(output.report.records_in, 199);
/// assert!(output.report.adds_up());
///
/// // Mistakes are reported with their position and how to fix them.
/// let err = PipelineConfig::from_toml_str("[[sources]]\nname = \"x\"\npath = \"x.csv\"\npreset = \"hubspot\"\n")
///     .unwrap_err();
/// assert!(err.to_string().contains("sources[0] (x).preset: unknown preset `hubspot`"), "{err}");
/// # Ok::<(), mergetag::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// "Now" for traits and engagement, RFC 3339 (default: the time of the latest event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// The sources, read in order.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Normalization (skipped when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<NormalizeSection>,
    /// Validation rules (skipped when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RulesSection>,
    /// Deduplication and survivorship (without it, each record is its own profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupSection>,
    /// Computed traits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<TraitConfig>,
    /// The engagement score (skipped when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<EngagementConfig>,
    /// Rule segments, assigned as the trait `segments` after traits are computed
    /// ([`SegmentStage`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentConfig>,
    /// RFM scores from order events, as traits `rfm_r`, `rfm_f`, `rfm_m`, `rfm_segment`
    /// ([`RfmStage`]; skipped when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfm: Option<RfmConfig>,
    /// Segments found in the data (K-Means or DBSCAN over profile features), as traits
    /// `segment`, `segment_name`, `segment_distance` ([`ClusterStage`]; skipped when absent).
    /// A relative `model` path is resolved against the file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<mergetag_segment::SegmentConfig>,
    /// Predictions from order events (BG/NBD or Pareto/NBD with Gamma-Gamma, next product),
    /// as traits `expected_purchases_90d`, `p_alive`, `churn_risk`, `churn_risk_band`,
    /// `clv_12m`, `recommended_product`, `best_send_hour`, `trending_product`
    /// ([`PredictStage`]; skipped when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict: Option<mergetag_predict::PredictConfig>,
    /// The mapping document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<MappingSection>,
    /// Where the outputs go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<OutputsSection>,
    /// The semantic layer's named SQL views (`[semantic.views]`, feature `lake`), run as the
    /// last profile stage ([`SemanticStage`](crate::pipeline::SemanticStage)); mapping
    /// variables read their columns as `source = "view.NAME.COLUMN"`.
    #[cfg(feature = "lake")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semantic: Option<mergetag_lake::SemanticConfig>,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    base_dir: PathBuf,
    /// The name of the configuration in errors.
    #[serde(skip)]
    origin: String,
}

/// `[normalize]`: a [`NormalizeConfig`], optionally from a file or the standard one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NormalizeSection {
    /// Start from [`NormalizeConfig::standard`] (default false).
    #[serde(default)]
    pub standard: bool,
    /// Start from this file (TOML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// See [`NormalizeConfig::country_field`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_field: Option<String>,
    /// See [`NormalizeConfig::split_full_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_full_name: Option<bool>,
    /// See [`NormalizeConfig::address_line_field`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line_field: Option<String>,
    /// See [`NormalizeConfig::default_country`]: the country of rows that name none (ISO
    /// 3166-1 alpha-2), for phones, regions, addresses and postcodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// See [`NormalizeConfig::null_markers`]: values read as missing (`NULL`, `N/A`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_markers: Option<Vec<String>>,
    /// See [`NormalizeConfig::keep_template_syntax`] (default false: removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_template_syntax: Option<bool>,
    /// Field normalizers, added to (or replacing those of) the base.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldConfig>,
}

/// `[rules]`: a [`RuleSetConfig`], optionally from a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RulesSection {
    /// Start from this rule-set file (TOML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// "Today" for date rules (default: the date of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// Rules per field (added to the file's).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRules>,
    /// Checks across fields (replacing the file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Checks>,
    /// Whether to keep the data-quality audit (default true).
    #[serde(default = "yes")]
    pub audit: bool,
}

fn yes() -> bool {
    true
}

/// `[dedup]`: a [`DedupConfig`] from a preset, a file or in full, and the survivorship rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DedupSection {
    /// `contacts` ([`DedupConfig::contacts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// A dedup configuration file (TOML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The compared fields (replacing the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparisons: Option<Vec<ComparisonConfig>>,
    /// The blocking passes (replacing the preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking: Option<Vec<BlockingPass>>,
    /// See [`DedupConfig::threshold`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// See [`DedupConfig::max_block_size`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_size: Option<usize>,
    /// See [`DedupConfig::random_pairs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_pairs: Option<usize>,
    /// See [`DedupConfig::em_iterations`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub em_iterations: Option<usize>,
    /// See [`DedupConfig::seed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// See [`DedupConfig::guard_bridges`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_bridges: Option<bool>,
    /// How golden profiles choose their values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survivorship: Option<SurvivorshipConfig>,
}

impl DedupSection {
    /// The [`DedupConfig`] this section describes (its preset or file, with the keys written
    /// beside it over it, checked) and the survivorship rules; a file is resolved against
    /// `base_dir`, and errors name `origin` and the key (`dedup.threshold`). The command
    /// line's `[dedup]` tables use it too.
    ///
    /// ```
    /// use mergetag::pipeline::config::DedupSection;
    ///
    /// let section: DedupSection = toml::from_str("preset = \"contacts\"\nthreshold = 0.95\n").unwrap();
    /// let (dedup, _) = section.resolve(".", "dedup.toml")?;
    /// assert_eq!(dedup.threshold, 0.95);
    /// assert_eq!(dedup.comparisons, mergetag::dedup::DedupConfig::contacts().comparisons);
    /// # Ok::<(), mergetag::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key: a preset and a file together, an unknown preset,
    /// neither a preset, a file nor `comparisons`, or a configuration that
    /// does not validate; [`Error::Read`] when the file cannot be read.
    pub fn resolve(
        &self,
        base_dir: impl AsRef<Path>,
        origin: &str,
    ) -> Result<(DedupConfig, SurvivorshipConfig)> {
        let d = self;
        let invalid = |path: &str, message: String| Error::Invalid {
            origin: origin.to_owned(),
            path: path.to_owned(),
            message,
        };
        let base = match (&d.preset, &d.file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "dedup.file",
                    "use either a preset or a file, not both".into(),
                ));
            }
            (Some(p), None) if p == "contacts" => Some(DedupConfig::contacts()),
            (Some(p), None) => {
                return Err(invalid(
                    "dedup.preset",
                    format!("unknown preset `{p}`; the preset is `contacts`"),
                ));
            }
            (None, Some(file)) => Some(load_section_file::<DedupConfig>(
                base_dir.as_ref(),
                file,
                "dedup.file",
                origin,
            )?),
            (None, None) => None,
        };
        let mut config = match base {
            Some(c) => c,
            None => {
                let Some(comparisons) = &d.comparisons else {
                    return Err(invalid(
                        "dedup",
                        "write preset = \"contacts\", a file, or `comparisons` (with `blocking`, or without to have passes chosen from the data)"
                            .into(),
                    ));
                };
                // Comparisons without passes: the run chooses them from the data
                // (Deduper::choose_blocking) and reports the choice.
                let mut c = DedupConfig::contacts();
                c.comparisons = comparisons.clone();
                c.blocking = d.blocking.clone().unwrap_or_default();
                c
            }
        };
        if let Some(c) = &d.comparisons {
            config.comparisons = c.clone();
        }
        if let Some(b) = &d.blocking {
            config.blocking = b.clone();
        }
        if let Some(v) = d.threshold {
            config.threshold = v;
        }
        if let Some(v) = d.max_block_size {
            config.max_block_size = v;
        }
        if let Some(v) = d.random_pairs {
            config.random_pairs = v;
        }
        if let Some(v) = d.em_iterations {
            config.em_iterations = v;
        }
        if let Some(v) = d.seed {
            config.seed = v;
        }
        if let Some(v) = d.guard_bridges {
            config.guard_bridges = v;
        }
        config.validate().map_err(|e| match e {
            mergetag_dedup::Error::Invalid { path, message } => {
                invalid(&format!("dedup.{path}"), message)
            }
            e => invalid("dedup", e.to_string()),
        })?;
        Ok((config, d.survivorship.clone().unwrap_or_default()))
    }
}

/// Loads the file a section names (at `key`, such as `dedup.file`), resolved against
/// `base_dir`, TOML or JSON by its extension, as every configuration file is loaded.
fn load_section_file<T: serde::de::DeserializeOwned>(
    base_dir: &Path,
    file: &Path,
    key: &str,
    origin: &str,
) -> Result<T> {
    loader::from_path(resolve_path(base_dir, file)).map_err(|e| match e {
        LoadError::Read { path, source } => Error::Read { path, source },
        e => Error::Invalid {
            origin: origin.to_owned(),
            path: key.to_owned(),
            message: e.to_string(),
        },
    })
}

fn resolve_path(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        base_dir.join(path)
    }
}

/// `[mapping]`: a [`MappingConfig`], optionally from a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MappingSection {
    /// Start from this mapping document (TOML or JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The platform whose naming rules every variable must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The variables (after the file's).
    #[serde(default)]
    pub variables: Vec<VariableConfig>,
}

/// `[outputs]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OutputsSection {
    /// The directory outputs are written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// The platforms to render audiences for (`sendgrid`, `mailchimp`, `braze`, `klaviyo`,
    /// `jsonl`).
    #[serde(default)]
    pub platforms: Vec<Platform>,
    /// Platform -> its own mapping document, instead of `[mapping]`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mapping: BTreeMap<Platform, MappingSection>,
    /// Addresses of an external suppression list, left out of every audience (matched as
    /// mailboxes against every address a profile has held).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<String>,
    /// How bounce, complaint and unsubscribe events suppress (default: the built-in rules;
    /// see `mergetag_mapping::SuppressionRulesConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<SuppressionRulesConfig>,
    /// The consent every recipient needs (default: a record from a source that is not a join
    /// source; see [`ConsentRule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRule>,
    /// The run's tables as Parquet (`[outputs.parquet]`, feature `lake`; see
    /// [`ParquetOutput`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parquet: Option<ParquetOutput>,
}

/// The parts of a configuration, built.
struct Built {
    normalizer: Option<RecordNormalizer>,
    rules: Option<(RuleSet, bool)>,
    dedup: Option<(DedupConfig, SurvivorshipConfig)>,
    traits: Option<TraitSet>,
    engagement: Option<Engagement>,
    segments: Option<SegmentSet>,
    suppression: Option<SuppressionRules>,
    mapping: Option<Mapping>,
    /// Per output platform: its own mapping, if any.
    outputs: Vec<(Platform, Option<Mapping>)>,
    now: Option<DateTime<Utc>>,
}

impl PipelineConfig {
    /// Parses a configuration and checks everything written inline (files it names are read
    /// by [`Pipeline::from_config`]). Relative paths are resolved against the current
    /// directory unless [`PipelineConfig::with_base_dir`] says otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a value
    /// of the wrong type; [`Error::Invalid`] naming the key (`sources[1] (hubspot).preset`)
    /// and saying how to fix it.
    pub fn from_toml_str(text: &str) -> Result<PipelineConfig> {
        Self::parse(text, "<toml>", PathBuf::new())
    }

    /// Reads, parses and checks the configuration file at `path`; relative paths in it are
    /// resolved against its directory.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read, and those of
    /// [`PipelineConfig::from_toml_str`], naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<PipelineConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// Resolves relative paths against `dir` from now on.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> PipelineConfig {
        self.base_dir = dir.into();
        self
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// `path` resolved against [`PipelineConfig::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        resolve_path(&self.base_dir, path)
    }

    /// The output directory (`outputs.dir`), resolved.
    pub fn output_dir(&self) -> Option<PathBuf> {
        self.outputs
            .as_ref()
            .and_then(|o| o.dir.as_deref())
            .map(|d| self.resolve(d))
    }

    /// Checks `[outputs.parquet]`: its partitions, and (feature `lake`) its location, which
    /// must not hold an input; without the feature, its presence is an error.
    fn check_parquet_output(&self) -> Result<()> {
        let Some(p) = self.outputs.as_ref().and_then(|o| o.parquet.as_ref()) else {
            return Ok(());
        };
        if !cfg!(feature = "lake") {
            return Err(self.invalid(
                "outputs.parquet",
                "Parquet outputs need the feature `lake` (build mergetag or mergetag-cli with --features lake), or remove [outputs.parquet]",
            ));
        }
        p.check()
            .map_err(|(key, message)| self.invalid(format!("outputs.parquet.{key}"), message))?;
        #[cfg(feature = "lake")]
        {
            p.partitions().map_err(|e| match e {
                Error::Lake(mergetag_lake::Error::Invalid { message, .. }) => {
                    self.invalid("outputs.parquet.partition_by", message)
                }
                e => e,
            })?;
            let Some(dir) = self.parquet_dir()? else {
                return Ok(());
            };
            // Never overwrite an input: no source may be a table's file, hold the output
            // directory (a Parquet dataset), or lie in a table's directory (which a
            // partitioned table fills and an unpartitioned one empties).
            let Some(root) = dir.url().strip_prefix("file://") else {
                return Ok(());
            };
            let root = Path::new(root);
            for (i, s) in self.sources.iter().enumerate() {
                let input = std::path::absolute(s.resolved_path(self.base_dir()))
                    .unwrap_or_else(|_| s.resolved_path(self.base_dir()));
                let input = input.canonicalize().unwrap_or(input);
                let clash = super::parquet_files::ALL.iter().any(|f| {
                    let table = f.trim_end_matches(".parquet");
                    let file = root.join(f);
                    let file = file.canonicalize().unwrap_or(file);
                    let part = root.join(table);
                    let part = part.canonicalize().unwrap_or(part);
                    input == file || file.starts_with(&input) || input.starts_with(&part)
                });
                if clash {
                    return Err(self.invalid(
                        "outputs.parquet.dir",
                        format!(
                            "the Parquet outputs would overwrite the input of {}; an output never overwrites an input: choose another directory",
                            self.source_path(i, "path").trim_end_matches(".path")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Where `[outputs.parquet]` writes (a local directory resolved against
    /// [`PipelineConfig::base_dir`], or an object-store URL); `None` without it.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `outputs.parquet.dir` when the location cannot be parsed.
    #[cfg(feature = "lake")]
    pub fn parquet_dir(&self) -> Result<Option<mergetag_lake::Location>> {
        let Some(p) = self.outputs.as_ref().and_then(|o| o.parquet.as_ref()) else {
            return Ok(None);
        };
        mergetag_lake::Location::parse(&p.dir, self.base_dir())
            .map(Some)
            .map_err(|e| self.invalid("outputs.parquet.dir", e.to_string()))
    }

    /// Writes `output`'s tables as `[outputs.parquet]` says (nothing without it): what
    /// [`run_config`](super::run_config) and `mergetag run` do after a run. Returns each file
    /// written and its size.
    ///
    /// # Errors
    ///
    /// Those of [`PipelineConfig::parquet_dir`] and
    /// [`RunOutput::write_parquet_partitioned`](super::RunOutput::write_parquet_partitioned).
    #[cfg(feature = "lake")]
    pub fn write_parquet(&self, output: &super::RunOutput) -> Result<Vec<(String, u64)>> {
        let (Some(dir), Some(p)) = (
            self.parquet_dir()?,
            self.outputs.as_ref().and_then(|o| o.parquet.as_ref()),
        ) else {
            return Ok(Vec::new());
        };
        output.write_parquet_partitioned(&dir, &p.partitions()?)
    }

    /// The tables a view reads when the pipeline runs ([`STAGE_TABLES`](super::STAGE_TABLES)),
    /// with the columns the configuration determines: see the README's "Semantic layer".
    /// `profiles` holds `profile_id`, `members`, every canonical field and the fields the
    /// sources' column maps name (and `key_as`); it is open unless every record source
    /// refuses unmapped columns (`unmapped = "reject"`, a CSV or JSON Lines file whose column
    /// map is inline). `traits` holds `profile_id` and the traits of `[[traits]]`,
    /// `[engagement]`, `[[segments]]`, `[rfm]` and `[clusters]`; it is open with `[predict]`.
    /// Field and trait columns have the type `Null` here (not known before the data).
    #[cfg(feature = "lake")]
    fn view_tables(&self, files: bool) -> Result<Vec<mergetag_lake::TableSchema>> {
        use mergetag_lake::TableSchema;
        use mergetag_lake::arrow::datatypes::{DataType, Field, Schema};
        use std::sync::Arc;

        let mut tables = Vec::new();
        for (name, batch) in super::lake::stage_schemas()? {
            let schema = batch.schema();
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            let add = |fields: &mut Vec<Field>, n: &str| {
                if !fields.iter().any(|f| f.name() == n) {
                    fields.push(Field::new(n, DataType::Null, true));
                }
            };
            let open = match name {
                "profiles" => {
                    for f in mergetag_model::fields::ALL {
                        add(&mut fields, f.name);
                    }
                    let mut open = false;
                    for s in &self.sources {
                        if s.format().ok() == Some(SourceFormat::Events) {
                            continue;
                        }
                        for n in s.key_as.iter().chain(&s.join) {
                            add(&mut fields, n);
                        }
                        let map = if files || s.column_map_file.is_none() {
                            s.column_map(self.base_dir()).ok().flatten()
                        } else {
                            None
                        };
                        if let Some(m) = &map {
                            for r in m.rules() {
                                add(&mut fields, r.field.as_str());
                            }
                            for f in m.observed_at_fields() {
                                add(&mut fields, f.as_str());
                            }
                        }
                        let closed = s.kind == SourceKind::File
                            && matches!(
                                s.format().ok(),
                                Some(SourceFormat::Csv | SourceFormat::Jsonl)
                            )
                            && s.column_map_file.is_none()
                            && s.unmapped == Some(mergetag_sources::Unmapped::Reject);
                        open |= !closed;
                    }
                    open
                }
                "traits" => {
                    let mut names: Vec<&str> =
                        self.traits.iter().map(|t| t.name.as_str()).collect();
                    if self.engagement.is_some() {
                        names.extend(["engagement_score", "engagement_level"]);
                    }
                    if !self.segments.is_empty() {
                        names.push("segments");
                    }
                    if self.rfm.is_some() {
                        names.extend(["rfm_r", "rfm_f", "rfm_m", "rfm_segment"]);
                    }
                    if self.clusters.is_some() {
                        names.extend(["segment", "segment_name", "segment_distance"]);
                    }
                    for n in names {
                        add(&mut fields, n);
                    }
                    self.predict.is_some()
                }
                _ => false,
            };
            let schema = Arc::new(Schema::new(fields));
            tables.push(if open {
                TableSchema::open(name, schema)
            } else {
                TableSchema::closed(name, schema)
            });
        }
        Ok(tables)
    }

    /// The `[clusters]` table checked, its `model` path resolved against
    /// [`PipelineConfig::base_dir`]; `None` when absent.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key under `clusters`.
    pub fn clusters_config(&self) -> Result<Option<mergetag_segment::SegmentConfig>> {
        let Some(c) = &self.clusters else {
            return Ok(None);
        };
        c.validate().map_err(|e| self.segment_error(e))?;
        let mut c = c.clone();
        c.model = c.model.as_deref().map(|m| self.resolve(m));
        Ok(Some(c))
    }

    /// The `[predict]` table checked and built; `None` when absent.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key under `predict`.
    pub fn predictor(&self) -> Result<Option<mergetag_predict::Predictor>> {
        let Some(c) = &self.predict else {
            return Ok(None);
        };
        let mut c = c.clone();
        if let Some(churn) = &mut c.churn {
            churn.model_file = churn.model_file.as_deref().map(|m| self.resolve(m));
        }
        c.model_file = c.model_file.as_deref().map(|m| self.resolve(m));
        c.build().map(Some).map_err(|e| match e {
            mergetag_predict::Error::Invalid { path, message } => {
                self.invalid(format!("predict.{path}"), message)
            }
            e => self.invalid("predict", e.to_string()),
        })
    }

    fn segment_error(&self, e: mergetag_segment::Error) -> Error {
        match e {
            mergetag_segment::Error::Invalid { path, message } => {
                self.invalid(format!("clusters.{path}"), message)
            }
            e => self.invalid("clusters", e.to_string()),
        }
    }

    fn parse(text: &str, origin: &str, base_dir: PathBuf) -> Result<PipelineConfig> {
        let mut config: PipelineConfig = loader::load(text, origin, Format::Toml).map_err(|e| {
            Error::Parse(ParseError {
                message: hint(&e.message),
                ..e
            })
        })?;
        config.base_dir = base_dir;
        config.origin = origin.to_owned();
        config.check_sources()?;
        config.build_parts(false)?;
        config.clusters_config()?;
        config.predictor()?;
        Ok(config)
    }

    /// Checks every source without reading files: each on its own
    /// ([`SourceConfig::check`]), and their names unique.
    fn check_sources(&self) -> Result<()> {
        for (i, s) in self.sources.iter().enumerate() {
            s.check().map_err(|e| self.source_error(i, e))?;
            self.check_live(i, s)?;
            if self.sources[..i].iter().any(|o| o.name == s.name) {
                return Err(self.invalid(
                    self.source_path(i, "name"),
                    "two sources have this name; give each its own",
                ));
            }
        }
        Ok(())
    }

    /// Opens source `i`, a live system, through the integration its kind names; without
    /// that integration's feature, an error saying which feature to enable.
    fn open_live(&self, i: usize, s: &SourceConfig) -> Result<Opened<'static>> {
        match s.kind {
            #[cfg(feature = "postgres")]
            SourceKind::Postgres => mergetag_postgres::open(s, self.base_dir())
                .map(|source| Opened::Records(Box::new(source)))
                .map_err(|e| self.postgres_error(i, e)),
            #[cfg(feature = "http-sync")]
            SourceKind::Hubspot => mergetag_sync::open(s, self.base_dir())
                .map(|source| Opened::Records(Box::new(source)))
                .map_err(|e| self.sync_error(i, e)),
            #[cfg(feature = "kafka")]
            SourceKind::Kafka => mergetag_kafka::open(s, self.base_dir())
                .map(|source| Opened::Records(Box::new(source)))
                .map_err(|e| self.kafka_error(i, e)),
            _ => s.open(self.base_dir()).map_err(|e| self.source_error(i, e)),
        }
    }

    /// Checks the settings of a live source `i`, when its integration is built in.
    fn check_live(&self, i: usize, s: &SourceConfig) -> Result<()> {
        match s.kind {
            #[cfg(feature = "postgres")]
            SourceKind::Postgres => mergetag_postgres::PostgresSettings::from_source_config(s)
                .map(drop)
                .map_err(|e| self.postgres_error(i, e)),
            #[cfg(feature = "http-sync")]
            SourceKind::Hubspot => mergetag_sync::HubspotSettings::from_source_config(s)
                .map(drop)
                .map_err(|e| self.sync_error(i, e)),
            #[cfg(feature = "kafka")]
            SourceKind::Kafka => mergetag_kafka::KafkaSettings::from_source_config(s)
                .map(drop)
                .map_err(|e| self.kafka_error(i, e)),
            _ => {
                let _ = (i, s);
                Ok(())
            }
        }
    }

    #[cfg(feature = "postgres")]
    fn postgres_error(&self, i: usize, e: mergetag_postgres::Error) -> Error {
        match e {
            mergetag_postgres::Error::Invalid { path, message } => {
                self.invalid(self.source_path(i, &path), message)
            }
            mergetag_postgres::Error::Sources(e) => self.source_error(i, e),
            e => Error::Postgres(e),
        }
    }

    #[cfg(feature = "http-sync")]
    fn sync_error(&self, i: usize, e: mergetag_sync::Error) -> Error {
        match e {
            mergetag_sync::Error::Invalid { path, message } => {
                self.invalid(self.source_path(i, &path), message)
            }
            mergetag_sync::Error::Sources(e) => self.source_error(i, e),
            e => Error::Sync(e),
        }
    }

    #[cfg(feature = "kafka")]
    fn kafka_error(&self, i: usize, e: mergetag_kafka::Error) -> Error {
        match e {
            mergetag_kafka::Error::Invalid { path, message } => {
                self.invalid(self.source_path(i, &path), message)
            }
            mergetag_kafka::Error::Sources(e) => self.source_error(i, e),
            e => Error::Kafka(e),
        }
    }

    #[cfg(feature = "lake")]
    fn lake_error(&self, i: usize, e: mergetag_lake::Error) -> Error {
        match e {
            mergetag_lake::Error::Invalid { path, message } => {
                self.invalid(self.source_path(i, &path), message)
            }
            mergetag_lake::Error::Sources(e) => self.source_error(i, e),
            e => Error::Lake(e),
        }
    }

    fn source_path(&self, i: usize, key: &str) -> String {
        match self.sources[i].name.as_str() {
            "" => format!("sources[{i}].{key}"),
            name => format!("sources[{i}] ({name}).{key}"),
        }
    }

    /// An error of source `i`, with its key path in this configuration.
    fn source_error(&self, i: usize, e: mergetag_sources::Error) -> Error {
        match e {
            mergetag_sources::Error::Invalid { path, message } => {
                self.invalid(self.source_path(i, &path), message)
            }
            e @ mergetag_sources::Error::Load(_) => {
                self.invalid(self.source_path(i, "column_map_file"), e.to_string())
            }
            e => Error::Sources(e),
        }
    }

    fn origin_name(&self) -> &str {
        if self.origin.is_empty() {
            "<config>"
        } else {
            &self.origin
        }
    }

    /// A mapping-crate error about the table `at`, with its key path under it.
    fn mapping_error(&self, at: &str, e: mergetag_mapping::Error) -> Error {
        match e {
            mergetag_mapping::Error::Invalid { path, message } if path.is_empty() => {
                self.invalid(at, message)
            }
            mergetag_mapping::Error::Invalid { path, message } => {
                self.invalid(format!("{at}.{path}"), message)
            }
            e => self.invalid(at, e.to_string()),
        }
    }

    fn invalid(&self, path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            origin: self.origin_name().to_owned(),
            path: path.into(),
            message: message.into(),
        }
    }

    /// Loads the file a section names (`key`, such as `dedup.file`), TOML or JSON by its
    /// extension, as every configuration file is loaded.
    fn load_file<T: serde::de::DeserializeOwned>(&self, file: &Path, key: &str) -> Result<T> {
        load_section_file(&self.base_dir, file, key, self.origin_name())
    }

    /// Builds the stages; with `files == false`, parts that name a file are skipped.
    fn build_parts(&self, files: bool) -> Result<Built> {
        #[cfg(feature = "lake")]
        if let Some(s) = &self.semantic {
            let tables = self.view_tables(files)?;
            s.plan(&tables).map_err(|e| match e {
                mergetag_lake::Error::Invalid { path, message } => self.invalid(path, message),
                mergetag_lake::Error::View { view, mut message } => {
                    let run_only = super::parquet_files::ALL
                        .iter()
                        .map(|f| f.trim_end_matches(".parquet"))
                        .filter(|t| !super::STAGE_TABLES.contains(t))
                        .find(|t| message.contains(&format!("table 'datafusion.public.{t}' not found")));
                    if let Some(t) = run_only {
                        message.push_str(&format!(
                            "; `{t}` is a table of a finished run, for `mergetag query`: views read {}",
                            super::STAGE_TABLES.join(", ")
                        ));
                    }
                    self.invalid(format!("semantic.views.{view}"), message)
                }
                e => Error::Lake(e),
            })?;
        }
        self.check_parquet_output()?;
        let now = match &self.now {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s.trim())
                    .map_err(|_| {
                        self.invalid(
                            "now",
                            "not an RFC 3339 time; write it as \"2026-11-21T00:00:00Z\"",
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        let normalizer = match &self.normalize {
            Some(n) if files || n.file.is_none() => Some(self.normalizer(n)?),
            _ => None,
        };
        let rules = match &self.rules {
            Some(r) if files || r.file.is_none() => Some((self.rule_set(r)?, r.audit)),
            _ => None,
        };
        let dedup = match &self.dedup {
            Some(d) if files || d.file.is_none() => Some(self.dedup_config(d)?),
            _ => None,
        };
        let traits = if self.traits.is_empty() {
            None
        } else {
            let config = TraitSetConfig {
                traits: self.traits.clone(),
            };
            Some(
                config
                    .build()
                    .map_err(|e| self.mapping_error("traits", e))?,
            )
        };
        let engagement = match &self.engagement {
            Some(e) => Some(e.build().map_err(|e| self.mapping_error("engagement", e))?),
            None => None,
        };
        let segments = if self.segments.is_empty() {
            None
        } else {
            let config = SegmentSetConfig {
                segments: self.segments.clone(),
            };
            Some(
                config
                    .build()
                    .map_err(|e| self.mapping_error("segments", e))?,
            )
        };
        let suppression = match self.outputs.as_ref().and_then(|o| o.suppression.as_ref()) {
            Some(c) => Some(
                c.build()
                    .map_err(|e| self.mapping_error("outputs.suppression", e))?,
            ),
            None => None,
        };
        let mapping = match &self.mapping {
            Some(m) if files || m.file.is_none() => Some(self.mapping(m, "mapping")?),
            _ => None,
        };
        let mut outputs = Vec::new();
        if let Some(o) = &self.outputs {
            for (i, p) in o.platforms.iter().enumerate() {
                if o.platforms[..i].contains(p) {
                    return Err(self.invalid(
                        "outputs.platforms",
                        format!("{p} is listed twice; list each platform once"),
                    ));
                }
            }
            for p in o.mapping.keys() {
                if !o.platforms.contains(p) {
                    return Err(self.invalid(
                        format!("outputs.mapping.{p}"),
                        format!(
                            "{p} is not in outputs.platforms; add it there or remove this mapping"
                        ),
                    ));
                }
            }
            for (i, a) in o.suppress.iter().enumerate() {
                if !a.contains('@') {
                    return Err(self.invalid(
                        format!("outputs.suppress[{i}]"),
                        format!("`{}` is not an email address", redact::email(a)),
                    ));
                }
            }
            for &p in &o.platforms {
                let own = match o.mapping.get(&p) {
                    Some(m) if files || m.file.is_none() => {
                        Some(self.mapping(m, &format!("outputs.mapping.{p}"))?)
                    }
                    Some(_) => {
                        outputs.push((p, None));
                        continue;
                    }
                    None => None,
                };
                let which = own.as_ref().or(mapping.as_ref());
                // Names are checked against the platform once: inline documents when the
                // configuration is parsed, documents from files when they are read. The
                // exporter itself is built once, by the pipeline builder.
                let from_file = match o.mapping.get(&p) {
                    Some(m) => m.file.is_some(),
                    None => self.mapping.as_ref().is_some_and(|m| m.file.is_some()),
                };
                match which {
                    Some(_) if files && !from_file => {}
                    Some(m) => {
                        if let Some((name, why)) = m.check_platform(p).into_iter().next() {
                            let at = if own.is_some() {
                                format!("outputs.mapping.{p}")
                            } else {
                                "mapping".to_owned()
                            };
                            return Err(self.invalid(
                                at,
                                format!(
                                    "variables.{name}: {why}; the {p} output needs names that suit it: give it its own document under [outputs.mapping.{p}]"
                                ),
                            ));
                        }
                    }
                    None if self.mapping.as_ref().is_some_and(|m| m.file.is_some()) => {}
                    None => {
                        return Err(self.invalid(
                            "outputs.platforms",
                            format!(
                                "the {p} output needs a mapping document: add a [mapping] table"
                            ),
                        ));
                    }
                }
                outputs.push((p, own));
            }
        }
        Ok(Built {
            normalizer,
            rules,
            dedup,
            traits,
            engagement,
            segments,
            suppression,
            mapping,
            outputs,
            now,
        })
    }

    fn normalizer(&self, n: &NormalizeSection) -> Result<RecordNormalizer> {
        let mut config = match &n.file {
            Some(file) => self.load_file::<NormalizeConfig>(file, "normalize.file")?,
            None if n.standard => NormalizeConfig::standard(),
            None => NormalizeConfig::default(),
        };
        if n.file.is_some() && n.standard {
            for (k, v) in NormalizeConfig::standard().fields {
                config.fields.entry(k).or_insert(v);
            }
        }
        if let Some(c) = &n.country_field {
            config.country_field = c.clone();
        }
        if let Some(s) = n.split_full_name {
            config.split_full_name = s;
        }
        if let Some(a) = &n.address_line_field {
            config.address_line_field = Some(a.clone());
        }
        if let Some(c) = &n.default_country {
            config.default_country = Some(c.clone());
        }
        if let Some(m) = &n.null_markers {
            config.null_markers = Some(m.clone());
        }
        if let Some(k) = n.keep_template_syntax {
            config.keep_template_syntax = k;
        }
        for (k, v) in &n.fields {
            config.fields.insert(k.clone(), v.clone());
        }
        config.build().map_err(|e| match e {
            mergetag_normalize::Error::Invalid { path, message } => {
                self.invalid(format!("normalize.{path}"), message)
            }
            e => self.invalid("normalize", e.to_string()),
        })
    }

    fn rule_set(&self, r: &RulesSection) -> Result<RuleSet> {
        let mut config = match &r.file {
            Some(file) => self.load_file::<RuleSetConfig>(file, "rules.file")?,
            None => RuleSetConfig::default(),
        };
        if r.as_of.is_some() {
            config.as_of = r.as_of;
        }
        for (k, v) in &r.fields {
            config.fields.insert(k.clone(), v.clone());
        }
        if let Some(c) = &r.checks {
            config.checks = c.clone();
        }
        config.build().map_err(|e| match e {
            mergetag_validate::Error::Invalid { path, message, .. } => {
                self.invalid(format!("rules.{path}"), message)
            }
            e => self.invalid("rules", e.to_string()),
        })
    }

    fn dedup_config(&self, d: &DedupSection) -> Result<(DedupConfig, SurvivorshipConfig)> {
        d.resolve(&self.base_dir, self.origin_name())
    }

    fn mapping(&self, m: &MappingSection, at: &str) -> Result<Mapping> {
        let mut config = match &m.file {
            Some(file) => self.load_file::<MappingConfig>(file, &format!("{at}.file"))?,
            None => MappingConfig::default(),
        };
        if m.platform.is_some() {
            config.platform = m.platform;
        }
        config.variables.extend(m.variables.iter().cloned());
        config.build().map_err(|e| self.mapping_error(at, e))
    }
}

/// Adds how to fix the usual mistakes to a TOML parser message.
fn hint(message: &str) -> String {
    if message.starts_with("unknown field") {
        format!(
            "{message}; check the spelling (the keys are listed in the mergetag::pipeline::config docs)"
        )
    } else {
        message.to_owned()
    }
}

impl Pipeline {
    /// Builds the pipeline a configuration describes: opens its sources, reads the files it
    /// names, and builds every stage. [`Pipeline::builder_from_config`] does the same and lets
    /// you add stages of your own before building.
    ///
    /// # Errors
    ///
    /// Those of [`Pipeline::builder_from_config`] and [`PipelineBuilder::build`].
    pub fn from_config(config: &PipelineConfig) -> Result<Pipeline> {
        Pipeline::builder_from_config(config)?.build()
    }

    /// A builder set up as the configuration describes (sources opened, files read, stages
    /// built), to extend in code before [`PipelineBuilder::build`]: add record stages, profile
    /// stages, event sources, outputs.
    ///
    /// ```
    /// use mergetag::pipeline::{Decision, Pipeline, PipelineConfig, stage_fn};
    /// use mergetag::{Record, fields};
    ///
    /// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
    /// let output = Pipeline::builder_from_config(&config)?
    ///     .stage(stage_fn("no_example_org", |r: &mut Record| match r.text(fields::EMAIL) {
    ///         Some(e) if e.ends_with("@example.org") => Decision::Quarantine("example.org".into()),
    ///         _ => Decision::Keep,
    ///     }))
    ///     .build()?
    ///     .run(|_| {})?;
    /// assert!(output.report.adds_up());
    /// # Ok::<(), mergetag::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Sources`] when a file cannot be opened (naming it) or its header is unusable,
    /// [`Error::Invalid`] for a referenced configuration file that is not valid, naming the
    /// key that refers to it.
    pub fn builder_from_config(config: &PipelineConfig) -> Result<PipelineBuilder> {
        let built = config.build_parts(true)?;
        let mut b = Pipeline::builder();
        for (i, s) in config.sources.iter().enumerate() {
            let options = SourceOptions {
                join: s.join.as_deref().map(Into::into),
                key_as: s.key_as.as_deref().map(Into::into),
                on_bad_row: s.on_bad_row,
            };
            let opened = match s.kind {
                #[cfg(feature = "lake")]
                SourceKind::File
                    if s.format().ok() == Some(mergetag_sources::SourceFormat::Parquet) =>
                {
                    Opened::Records(Box::new(
                        mergetag_lake::open(s, config.base_dir())
                            .map_err(|e| config.lake_error(i, e))?,
                    ))
                }
                SourceKind::File => s
                    .open(config.base_dir())
                    .map_err(|e| config.source_error(i, e))?,
                _ => config.open_live(i, s)?,
            };
            match opened {
                Opened::Records(source) => b.source_boxed(source, options),
                Opened::Events(events) => b.events_boxed(events),
            };
        }
        if let Some(n) = built.normalizer {
            b.normalizer(n);
        }
        if let Some((rules, audit)) = built.rules {
            b.validator(Validator::builder().audit(audit).build(rules));
        }
        if let Some((dedup, survivorship)) = built.dedup {
            b.dedup(dedup.build()?);
            b.survivorship(survivorship);
        }
        if let Some(t) = built.traits {
            b.traits(t);
        }
        if let Some(e) = built.engagement {
            b.engagement(e);
        }
        // RFM scores first (cluster features may use them), then the segments found in the
        // data, then rule segments, which may select by any of them (`traits.segment`).
        if let Some(r) = &config.rfm {
            b.profile_stage(RfmStage::new(r.clone()));
        }
        if let Some(c) = config.clusters_config()? {
            b.profile_stage(ClusterStage::new(
                c.build().map_err(|e| config.segment_error(e))?,
            ));
        }
        // Predictions before rule segments, which may select by them
        // (`traits.churn_risk_band`).
        if let Some(p) = config.predictor()? {
            b.profile_stage(PredictStage::new(p));
        }
        if let Some(s) = built.segments {
            b.profile_stage(SegmentStage::new(s));
        }
        // The semantic layer last: its views may read every trait the stages above added.
        #[cfg(feature = "lake")]
        if let Some(s) = &config.semantic {
            b.profile_stage(super::lake::SemanticStage::new(s.clone()));
        }
        if let Some(now) = built.now {
            b.now(now);
        }
        if let Some(m) = built.mapping {
            b.mapping(m);
        }
        for (platform, own) in built.outputs {
            match own {
                Some(m) => b.output_with(platform, m, None),
                None => b.output(platform),
            };
        }
        if let Some(o) = &config.outputs {
            for a in &o.suppress {
                b.suppress_address(a);
            }
            if let Some(c) = &o.consent {
                b.consent(c.clone());
            }
            if let Some(rules) = built.suppression {
                b.suppression(rules);
            }
        }
        if let Some(dir) = config.output_dir() {
            b.output_dir(dir);
        }
        Ok(b)
    }
}
