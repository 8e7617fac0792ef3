//! [`PredictConfig`] → [`Predictor`]: from each profile's order events to the traits an email
//! uses (`expected_purchases_90d`, `p_alive`, `churn_risk`, `churn_risk_band`, `clv_12m`,
//! `recommended_product`), with the fit, a holdout report and the next-product hit rate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mergetag_model::config::{Format, load};
use mergetag_model::{Event, EventKind, Value};
use serde::{Deserialize, Serialize};

use crate::bgnbd::BgNbd;
use crate::drift::{Baseline, DriftReport, HoldoutCheck};
use crate::error::{Error, Result};
use crate::gamma_gamma::GammaGamma;
use crate::optimize::{Convergence, FitOptions};
use crate::pareto::ParetoNbd;
use crate::recommend::{Basket, CoOccurrence, HitRate, hit_rate};
use crate::sendtime::{SendTimeCheck, SendTimes, check_send_times, trending};
use crate::summary::{Period, Rfm, Summary, Transaction};
use crate::supervised::{ChurnConfig, ChurnModel, churn_features};

/// The transaction model behind expected purchases and P(alive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransactionModel {
    /// BG/NBD (the default).
    #[default]
    Bgnbd,
    /// Pareto/NBD.
    ParetoNbd,
}

/// Where churn risk (1 - P(alive)) turns from `low` to `medium` and from `medium` to `high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnBands {
    /// Risk at or above this is `medium` (default 0.3).
    pub medium: f64,
    /// Risk at or above this is `high` (default 0.7).
    pub high: f64,
}

impl Default for ChurnBands {
    fn default() -> ChurnBands {
        ChurnBands {
            medium: 0.3,
            high: 0.7,
        }
    }
}

impl ChurnBands {
    /// The band of `risk`: `low`, `medium` or `high`.
    pub fn band(&self, risk: f64) -> &'static str {
        if risk >= self.high {
            "high"
        } else if risk >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

/// The `[predict]` table of a pipeline file, or a file of its own (TOML or JSON).
///
/// ```
/// use mergetag_predict::PredictConfig;
///
/// let c = PredictConfig::from_toml_str("horizon_days = 30\nholdout_days = 60\n")?;
/// let p = c.build()?;
/// assert_eq!(p.config().horizon_days, 30);
/// assert_eq!(p.horizon_trait(), "expected_purchases_30d");
///
/// let err = PredictConfig::from_toml_str("discount_rate = -1\n")?.build().unwrap_err();
/// assert_eq!(err.to_string(), "discount_rate: must be a finite number at least 0 (0.01 is 1% a month)");
/// assert!(PredictConfig::from_toml_str("horizon = 3\n").is_err());
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PredictConfig {
    /// The transaction model (default `bgnbd`).
    pub model: TransactionModel,
    /// The track event name of an order (default `Order Completed`).
    pub order_event: String,
    /// The order's numeric amount property (default `total`).
    pub amount: String,
    /// The dotted path to the order's product ids (default `products.product_id`; lists are
    /// walked item by item).
    pub product: String,
    /// The period purchases are counted in (default `day`): several orders on one day are
    /// one purchase.
    pub period: Period,
    /// The horizon of `expected_purchases_<N>d` (default 90 days).
    pub horizon_days: u32,
    /// The horizon of `clv_<N>m` (default 12 months).
    pub clv_months: u32,
    /// The monthly discount rate of the lifetime value (default 0.01: 1% a month).
    pub discount_rate: f64,
    /// The L2 penalizer of the fits (default 0).
    pub penalizer: f64,
    /// The churn risk bands (default: medium from 0.3, high from 0.7).
    pub churn_bands: ChurnBands,
    /// Days before "now" held out to check the forecasts (none by default): the report then
    /// compares predicted and actual purchases per frequency bucket, and the next-product
    /// hit rate against popularity.
    pub holdout_days: Option<u32>,
    /// Products recommended per person in `recommended_product` (the first) and the hit rate
    /// (default 1; 0 turns recommendations off).
    pub recommend: u32,
    /// Products people buy again: recommended even to those who bought them.
    pub repeat_products: Vec<String>,
    /// The track events whose times give `best_send_hour` (default `Email Opened` and
    /// `Email Link Clicked`; an event with `sg_machine_open = true` is left out).
    pub engagement_events: Vec<String>,
    /// How many events' weight the population's pattern has in `best_send_hour` (default 5).
    pub send_time_prior: f64,
    /// The track event of a product view, counted with orders for `trending_product`
    /// (default `Product Viewed`, its `product_id` property).
    pub view_event: String,
    /// The recent window of `trending_product`, in days (default 14).
    pub trending_days: u32,
    /// The baseline window before it, in days (default 90).
    pub trending_baseline_days: u32,
    /// A supervised churn model whose probability becomes a trait (`[predict.churn]`;
    /// none by default).
    pub churn: Option<ChurnConfig>,
    /// Where `mergetag predict fit|score|drift|retrain --config` keep the fitted model
    /// ([`PredictModel`], JSON; resolved against the pipeline file's directory; none by
    /// default). A pipeline run ([`Predictor::run`]) scores with it when the file exists
    /// (no refit; the drift of today's customers against its baseline is checked), and
    /// fits afresh when it does not; a file that cannot be read or parsed is an error.
    pub model_file: Option<PathBuf>,
    /// Fit afresh on every pipeline run even when `model_file` exists (default false);
    /// the file is then neither read nor written.
    pub refit: bool,
}

impl Default for PredictConfig {
    fn default() -> PredictConfig {
        PredictConfig {
            model: TransactionModel::Bgnbd,
            order_event: "Order Completed".to_owned(),
            amount: "total".to_owned(),
            product: "products.product_id".to_owned(),
            period: Period::Day,
            horizon_days: 90,
            clv_months: 12,
            discount_rate: 0.01,
            penalizer: 0.0,
            churn_bands: ChurnBands::default(),
            holdout_days: None,
            recommend: 1,
            repeat_products: Vec::new(),
            engagement_events: vec!["Email Opened".to_owned(), "Email Link Clicked".to_owned()],
            send_time_prior: 5.0,
            view_event: "Product Viewed".to_owned(),
            trending_days: 14,
            trending_baseline_days: 90,
            churn: None,
            model_file: None,
            refit: false,
        }
    }
}

impl PredictConfig {
    /// Parses TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<PredictConfig> {
        Ok(load(text, Format::Toml.text_origin(), Format::Toml)?)
    }

    /// Parses JSON.
    ///
    /// # Errors
    ///
    /// As [`PredictConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<PredictConfig> {
        Ok(load(text, Format::Json.text_origin(), Format::Json)?)
    }

    /// Reads a `.toml` or `.json` file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read; [`Error::Parse`] as above.
    pub fn from_path(path: impl AsRef<Path>) -> Result<PredictConfig> {
        Ok(mergetag_model::config::from_path(path)?)
    }

    /// Checks the configuration and builds the [`Predictor`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key: an empty event, amount or product name, a zero
    /// horizon, a negative or non-finite rate or penalizer, bands out of order, churn
    /// options out of range.
    pub fn build(&self) -> Result<Predictor> {
        let bad = |path: &str, message: &str| Err(Error::invalid(path, message));
        if self.order_event.trim().is_empty() {
            return bad(
                "order_event",
                "must name the order event (e.g. \"Order Completed\")",
            );
        }
        if self.amount.trim().is_empty() {
            return bad(
                "amount",
                "must name the order's amount property (e.g. \"total\")",
            );
        }
        if self.product.trim().is_empty() {
            return bad(
                "product",
                "must name the product path (e.g. \"products.product_id\")",
            );
        }
        if self.horizon_days == 0 {
            return bad("horizon_days", "must be at least 1");
        }
        if self.clv_months == 0 || self.clv_months > 1200 {
            return bad("clv_months", "must be from 1 to 1200");
        }
        if !self.discount_rate.is_finite() || self.discount_rate < 0.0 {
            return bad(
                "discount_rate",
                "must be a finite number at least 0 (0.01 is 1% a month)",
            );
        }
        if !self.penalizer.is_finite() || self.penalizer < 0.0 {
            return bad("penalizer", "must be a finite number at least 0");
        }
        let b = self.churn_bands;
        if !(0.0..=1.0).contains(&b.medium) || !(0.0..=1.0).contains(&b.high) || b.medium > b.high {
            return bad(
                "churn_bands",
                "medium and high must be in [0, 1] with medium at most high",
            );
        }
        if self.holdout_days == Some(0) {
            return bad("holdout_days", "must be at least 1 (or left out)");
        }
        if !self.send_time_prior.is_finite() || self.send_time_prior < 0.0 {
            return bad("send_time_prior", "must be a finite number at least 0");
        }
        if self.trending_days == 0 || self.trending_baseline_days == 0 {
            return bad(
                "trending_days",
                "trending_days and trending_baseline_days must be at least 1",
            );
        }
        if self.recommend > 100 {
            return bad("recommend", "must be at most 100");
        }
        if let Some(churn) = &self.churn {
            churn.validate()?;
        }
        Ok(Predictor {
            config: self.clone(),
        })
    }
}

/// Computes predictions from order events; built by [`PredictConfig::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct Predictor {
    config: PredictConfig,
}

/// One order, as read from an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Order {
    pub(crate) time: DateTime<Utc>,
    value: Option<f64>,
    products: Vec<String>,
}

/// The fitted transaction model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum TransactionFit {
    /// BG/NBD.
    Bgnbd(BgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
}

impl TransactionFit {
    /// P(alive) of `c`.
    pub fn p_alive(&self, c: &Rfm) -> f64 {
        match self {
            TransactionFit::Bgnbd(m) => m.p_alive(c),
            TransactionFit::ParetoNbd(m) => m.p_alive(c),
        }
    }

    /// Expected purchases of `c` in the next `t` time units.
    pub fn expected_purchases(&self, t: f64, c: &Rfm) -> f64 {
        match self {
            TransactionFit::Bgnbd(m) => m.expected_purchases(t, c),
            TransactionFit::ParetoNbd(m) => m.expected_purchases(t, c),
        }
    }
}

/// A fitted model with what it was trained on: serializes (JSON) to be reloaded, compared
/// and retrained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictModel {
    /// The first order seen.
    pub trained_from: NaiveDate,
    /// The end of the training window ("now" of the run, or the holdout's start).
    pub trained_to: NaiveDate,
    /// The time unit of the parameters.
    pub period: Period,
    /// The transaction model.
    pub transaction: TransactionFit,
    /// Its log-likelihood.
    pub log_likelihood: f64,
    /// How its fit ended.
    pub convergence: Convergence,
    /// The spend model, when there were repeat buyers with amounts.
    pub spend: Option<GammaGamma>,
    /// The customers it was fitted on.
    pub customers: usize,
    /// Its metrics: the forecasts of the same model fitted before the latest holdout
    /// against what happened in it (when a holdout was configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<HoldoutCheck>,
    /// The distributions of the training customers' features and predictions, for drift
    /// checks ([`Baseline`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

impl PredictModel {
    /// The model as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when a parameter is not finite (JSON has no NaN).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("model", e.to_string()))
    }

    /// Reads a model written by [`PredictModel::to_json`]; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of what does not parse.
    pub fn from_json_str(text: &str, origin: &str) -> Result<PredictModel> {
        Ok(load(text, origin, Format::Json)?)
    }

    /// Writes the model as JSON to `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::error::write_file(path.as_ref(), &self.to_json()?)
    }

    /// Reads the model at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; [`Error::Parse`] as above.
    pub fn from_path(path: impl AsRef<Path>) -> Result<PredictModel> {
        let (text, origin) = crate::error::read_file(path.as_ref())?;
        PredictModel::from_json_str(&text, &origin)
    }

    /// Fits a model to a customer summary (in `period` units) observed from `trained_from`
    /// to `trained_to`: the transaction model, and Gamma-Gamma when the summary has monetary
    /// values.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when the transaction model cannot be fitted.
    pub fn fit(
        customers: &[Rfm],
        model: TransactionModel,
        options: &FitOptions,
        window: (NaiveDate, NaiveDate),
        period: Period,
    ) -> Result<PredictModel> {
        let (transaction, log_likelihood, convergence) = match model {
            TransactionModel::Bgnbd => {
                let f = BgNbd::fit(customers, options)?;
                (
                    TransactionFit::Bgnbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }
            TransactionModel::ParetoNbd => {
                let f = ParetoNbd::fit(customers, options)?;
                (
                    TransactionFit::ParetoNbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }
        };
        Ok(PredictModel::with_spend(
            (transaction, log_likelihood, convergence),
            customers,
            customers.len(),
            options,
            window,
            period,
        ))
    }

    /// The model of a fitted transaction model, with Gamma-Gamma fitted to
    /// `spend_customers` when that converges with `q > 1` (no spend model otherwise); without
    /// holdout metrics nor baseline.
    fn with_spend(
        (transaction, log_likelihood, convergence): (TransactionFit, f64, Convergence),
        spend_customers: &[Rfm],
        customers: usize,
        options: &FitOptions,
        window: (NaiveDate, NaiveDate),
        period: Period,
    ) -> PredictModel {
        let spend = GammaGamma::fit(spend_customers, options)
            .ok()
            .filter(|f| f.convergence.converged && f.model.q > 1.0)
            .map(|f| f.model);
        PredictModel {
            trained_from: window.0,
            trained_to: window.1,
            period,
            transaction,
            log_likelihood,
            convergence,
            spend,
            customers,
            holdout: None,
            baseline: None,
        }
    }

    /// The model with the [`Baseline`] of `customers` (the ones it was fitted on), the
    /// expected purchases over `horizon` time units.
    pub fn with_baseline(mut self, customers: &[Rfm], horizon: f64) -> PredictModel {
        self.baseline = Some(Baseline::new(&self.transaction, customers, horizon));
        self
    }

    /// Fits the same kind of model in the same time unit to fresh `customers` observed over
    /// `window`, starting from this model's parameters; without holdout metrics nor
    /// baseline.
    ///
    /// # Errors
    ///
    /// [`Error::Fit`] when the transaction model cannot be fitted.
    pub fn refit(
        &self,
        customers: &[Rfm],
        options: &FitOptions,
        window: (NaiveDate, NaiveDate),
    ) -> Result<PredictModel> {
        let (transaction, log_likelihood, convergence) = match &self.transaction {
            TransactionFit::Bgnbd(m) => {
                let f = BgNbd::fit_from(customers, options, m)?;
                (
                    TransactionFit::Bgnbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }
            TransactionFit::ParetoNbd(m) => {
                let f = ParetoNbd::fit_from(customers, options, m)?;
                (
                    TransactionFit::ParetoNbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }
        };
        let with_money: Vec<Rfm> = customers
            .iter()
            .filter(|c| c.frequency == 0.0 || c.monetary_value.is_some_and(|m| m > 0.0))
            .copied()
            .collect();
        Ok(PredictModel::with_spend(
            (transaction, log_likelihood, convergence),
            &with_money,
            customers.len(),
            options,
            window,
            self.period,
        ))
    }
}

/// One frequency bucket of the holdout report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutBucket {
    /// Repeat purchases in the calibration period (`7+` for 7 and more).
    pub frequency: String,
    /// Customers in the bucket.
    pub customers: usize,
    /// Mean predicted purchases in the holdout period.
    pub predicted: f64,
    /// Mean actual purchases (periods with an order) in the holdout period.
    pub actual: f64,
}

/// The forecasts of a model fitted before the holdout, against what happened in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// The last day of the calibration period.
    pub calibration_end: NaiveDate,
    /// The model fitted on the calibration period.
    pub model: PredictModel,
    /// Per calibration frequency.
    pub buckets: Vec<HoldoutBucket>,
    /// Mean absolute error per customer.
    pub mean_absolute_error: f64,
    /// Total predicted against total actual purchases.
    pub total_predicted: f64,
    /// Total actual purchases.
    pub total_actual: f64,
    /// The next-product hit rate on the same split (when recommendations are on).
    pub hit_rate: Option<HitRate>,
    /// Each person's send hour against the population's fixed best hour, on the held-out
    /// opens and clicks.
    pub send_time: SendTimeCheck,
}

/// What [`Predictor::predict`] returns: traits per profile and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// The traits of each profile, in input order.
    pub traits: Vec<BTreeMap<String, Value>>,
    /// The model the traits come from (none without customers with orders).
    pub model: Option<PredictModel>,
    /// The holdout check, when configured.
    pub holdout: Option<Holdout>,
    /// The supervised churn model behind the `churn_probability` trait, when configured
    /// (with its cross-validated metrics).
    pub churn: Option<ChurnModel>,
    /// What could not be done, and fits that did not converge.
    pub notes: Vec<String>,
    /// Where the model came from: fitted in this run or read from `model_file`.
    #[serde(default)]
    pub source: ModelSource,
    /// The drift of the customers now against a saved model's baseline (when the model was
    /// read from `model_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
}

/// Where the model of [`Predictions`] came from ([`Predictor::run`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "file", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ModelSource {
    /// Fitted in this run; no `model_file` configured.
    #[default]
    Fitted,
    /// Read from this `model_file`, not refitted.
    Saved(PathBuf),
    /// Fitted in this run because this `model_file` does not exist.
    Missing(PathBuf),
    /// Fitted in this run because `refit = true`; this `model_file` was not read.
    Refit(PathBuf),
}

impl ModelSource {
    /// The model file, when one is configured.
    pub fn file(&self) -> Option<&Path> {
        match self {
            ModelSource::Fitted => None,
            ModelSource::Saved(p) | ModelSource::Missing(p) | ModelSource::Refit(p) => Some(p),
        }
    }
}

impl std::fmt::Display for ModelSource {
    /// `fitted in this run`, `saved model <file>`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::Fitted => f.write_str("fitted in this run"),
            ModelSource::Saved(p) => write!(f, "saved model {}", p.display()),
            ModelSource::Missing(p) => write!(
                f,
                "fitted in this run: model file {} does not exist (write it with `mergetag predict fit --config`)",
                p.display()
            ),
            ModelSource::Refit(p) => write!(
                f,
                "fitted in this run: refit = true, model file {} not read",
                p.display()
            ),
        }
    }
}

/// The forecasts of `model` for the holdout `(end, today]` from each person's summary at `end`
/// (`cal`, in `period` units), against the periods with an order in it.
pub(crate) fn holdout_check(
    model: &TransactionFit,
    orders: &[Vec<Order>],
    cal: &[Option<Rfm>],
    (end, today): (NaiveDate, NaiveDate),
    period: Period,
) -> HoldoutCheck {
    let length = (today - end).num_days() as f64 / period.days();
    let mut buckets: BTreeMap<usize, (usize, f64, f64)> = BTreeMap::new();
    let (mut abs, mut tp, mut ta, mut n) = (0.0, 0.0, 0.0, 0usize);
    for (os, cal) in orders.iter().zip(cal) {
        let Some(cal) = cal else { continue };
        let mut periods: Vec<i64> = os
            .iter()
            .map(|o| o.time.date_naive())
            .filter(|d| *d > end && *d <= today)
            .map(|d| period.index(d))
            .collect();
        periods.dedup();
        let actual = periods.len() as f64;
        let predicted = model.expected_purchases(length, cal);
        if !predicted.is_finite() {
            continue;
        }
        let b = buckets.entry((cal.frequency as usize).min(7)).or_default();
        b.0 += 1;
        b.1 += predicted;
        b.2 += actual;
        abs += (predicted - actual).abs();
        tp += predicted;
        ta += actual;
        n += 1;
    }
    HoldoutCheck {
        calibration_end: end,
        holdout_end: today,
        customers: n,
        predicted: tp,
        actual: ta,
        ratio: (ta > 0.0).then(|| tp / ta),
        mean_absolute_error: if n == 0 { 0.0 } else { abs / n as f64 },
        buckets: buckets
            .into_iter()
            .map(|(f, (k, p, a))| HoldoutBucket {
                frequency: if f >= 7 {
                    "7+".to_owned()
                } else {
                    f.to_string()
                },
                customers: k,
                predicted: p / k as f64,
                actual: a / k as f64,
            })
            .collect(),
    }
}

/// Every value at a dotted path, walking lists item by item.
fn collect<'v>(v: &'v Value, path: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::List(items) => items.iter().for_each(|i| collect(i, path, out)),
        Value::Object(m) if !path.is_empty() => {
            let (head, rest) = path.split_once('.').unwrap_or((path, ""));
            if let Some(v) = m.get(head) {
                collect(v, rest, out);
            }
        }
        _ if path.is_empty() => out.push(v),
        _ => {}
    }
}

impl Predictor {
    /// The configuration.
    pub fn config(&self) -> &PredictConfig {
        &self.config
    }

    /// The name of the expected-purchases trait (`expected_purchases_90d`).
    pub fn horizon_trait(&self) -> String {
        format!("expected_purchases_{}d", self.config.horizon_days)
    }

    /// The name of the lifetime-value trait (`clv_12m`).
    pub fn clv_trait(&self) -> String {
        format!("clv_{}m", self.config.clv_months)
    }

    pub(crate) fn orders(&self, events: &[&Event]) -> Vec<Order> {
        let (head, rest) = self
            .config
            .product
            .split_once('.')
            .unwrap_or((&self.config.product, ""));
        let mut orders: Vec<Order> = events
            .iter()
            .filter(|e| {
                e.kind == EventKind::Track && e.name.as_deref() == Some(&self.config.order_event)
            })
            .map(|e| {
                let mut found = Vec::new();
                if let Some(v) = e.property(head) {
                    collect(v, rest, &mut found);
                }
                let mut products: Vec<String> = found
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::Text(s) => Some(s.to_string()),
                        Value::Int(i) => Some(i.to_string()),
                        _ => None,
                    })
                    .collect();
                products.sort();
                products.dedup();
                Order {
                    time: e.timestamp,
                    value: e
                        .property(&self.config.amount)
                        .and_then(Value::as_f64)
                        .filter(|v| v.is_finite() && *v >= 0.0),
                    products,
                }
            })
            .collect();
        orders.sort_by(|a, b| a.time.cmp(&b.time).then(a.products.cmp(&b.products)));
        orders
    }

    /// The times of a person's opens and clicks, machine opens left out.
    fn engagement(&self, events: &[&Event]) -> Vec<DateTime<Utc>> {
        events
            .iter()
            .filter(|e| {
                e.kind == EventKind::Track
                    && e.name
                        .as_deref()
                        .is_some_and(|n| self.config.engagement_events.iter().any(|x| x == n))
                    && !matches!(e.property("sg_machine_open"), Some(Value::Bool(true)))
            })
            .map(|e| e.timestamp)
            .collect()
    }

    pub(crate) fn summarize(&self, orders: &[Vec<Order>], end: NaiveDate) -> Vec<Option<Rfm>> {
        self.summarize_in(orders, end, self.config.period)
    }

    /// Each person's summary at `end` in `period` units (none without an order by then).
    pub(crate) fn summarize_in(
        &self,
        orders: &[Vec<Order>],
        end: NaiveDate,
        period: Period,
    ) -> Vec<Option<Rfm>> {
        orders
            .iter()
            .map(|os| {
                let log: Vec<Transaction> = os
                    .iter()
                    .map(|o| Transaction {
                        customer: String::new(),
                        date: o.time.date_naive(),
                        value: Some(o.value.unwrap_or(0.0)),
                    })
                    .collect();
                Summary::from_transactions(&log, end, period)
                    .customers
                    .first()
                    .copied()
            })
            .collect()
    }

    pub(crate) fn fit(
        &self,
        customers: &[Option<Rfm>],
        from: NaiveDate,
        to: NaiveDate,
        notes: &mut Vec<String>,
    ) -> Option<PredictModel> {
        let cs: Vec<Rfm> = customers.iter().flatten().copied().collect();
        if cs.is_empty() {
            notes.push(format!(
                "no customer with an order up to {to}: nothing to fit"
            ));
            return None;
        }
        let options = FitOptions::default().penalizer(self.config.penalizer);
        let fitted = match self.config.model {
            TransactionModel::Bgnbd => BgNbd::fit(&cs, &options).map(|f| {
                (
                    TransactionFit::Bgnbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }),
            TransactionModel::ParetoNbd => ParetoNbd::fit(&cs, &options).map(|f| {
                (
                    TransactionFit::ParetoNbd(f.model),
                    f.log_likelihood,
                    f.convergence,
                )
            }),
        };
        let (transaction, log_likelihood, convergence) = match fitted {
            Ok(f) => f,
            Err(e) => {
                notes.push(format!("transaction model up to {to}: {e}"));
                return None;
            }
        };
        if !convergence.converged {
            let why = convergence
                .stop
                .map_or_else(String::new, |stop| format!(": {stop}"));
            notes.push(format!(
                "transaction model up to {to}: did not converge in {} iterations (gradient {:.3e}){why}; consider a penalizer",
                convergence.iterations, convergence.gradient_norm
            ));
        }
        let with_money: Vec<Rfm> = cs
            .iter()
            .filter(|c| c.frequency == 0.0 || c.monetary_value.is_some_and(|m| m > 0.0))
            .copied()
            .collect();
        let spend = match GammaGamma::fit(&with_money, &options) {
            Ok(f) if f.convergence.converged && f.model.q > 1.0 => Some(f.model),
            Ok(f) => {
                notes.push(format!(
                    "spend model up to {to}: not usable (converged {}, q {:.3}); no lifetime value",
                    f.convergence.converged, f.model.q
                ));
                None
            }
            Err(e) => {
                notes.push(format!("spend model up to {to}: {e}; no lifetime value"));
                None
            }
        };
        Some(PredictModel {
            trained_from: from,
            trained_to: to,
            period: self.config.period,
            transaction,
            log_likelihood,
            convergence,
            spend,
            customers: cs.len(),
            holdout: None,
            baseline: None,
        })
    }

    /// The supervised churn model: loaded, trained on labels, or trained on the label "no
    /// order in the last `window_days`" (features before that window).
    fn churn(
        &self,
        orders: &[Vec<Order>],
        today_summary: &[Option<Rfm>],
        labels: &[Option<bool>],
        (from, now): (NaiveDate, DateTime<Utc>),
        notes: &mut Vec<String>,
    ) -> Result<Option<ChurnModel>> {
        let Some(cc) = self.config.churn.as_ref() else {
            return Ok(None);
        };
        if let Some(file) = &cc.model_file {
            let m = ChurnModel::from_path(file)?;
            if m.period != self.config.period {
                notes.push(format!(
                    "churn model: trained in {:?} units but the run counts in {:?}; its probabilities may be off",
                    m.period, self.config.period
                ));
            }
            return Ok(Some(m));
        }
        let today = now.date_naive();
        let (x, y, window, what) = if let Some(label) = &cc.label {
            let (x, y): (Vec<Vec<f64>>, Vec<bool>) = today_summary
                .iter()
                .zip(labels.iter().copied().chain(std::iter::repeat(None)))
                .filter_map(|(r, l)| Some((churn_features(r.as_ref()?), l?)))
                .unzip();
            (x, y, (from, today), format!("trait {label}"))
        } else {
            let split = (now - Duration::days(i64::from(cc.window_days))).date_naive();
            let before = self.summarize(orders, split);
            let (x, y): (Vec<Vec<f64>>, Vec<bool>) = before
                .iter()
                .zip(orders)
                .filter_map(|(r, os)| {
                    let r = r.as_ref()?;
                    let later = os.iter().any(|o| {
                        let d = o.time.date_naive();
                        d > split && d <= today
                    });
                    Some((churn_features(r), !later))
                })
                .unzip();
            (
                x,
                y,
                (from, split),
                format!("no order in {} days", cc.window_days),
            )
        };
        Ok(
            match ChurnModel::train(&x, &y, &cc.classifier, self.config.period, window, what) {
                Ok(m) => Some(m),
                Err(e) => {
                    notes.push(format!("churn model: {e}; no {}", cc.trait_name));
                    None
                }
            },
        )
    }

    /// Predicts for every profile from its events: fits the models on everyone's orders up to
    /// `now`, then sets each profile's traits (null where there is no order or no model), and
    /// checks the forecasts on the holdout when configured.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Parse`] when `churn.model_file` cannot be read; data the
    /// models cannot use becomes notes and null traits, never an error.
    pub fn predict(&self, events: &[&[&Event]], now: DateTime<Utc>) -> Result<Predictions> {
        self.predict_labeled(events, &[], now)
    }

    /// As [`Predictor::predict`], with each profile's churn label (from the trait or field
    /// `churn.label` names; missing entries are no label) for the supervised churn model.
    ///
    /// # Errors
    ///
    /// As [`Predictor::predict`].
    pub fn predict_labeled(
        &self,
        events: &[&[&Event]],
        labels: &[Option<bool>],
        now: DateTime<Utc>,
    ) -> Result<Predictions> {
        self.predict_core(events, labels, now, None)
    }

    /// As [`Predictor::predict_labeled`], scoring with the saved `model` instead of fitting
    /// one: its parameters, spend model and time unit (summaries are counted in its
    /// period), no holdout refit; with the drift of the customers now against its baseline
    /// ([`Predictor::check_drift`]) in [`Predictions::drift`].
    ///
    /// # Errors
    ///
    /// As [`Predictor::predict`].
    pub fn predict_saved(
        &self,
        model: &PredictModel,
        events: &[&[&Event]],
        labels: &[Option<bool>],
        now: DateTime<Utc>,
    ) -> Result<Predictions> {
        let mut p = self.predict_core(events, labels, now, Some(model))?;
        p.drift = Some(self.check_drift(model, events, now));
        Ok(p)
    }

    /// Predicts as a pipeline run does: with the model saved at `model_file` when it is
    /// set, the file exists and `refit` is false ([`Predictor::predict_saved`]); otherwise
    /// fitting afresh ([`Predictor::predict_labeled`]). [`Predictions::source`] says which.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mergetag_predict::{ModelSource, PredictConfig};
    ///
    /// let c = PredictConfig { model_file: Some("no-such-model.json".into()), ..Default::default() };
    /// let p = c.build()?.run(&[], &[], Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())?;
    /// assert_eq!(p.source, ModelSource::Missing("no-such-model.json".into()));
    /// # Ok::<(), mergetag_predict::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file when it exists but cannot be read (or whether it
    /// exists cannot be told); [`Error::Parse`] naming it when it is not a saved model;
    /// otherwise as [`Predictor::predict`]. A broken model file is never silently refitted.
    pub fn run(
        &self,
        events: &[&[&Event]],
        labels: &[Option<bool>],
        now: DateTime<Utc>,
    ) -> Result<Predictions> {
        let Some(file) = &self.config.model_file else {
            return self.predict_labeled(events, labels, now);
        };
        if self.config.refit {
            let mut p = self.predict_labeled(events, labels, now)?;
            p.source = ModelSource::Refit(file.clone());
            return Ok(p);
        }
        let exists = file.try_exists().map_err(|source| Error::Io {
            origin: file.display().to_string(),
            source,
        })?;
        if !exists {
            let mut p = self.predict_labeled(events, labels, now)?;
            p.source = ModelSource::Missing(file.clone());
            return Ok(p);
        }
        let model = PredictModel::from_path(file)?;
        let mut p = self.predict_saved(&model, events, labels, now)?;
        p.source = ModelSource::Saved(file.clone());
        Ok(p)
    }

    fn predict_core(
        &self,
        events: &[&[&Event]],
        labels: &[Option<bool>],
        now: DateTime<Utc>,
        saved: Option<&PredictModel>,
    ) -> Result<Predictions> {
        let c = &self.config;
        let orders: Vec<Vec<Order>> = events.iter().map(|e| self.orders(e)).collect();
        let engaged: Vec<Vec<DateTime<Utc>>> = events.iter().map(|e| self.engagement(e)).collect();
        let today = now.date_naive();
        let from = orders
            .iter()
            .flatten()
            .map(|o| o.time.date_naive())
            .min()
            .unwrap_or(today);
        let mut notes = Vec::new();
        let unit = c.period.days();
        let baskets = |os: &[Order], pred: &dyn Fn(&Order) -> bool| -> Vec<Basket> {
            os.iter()
                .filter(|o| pred(o) && !o.products.is_empty())
                .map(|o| o.products.clone())
                .collect()
        };

        // The holdout check first: fitted before the split, compared with after it (not
        // with a saved model: it keeps its own holdout metrics).
        let holdout = c.holdout_days.filter(|_| saved.is_none()).and_then(|days| {
            let split = now - Duration::days(i64::from(days));
            let end = split.date_naive();
            let cal = self.summarize(&orders, end);
            let model = self.fit(&cal, from, end, &mut notes)?;
            let check = holdout_check(&model.transaction, &orders, &cal, (end, today), c.period);
            let hit = (c.recommend > 0).then(|| {
                let before: Vec<Vec<Basket>> = orders
                    .iter()
                    .map(|os| baskets(os, &|o| o.time.date_naive() <= end))
                    .collect();
                let after: Vec<Vec<Basket>> = orders
                    .iter()
                    .map(|os| baskets(os, &|o| o.time.date_naive() > end))
                    .collect();
                hit_rate(&before, &after, &c.repeat_products, c.recommend as usize)
            });
            Some(Holdout {
                calibration_end: end,
                model,
                buckets: check.buckets,
                mean_absolute_error: check.mean_absolute_error,
                total_predicted: check.predicted,
                total_actual: check.actual,
                hit_rate: hit,
                send_time: {
                    let (b, a): (Vec<_>, Vec<_>) = engaged
                        .iter()
                        .map(|ts| {
                            ts.iter()
                                .copied()
                                .partition::<Vec<DateTime<Utc>>, _>(|t| *t <= split)
                        })
                        .unzip();
                    check_send_times(&b, &a, c.send_time_prior)
                },
            })
        });

        let summary = self.summarize(&orders, today);
        let (model, scored, unit) = match saved {
            Some(m) => {
                if m.period != c.period {
                    notes.push(format!(
                        "the saved model counts in {:?} units, the configuration in {:?}: scored in the model's",
                        m.period, c.period
                    ));
                }
                let kind = match m.transaction {
                    TransactionFit::Bgnbd(_) => TransactionModel::Bgnbd,
                    TransactionFit::ParetoNbd(_) => TransactionModel::ParetoNbd,
                };
                if kind != c.model {
                    notes.push(format!(
                        "the saved model is {kind:?}, the configuration says {:?}: scored with the saved one (refit = true to fit afresh)",
                        c.model
                    ));
                }
                let own =
                    (m.period != c.period).then(|| self.summarize_in(&orders, today, m.period));
                (Some(m.clone()), own, m.period.days())
            }
            None => (self.fit(&summary, from, today, &mut notes), None, unit),
        };
        // The summaries the transaction model scores (in its own period).
        let scored: &[Option<Rfm>] = scored.as_deref().unwrap_or(&summary);
        let churn = self.churn(&orders, &summary, labels, (from, now), &mut notes)?;
        let recommender = (c.recommend > 0).then(|| {
            let people: Vec<Vec<Basket>> = orders.iter().map(|os| baskets(os, &|_| true)).collect();
            CoOccurrence::fit(&people, &c.repeat_products)
        });
        let send_times = engaged
            .iter()
            .any(|e| !e.is_empty())
            .then(|| SendTimes::fit(&engaged, c.send_time_prior));
        let mut activity: Vec<(String, DateTime<Utc>)> = Vec::new();
        for (os, es) in orders.iter().zip(events) {
            for o in os {
                activity.extend(o.products.iter().map(|p| (p.clone(), o.time)));
            }
            for e in es
                .iter()
                .filter(|e| e.kind == EventKind::Track && e.name.as_deref() == Some(&c.view_event))
            {
                if let Some(Value::Text(p)) = e.property("product_id") {
                    activity.push((p.to_string(), e.timestamp));
                }
            }
        }
        let hot = trending(&activity, now, c.trending_days, c.trending_baseline_days, 3);
        let repeat: std::collections::BTreeSet<&str> =
            c.repeat_products.iter().map(String::as_str).collect();
        let horizon = f64::from(c.horizon_days) / unit;
        let (horizon_name, clv_name) = (self.horizon_trait(), self.clv_trait());
        let traits = scored
            .iter()
            .zip(&orders)
            .zip(&engaged)
            .zip(&summary)
            .map(|(((rfm, os), own), own_summary)| {
                let mut t = BTreeMap::new();
                model_traits(
                    &mut t,
                    (&horizon_name, &clv_name),
                    c,
                    model.as_ref().zip(rfm.as_ref()),
                    horizon,
                    unit,
                );
                if let (Some(cc), Some(m)) = (&c.churn, &churn) {
                    let p = own_summary
                        .as_ref()
                        .map(|r| m.predict(r))
                        .filter(|p| p.is_finite());
                    t.insert(cc.trait_name.clone(), p.map_or(Value::Null, Value::float));
                    t.insert(
                        format!("{}_band", cc.trait_name),
                        p.map_or(Value::Null, |p| Value::from(c.churn_bands.band(p))),
                    );
                }
                let rec = recommender
                    .as_ref()
                    .and_then(|r| r.recommend(&baskets(os, &|_| true), 1).into_iter().next());
                t.insert(
                    "recommended_product".to_owned(),
                    rec.map_or(Value::Null, Value::from),
                );
                t.insert(
                    "best_send_hour".to_owned(),
                    send_times
                        .as_ref()
                        .map_or(Value::Null, |s| Value::Int(s.best(own) as i64)),
                );
                let bought: std::collections::BTreeSet<&str> = os
                    .iter()
                    .flat_map(|o| o.products.iter().map(String::as_str))
                    .collect();
                let trend = hot
                    .iter()
                    .find(|(p, _)| !bought.contains(p.as_str()) || repeat.contains(p.as_str()));
                t.insert(
                    "trending_product".to_owned(),
                    trend.map_or(Value::Null, |(p, _)| Value::from(p.as_str())),
                );
                t
            })
            .collect();
        Ok(Predictions {
            traits,
            model,
            holdout,
            churn,
            notes,
            source: ModelSource::Fitted,
            drift: None,
        })
    }
}

/// Inserts into `t` the traits a transaction model gives one customer: `names.0` (expected
/// purchases over `horizon` time units), `p_alive`, `churn_risk`, `churn_risk_band` and
/// `names.1` (lifetime value, with a spend model and BG/NBD); each null without a model and
/// summary, or where the model gives no finite value. `unit` is the model's time unit in days.
/// A fitted run and a saved model's scores fill them the same way.
pub(crate) fn model_traits(
    t: &mut BTreeMap<String, Value>,
    names: (&str, &str),
    c: &PredictConfig,
    scored: Option<(&PredictModel, &Rfm)>,
    horizon: f64,
    unit: f64,
) {
    let fin = |v: f64| {
        if v.is_finite() {
            Value::float(v)
        } else {
            Value::Null
        }
    };
    let (mut expected, mut alive, mut risk, mut band, mut clv) = (
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    );
    if let Some((m, rfm)) = scored {
        expected = fin(m.transaction.expected_purchases(horizon, rfm));
        let p = m.transaction.p_alive(rfm);
        if p.is_finite() {
            let p = p.clamp(0.0, 1.0);
            alive = Value::float(p);
            risk = Value::float(1.0 - p);
            band = Value::from(c.churn_bands.band(1.0 - p));
        }
        if let (Some(gg), TransactionFit::Bgnbd(bg)) = (&m.spend, &m.transaction) {
            clv = fin(gg.clv(bg, rfm, c.clv_months, unit, c.discount_rate));
        }
    }
    t.insert(names.0.to_owned(), expected);
    t.insert("p_alive".to_owned(), alive);
    t.insert("churn_risk".to_owned(), risk);
    t.insert("churn_risk_band".to_owned(), band);
    t.insert(names.1.to_owned(), clv);
}
