//! Predictions ([`mergetag_predict`]) as a [`ProfileStage`]: `[predict]` in a pipeline file,
//! or [`PredictStage`] in code. Fits BG/NBD (or Pareto/NBD) and Gamma-Gamma on the golden
//! profiles' order events and adds the traits `expected_purchases_90d`, `p_alive`,
//! `churn_risk`, `churn_risk_band` (`low`, `medium`, `high`), `clv_12m`, `recommended_product`,
//! `best_send_hour` (hour of the week, 0 = Monday 00:00 UTC) and `trending_product` (null
//! where a profile has no order or no model could be fitted), which mapping variables then
//! use like any other trait, with their fallbacks.
//!
//! With a `[predict.churn]` table, a supervised classifier (gradient-boosted trees or
//! logistic regression, optionally calibrated) adds `churn_probability` and
//! `churn_probability_band` (the trait's name is `churn.trait`): trained on the label trait or
//! field `churn.label` names (any profile trait computed before this stage, or a profile
//! field), on "no order in the last `churn.window_days` days" when there is no label, or
//! loaded from `churn.model_file` (a model saved by `mergetag predict churn --save`).

use std::sync::{Arc, Mutex};

use mergetag_model::Event;
use mergetag_predict::{Predictions, Predictor, label_of};

use super::stage::{ProfileBatch, ProfileStage, StageError};

/// Where a [`PredictStage`] leaves its [`Predictions`] (the fitted model, the holdout
/// report, notes) for the caller once the pipeline has run.
#[derive(Debug, Clone, Default)]
pub struct PredictHandle(Arc<Mutex<Option<Predictions>>>);

impl PredictHandle {
    /// The predictions of the last run, if the stage ran.
    pub fn result(&self) -> Option<Predictions> {
        self.0.lock().ok().and_then(|r| r.clone())
    }
}

/// Predicts from the run's golden profiles and adds the prediction traits.
///
/// ```
/// use mergetag::pipeline::{Pipeline, PipelineConfig, PredictStage};
/// use mergetag::predict::PredictConfig;
///
/// let predictor = PredictConfig::from_toml_str("holdout_days = 60\n")?.build()?;
/// let stage = PredictStage::new(predictor);
/// let handle = stage.handle();
/// let config = PipelineConfig::load("examples/data/pipeline.toml")?;
/// let output = Pipeline::builder_from_config(&config)?
///     .profile_stage(stage)
///     .build()?
///     .run(|_| {})?;
/// let predictions = handle.result().unwrap();
/// assert!(predictions.model.is_some());
/// assert!(output.traits.iter().all(|t| t.contains_key("churn_risk_band")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PredictStage {
    predictor: Predictor,
    handle: PredictHandle,
}

impl PredictStage {
    /// A stage predicting as `predictor`'s configuration says.
    pub fn new(predictor: Predictor) -> PredictStage {
        PredictStage {
            predictor,
            handle: PredictHandle::default(),
        }
    }

    /// Where the result of a run will be.
    pub fn handle(&self) -> PredictHandle {
        self.handle.clone()
    }
}

impl ProfileStage for PredictStage {
    fn name(&self) -> &str {
        "predict"
    }

    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        let predictions = {
            let events: Vec<&[&Event]> = (0..batch.len()).map(|i| batch.events(i)).collect();
            let label = self
                .predictor
                .config()
                .churn
                .as_ref()
                .and_then(|c| c.label.as_deref());
            let labels: Vec<Option<bool>> = match label {
                Some(name) => (0..batch.len())
                    .map(|i| {
                        batch
                            .traits(i)
                            .get(name)
                            .or_else(|| batch.profile(i).value(name))
                            .and_then(label_of)
                    })
                    .collect(),
                None => Vec::new(),
            };
            self.predictor
                .predict_labeled(&events, &labels, batch.now())?
        };
        for (i, traits) in predictions.traits.iter().enumerate() {
            for (name, value) in traits {
                batch.set_trait(i, name.clone(), value.clone());
            }
        }
        if let Ok(mut slot) = self.handle.0.lock() {
            *slot = Some(predictions);
        }
        Ok(())
    }
}
