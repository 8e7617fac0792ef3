//! Predictions as merge variables: buy-till-you-die models (BG/NBD, Pareto/NBD) and the
//! Gamma-Gamma spend model fitted natively by maximum likelihood, giving each customer's
//! expected purchases, probability of being active, churn risk and lifetime value; and
//! supervised churn or propensity models (logistic regression, gradient-boosted trees,
//! calibrated) when there is a label.
//!
//! ```
//! use mergetag_predict::{BgNbd, FitOptions, Rfm, simulate_bgnbd};
//!
//! // frequency (repeat purchases), recency (age at the last one) and T (age now), in days:
//! // here 2,000 customers drawn from a known BG/NBD process.
//! let truth = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
//! let customers: Vec<Rfm> = simulate_bgnbd(&truth, 2000, 270.0, 90.0, 7);
//! let fit = BgNbd::fit(&customers, &FitOptions::default())?;
//! assert!(fit.convergence.converged);
//! let m = fit.model;
//! let p = m.p_alive(&Rfm::new(3.0, 13.0, 30.0));
//! assert!((0.0..=1.0).contains(&p));
//! # Ok::<(), mergetag_predict::Error>(())
//! ```
//!
//! # Accuracy and speed
//!
//! On the CDNOW sample (`tests/data`, tested in `tests/predict.rs`): BG/NBD r 0.242593,
//! alpha 4.413532, a 0.792886, b 2.425754 (log-likelihood -9582.43, the published maximum);
//! Pareto/NBD r 0.55328, alpha 10.57761, s 0.60621, beta 11.66791 (log-likelihood
//! -9594.973930, higher than at the published beta 11.669: the likelihood is flat along s
//! and beta); Gamma-Gamma on the 946 repeat buyers p 6.2496, q 3.7442, v 15.4435 (published
//! 6.25, 3.74, 15.44). Every fit reports `converged`, `iterations`, the gradient norm and why
//! it stopped ([`Stop`]); each is bounded whatever the data: parameters within
//! e^±[`LOG_PARAMETER_BOUND`], at most [`MAX_EVALUATIONS`] likelihood evaluations and
//! [`FIT_TERMS_PER_ROW`] hypergeometric terms per distinct row.
//!
//! `cargo bench --bench predict` (2 shared cores, one run, baseline beside ours): CDNOW BG/NBD
//! 2.3 ms (Nelder-Mead over the per-customer likelihood: 170 ms; the Python reference: 0.24
//! s), Pareto/NBD 26 ms (Nelder-Mead: 887 ms; Python: 1.7 s).
//!
//! A million customers ([`simulate_bgnbd`]`(.., 1_000_000, 365.0, 90.0, 1)`, in days: 157,080
//! distinct rows), default options, release build, timed by the ignored test
//! `million_customers_default_fits` in `tests/predict.rs`, against the build before this
//! work (`96e665d`) in the same run, alternating, median of 3, in two runs on a loaded
//! machine: BG/NBD 0.22 s (before: 0.70 to 0.73 s, 3.2x to 3.4x faster), Pareto/NBD 0.36 to
//! 0.38 s (before: 1.70 to 1.77 s, 4.5x to 4.9x), both converged to the same maximum. What did it: each Pareto/NBD hypergeometric series is summed once per distinct
//! (frequency, age) pair instead of twice per row (a few thousand pairs in days); a fit over
//! more than [`FitOptions::warm_start_rows`] distinct rows starts from a fit to a systematic
//! sample of 20,000 of them to a looser tolerance (1e-6; it used to stall near 1e-9 after
//! 400 evaluations), with its curvature, so the full fit takes 6 passes; BFGS accepts a step
//! at the objective's floating-point floor when it halves the gradient; the distinct rows
//! are sorted in parallel. With every customer distinct (recency and T to the second) BG/NBD
//! takes 0.36 to 0.44 s (before: 0.39 to 0.44 s: unchanged) and Pareto/NBD 4.0 to 4.9 s
//! (before: 7.9 to 8.7 s, 1.8x to 2.0x). Since then, the series' coefficients (which depend
//! on the frequency, not the age) are tabled once per frequency in each block of 1,024
//! pairs, and eight ages sharing a frequency sum their series together without a division
//! (independent chains the processor overlaps): Pareto/NBD on the million distinct rows 2.7
//! to 3.0 s against 4.1 to 4.3 s for the build before (`f7fef5e`) in the same run,
//! alternating, 3 runs each on a loaded machine (1.4x to 1.6x); in days 0.27 to 0.36 s
//! (before: 0.33 to 0.40 s); the log-likelihood within 1e-12 of the per-customer series.
//! The 1 s target is met for summaries in days or weeks, not yet for a million distinct
//! Pareto/NBD rows (two series of about 40 terms per row, in 6 passes and the sample's fit).
//! The likelihoods are summed over fixed chunks in order and each pair's series on its own
//! (blocks of pairs fixed), so a fit gives the same bits on any number of threads
//! (`fits_are_the_same_whatever_the_thread_count`).
//!
//! # Retraining and drift
//!
//! A [`PredictModel`] serializes with its training window, time unit (the feature
//! transform), convergence, holdout metrics ([`HoldoutCheck`]) and a [`Baseline`]: the
//! distributions of the training customers' frequency, recency, T, P(alive) and expected
//! purchases as decile bins ([`Sketch`]), so that drift is checked without the training
//! data. [`Predictor::check_drift`] compares the customers now with the baseline (PSI) and
//! checks the model's forecasts on the latest holdout; [`Verdict`] says stable, watch or
//! retrain (thresholds in [`PSI_WATCH`], [`PSI_RETRAIN`], [`RATIO_WATCH`],
//! [`RATIO_RETRAIN`]). [`retrain`] and [`Predictor::retrain`] refit from the saved
//! parameters and report what changed ([`Retrain`]).
//!
//! ```
//! use mergetag_predict::{Baseline, BgNbd, TransactionFit, Verdict, simulate_bgnbd};
//!
//! let m = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
//! let fit = TransactionFit::Bgnbd(m);
//! let baseline = Baseline::new(&fit, &simulate_bgnbd(&m, 3000, 365.0, 90.0, 1), 90.0);
//! let busier = simulate_bgnbd(&BgNbd { alpha: 5.0, ..m }, 3000, 365.0, 90.0, 2);
//! assert_eq!(baseline.compare(&fit, &busier).verdict, Verdict::Retrain);
//! ```
//!
//! # Supervised churn
//!
//! [`Gbt`] (histogram gradient-boosted trees) and [`Logistic`], calibrated by [`Calibrator`]
//! and compared by [`ChurnReport`]. Cross-validated AUC against scikit-learn 1.9.1 on the
//! same rows and folds (`tests/data/churn_sklearn.py`): on [`simulate_churn`]`(5000, 21)`,
//! trees 0.8389 (`HistGradientBoostingClassifier` 0.8385), logistic 0.7577 (0.7576); on
//! CDNOW (churn = no purchase in the holdout) trees 0.7269 (0.7278), logistic 0.7775
//! (0.7775).
//!
//! ```
//! use mergetag_predict::{Calibration, Classifier, ClassifierConfig, simulate_churn};
//!
//! let data = simulate_churn(2000, 3);
//! let config = ClassifierConfig { calibration: Calibration::Isotonic, ..Default::default() };
//! let model = Classifier::fit(&data.x, &data.y, &config)?;
//! let p = model.predict(&data.x[0]);
//! assert!((0.0..=1.0).contains(&p));
//! # Ok::<(), mergetag_predict::Error>(())
//! ```

mod bgnbd;
mod calibrate;
mod churn;
mod classifier;
mod drift;
mod error;
mod fit;
mod gamma_gamma;
mod gbt;
mod optimize;
mod pareto;
mod predictor;
mod recommend;
mod retrain;
mod sendtime;
mod simulate;
pub mod special;
mod summary;
mod supervised;
mod transactions;

pub use crate::bgnbd::BgNbd;
pub use crate::calibrate::{Calibration, Calibrator};
pub use crate::churn::{Logistic, Scores, cross_validate, scores};
pub use crate::classifier::{
    ChurnReport, Classifier, ClassifierConfig, ClassifierKind, ClassifierModel,
    cross_validate_classifier,
};
pub use crate::drift::{
    Baseline, DRIFT_BINS, Drift, DriftReport, HoldoutCheck, MIN_HOLDOUT_PURCHASES, PSI_RETRAIN,
    PSI_WATCH, RATIO_RETRAIN, RATIO_WATCH, Sketch, Sketched, Stability, Verdict, drift, psi,
};
pub use crate::error::{Error, Result};
pub use crate::fit::Fit;
pub use crate::gamma_gamma::GammaGamma;
pub use crate::gbt::{EarlyStopping, Gbt, GbtOptions, Node, Tree};
pub use crate::optimize::{
    Convergence, FIT_TERMS_PER_ROW, FitOptions, LOG_PARAMETER_BOUND, MAX_EVALUATIONS, Stop,
};
pub use crate::pareto::ParetoNbd;
pub use crate::predictor::{
    ChurnBands, Holdout, HoldoutBucket, ModelSource, PredictConfig, PredictModel, Predictions,
    Predictor, TransactionFit, TransactionModel,
};
pub use crate::recommend::{Basket, CoOccurrence, HitRate, hit_rate};
pub use crate::retrain::{ParameterChange, Retrain, retrain};
pub use crate::sendtime::{
    SendTimeCheck, SendTimes, WEEK_HOURS, check_send_times, hour_of_week, trending,
};
pub use crate::simulate::{ChurnData, simulate_bgnbd, simulate_churn};
pub use crate::summary::{Period, Rfm, Summary, Transaction};
pub use crate::supervised::{CHURN_FEATURES, ChurnConfig, ChurnModel, churn_features, label_of};
pub use crate::transactions::{TransactionColumns, parse_date};
