//! The mapping crate's rule segments and RFM scores as [`ProfileStage`]s, so that a pipeline
//! (in code or from its configuration: `[[segments]]`, `[rfm]`) adds them as traits that
//! mapping variables and your own stages use like any other.

use mergetag_mapping::{Recipient, RfmInput, SegmentSet, rfm};
use mergetag_model::Value;
use serde::{Deserialize, Serialize};

use super::stage::{ProfileBatch, ProfileStage, StageError};

/// Adds the trait `segments`: the names of the rule segments a profile belongs to, in
/// declaration order (an empty list for none). Rules see the profile and the traits computed
/// before this stage.
///
/// ```
/// use mergetag::mapping::SegmentSetConfig;
/// use mergetag::pipeline::{Pipeline, PipelineConfig, SegmentStage};
///
/// let set = SegmentSetConfig::from_toml_str(r#"
///     [[segments]]
///     name = "engaged"
///     rule = { field = "traits.engagement_level", op = "in", value = ["High", "Medium"] }
/// "#)?.build()?;
/// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
/// let output = Pipeline::builder_from_config(&config)?
///     .profile_stage(SegmentStage::new(set))
///     .build()?
///     .run(|_| {})?;
/// assert!(output.traits.iter().any(|t| t["segments"] == vec!["engaged".into()].into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SegmentStage {
    set: SegmentSet,
}

impl SegmentStage {
    /// A stage that assigns the segments of `set`.
    pub fn new(set: SegmentSet) -> SegmentStage {
        SegmentStage { set }
    }
}

impl ProfileStage for SegmentStage {
    fn name(&self) -> &str {
        "segments"
    }

    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        let now = batch.now();
        for i in 0..batch.len() {
            let names: Vec<Value> = {
                let r = Recipient {
                    profile: batch.profile(i),
                    traits: batch.traits(i),
                };
                self.set
                    .segments_of(&r, now)
                    .into_iter()
                    .map(Value::from)
                    .collect()
            };
            batch.set_trait(i, "segments", names);
        }
        Ok(())
    }
}

/// Which events are orders, for RFM scoring (`[rfm]` in a pipeline file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    /// The track event name of an order (default `Order Completed`).
    #[serde(default = "default_order_event")]
    pub order_event: String,
    /// The numeric property holding the order's amount (default `total`).
    #[serde(default = "default_amount")]
    pub amount: String,
}

fn default_order_event() -> String {
    "Order Completed".to_owned()
}

fn default_amount() -> String {
    "total".to_owned()
}

impl Default for RfmConfig {
    fn default() -> RfmConfig {
        RfmConfig {
            order_event: default_order_event(),
            amount: default_amount(),
        }
    }
}

/// Adds the traits `rfm_r`, `rfm_f`, `rfm_m` (quintile scores 1 to 5, 5 best) and
/// `rfm_segment` (`Champions`, `At Risk`, ... see [`RfmSegment`](mergetag_mapping::RfmSegment))
/// from each profile's orders, scored against every profile of the run.
#[derive(Debug, Clone, Default)]
pub struct RfmStage {
    config: RfmConfig,
}

impl RfmStage {
    /// A stage scoring the orders `config` names.
    pub fn new(config: RfmConfig) -> RfmStage {
        RfmStage { config }
    }
}

impl ProfileStage for RfmStage {
    fn name(&self) -> &str {
        "rfm"
    }

    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        let now = batch.now();
        let inputs: Vec<RfmInput> = (0..batch.len())
            .map(|i| {
                RfmInput::from_events(
                    batch.profile(i).id,
                    batch.events(i),
                    &self.config.order_event,
                    &self.config.amount,
                    now,
                )
            })
            .collect();
        // Scores come back in profile-id order, as the batch holds its profiles.
        let scores = rfm(&inputs);
        for i in 0..batch.len() {
            let id = batch.profile(i).id;
            if let Ok(k) = scores.binary_search_by_key(&id, |s| s.profile) {
                let s = scores[k];
                batch.set_trait(i, "rfm_r", i64::from(s.r));
                batch.set_trait(i, "rfm_f", i64::from(s.f));
                batch.set_trait(i, "rfm_m", i64::from(s.m));
                batch.set_trait(i, "rfm_segment", s.segment.as_str());
            }
        }
        Ok(())
    }
}
