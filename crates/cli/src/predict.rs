//! `mergetag predict`: buy-till-you-die fits on any customer summary, and summaries made from
//! transaction logs, so that the fits can be checked against the Python reference.
//!
//! - `mergetag predict fit --model bgnbd|pareto-nbd|gamma-gamma SUMMARY.csv [--penalizer X]`:
//!   SUMMARY.csv has a header naming `frequency`, `recency` and `T` (and `monetary_value` for
//!   gamma-gamma; another column is the id, kept but not used). A bad row stops the command
//!   (exit 2) with its line. Prints one JSON object: the parameters by their usual names
//!   (`r`, `alpha`, `a`, `b`; `r`, `alpha`, `s`, `beta`; `p`, `q`, `v`), `log_likelihood`
//!   (summed over customers, without the penalty), `iterations`, `converged`, and
//!   `gradient_norm`, `customers`, `distinct_rows`.
//! - `mergetag predict summary TRANSACTIONS.csv --customer-column C --date-column D
//!   [--value-column V] --calibration-end YYYY-MM-DD [--freq day|week]`: writes the summary
//!   CSV (`id,frequency,recency,T[,monetary_value]`) to stdout, as the Python reference's
//!   `summary_data_from_transaction_data` makes it.
//!
//! - `mergetag predict fit ... --save MODEL.json --calibration-end YYYY-MM-DD [--freq
//!   day|week]`: also writes the model (parameters, training window, convergence, and the
//!   customers' distributions as decile sketches) for `score`, `drift` and `retrain`.
//! - `mergetag predict score --model-file MODEL.json SUMMARY.csv [--horizon-days N]`: one JSON
//!   object per customer: `id`, `p_alive`, `churn_risk`, `expected_purchases` (in the next N
//!   days, default 90) and `expected_spend` when the model has a spend part.
//! - `mergetag predict drift --model-file MODEL.json [--baseline TRAINED.csv] SUMMARY.csv`:
//!   the population stability index of frequency, recency, T and P(alive) between the
//!   customers the model was trained on (the file, or the sketches saved in the model, which
//!   add expected purchases) and fresh ones, the `verdict` (`stable`, `watch`, `retrain`;
//!   [`mergetag_predict::Verdict`]) with its `reasons`, and `retrain`. Exit 1 when the
//!   verdict is `retrain`.
//! - `mergetag predict retrain --model-file MODEL.json SUMMARY.csv --calibration-end
//!   YYYY-MM-DD --save NEW.json`: refits from the saved parameters, saves the new model
//!   (temporary file renamed into place; never over the summary) and prints what changed
//!   ([`retrain_json`]).
//!
//! With `--config PIPELINE.toml` instead of a summary, `fit`, `score`, `drift` and `retrain`
//! take the customers from the pipeline's golden profiles' order events ([`PipelineOrders`]:
//! the pipeline runs up to its profile stages, as `mergetag segment` does) and their options
//! from its `[predict]` table (model, period, `holdout_days`, `horizon_days`, `penalizer`,
//! `model_file`): `fit` saves the model with its holdout metrics to `--save` or `model_file`;
//! `score` prints one object per profile; `drift` adds the saved model's calibration on the
//! latest holdout (`holdout_days`, else `horizon_days`); `retrain` replaces the model file
//! (or writes `--save`). Once `model_file` exists, `mergetag run` scores with it instead of
//! fitting (`refit = true` in `[predict]` fits afresh).
//!
//! ```
//! use mergetag_cli::predict::{Model, fit_json};
//! use mergetag_predict::{BgNbd, Summary, simulate_bgnbd};
//!
//! // 500 customers drawn from a known BG/NBD process.
//! let truth = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
//! let customers = simulate_bgnbd(&truth, 500, 270.0, 90.0, 7);
//! let summary = Summary {
//!     ids: (0..customers.len()).map(|i| i.to_string()).collect(),
//!     customers,
//! };
//! let json = fit_json(&summary, Model::Bgnbd, 0.0)?;
//! assert!(json["r"].as_f64().unwrap() > 0.0);
//! assert_eq!(json["converged"], true);
//! # Ok::<(), mergetag_cli::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use mergetag_model::Event;
use mergetag_predict::{
    BgNbd, DriftReport, FitOptions, GammaGamma, ParetoNbd, Period, PredictModel, Predictor,
    Retrain, Summary, TransactionColumns, TransactionFit, TransactionModel, drift, parse_date,
    retrain,
};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::matching::refuse_overwrites;

/// The model `mergetag predict fit` fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// BG/NBD: `r`, `alpha`, `a`, `b`.
    Bgnbd,
    /// Pareto/NBD: `r`, `alpha`, `s`, `beta`.
    ParetoNbd,
    /// Gamma-Gamma: `p`, `q`, `v` (on the customers with repeat purchases).
    GammaGamma,
}

/// Fits `model` to `summary` with the L2 `penalizer`, as the JSON object the command prints.
///
/// # Errors
///
/// [`Error::Predict`] when the data cannot be fitted (no customers, no monetary value for
/// gamma-gamma) or the penalizer is negative or not finite.
pub fn fit_json(summary: &Summary, model: Model, penalizer: f64) -> Result<Value> {
    let options = FitOptions::default().penalizer(penalizer);
    let cs = &summary.customers;
    let (mut obj, ll, conv, customers, distinct) = match model {
        Model::Bgnbd => {
            let f = BgNbd::fit(cs, &options)?;
            let m = f.model;
            let params = json!({"model": "bgnbd", "r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b});
            (
                params,
                f.log_likelihood,
                f.convergence,
                f.customers,
                f.distinct_rows,
            )
        }
        Model::ParetoNbd => {
            let f = ParetoNbd::fit(cs, &options)?;
            let m = f.model;
            let params = json!({"model": "pareto-nbd", "r": m.r, "alpha": m.alpha, "s": m.s, "beta": m.beta});
            (
                params,
                f.log_likelihood,
                f.convergence,
                f.customers,
                f.distinct_rows,
            )
        }
        Model::GammaGamma => {
            let f = GammaGamma::fit(cs, &options)?;
            let m = f.model;
            let params = json!({"model": "gamma-gamma", "p": m.p, "q": m.q, "v": m.v});
            (
                params,
                f.log_likelihood,
                f.convergence,
                f.customers,
                f.distinct_rows,
            )
        }
    };
    if let Value::Object(map) = &mut obj {
        map.insert("log_likelihood".into(), json!(ll));
        map.insert("iterations".into(), json!(conv.iterations));
        map.insert("converged".into(), json!(conv.converged));
        map.insert("gradient_norm".into(), json!(conv.gradient_norm));
        map.insert("penalizer".into(), json!(penalizer));
        map.insert("customers".into(), json!(customers));
        map.insert("distinct_rows".into(), json!(distinct));
    }
    Ok(obj)
}

/// Reads SUMMARY.csv and fits `model` to it.
///
/// # Errors
///
/// [`Error::Predict`] naming the line of a bad row, or from [`fit_json`].
pub fn fit_file(path: &Path, model: Model, penalizer: f64) -> Result<Value> {
    let summary = Summary::from_path(path)?;
    fit_json(&summary, model, penalizer)
}

/// Reads a transaction log and summarizes it up to `calibration_end` (`YYYY-MM-DD`).
///
/// # Errors
///
/// [`Error::Usage`] for a calibration end that is not a date; [`Error::Predict`] naming the
/// line and column of a bad row.
pub fn summarize_file(
    path: &Path,
    columns: &TransactionColumns,
    calibration_end: &str,
    period: Period,
) -> Result<Summary> {
    let end = parse_date(calibration_end).ok_or_else(|| {
        Error::Usage(format!(
            "--calibration-end: `{calibration_end}` is not a date; write YYYY-MM-DD"
        ))
    })?;
    let log = columns.read_path(path)?;
    Ok(Summary::from_transactions(&log, end, period))
}

/// Fits the transaction model (and Gamma-Gamma when the summary has monetary values) and
/// saves it (atomically) with its training window (`calibration_end` back to the oldest
/// customer's first purchase) and the [`Baseline`](mergetag_predict::Baseline) of the
/// customers (expected purchases over 90 days), for `score`, `drift` and `retrain`. `input`
/// is the summary's file, which `path` may not be.
///
/// # Errors
///
/// [`Error::Usage`] for gamma-gamma (not a transaction model), a calibration end that is
/// not a date or a `path` that is the input; [`Error::Predict`] when the fit fails or the
/// file cannot be written.
pub fn save_model(
    input: &Path,
    summary: &Summary,
    model: Model,
    penalizer: f64,
    calibration_end: &str,
    period: Period,
    path: &Path,
) -> Result<()> {
    let kind = match model {
        Model::Bgnbd => TransactionModel::Bgnbd,
        Model::ParetoNbd => TransactionModel::ParetoNbd,
        Model::GammaGamma => {
            return Err(Error::Usage(
                "--save needs a transaction model (--model bgnbd or pareto-nbd)".to_owned(),
            ));
        }
    };
    let end = parse_date(calibration_end).ok_or_else(|| {
        Error::Usage(format!(
            "--calibration-end: `{calibration_end}` is not a date; write YYYY-MM-DD"
        ))
    })?;
    refuse_overwrites(&[("the input", input)], &[("--save", path)])?;
    let oldest = summary.customers.iter().map(|c| c.t).fold(0.0f64, f64::max);
    let start = end - chrono::Duration::days((oldest * period.days()).round() as i64);
    let options = FitOptions::default().penalizer(penalizer);
    let m = PredictModel::fit(&summary.customers, kind, &options, (start, end), period)?
        .with_baseline(&summary.customers, 90.0 / period.days());
    m.save(path)?;
    Ok(())
}

/// Scores every customer of `summary` with a saved model: one JSON object per customer.
pub fn score(model: &PredictModel, summary: &Summary, horizon_days: f64) -> Vec<Value> {
    let horizon = horizon_days / model.period.days();
    summary
        .ids
        .iter()
        .zip(&summary.customers)
        .map(|(id, c)| {
            let p = model.transaction.p_alive(c);
            let mut o = json!({
                "id": id,
                "p_alive": p,
                "churn_risk": 1.0 - p,
                "expected_purchases": model.transaction.expected_purchases(horizon, c),
            });
            if let (Some(gg), Value::Object(map)) = (&model.spend, &mut o) {
                map.insert("expected_spend".into(), json!(gg.expected_spend(c)));
            }
            o
        })
        .collect()
}

/// The drift report of `fresh` under `model`: against the customers `trained` (the PSI of
/// frequency, recency, T and P(alive)) when given, else against the model's saved
/// [`Baseline`](mergetag_predict::Baseline) (also the expected purchases). No calibration
/// check: a summary has no holdout.
///
/// # Errors
///
/// [`Error::Usage`] when `trained` is not given and the model has no baseline.
pub fn drift_report(
    model: &PredictModel,
    trained: Option<&Summary>,
    fresh: &Summary,
) -> Result<DriftReport> {
    let d = match (trained, &model.baseline) {
        (Some(t), _) => drift(&model.transaction, &t.customers, &fresh.customers),
        (None, Some(b)) => b.compare(&model.transaction, &fresh.customers),
        (None, None) => {
            return Err(Error::Usage(
                "the model has no baseline (saved before it kept one): give --baseline TRAINED.csv, or refit it with --save".to_owned(),
            ));
        }
    };
    Ok(DriftReport::new(
        (model.trained_from, model.trained_to, model.customers),
        fresh.customers.len(),
        d.stability,
        None,
    ))
}

/// A drift report as the JSON `mergetag predict drift` prints: the report's fields and
/// `retrain` (whether the verdict is `retrain`).
pub fn drift_json(report: &DriftReport) -> Value {
    let mut j = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut j {
        m.insert(
            "retrain".into(),
            json!(report.verdict == mergetag_predict::Verdict::Retrain),
        );
    }
    j
}

/// The golden profiles of a pipeline run with their events, for `mergetag predict
/// fit|score|drift|retrain --config pipeline.toml`: the pipeline runs up to its profile
/// stages (as `mergetag segment` does; nothing is written), its own `[predict]` stage left
/// out, and the `[predict]` table says how to predict.
#[derive(Debug)]
pub struct PipelineOrders {
    /// The pipeline's `[predict]` table, built (its `model_file` resolved against the
    /// pipeline file's directory).
    pub predictor: Predictor,
    /// Each profile's id, in profile-id order.
    pub ids: Vec<String>,
    /// Each profile's events.
    pub events: Vec<Vec<Event>>,
    /// "Now" of the run.
    pub now: DateTime<Utc>,
}

impl PipelineOrders {
    /// Runs the pipeline at `path` up to its profile stages and keeps each profile's events.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when the file has no `[predict]` table; [`Error::Pipeline`] when the
    /// pipeline cannot be loaded or run.
    pub fn load(path: &Path) -> Result<PipelineOrders> {
        use mergetag::pipeline::{
            Pipeline, PipelineConfig, ProfileBatch, ProfileStage, StageError,
        };

        /// Keeps every profile's events.
        struct Keep(Arc<Mutex<Option<PipelineOrders>>>, Predictor);
        impl ProfileStage for Keep {
            fn name(&self) -> &str {
                "predict"
            }
            fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
                let kept = PipelineOrders {
                    predictor: self.1.clone(),
                    ids: (0..batch.len())
                        .map(|i| batch.profile(i).id.to_string())
                        .collect(),
                    events: (0..batch.len())
                        .map(|i| batch.events(i).iter().map(|e| (*e).clone()).collect())
                        .collect(),
                    now: batch.now(),
                };
                if let Ok(mut slot) = self.0.lock() {
                    *slot = Some(kept);
                }
                Ok(())
            }
        }

        let config = PipelineConfig::load(path).map_err(Error::Pipeline)?;
        let Some(predictor) = config.predictor().map_err(Error::Pipeline)? else {
            return Err(Error::Usage(format!(
                "{}: no [predict] table; add one (see examples/data/predict.toml)",
                path.display()
            )));
        };
        let mut rest = config.clone();
        rest.predict = None;
        let slot = Arc::new(Mutex::new(None));
        Pipeline::builder_from_config(&rest)
            .map_err(Error::Pipeline)?
            .profile_stage(Keep(slot.clone(), predictor))
            .build()
            .map_err(Error::Pipeline)?
            .run(|_| {})
            .map_err(Error::Pipeline)?;
        let kept = slot.lock().ok().and_then(|mut s| s.take());
        kept.ok_or_else(|| {
            Error::Input(format!(
                "{}: the pipeline produced no profiles to predict for",
                path.display()
            ))
        })
    }

    /// The events of each profile, as the predictor takes them.
    pub fn event_refs(&self) -> Vec<Vec<&Event>> {
        self.events.iter().map(|es| es.iter().collect()).collect()
    }

    /// The model file: `explicit` (a command-line option) or `[predict] model_file`.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] naming the option and the key when neither is given.
    pub fn model_file(&self, explicit: Option<&Path>, option: &str) -> Result<PathBuf> {
        explicit
            .map(Path::to_path_buf)
            .or_else(|| self.predictor.config().model_file.clone())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "no model file: give {option} or set model_file in the [predict] table"
                ))
            })
    }
}

/// The short JSON description of a model: kind, parameters, log-likelihood, convergence,
/// training window and customers, holdout metrics (the sketches of its baseline left out).
pub fn model_json(model: &PredictModel) -> Value {
    let params: serde_json::Map<String, Value> = model
        .transaction
        .parameters()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let kind = match model.transaction {
        TransactionFit::Bgnbd(_) => "bgnbd",
        TransactionFit::ParetoNbd(_) => "pareto-nbd",
    };
    json!({
        "model": kind,
        "parameters": params,
        "spend": model.spend,
        "log_likelihood": model.log_likelihood,
        "converged": model.convergence.converged,
        "iterations": model.convergence.iterations,
        "gradient_norm": model.convergence.gradient_norm,
        "customers": model.customers,
        "trained_from": model.trained_from,
        "trained_to": model.trained_to,
        "period": model.period,
        "holdout": model.holdout,
        "baseline": model.baseline.is_some(),
    })
}

/// `mergetag predict fit --config`: fits on the pipeline's profiles and saves the model to
/// `save` (or `[predict] model_file`; not saved when neither is set). Returns the model's
/// [`model_json`] with `saved` (the path or null).
///
/// # Errors
///
/// As [`PipelineOrders::load`]; [`Error::Predict`] when the model cannot be fitted or saved.
pub fn fit_config(path: &Path, save: Option<&Path>) -> Result<Value> {
    let p = PipelineOrders::load(path)?;
    let events = p.event_refs();
    let refs: Vec<&[&Event]> = events.iter().map(Vec::as_slice).collect();
    let model = p.predictor.train(&refs, p.now)?;
    let target = save
        .map(Path::to_path_buf)
        .or_else(|| p.predictor.config().model_file.clone());
    if let Some(t) = &target {
        refuse_overwrites(&[("the pipeline file", path)], &[("--save", t)])?;
        model.save(t)?;
    }
    let mut j = model_json(&model);
    if let Value::Object(m) = &mut j {
        m.insert("saved".into(), json!(target));
    }
    Ok(j)
}

/// `mergetag predict score --config`: one JSON object per profile (`profile_id` and the
/// traits of [`Predictor::score`]) from the saved model.
///
/// # Errors
///
/// As [`PipelineOrders::load`]; [`Error::Usage`] without a model file; [`Error::Predict`]
/// when the model cannot be read.
pub fn score_config(path: &Path, model_file: Option<&Path>) -> Result<Vec<Value>> {
    let p = PipelineOrders::load(path)?;
    let model = PredictModel::from_path(p.model_file(model_file, "--model-file")?)?;
    let events = p.event_refs();
    let refs: Vec<&[&Event]> = events.iter().map(Vec::as_slice).collect();
    Ok(p.predictor
        .score(&model, &refs, p.now)
        .into_iter()
        .zip(&p.ids)
        .map(|(traits, id)| {
            let mut o = serde_json::Map::new();
            o.insert("profile_id".into(), json!(id));
            for (k, v) in traits {
                o.insert(k, plain(&v));
            }
            Value::Object(o)
        })
        .collect())
}

/// A trait as plain JSON: null, a number, a string or a boolean (other kinds as text).
fn plain(v: &mergetag_model::Value) -> Value {
    use mergetag_model::Value as V;
    match v {
        V::Null => Value::Null,
        V::Bool(b) => json!(b),
        V::Int(i) => json!(i),
        V::Float(f) => json!(f),
        V::Text(t) => json!(t),
        other => json!(other.to_string()),
    }
}

/// `mergetag predict drift --config`: the saved model against the pipeline's profiles now.
///
/// # Errors
///
/// As [`score_config`].
pub fn drift_config(path: &Path, model_file: Option<&Path>) -> Result<DriftReport> {
    let p = PipelineOrders::load(path)?;
    let model = PredictModel::from_path(p.model_file(model_file, "--model-file")?)?;
    let events = p.event_refs();
    let refs: Vec<&[&Event]> = events.iter().map(Vec::as_slice).collect();
    Ok(p.predictor.check_drift(&model, &refs, p.now))
}

/// `mergetag predict retrain --config`: refits the saved model on the pipeline's profiles
/// now, starting from its parameters, and saves the new model (atomically) to `save`, or
/// over the model file.
///
/// # Errors
///
/// As [`score_config`]; [`Error::Predict`] when the model cannot be fitted or saved.
pub fn retrain_config(
    path: &Path,
    model_file: Option<&Path>,
    save: Option<&Path>,
) -> Result<(Retrain, PathBuf)> {
    let p = PipelineOrders::load(path)?;
    let file = p.model_file(model_file, "--model-file")?;
    let old = PredictModel::from_path(&file)?;
    let events = p.event_refs();
    let refs: Vec<&[&Event]> = events.iter().map(Vec::as_slice).collect();
    let r = p.predictor.retrain(&old, &refs, p.now)?;
    let target = save.map_or(file, Path::to_path_buf);
    refuse_overwrites(&[("the pipeline file", path)], &[("--save", &target)])?;
    r.model.save(&target)?;
    Ok((r, target))
}

/// `mergetag predict retrain --model-file M SUMMARY.csv`: refits the saved model on the
/// fresh summary (in the model's time unit) observed up to `calibration_end`, and saves the
/// new model (atomically) to `save`, which may not be the summary.
///
/// # Errors
///
/// [`Error::Usage`] for a calibration end that is not a date or a `save` that is the input;
/// [`Error::Predict`] when the files cannot be read or the model fitted or saved.
pub fn retrain_file(
    model_file: &Path,
    input: &Path,
    calibration_end: &str,
    penalizer: f64,
    save: &Path,
) -> Result<Retrain> {
    refuse_overwrites(&[("the input", input)], &[("--save", save)])?;
    let end = parse_date(calibration_end).ok_or_else(|| {
        Error::Usage(format!(
            "--calibration-end: `{calibration_end}` is not a date; write YYYY-MM-DD"
        ))
    })?;
    let old = PredictModel::from_path(model_file)?;
    let fresh = Summary::from_path(input)?;
    let oldest = fresh.customers.iter().map(|c| c.t).fold(0.0f64, f64::max);
    let start = end - chrono::Duration::days((oldest * old.period.days()).round() as i64);
    let options = FitOptions::default().penalizer(penalizer);
    let horizon = 90.0 / old.period.days();
    let r = retrain(&old, &fresh.customers, &options, (start, end), horizon)?;
    r.model.save(save)?;
    Ok(r)
}

/// The JSON `mergetag predict retrain` prints: the new model ([`model_json`]) and what
/// changed.
pub fn retrain_json(r: &Retrain, saved: &Path) -> Value {
    json!({
        "model": model_json(&r.model),
        "saved": saved,
        "old_window": r.old_window,
        "old_customers": r.old_customers,
        "parameters": r.parameters,
        "log_likelihood": {"old": r.log_likelihood_old, "new": r.log_likelihood_new},
        "holdout": {"old": r.holdout_old, "new": r.holdout_new},
        "predictions": r.predictions,
    })
}
