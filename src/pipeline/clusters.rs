//! Segments found in the data ([`mergetag_segment`]) as a [`ProfileStage`]: `[clusters]` in a
//! pipeline file, or [`ClusterStage`] in code. Adds the traits `segment` (the stable id, 0
//! for unclustered), `segment_name` and `segment_distance` (to the segment's centre in the
//! scaled feature space; null when unclustered), which mapping variables and rule segments
//! (`traits.segment_name`) then use like any other trait.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mergetag_model::Value;
use mergetag_segment::{Assignment, Mode, ProfileInput, SegmentChange, SegmentModel, Segmenter};

use super::stage::{ProfileBatch, ProfileStage, StageError};

/// What a [`ClusterStage`] learnt in a run: the model and how it changed from the saved one.
#[derive(Debug, Clone)]
pub struct ClusterResult {
    /// The model the profiles were assigned with (fitted in this run, or loaded).
    pub model: SegmentModel,
    /// What changed from the previous model (empty without one, or when only assigning).
    pub changes: Vec<SegmentChange>,
}

/// Where a [`ClusterStage`] leaves its [`ClusterResult`] for the caller once the pipeline has
/// run (the stage itself is owned by the pipeline).
#[derive(Debug, Clone, Default)]
pub struct ClusterHandle(Arc<Mutex<Option<ClusterResult>>>);

impl ClusterHandle {
    /// The result of the last run, if the stage ran.
    pub fn result(&self) -> Option<ClusterResult> {
        self.0.lock().ok().and_then(|r| r.clone())
    }
}

/// Finds segments among the run's golden profiles (or assigns them with a saved model) and
/// adds the traits `segment`, `segment_name` and `segment_distance`.
///
/// With `model` configured, a retraining run reads the saved model first (when there is
/// one) so that segment ids and names carry over to the segments found again, then saves the
/// new model there; `mode = "assign"` only reads it.
///
/// ```
/// use mergetag::pipeline::{ClusterStage, Pipeline, PipelineConfig};
/// use mergetag::segment::SegmentConfig;
///
/// let segmenter = SegmentConfig::from_toml_str(r#"
///     k = 3
///     [[features]]
///     kind = "recency"
///     [[features]]
///     kind = "frequency"
///     [[features]]
///     kind = "monetary_total"
/// "#)?.build()?;
/// let stage = ClusterStage::new(segmenter);
/// let handle = stage.handle();
/// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
/// let output = Pipeline::builder_from_config(&config)?
///     .profile_stage(stage)
///     .build()?
///     .run(|_| {})?;
/// let model = handle.result().unwrap().model;
/// assert_eq!(model.segments.len(), 3);
/// assert!(output.traits.iter().all(|t| t.contains_key("segment_name")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClusterStage {
    segmenter: Segmenter,
    model_path: Option<PathBuf>,
    handle: ClusterHandle,
}

impl ClusterStage {
    /// A stage fitting (or assigning) as `segmenter`'s configuration says; its `model` path
    /// is used as it is (a pipeline file resolves it against its directory).
    pub fn new(segmenter: Segmenter) -> ClusterStage {
        let model_path = segmenter.config().model.clone();
        ClusterStage {
            segmenter,
            model_path,
            handle: ClusterHandle::default(),
        }
    }

    /// Where the result of a run will be.
    pub fn handle(&self) -> ClusterHandle {
        self.handle.clone()
    }

    fn previous(&self) -> Result<Option<SegmentModel>, StageError> {
        match &self.model_path {
            Some(p) if p.exists() => Ok(Some(SegmentModel::from_path(p)?)),
            _ => Ok(None),
        }
    }
}

impl ProfileStage for ClusterStage {
    fn name(&self) -> &str {
        "clusters"
    }

    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        let now = batch.now();
        let (assignments, result): (Vec<Assignment>, ClusterResult) = {
            let inputs: Vec<ProfileInput<'_>> = (0..batch.len())
                .map(|i| ProfileInput {
                    profile: batch.profile(i),
                    events: batch.events(i),
                    traits: batch.traits(i),
                })
                .collect();
            match self.segmenter.config().mode {
                Mode::Assign => {
                    let model = self.previous()?.ok_or_else(|| {
                        format!(
                            "mode = \"assign\" needs a saved model; none at {}",
                            self.model_path
                                .as_ref()
                                .map_or_else(String::new, |p| p.display().to_string())
                        )
                    })?;
                    let a = inputs.iter().map(|inp| model.assign(inp, now)).collect();
                    (
                        a,
                        ClusterResult {
                            model,
                            changes: Vec::new(),
                        },
                    )
                }
                Mode::Retrain => {
                    if inputs.is_empty() {
                        return Ok(());
                    }
                    let previous = self.previous()?;
                    let fitted = self.segmenter.fit(&inputs, now, previous.as_ref())?;
                    if let Some(p) = &self.model_path {
                        fitted.model.save(p)?;
                    }
                    (
                        fitted.assignments,
                        ClusterResult {
                            model: fitted.model,
                            changes: fitted.changes,
                        },
                    )
                }
            }
        };
        for (i, a) in assignments.into_iter().enumerate() {
            batch.set_trait(i, "segment", i64::from(a.segment));
            batch.set_trait(i, "segment_name", a.name);
            batch.set_trait(
                i,
                "segment_distance",
                a.distance.map_or(Value::Null, Value::float),
            );
        }
        if let Ok(mut slot) = self.handle.0.lock() {
            *slot = Some(result);
        }
        Ok(())
    }
}
