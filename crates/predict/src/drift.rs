//! Drift: the population stability index (PSI) of features and predictions between the
//! customers a model was trained on and fresh ones, the calibration of its forecasts on the
//! latest holdout, and the verdict on when to retrain.
//!
//! A saved model keeps what drift needs without the training data: each feature's and
//! prediction's distribution as bins at the training quantiles ([`Sketch`], in a
//! [`Baseline`]).
//!
//! The verdict ([`Verdict`]): **retrain** when any PSI is above [`PSI_RETRAIN`] (0.25) or the
//! holdout's predicted-to-actual ratio is outside [`RATIO_RETRAIN`] (0.8 to 1.25); **watch**
//! when any PSI is above [`PSI_WATCH`] (0.1) or the ratio is outside [`RATIO_WATCH`] (0.9 to
//! 1.1); **stable** otherwise. The ratio counts only when the holdout has at least
//! [`MIN_HOLDOUT_PURCHASES`] actual purchases.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::predictor::{HoldoutBucket, TransactionFit};
use crate::summary::Rfm;

/// Bins of a [`Sketch`] (at the deciles of the training values).
pub const DRIFT_BINS: usize = 10;

/// A PSI above this is a shift worth watching.
pub const PSI_WATCH: f64 = 0.1;

/// A PSI above this is a shift to act on: retrain.
pub const PSI_RETRAIN: f64 = 0.25;

/// Predicted over actual holdout purchases outside this range: watch.
pub const RATIO_WATCH: (f64, f64) = (0.9, 1.1);

/// Predicted over actual holdout purchases outside this range: retrain.
pub const RATIO_RETRAIN: (f64, f64) = (0.8, 1.25);

/// Actual holdout purchases below this make the ratio too noisy to judge by (it is reported,
/// without a verdict).
pub const MIN_HOLDOUT_PURCHASES: f64 = 30.0;

/// The population stability index of `actual` against `expected`, over `bins` bins at the
/// quantiles of `expected` (ties merged): `Σ (a - e) ln(a / e)` over the bins' shares, each
/// share at least 1e-4 so that an empty bin counts without an infinity. 0 for identical
/// distributions; by the usual rule of thumb below 0.1 is stable, 0.1 to 0.25 a shift worth
/// watching, above 0.25 a shift to act on. Values that are not finite are left out; 0 when
/// either side is empty. The same as [`Sketch::new`]`(expected, bins).psi(actual)`.
///
/// ```
/// use mergetag_predict::psi;
///
/// let old: Vec<f64> = (0..1000).map(|i| i as f64).collect();
/// assert!(psi(&old, &old, 10) < 1e-12);
/// let shifted: Vec<f64> = old.iter().map(|v| v + 300.0).collect();
/// assert!(psi(&old, &shifted, 10) > 0.25);
/// ```
pub fn psi(expected: &[f64], actual: &[f64], bins: usize) -> f64 {
    Sketch::new(expected, bins).psi(actual)
}

/// A distribution kept as bins at the quantiles of the values it was made from: what the
/// PSI needs, without the values (a few dozen numbers for any number of customers).
///
/// ```
/// use mergetag_predict::Sketch;
///
/// let trained: Vec<f64> = (0..10_000).map(|i| (i % 100) as f64).collect();
/// let s = Sketch::new(&trained, 10);
/// assert_eq!(s.count, 10_000);
/// assert!(s.psi(&trained) < 1e-12);
/// let later: Vec<f64> = trained.iter().map(|v| v * 2.0).collect();
/// assert!(s.psi(&later) > 0.25);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sketch {
    /// The inner bin edges, ascending and distinct: a value `v` is in bin `i` when `i` edges
    /// are at most `v`.
    pub edges: Vec<f64>,
    /// The share of the values in each bin (`edges.len() + 1` of them, summing to 1; empty
    /// when there were no values).
    pub shares: Vec<f64>,
    /// The (finite) values it was made from.
    pub count: usize,
}

impl Sketch {
    /// The sketch of `values` (those that are finite) in `bins` bins at their quantiles,
    /// ties merged.
    pub fn new(values: &[f64], bins: usize) -> Sketch {
        let mut e: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if e.is_empty() || bins == 0 {
            return Sketch {
                edges: Vec::new(),
                shares: Vec::new(),
                count: e.len(),
            };
        }
        e.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..bins)
            .map(|i| e[(i * e.len() / bins).min(e.len() - 1)])
            .collect();
        edges.dedup();
        let mut s = Sketch {
            edges,
            shares: Vec::new(),
            count: e.len(),
        };
        s.shares = s.shares_of(&e);
        s
    }

    fn bin(&self, v: f64) -> usize {
        self.edges.partition_point(|&edge| edge <= v)
    }

    /// The share of the finite `values` in each bin (all 0 when there are none).
    pub fn shares_of(&self, values: &[f64]) -> Vec<f64> {
        let mut counts = vec![0.0; self.edges.len() + 1];
        let mut n = 0.0;
        for &v in values.iter().filter(|v| v.is_finite()) {
            counts[self.bin(v)] += 1.0;
            n += 1.0;
        }
        if n > 0.0 {
            counts.iter_mut().for_each(|c| *c /= n);
        }
        counts
    }

    /// The PSI of `actual` against the distribution sketched (see [`psi`]); 0 when either
    /// side is empty.
    pub fn psi(&self, actual: &[f64]) -> f64 {
        if self.count == 0 || self.shares.len() != self.edges.len() + 1 {
            return 0.0;
        }
        if !actual.iter().any(|v| v.is_finite()) {
            return 0.0;
        }
        self.shares
            .iter()
            .zip(self.shares_of(actual))
            .map(|(e, a)| {
                let (e, a) = (e.max(1e-4), a.max(1e-4));
                (a - e) * (a / e).ln()
            })
            .sum()
    }
}

/// One feature's or prediction's stability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// `frequency`, `recency`, `T`, `p_alive` or `expected_purchases`.
    pub name: String,
    /// Its population stability index.
    pub psi: f64,
}

/// Whether a model still fits the customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every PSI at most [`PSI_WATCH`] and the holdout ratio within [`RATIO_WATCH`].
    Stable,
    /// A PSI above [`PSI_WATCH`] or the ratio outside [`RATIO_WATCH`], not yet enough to
    /// retrain.
    Watch,
    /// A PSI above [`PSI_RETRAIN`] or the ratio outside [`RATIO_RETRAIN`].
    Retrain,
}

impl Verdict {
    /// The verdict of one PSI.
    pub fn of_psi(psi: f64) -> Verdict {
        if psi > PSI_RETRAIN {
            Verdict::Retrain
        } else if psi > PSI_WATCH {
            Verdict::Watch
        } else {
            Verdict::Stable
        }
    }

    /// The verdict of a predicted-to-actual ratio.
    pub fn of_ratio(ratio: f64) -> Verdict {
        let within = |(lo, hi): (f64, f64)| ratio >= lo && ratio <= hi;
        if !within(RATIO_RETRAIN) {
            Verdict::Retrain
        } else if !within(RATIO_WATCH) {
            Verdict::Watch
        } else {
            Verdict::Stable
        }
    }

    /// `stable`, `watch` or `retrain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Stable => "stable",
            Verdict::Watch => "watch",
            Verdict::Retrain => "retrain",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a drift check found: the PSI of each feature and of P(alive), and whether to
/// retrain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Per feature and prediction.
    pub stability: Vec<Stability>,
    /// Whether any PSI is above [`PSI_RETRAIN`].
    pub retrain: bool,
    /// The verdict of the PSIs alone.
    pub verdict: Verdict,
}

impl Drift {
    fn from_stability(stability: Vec<Stability>) -> Drift {
        let verdict = stability
            .iter()
            .map(|s| Verdict::of_psi(s.psi))
            .max()
            .unwrap_or(Verdict::Stable);
        Drift {
            retrain: verdict == Verdict::Retrain,
            stability,
            verdict,
        }
    }
}

type Feature = fn(&TransactionFit, &Rfm, f64) -> f64;

/// The features and predictions a [`Baseline`] sketches, by name.
const FEATURES: [(&str, Feature); 5] = [
    ("frequency", |_, c, _| c.frequency),
    ("recency", |_, c, _| c.recency),
    ("T", |_, c, _| c.t),
    ("p_alive", |m, c, _| m.p_alive(c)),
    ("expected_purchases", |m, c, h| m.expected_purchases(h, c)),
];

/// Compares the customers a model was trained on (`trained`) with fresh ones (`fresh`):
/// the PSI of frequency, recency, T and of the model's P(alive), in 10 bins.
///
/// ```
/// use mergetag_predict::{BgNbd, TransactionFit, drift, simulate_bgnbd};
///
/// let m = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
/// let old = simulate_bgnbd(&m, 2000, 365.0, 90.0, 1);
/// let same = simulate_bgnbd(&m, 2000, 365.0, 90.0, 2);
/// let busier = simulate_bgnbd(&BgNbd { alpha: 5.0, ..m }, 2000, 365.0, 90.0, 3);
/// let fit = TransactionFit::Bgnbd(m);
/// assert!(!drift(&fit, &old, &same).retrain);
/// assert!(drift(&fit, &old, &busier).retrain);
/// ```
pub fn drift(model: &TransactionFit, trained: &[Rfm], fresh: &[Rfm]) -> Drift {
    let stability: Vec<Stability> = FEATURES[..4]
        .iter()
        .map(|(name, f)| {
            let e: Vec<f64> = trained.iter().map(|c| f(model, c, 0.0)).collect();
            let a: Vec<f64> = fresh.iter().map(|c| f(model, c, 0.0)).collect();
            Stability {
                name: (*name).to_owned(),
                psi: psi(&e, &a, DRIFT_BINS),
            }
        })
        .collect();
    Drift::from_stability(stability)
}

/// One sketched feature or prediction of a [`Baseline`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sketched {
    /// `frequency`, `recency`, `T`, `p_alive` or `expected_purchases`.
    pub name: String,
    /// Its distribution among the training customers.
    pub sketch: Sketch,
}

/// What a saved model keeps of the customers it was trained on, for drift checks without the
/// training data: the distributions of frequency, recency, T, P(alive) and the expected
/// purchases in `horizon` as [`Sketch`]es.
///
/// ```
/// use mergetag_predict::{Baseline, BgNbd, TransactionFit, Verdict, simulate_bgnbd};
///
/// let m = BgNbd { r: 0.25, alpha: 30.0, a: 0.8, b: 2.5 };
/// let fit = TransactionFit::Bgnbd(m);
/// let trained = simulate_bgnbd(&m, 3000, 365.0, 90.0, 1);
/// let baseline = Baseline::new(&fit, &trained, 90.0);
/// let same = simulate_bgnbd(&m, 3000, 365.0, 90.0, 2);
/// assert_eq!(baseline.compare(&fit, &same).verdict, Verdict::Stable);
/// let busier = simulate_bgnbd(&BgNbd { alpha: 5.0, ..m }, 3000, 365.0, 90.0, 3);
/// assert_eq!(baseline.compare(&fit, &busier).verdict, Verdict::Retrain);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The customers sketched.
    pub customers: usize,
    /// The horizon of `expected_purchases`, in the model's time units.
    pub horizon: f64,
    /// Per feature and prediction, in the order above.
    pub features: Vec<Sketched>,
}

impl Baseline {
    /// Sketches `customers` and `model`'s predictions for them.
    pub fn new(model: &TransactionFit, customers: &[Rfm], horizon: f64) -> Baseline {
        let features = FEATURES
            .iter()
            .map(|(name, f)| {
                let values: Vec<f64> = customers.iter().map(|c| f(model, c, horizon)).collect();
                Sketched {
                    name: (*name).to_owned(),
                    sketch: Sketch::new(&values, DRIFT_BINS),
                }
            })
            .collect();
        Baseline {
            customers: customers.len(),
            horizon,
            features,
        }
    }

    /// The PSI of each sketched feature and prediction of `fresh` (predictions by `model`)
    /// against the training customers, with the verdict of the PSIs.
    pub fn compare(&self, model: &TransactionFit, fresh: &[Rfm]) -> Drift {
        let stability = self
            .features
            .iter()
            .filter_map(|s| {
                let (_, f) = FEATURES.iter().find(|(n, _)| *n == s.name)?;
                let values: Vec<f64> = fresh.iter().map(|c| f(model, c, self.horizon)).collect();
                Some(Stability {
                    name: s.name.clone(),
                    psi: s.sketch.psi(&values),
                })
            })
            .collect();
        Drift::from_stability(stability)
    }
}

/// A model's forecasts for a holdout window against what happened in it: the model sees
/// each customer's summary at `calibration_end` and predicts the purchases up to
/// `holdout_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldoutCheck {
    /// The last day seen.
    pub calibration_end: NaiveDate,
    /// The last day of the holdout.
    pub holdout_end: NaiveDate,
    /// The customers compared (those with an order by `calibration_end`).
    pub customers: usize,
    /// Total predicted purchases in the holdout.
    pub predicted: f64,
    /// Total actual purchases (periods with an order) in the holdout.
    pub actual: f64,
    /// `predicted / actual` (none without actual purchases).
    pub ratio: Option<f64>,
    /// Mean absolute error per customer.
    pub mean_absolute_error: f64,
    /// Per calibration frequency (`7+` for 7 and more).
    pub buckets: Vec<HoldoutBucket>,
}

impl HoldoutCheck {
    /// The verdict of the ratio ([`Verdict::of_ratio`]); none when there were fewer than
    /// [`MIN_HOLDOUT_PURCHASES`] actual purchases.
    pub fn verdict(&self) -> Option<Verdict> {
        let ratio = self
            .ratio
            .filter(|_| self.actual >= MIN_HOLDOUT_PURCHASES)?;
        Some(Verdict::of_ratio(ratio))
    }
}

/// A drift check of a saved model against the customers now: the stability of features
/// and predictions against its [`Baseline`], its calibration on the latest holdout, and the
/// verdict of both with the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// The model's training window.
    pub trained_from: NaiveDate,
    /// The end of the training window.
    pub trained_to: NaiveDate,
    /// The customers trained on.
    pub trained_customers: usize,
    /// The customers now.
    pub customers: usize,
    /// PSI per feature and prediction (empty when the model has no baseline).
    pub stability: Vec<Stability>,
    /// The saved model's forecasts on the latest holdout (none when not checked).
    pub calibration: Option<HoldoutCheck>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (one line per finding above stable; notes on what could not be checked).
    pub reasons: Vec<String>,
}

impl DriftReport {
    /// The report of `stability` and `calibration`: the worse verdict, with its reasons.
    pub fn new(
        (trained_from, trained_to, trained_customers): (NaiveDate, NaiveDate, usize),
        customers: usize,
        stability: Vec<Stability>,
        calibration: Option<HoldoutCheck>,
    ) -> DriftReport {
        let mut verdict = Verdict::Stable;
        let mut reasons = Vec::new();
        for s in &stability {
            let v = Verdict::of_psi(s.psi);
            if v > Verdict::Stable {
                reasons.push(format!(
                    "{}: PSI {:.3} above {} ({v})",
                    s.name,
                    s.psi,
                    if v == Verdict::Retrain {
                        PSI_RETRAIN
                    } else {
                        PSI_WATCH
                    }
                ));
            }
            verdict = verdict.max(v);
        }
        if let Some(c) = &calibration {
            match (c.verdict(), c.ratio) {
                (Some(v), Some(ratio)) => {
                    if v > Verdict::Stable {
                        let (lo, hi) = if v == Verdict::Retrain {
                            RATIO_RETRAIN
                        } else {
                            RATIO_WATCH
                        };
                        reasons.push(format!(
                            "holdout {} to {}: predicted {:.1} against {:.0} actual purchases (ratio {ratio:.3}, outside {lo} to {hi}; {v})",
                            c.calibration_end, c.holdout_end, c.predicted, c.actual
                        ));
                    }
                    verdict = verdict.max(v);
                }
                _ => reasons.push(format!(
                    "holdout {} to {}: {:.0} actual purchases, fewer than {MIN_HOLDOUT_PURCHASES}: calibration not judged",
                    c.calibration_end, c.holdout_end, c.actual
                )),
            }
        }
        DriftReport {
            trained_from,
            trained_to,
            trained_customers,
            customers,
            stability,
            calibration,
            verdict,
            reasons,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BgNbd, simulate_bgnbd};

    #[test]
    fn a_sketch_gives_the_psi_of_the_values() {
        let m = BgNbd {
            r: 0.25,
            alpha: 30.0,
            a: 0.8,
            b: 2.5,
        };
        let old = simulate_bgnbd(&m, 3000, 365.0, 90.0, 1);
        let new = simulate_bgnbd(&BgNbd { alpha: 10.0, ..m }, 3000, 365.0, 90.0, 2);
        let f = |cs: &[Rfm]| cs.iter().map(|c| c.recency).collect::<Vec<f64>>();
        let direct = {
            // The PSI as it was computed from the raw values.
            let mut e = f(&old);
            e.sort_by(f64::total_cmp);
            let mut edges: Vec<f64> = (1..10).map(|i| e[i * e.len() / 10]).collect();
            edges.dedup();
            let share = |xs: &[f64]| {
                let mut c = vec![0.0; edges.len() + 1];
                for &v in xs {
                    c[edges.partition_point(|&x| x <= v)] += 1.0;
                }
                c.iter()
                    .map(|c| (c / xs.len() as f64).max(1e-4))
                    .collect::<Vec<_>>()
            };
            let (se, sa) = (share(&e), share(&f(&new)));
            se.iter()
                .zip(&sa)
                .map(|(e, a)| (a - e) * (a / e).ln())
                .sum::<f64>()
        };
        let s = Sketch::new(&f(&old), 10);
        assert!((s.psi(&f(&new)) - direct).abs() < 1e-12);
        // It survives JSON.
        let back: Sketch = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(Sketch::new(&[], 10).psi(&[1.0]), 0.0);
        assert_eq!(s.psi(&[f64::NAN]), 0.0);
    }

    #[test]
    fn verdicts_follow_the_documented_thresholds() {
        assert_eq!(Verdict::of_psi(0.05), Verdict::Stable);
        assert_eq!(Verdict::of_psi(0.15), Verdict::Watch);
        assert_eq!(Verdict::of_psi(0.3), Verdict::Retrain);
        assert_eq!(Verdict::of_ratio(1.0), Verdict::Stable);
        assert_eq!(Verdict::of_ratio(0.85), Verdict::Watch);
        assert_eq!(Verdict::of_ratio(1.2), Verdict::Watch);
        assert_eq!(Verdict::of_ratio(0.7), Verdict::Retrain);
        assert_eq!(Verdict::of_ratio(1.3), Verdict::Retrain);
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let check = |predicted: f64, actual: f64| HoldoutCheck {
            calibration_end: day,
            holdout_end: day,
            customers: 100,
            predicted,
            actual,
            ratio: (actual > 0.0).then(|| predicted / actual),
            mean_absolute_error: 0.0,
            buckets: Vec::new(),
        };
        let report = |c| DriftReport::new((day, day, 1), 1, Vec::new(), Some(c));
        assert_eq!(report(check(100.0, 100.0)).verdict, Verdict::Stable);
        let r = report(check(150.0, 100.0));
        assert_eq!(r.verdict, Verdict::Retrain);
        assert!(r.reasons[0].contains("ratio 1.500"), "{:?}", r.reasons);
        // Too few purchases to judge: stable, with a note.
        let r = report(check(15.0, 5.0));
        assert_eq!(r.verdict, Verdict::Stable);
        assert_eq!(r.reasons.len(), 1);
    }
}
