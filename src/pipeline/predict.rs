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
//!
//! With `model_file` set and the file there (written by `mergetag predict fit|retrain
//! --config`), the stage scores with that saved model instead of fitting one
//! ([`Predictor::run`]): its parameters, spend model and time unit; the run report
//! ([`RunReport::stages`](super::RunReport::stages)) names the file, its training window
//! and the drift verdict of today's customers against its baseline, with a warning
//! (`model_drift`) when the verdict is `retrain`. Without the file it fits afresh and says
//! so; a file that cannot be read or is not a model stops the run naming it. `refit = true`
//! fits afresh whatever the file.

use std::sync::{Arc, Mutex};

use mergetag_model::Event;
use mergetag_predict::{ModelSource, Predictions, Predictor, Verdict, label_of};

use super::report::{RunWarning, StageReport};
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
            self.predictor.run(&events, &labels, batch.now())?
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

    /// Where the model came from (`model`: `saved` or `fitted`; `model_file`), the saved
    /// model's training window and customers, the drift verdict and its reasons; a
    /// `model_drift` warning when the verdict is `retrain`.
    fn report(&self) -> StageReport {
        let Some(p) = self.handle.result() else {
            return StageReport::default();
        };
        let mut r = StageReport::default().fact(
            "model",
            match p.source {
                ModelSource::Saved(_) => "saved",
                _ => "fitted",
            },
        );
        if let Some(f) = p.source.file() {
            r = r.fact("model_file", f.display().to_string());
        }
        if !matches!(p.source, ModelSource::Fitted | ModelSource::Saved(_)) {
            r = r.fact("model_source", p.source.to_string());
        }
        if let Some(m) = &p.model {
            r = r.fact(
                "trained",
                format!(
                    "{} to {} ({} customers)",
                    m.trained_from, m.trained_to, m.customers
                ),
            );
        }
        if let Some(d) = &p.drift {
            r = r.fact("drift_verdict", d.verdict.as_str());
            if !d.reasons.is_empty() {
                r = r.fact("drift_reasons", d.reasons.join("; "));
            }
            if d.verdict == Verdict::Retrain {
                let file = p
                    .source
                    .file()
                    .map_or_else(|| "the saved model".to_owned(), |f| f.display().to_string());
                r = r.warning(RunWarning::new(
                    "profile_stage.predict",
                    "model_drift",
                    format!(
                        "today's customers have drifted from {file} (trained {} to {}): retrain it (`mergetag predict retrain --config`); {}",
                        d.trained_from,
                        d.trained_to,
                        d.reasons.join("; ")
                    ),
                ));
            }
        }
        r
    }
}
