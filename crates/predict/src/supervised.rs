//! Supervised churn in the profile stage: the `[predict.churn]` table, the customer features
//! a classifier sees, and the serialized model (classifier, feature transform, training
//! window and cross-validated metrics).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use mergetag_model::Value;
use mergetag_model::config::{Format, load};
use serde::{Deserialize, Serialize};

use crate::churn::Scores;
use crate::classifier::{Classifier, ClassifierConfig, cross_validate_classifier};
use crate::error::{Error, Result};
use crate::summary::{Period, Rfm};

/// The `[predict.churn]` table: a supervised churn (or propensity) model whose probability
/// becomes a trait.
///
/// Three ways to get the model, the first that applies:
/// - `model_file`: a model saved before ([`ChurnModel::save`], `mergetag predict churn
///   --save`), used as it is;
/// - `label`: a profile trait or field saying whether the person churned (`true`/`false`,
///   1/0, `yes`/`no`); profiles that have it and an order train the model;
/// - neither: the label is made from the orders, "no order in the last `window_days`
///   days": the model learns it from the features as they were before that window, then
///   scores everyone's features today (the probability of no order in the next
///   `window_days` days).
///
/// ```
/// use mergetag_predict::PredictConfig;
///
/// let c = PredictConfig::from_toml_str(
///     "[churn]\nwindow_days = 60\n[churn.classifier]\nmodel = \"gbt\"\ncalibration = \"isotonic\"\n",
/// )?;
/// let churn = c.churn.as_ref().unwrap();
/// assert_eq!((churn.window_days, churn.trait_name.as_str()), (60, "churn_probability"));
/// assert!(c.build().is_ok());
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnConfig {
    /// The profile trait or field holding the label (none by default: made from orders).
    pub label: Option<String>,
    /// The window of the label made from orders, in days (default 90).
    pub window_days: u32,
    /// A saved model to score with instead of training (resolved against the pipeline
    /// file's directory).
    pub model_file: Option<PathBuf>,
    /// The trait written (default `churn_probability`; its band goes to `<trait>_band`).
    #[serde(rename = "trait")]
    pub trait_name: String,
    /// The classifier trained (default: gradient-boosted trees, uncalibrated).
    pub classifier: ClassifierConfig,
}

impl Default for ChurnConfig {
    fn default() -> ChurnConfig {
        ChurnConfig {
            label: None,
            window_days: 90,
            model_file: None,
            trait_name: "churn_probability".to_owned(),
            classifier: ClassifierConfig::default(),
        }
    }
}

impl ChurnConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |path: &str, message: &str| Err(Error::invalid(format!("churn.{path}"), message));
        if self.window_days == 0 {
            return bad("window_days", "must be at least 1");
        }
        if self.trait_name.trim().is_empty() {
            return bad(
                "trait",
                "must name the trait written (e.g. \"churn_probability\")",
            );
        }
        if self.label.as_deref().is_some_and(|l| l.trim().is_empty()) {
            return bad("label", "must name a trait or field, or be left out");
        }
        let c = &self.classifier;
        if !(2..=100).contains(&c.folds) {
            return bad("classifier.folds", "must be from 2 to 100 (5 is usual)");
        }
        if !(c.c.is_finite() && c.c > 0.0) {
            return bad(
                "classifier.c",
                "must be a finite number above 0 (1 is usual)",
            );
        }
        // The tree options are checked by a fit on two rows.
        if let Err(Error::Invalid { path, message }) =
            crate::gbt::Gbt::fit(&[vec![0.0], vec![1.0]], &[false, true], &c.gbt)
        {
            return Err(Error::invalid(
                format!("churn.classifier.gbt.{path}"),
                message,
            ));
        }
        Ok(())
    }
}

/// The features a churn classifier sees, in this order, in the model's period units:
/// repeat purchases, age at the last purchase, age now, and mean repeat order value (0
/// without repeat purchases).
pub const CHURN_FEATURES: [&str; 4] = ["frequency", "recency", "T", "monetary_value"];

/// The features of [`CHURN_FEATURES`] of a customer summary row.
///
/// ```
/// use mergetag_predict::{Rfm, churn_features};
///
/// assert_eq!(churn_features(&Rfm::new(2.0, 30.0, 40.0)), vec![2.0, 30.0, 40.0, 0.0]);
/// ```
pub fn churn_features(c: &Rfm) -> Vec<f64> {
    vec![c.frequency, c.recency, c.t, c.monetary_value.unwrap_or(0.0)]
}

/// A trained churn classifier with what it was trained on: serializes (JSON) to be reloaded,
/// compared and retrained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// The feature names ([`CHURN_FEATURES`]): the transform from a customer to its row.
    pub features: Vec<String>,
    /// The time unit of the features.
    pub period: Period,
    /// The first order seen.
    pub trained_from: NaiveDate,
    /// The day the features were computed at.
    pub trained_to: NaiveDate,
    /// Where the labels came from (`trait churned`, or `no order in 90 days`).
    pub label: String,
    /// Rows trained on, and how many had a positive label.
    pub rows: usize,
    /// Positive labels among them.
    pub positives: usize,
    /// The classifier's cross-validated scores on the training rows (none when there were
    /// too few rows or only one class).
    pub metrics: Option<Scores>,
    /// The classifier.
    pub classifier: Classifier,
}

impl ChurnModel {
    /// Trains on feature rows `x` (of [`churn_features`]) and labels `y`.
    ///
    /// # Errors
    ///
    /// As [`Classifier::fit`].
    pub fn train(
        x: &[Vec<f64>],
        y: &[bool],
        config: &ClassifierConfig,
        period: Period,
        window: (NaiveDate, NaiveDate),
        label: impl Into<String>,
    ) -> Result<ChurnModel> {
        let classifier = Classifier::fit(x, y, config)?;
        let positives = y.iter().filter(|v| **v).count();
        let metrics = (positives > 0 && positives < y.len())
            .then(|| cross_validate_classifier(x, y, config).ok())
            .flatten();
        Ok(ChurnModel {
            features: CHURN_FEATURES.iter().map(|s| (*s).to_owned()).collect(),
            period,
            trained_from: window.0,
            trained_to: window.1,
            label: label.into(),
            rows: x.len(),
            positives,
            metrics,
            classifier,
        })
    }

    /// The churn probability of a customer.
    pub fn predict(&self, c: &Rfm) -> f64 {
        self.classifier.predict(&churn_features(c))
    }

    /// The model as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when a number is not finite (JSON has no NaN).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("model", e.to_string()))
    }

    /// Reads a model written by [`ChurnModel::to_json`]; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of what does not parse; [`Error::Invalid`]
    /// when its features are not [`CHURN_FEATURES`].
    pub fn from_json_str(text: &str, origin: &str) -> Result<ChurnModel> {
        let m: ChurnModel = load(text, origin, Format::Json)?;
        if m.features.iter().map(String::as_str).ne(CHURN_FEATURES) {
            return Err(Error::invalid(
                format!("{origin}: features"),
                format!("must be {CHURN_FEATURES:?}; the model was made by another version"),
            ));
        }
        Ok(m)
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
    /// [`Error::Io`] when the file cannot be read; as [`ChurnModel::from_json_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<ChurnModel> {
        let (text, origin) = crate::error::read_file(path.as_ref())?;
        ChurnModel::from_json_str(&text, &origin)
    }
}

/// A label from a trait or field value: `true`/`false`, 1/0, or the texts `true`, `false`,
/// `yes`, `no`, `1`, `0` (any case); anything else is no label.
///
/// ```
/// use mergetag_model::Value;
/// use mergetag_predict::label_of;
///
/// assert_eq!(label_of(&Value::Bool(true)), Some(true));
/// assert_eq!(label_of(&Value::from("No")), Some(false));
/// assert_eq!(label_of(&Value::Int(2)), None);
/// ```
pub fn label_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(1) => Some(true),
        Value::Int(0) => Some(false),
        Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}
