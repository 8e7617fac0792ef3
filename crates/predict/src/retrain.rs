//! Retraining and drift checks of a saved [`PredictModel`]: on a customer summary
//! ([`retrain`]) or on order events through a [`Predictor`] ([`Predictor::train`],
//! [`Predictor::check_drift`], [`Predictor::retrain`], [`Predictor::score`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mergetag_model::{Event, Value};
use serde::{Deserialize, Serialize};

use crate::drift::{DRIFT_BINS, DriftReport, HoldoutCheck, Stability, psi};
use crate::error::{Error, Result};
use crate::optimize::FitOptions;
use crate::predictor::{
    Order, PredictModel, Predictor, TransactionFit, holdout_check, model_traits,
};
use crate::summary::Rfm;

/// One parameter before and after retraining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterChange {
    /// Its usual name (`r`, `alpha`, `a`, `b`; `s`, `beta`; the spend model's `p`, `q`,
    /// `v`).
    pub name: String,
    /// The saved model's value (none when the saved model had no spend part).
    pub old: Option<f64>,
    /// The new value (none when the new model has no spend part).
    pub new: Option<f64>,
}

/// What retraining changed: the new model, its parameters against the old ones, both
/// models' log-likelihoods and holdout forecasts on the same fresh customers, and how far
/// their predictions for those customers differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrain {
    /// The new model (with its holdout metrics and baseline).
    pub model: PredictModel,
    /// The saved model's training window and customers.
    pub old_window: (NaiveDate, NaiveDate),
    /// The customers the saved model was trained on.
    pub old_customers: usize,
    /// Every parameter, old and new.
    pub parameters: Vec<ParameterChange>,
    /// The saved model's log-likelihood of the fresh customers.
    pub log_likelihood_old: f64,
    /// The new model's log-likelihood of the same customers (at least the old one's, up to
    /// the fit's tolerance, without a penalizer).
    pub log_likelihood_new: f64,
    /// The saved model's forecasts on the latest holdout of the fresh data (when checked).
    pub holdout_old: Option<HoldoutCheck>,
    /// The forecasts on the same holdout of the new model fitted before it.
    pub holdout_new: Option<HoldoutCheck>,
    /// The PSI of the new model's predictions (`p_alive`, `expected_purchases`) against the
    /// old model's, for the same fresh customers.
    pub predictions: Vec<Stability>,
}

impl TransactionFit {
    /// The parameters by their usual names.
    pub fn parameters(&self) -> Vec<(&'static str, f64)> {
        match self {
            TransactionFit::Bgnbd(m) => {
                vec![("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)]
            }
            TransactionFit::ParetoNbd(m) => {
                vec![("r", m.r), ("alpha", m.alpha), ("s", m.s), ("beta", m.beta)]
            }
        }
    }

    /// The log-likelihood of `customers`, summed.
    pub fn log_likelihood(&self, customers: &[Rfm]) -> f64 {
        customers
            .iter()
            .map(|c| match self {
                TransactionFit::Bgnbd(m) => m.log_likelihood(c),
                TransactionFit::ParetoNbd(m) => m.log_likelihood(c),
            })
            .sum()
    }
}

fn parameter_changes(old: &PredictModel, new: &PredictModel) -> Vec<ParameterChange> {
    let mut out: Vec<ParameterChange> = old
        .transaction
        .parameters()
        .into_iter()
        .zip(new.transaction.parameters())
        .map(|((name, o), (_, n))| ParameterChange {
            name: name.to_owned(),
            old: Some(o),
            new: Some(n),
        })
        .collect();
    if old.spend.is_some() || new.spend.is_some() {
        let spend = |m: &PredictModel| m.spend.map(|g| [g.p, g.q, g.v]);
        for (k, name) in ["p", "q", "v"].into_iter().enumerate() {
            out.push(ParameterChange {
                name: name.to_owned(),
                old: spend(old).map(|p| p[k]),
                new: spend(new).map(|p| p[k]),
            });
        }
    }
    out
}

/// Compares `old` and `new` on the same `fresh` customers.
fn compare(old: &PredictModel, new: PredictModel, fresh: &[Rfm], horizon: f64) -> Retrain {
    let predictions = [
        (
            "p_alive",
            (|m, c, _| m.p_alive(c)) as fn(&TransactionFit, &Rfm, f64) -> f64,
        ),
        ("expected_purchases", |m, c, h| m.expected_purchases(h, c)),
    ]
    .iter()
    .map(|(name, f)| {
        let o: Vec<f64> = fresh
            .iter()
            .map(|c| f(&old.transaction, c, horizon))
            .collect();
        let n: Vec<f64> = fresh
            .iter()
            .map(|c| f(&new.transaction, c, horizon))
            .collect();
        Stability {
            name: (*name).to_owned(),
            psi: psi(&o, &n, DRIFT_BINS),
        }
    })
    .collect();
    Retrain {
        parameters: parameter_changes(old, &new),
        old_window: (old.trained_from, old.trained_to),
        old_customers: old.customers,
        log_likelihood_old: old.transaction.log_likelihood(fresh),
        log_likelihood_new: new.transaction.log_likelihood(fresh),
        holdout_old: None,
        holdout_new: None,
        predictions,
        model: new,
    }
}

/// Refits `old` (same kind, same time unit) on `fresh` customers observed over `window`,
/// starting from its parameters, and reports what changed; the new model keeps the
/// [`Baseline`](crate::Baseline) of `fresh` (expected purchases over `horizon` time units).
///
/// ```
/// use chrono::NaiveDate;
/// use mergetag_predict::{BgNbd, FitOptions, Period, PredictModel, TransactionModel, retrain, simulate_bgnbd};
///
/// let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
/// let old = simulate_bgnbd(&BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 }, 3000, 365.0, 90.0, 1);
/// let saved = PredictModel::fit(&old, TransactionModel::Bgnbd, &FitOptions::default(), (day(1), day(2)), Period::Day)?;
/// let fresh = simulate_bgnbd(&BgNbd { r: 0.25, alpha: 10.0, a: 0.8, b: 2.5 }, 3000, 365.0, 90.0, 2);
/// let r = retrain(&saved, &fresh, &FitOptions::default(), (day(1), day(3)), 90.0)?;
/// let alpha = r.parameters.iter().find(|p| p.name == "alpha").unwrap();
/// assert!(alpha.new.unwrap() < alpha.old.unwrap());
/// assert!(r.log_likelihood_new > r.log_likelihood_old);
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Fit`] when the model cannot be fitted to `fresh`.
pub fn retrain(
    old: &PredictModel,
    fresh: &[Rfm],
    options: &FitOptions,
    window: (NaiveDate, NaiveDate),
    horizon: f64,
) -> Result<Retrain> {
    let new = old
        .refit(fresh, options, window)?
        .with_baseline(fresh, horizon);
    Ok(compare(old, new, fresh, horizon))
}

/// The orders of every profile, the first order's day and today.
struct Orders {
    orders: Vec<Vec<Order>>,
    from: NaiveDate,
    today: NaiveDate,
}

impl Predictor {
    fn all_orders(&self, events: &[&[&Event]], now: DateTime<Utc>) -> Orders {
        let orders: Vec<Vec<Order>> = events.iter().map(|e| self.orders(e)).collect();
        let today = now.date_naive();
        let from = orders
            .iter()
            .flatten()
            .map(|o| o.time.date_naive())
            .min()
            .unwrap_or(today);
        Orders {
            orders,
            from,
            today,
        }
    }

    /// The days of the holdout window of drift checks and retraining: `holdout_days`, or
    /// `horizon_days` when no holdout is configured.
    pub fn holdout_window(&self) -> u32 {
        self.config()
            .holdout_days
            .unwrap_or(self.config().horizon_days)
    }

    fn horizon_in(&self, model: &PredictModel) -> f64 {
        f64::from(self.config().horizon_days) / model.period.days()
    }

    /// Each profile's customer summary at `end` (none without an order by then), in the
    /// configured period.
    pub fn customers(&self, events: &[&[&Event]], end: NaiveDate) -> Vec<Option<Rfm>> {
        let orders: Vec<Vec<Order>> = events.iter().map(|e| self.orders(e)).collect();
        self.summarize(&orders, end)
    }

    /// Fits the model to be saved on everyone's orders up to `now`: the transaction and
    /// spend models over the whole window, the holdout metrics of the same model fitted
    /// before the last `holdout_days` (when configured), and the [`Baseline`](crate::Baseline)
    /// of the customers.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] naming why when there is no customer with an order or the model
    /// cannot be fitted.
    pub fn train(&self, events: &[&[&Event]], now: DateTime<Utc>) -> Result<PredictModel> {
        let Orders {
            orders,
            from,
            today,
        } = self.all_orders(events, now);
        let mut notes = Vec::new();
        let holdout = self.config().holdout_days.and_then(|days| {
            let end = (now - Duration::days(i64::from(days))).date_naive();
            let cal = self.summarize(&orders, end);
            let m = self.fit(&cal, from, end, &mut notes)?;
            Some(holdout_check(
                &m.transaction,
                &orders,
                &cal,
                (end, today),
                self.config().period,
            ))
        });
        let summary = self.summarize(&orders, today);
        let model = self
            .fit(&summary, from, today, &mut notes)
            .ok_or_else(|| Error::fit("predict", notes.join("; ")))?;
        let customers: Vec<Rfm> = summary.into_iter().flatten().collect();
        let horizon = self.horizon_in(&model);
        Ok(PredictModel { holdout, ..model }.with_baseline(&customers, horizon))
    }

    /// Checks a saved model against everyone's orders up to `now`: the PSI of the customers'
    /// features and of the model's predictions against its baseline, and its forecasts for
    /// the last [`Predictor::holdout_window`] days from the summaries before them against
    /// the purchases in them; the verdict of both ([`Verdict`](crate::Verdict)). Summaries
    /// are in the model's time unit.
    pub fn check_drift(
        &self,
        model: &PredictModel,
        events: &[&[&Event]],
        now: DateTime<Utc>,
    ) -> DriftReport {
        let Orders { orders, today, .. } = self.all_orders(events, now);
        let fresh: Vec<Rfm> = self
            .summarize_in(&orders, today, model.period)
            .into_iter()
            .flatten()
            .collect();
        let stability = model
            .baseline
            .as_ref()
            .map(|b| b.compare(&model.transaction, &fresh).stability)
            .unwrap_or_default();
        let end = (now - Duration::days(i64::from(self.holdout_window()))).date_naive();
        let cal = self.summarize_in(&orders, end, model.period);
        let check = holdout_check(
            &model.transaction,
            &orders,
            &cal,
            (end, today),
            model.period,
        );
        let mut report = DriftReport::new(
            (model.trained_from, model.trained_to, model.customers),
            fresh.len(),
            stability,
            Some(check),
        );
        if model.baseline.is_none() {
            report.reasons.push(
                "the model has no baseline (saved by an older version): stability not checked; retrain to add one"
                    .to_owned(),
            );
        }
        if model.trained_to > end {
            report.reasons.push(format!(
                "the model was trained up to {}, after the holdout's start {end}: its calibration there is in-sample",
                model.trained_to
            ));
        }
        report
    }

    /// Refits a saved model on everyone's orders up to `now`, starting from its parameters
    /// (same kind, same time unit), and reports what changed: parameters, log-likelihoods of
    /// the fresh customers, forecasts for the last [`Predictor::holdout_window`] days of the
    /// old model and of the new one fitted before them, and the PSI between the two models'
    /// predictions.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when there is no customer with an order or the model cannot be fitted.
    pub fn retrain(
        &self,
        old: &PredictModel,
        events: &[&[&Event]],
        now: DateTime<Utc>,
    ) -> Result<Retrain> {
        let Orders {
            orders,
            from,
            today,
        } = self.all_orders(events, now);
        let options = FitOptions::default().penalizer(self.config().penalizer);
        let fresh: Vec<Rfm> = self
            .summarize_in(&orders, today, old.period)
            .into_iter()
            .flatten()
            .collect();
        if fresh.is_empty() {
            return Err(Error::fit(
                "predict",
                format!("no customer with an order up to {today}: nothing to fit"),
            ));
        }
        let end = (now - Duration::days(i64::from(self.holdout_window()))).date_naive();
        let cal = self.summarize_in(&orders, end, old.period);
        let cal_customers: Vec<Rfm> = cal.iter().flatten().copied().collect();
        let holdout_old = holdout_check(&old.transaction, &orders, &cal, (end, today), old.period);
        let holdout_new = old
            .refit(&cal_customers, &options, (from, end))
            .ok()
            .map(|m| holdout_check(&m.transaction, &orders, &cal, (end, today), old.period));
        let horizon = self.horizon_in(old);
        let mut new = old.refit(&fresh, &options, (from, today))?;
        new.holdout = holdout_new.clone();
        let new = new.with_baseline(&fresh, horizon);
        let mut r = compare(old, new, &fresh, horizon);
        r.holdout_old = Some(holdout_old);
        r.holdout_new = holdout_new;
        Ok(r)
    }

    /// Scores everyone with a saved model: per profile, in input order, the traits
    /// `expected_purchases_<N>d`, `p_alive`, `churn_risk`, `churn_risk_band` and
    /// `clv_<N>m` (null without an order, or where the model gives no finite value).
    /// Summaries are in the model's time unit.
    pub fn score(
        &self,
        model: &PredictModel,
        events: &[&[&Event]],
        now: DateTime<Utc>,
    ) -> Vec<BTreeMap<String, Value>> {
        let c = self.config();
        let Orders { orders, today, .. } = self.all_orders(events, now);
        let unit = model.period.days();
        let horizon = self.horizon_in(model);
        let names = (self.horizon_trait(), self.clv_trait());
        self.summarize_in(&orders, today, model.period)
            .iter()
            .map(|rfm| {
                let mut t = BTreeMap::new();
                model_traits(
                    &mut t,
                    (&names.0, &names.1),
                    c,
                    rfm.as_ref().map(|rfm| (model, rfm)),
                    horizon,
                    unit,
                );
                t
            })
            .collect()
    }
}
