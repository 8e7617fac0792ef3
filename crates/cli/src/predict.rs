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
//!   day|week]`: also writes the model (parameters, training window, convergence) for
//!   `score` and `drift`.
//! - `mergetag predict score --model-file MODEL.json SUMMARY.csv [--horizon-days N]`: one JSON
//!   object per customer: `id`, `p_alive`, `churn_risk`, `expected_purchases` (in the next N
//!   days, default 90) and `expected_spend` when the model has a spend part.
//! - `mergetag predict drift --model-file MODEL.json --baseline TRAINED.csv SUMMARY.csv`: the
//!   population stability index of frequency, recency, T and P(alive) between the customers
//!   the model was trained on and fresh ones, and `retrain` (any above 0.25).
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

use std::path::Path;

use mergetag_predict::{
    BgNbd, FitOptions, GammaGamma, ParetoNbd, Period, PredictModel, Summary, TransactionColumns,
    TransactionModel, drift, parse_date,
};
use serde_json::{Value, json};

use crate::error::{Error, Result};

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
/// saves it with its training window: `calibration_end` back to the oldest customer's first
/// purchase.
///
/// # Errors
///
/// [`Error::Usage`] for gamma-gamma (not a transaction model) or a calibration end that is
/// not a date; [`Error::Predict`] when the fit fails or the file cannot be written.
pub fn save_model(
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
    let oldest = summary.customers.iter().map(|c| c.t).fold(0.0f64, f64::max);
    let start = end - chrono::Duration::days((oldest * period.days()).round() as i64);
    let options = FitOptions::default().penalizer(penalizer);
    let m = PredictModel::fit(&summary.customers, kind, &options, (start, end), period)?;
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

/// The drift report of `fresh` against `trained` under `model`, as JSON.
pub fn drift_json(model: &PredictModel, trained: &Summary, fresh: &Summary) -> Value {
    let d = drift(&model.transaction, &trained.customers, &fresh.customers);
    json!({
        "trained_from": model.trained_from,
        "trained_to": model.trained_to,
        "stability": d.stability,
        "retrain": d.retrain,
    })
}
