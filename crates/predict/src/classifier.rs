//! A supervised churn or propensity classifier (logistic regression or gradient-boosted
//! trees, optionally calibrated on cross-validation folds) and the report comparing them by
//! cross-validated AUC, log-loss and Brier score.

use serde::{Deserialize, Serialize};

use crate::calibrate::{Calibration, Calibrator};
use crate::churn::{Logistic, Scores, scores, sigmoid};
use crate::error::{Error, Result};
use crate::gbt::{Gbt, GbtOptions};

/// The kind of classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassifierKind {
    /// L2 logistic regression over standardized features ([`Logistic`]).
    Logistic,
    /// Gradient-boosted trees ([`Gbt`], the default).
    #[default]
    Gbt,
}

/// How to fit a [`Classifier`]: from a `[predict.churn]` table or in code.
///
/// ```
/// use mergetag_predict::{Calibration, ClassifierConfig, ClassifierKind};
///
/// let c: ClassifierConfig = toml::from_str("model = \"gbt\"\ncalibration = \"isotonic\"\n[gbt]\nmax_iter = 50\n").unwrap();
/// assert_eq!((c.model, c.calibration, c.gbt.max_iter, c.folds), (ClassifierKind::Gbt, Calibration::Isotonic, 50, 5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierConfig {
    /// The classifier (default `gbt`).
    pub model: ClassifierKind,
    /// The inverse L2 strength of the logistic regression (default 1, scikit-learn's `C`).
    pub c: f64,
    /// The options of the trees.
    pub gbt: GbtOptions,
    /// The calibration, fitted on out-of-fold scores (default none).
    pub calibration: Calibration,
    /// Folds of the calibration and of cross-validation (default 5; row `i` is in fold
    /// `i % folds`).
    pub folds: usize,
}

impl Default for ClassifierConfig {
    fn default() -> ClassifierConfig {
        ClassifierConfig {
            model: ClassifierKind::Gbt,
            c: 1.0,
            gbt: GbtOptions::default(),
            calibration: Calibration::None,
            folds: 5,
        }
    }
}

/// A fitted base model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ClassifierModel {
    /// Logistic regression.
    Logistic(Logistic),
    /// Gradient-boosted trees.
    Gbt(Gbt),
}

impl ClassifierModel {
    /// The raw score (log-odds) of `x`.
    pub fn raw(&self, x: &[f64]) -> f64 {
        match self {
            ClassifierModel::Logistic(m) => m.raw(x),
            ClassifierModel::Gbt(m) => m.raw(x),
        }
    }
}

/// A fitted classifier: a base model and, when asked for, its calibration.
///
/// ```
/// use mergetag_predict::{Calibration, Classifier, ClassifierConfig};
///
/// let x: Vec<Vec<f64>> = (0..600).map(|i| vec![(i % 60) as f64]).collect();
/// let y: Vec<bool> = (0..600).map(|i| (i % 60) > 40 || i % 7 == 0).collect();
/// let config = ClassifierConfig { calibration: Calibration::Sigmoid, ..Default::default() };
/// let m = Classifier::fit(&x, &y, &config)?;
/// assert!(m.calibrator.is_some());
/// assert!(m.predict(&[50.0]) > 0.8 && m.predict(&[10.0]) < 0.3);
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    /// The base model, fitted on every row.
    pub model: ClassifierModel,
    /// The calibration map of its raw scores, fitted on out-of-fold scores.
    pub calibrator: Option<Calibrator>,
}

fn fit_base(x: &[Vec<f64>], y: &[bool], config: &ClassifierConfig) -> Result<ClassifierModel> {
    match config.model {
        ClassifierKind::Logistic => Logistic::fit(x, y, config.c)
            .map(ClassifierModel::Logistic)
            .ok_or_else(|| {
                Error::fit(
                    "logistic",
                    "no rows, rows of different lengths, a value that is not finite or c not above 0",
                )
            }),
        ClassifierKind::Gbt => Gbt::fit(x, y, &config.gbt).map(ClassifierModel::Gbt),
    }
}

/// The rows of `x` and `y` whose position `i` satisfies `keep(i)`.
fn subset(x: &[Vec<f64>], y: &[bool], keep: impl Fn(usize) -> bool) -> (Vec<Vec<f64>>, Vec<bool>) {
    (0..x.len())
        .filter(|&i| keep(i))
        .map(|i| (x[i].clone(), y[i]))
        .unzip()
}

/// Out-of-fold raw scores of the base model (row `i` scored by the model fitted without
/// fold `i % k`).
fn out_of_fold(x: &[Vec<f64>], y: &[bool], config: &ClassifierConfig) -> Result<Vec<f64>> {
    let k = config.folds;
    let mut raw = vec![0.0; x.len()];
    for f in 0..k {
        let (tx, ty) = subset(x, y, |i| i % k != f);
        let m = fit_base(&tx, &ty, config)?;
        for i in (f..x.len()).step_by(k) {
            raw[i] = m.raw(&x[i]);
        }
    }
    Ok(raw)
}

fn check(x: &[Vec<f64>], y: &[bool], config: &ClassifierConfig) -> Result<()> {
    if !(2..=100).contains(&config.folds) {
        return Err(Error::invalid(
            "folds",
            "must be from 2 to 100 (5 is usual)",
        ));
    }
    if !(config.c.is_finite() && config.c > 0.0) {
        return Err(Error::invalid(
            "c",
            "must be a finite number above 0 (1 is usual)",
        ));
    }
    if x.len() != y.len() {
        return Err(Error::fit(
            "classifier",
            format!("{} rows but {} labels", x.len(), y.len()),
        ));
    }
    if x.len() < 2 * config.folds {
        return Err(Error::fit(
            "classifier",
            format!("{} rows: at least two per fold are needed", x.len()),
        ));
    }
    Ok(())
}

impl Classifier {
    /// Fits the base model on every row and, when `config.calibration` asks, the
    /// calibration on the out-of-fold scores of `config.folds` base models (scikit-learn's
    /// `CalibratedClassifierCV(ensemble=False)`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for options out of range; [`Error::Fit`] when a model cannot be
    /// fitted (no rows, fewer than two rows per fold, a value that is not finite).
    pub fn fit(x: &[Vec<f64>], y: &[bool], config: &ClassifierConfig) -> Result<Classifier> {
        check(x, y, config)?;
        let calibrator = match config.calibration {
            Calibration::None => None,
            method => Calibrator::fit(method, &out_of_fold(x, y, config)?, y),
        };
        Ok(Classifier {
            model: fit_base(x, y, config)?,
            calibrator,
        })
    }

    /// The probability of the positive class for `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let s = self.model.raw(x);
        match &self.calibrator {
            Some(c) => c.apply(s),
            None => sigmoid(s),
        }
    }
}

/// Cross-validated scores of every classifier the crate offers on one data set: the
/// out-of-fold probabilities (row `i` in fold `i % folds`) of each scored together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnReport {
    /// Rows scored.
    pub rows: usize,
    /// Rows with a positive label.
    pub positives: usize,
    /// Folds.
    pub folds: usize,
    /// Logistic regression.
    pub logistic: Scores,
    /// Gradient-boosted trees, uncalibrated.
    pub gbt: Scores,
    /// Gradient-boosted trees with Platt's sigmoid (fitted on inner folds of each training
    /// part).
    pub gbt_sigmoid: Scores,
    /// Gradient-boosted trees with isotonic calibration (likewise).
    pub gbt_isotonic: Scores,
}

impl ChurnReport {
    /// Cross-validates logistic regression (`config.c`) and the trees (`config.gbt`),
    /// uncalibrated and calibrated both ways; `config.model` and `config.calibration` are
    /// not used.
    ///
    /// ```
    /// use mergetag_predict::{ChurnReport, ClassifierConfig, simulate_churn};
    ///
    /// let data = simulate_churn(1000, 7);
    /// let r = ChurnReport::compute(&data.x, &data.y, &ClassifierConfig::default())?;
    /// assert_eq!((r.rows, r.folds), (1000, 5));
    /// assert!(r.gbt.auc > r.logistic.auc);
    /// # Ok::<(), mergetag_predict::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Classifier::fit`].
    pub fn compute(x: &[Vec<f64>], y: &[bool], config: &ClassifierConfig) -> Result<ChurnReport> {
        check(x, y, config)?;
        let k = config.folds;
        let n = x.len();
        let logistic = ClassifierConfig {
            model: ClassifierKind::Logistic,
            ..*config
        };
        let gbt = ClassifierConfig {
            model: ClassifierKind::Gbt,
            ..*config
        };
        let (mut pl, mut pg, mut ps, mut pi) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for f in 0..k {
            let (tx, ty) = subset(x, y, |i| i % k != f);
            let lm = fit_base(&tx, &ty, &logistic)?;
            let gm = fit_base(&tx, &ty, &gbt)?;
            let inner = out_of_fold(&tx, &ty, &gbt)?;
            let sig = Calibrator::fit(Calibration::Sigmoid, &inner, &ty);
            let iso = Calibrator::fit(Calibration::Isotonic, &inner, &ty);
            for i in (f..n).step_by(k) {
                pl[i] = sigmoid(lm.raw(&x[i]));
                let s = gm.raw(&x[i]);
                pg[i] = sigmoid(s);
                ps[i] = sig.as_ref().map_or(pg[i], |c| c.apply(s));
                pi[i] = iso.as_ref().map_or(pg[i], |c| c.apply(s));
            }
        }
        Ok(ChurnReport {
            rows: n,
            positives: y.iter().filter(|v| **v).count(),
            folds: k,
            logistic: scores(&pl, y),
            gbt: scores(&pg, y),
            gbt_sigmoid: scores(&ps, y),
            gbt_isotonic: scores(&pi, y),
        })
    }
}

/// `k`-fold cross-validated scores of the classifier `config` describes (calibration
/// included, fitted on inner folds of each training part).
///
/// # Errors
///
/// As [`Classifier::fit`].
pub fn cross_validate_classifier(
    x: &[Vec<f64>],
    y: &[bool],
    config: &ClassifierConfig,
) -> Result<Scores> {
    check(x, y, config)?;
    let k = config.folds;
    let mut p = vec![0.0; x.len()];
    for f in 0..k {
        let (tx, ty) = subset(x, y, |i| i % k != f);
        let m = Classifier::fit(&tx, &ty, config)?;
        for i in (f..x.len()).step_by(k) {
            p[i] = m.predict(&x[i]);
        }
    }
    Ok(scores(&p, y))
}
