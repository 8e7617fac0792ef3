//! Drift: the population stability index (PSI) of features and predictions between the
//! customers a model was trained on and fresh ones, and when that says to retrain.

use serde::{Deserialize, Serialize};

use crate::predictor::TransactionFit;
use crate::summary::Rfm;

/// The population stability index of `actual` against `expected`, over `bins` bins at the
/// quantiles of `expected` (ties merged): `Σ (a - e) ln(a / e)` over the bins' shares, each
/// share at least 1e-4 so that an empty bin counts without an infinity. 0 for identical
/// distributions; by the usual rule of thumb below 0.1 is stable, 0.1 to 0.25 a shift worth
/// watching, above 0.25 a shift to act on. NaN values are left out; 0 when either side is
/// empty.
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
    let mut e: Vec<f64> = expected.iter().copied().filter(|v| !v.is_nan()).collect();
    let a: Vec<f64> = actual.iter().copied().filter(|v| !v.is_nan()).collect();
    if e.is_empty() || a.is_empty() || bins == 0 {
        return 0.0;
    }
    e.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..bins)
        .map(|i| e[(i * e.len() / bins).min(e.len() - 1)])
        .collect();
    edges.dedup();
    let bin = |v: f64| edges.partition_point(|&edge| edge <= v);
    let share = |xs: &[f64]| {
        let mut counts = vec![0.0; edges.len() + 1];
        for &v in xs {
            counts[bin(v)] += 1.0;
        }
        let n = xs.len() as f64;
        counts
            .into_iter()
            .map(|c| (c / n).max(1e-4))
            .collect::<Vec<f64>>()
    };
    let (se, sa) = (share(&e), share(&a));
    se.iter()
        .zip(&sa)
        .map(|(e, a)| (a - e) * (a / e).ln())
        .sum()
}

/// One feature's or prediction's stability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// `frequency`, `recency`, `T` or `p_alive`.
    pub name: String,
    /// Its population stability index.
    pub psi: f64,
}

/// What a drift check found: the PSI of each feature and of P(alive), and whether to
/// retrain (any PSI above 0.25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Per feature and prediction.
    pub stability: Vec<Stability>,
    /// Whether any PSI is above 0.25.
    pub retrain: bool,
}

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
    type Feature = fn(&TransactionFit, &Rfm) -> f64;
    let features: [(&str, Feature); 4] = [
        ("frequency", |_, c| c.frequency),
        ("recency", |_, c| c.recency),
        ("T", |_, c| c.t),
        ("p_alive", |m, c| m.p_alive(c)),
    ];
    let stability: Vec<Stability> = features
        .iter()
        .map(|(name, f)| {
            let e: Vec<f64> = trained.iter().map(|c| f(model, c)).collect();
            let a: Vec<f64> = fresh.iter().map(|c| f(model, c)).collect();
            Stability {
                name: (*name).to_owned(),
                psi: psi(&e, &a, 10),
            }
        })
        .collect();
    let retrain = stability.iter().any(|s| s.psi > 0.25);
    Drift { stability, retrain }
}
