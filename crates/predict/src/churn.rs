//! Supervised churn and propensity: L2-regularized logistic regression over standardized
//! features, with cross-validated AUC, log-loss and Brier score.

use serde::{Deserialize, Serialize};

use crate::optimize::bfgs;

/// A fitted logistic regression: `P(y = 1) = σ(b + Σ w_j (x_j - mean_j) / sd_j)`.
///
/// ```
/// use mergetag_predict::Logistic;
///
/// let x: Vec<Vec<f64>> = (0..200).map(|i| vec![i as f64]).collect();
/// let y: Vec<bool> = (0..200).map(|i| i >= 100).collect();
/// let m = Logistic::fit(&x, &y, 1.0).unwrap();
/// assert!(m.predict(&[150.0]) > 0.9 && m.predict(&[50.0]) < 0.1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// Feature means (the transform kept with the model).
    pub mean: Vec<f64>,
    /// Feature standard deviations (1 where constant).
    pub sd: Vec<f64>,
    /// The weights of the standardized features.
    pub weights: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Logistic {
    /// Fits by maximum likelihood with the L2 penalty `Σ w² / (2 c)` on the weights (not the
    /// intercept), as scikit-learn's `LogisticRegression(C = c)`. `None` without rows, with
    /// rows of different lengths, or with a value that is not finite.
    pub fn fit(x: &[Vec<f64>], y: &[bool], c: f64) -> Option<Logistic> {
        let n = x.len();
        let d = x.first()?.len();
        if n != y.len()
            || x.iter()
                .any(|r| r.len() != d || r.iter().any(|v| !v.is_finite()))
            || c.is_nan()
            || c <= 0.0
        {
            return None;
        }
        let mean: Vec<f64> = (0..d)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
            .collect();
        let sd: Vec<f64> = (0..d)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
                if v > 0.0 { v.sqrt() } else { 1.0 }
            })
            .collect();
        let z: Vec<Vec<f64>> = x
            .iter()
            .map(|r| (0..d).map(|j| (r[j] - mean[j]) / sd[j]).collect())
            .collect();
        let objective = |p: &[f64], g: &mut [f64]| -> f64 {
            g.iter_mut().for_each(|v| *v = 0.0);
            let mut loss = 0.0;
            for (row, &yi) in z.iter().zip(y) {
                let s = p[d] + row.iter().zip(p).map(|(a, b)| a * b).sum::<f64>();
                // log(1 + e^s) - y s, stably.
                loss += s.max(0.0) + (-s.abs()).exp().ln_1p() - if yi { s } else { 0.0 };
                let r = sigmoid(s) - f64::from(u8::from(yi));
                for j in 0..d {
                    g[j] += r * row[j];
                }
                g[d] += r;
            }
            for j in 0..d {
                loss += p[j] * p[j] / (2.0 * c);
                g[j] += p[j] / c;
            }
            loss
        };
        let m = bfgs(&objective, &vec![0.0; d + 1], 1000, 1e-8 * n as f64)?;
        Some(Logistic {
            mean,
            sd,
            weights: m.x[..d].to_vec(),
            intercept: m.x[d],
        })
    }

    /// The raw score (log-odds) of `x`.
    pub fn raw(&self, x: &[f64]) -> f64 {
        self.intercept
            + x.iter()
                .zip(&self.weights)
                .enumerate()
                .map(|(j, (v, w))| {
                    let (m, sd) = (
                        self.mean.get(j).copied().unwrap_or(0.0),
                        self.sd.get(j).copied().unwrap_or(1.0),
                    );
                    w * (v - m) / sd
                })
                .sum::<f64>()
    }

    /// The probability of the positive class for `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.raw(x))
    }
}

/// Scores of predicted probabilities against labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Area under the ROC curve (ties counted half).
    pub auc: f64,
    /// Mean log-loss (probabilities clipped to [1e-15, 1 - 1e-15]).
    pub log_loss: f64,
    /// Mean squared error of the probabilities.
    pub brier: f64,
}

/// AUC, log-loss and Brier score of `p` against `y`.
pub fn scores(p: &[f64], y: &[bool]) -> Scores {
    let n = p.len().min(y.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // Rank-sum AUC with average ranks for ties.
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = r;
        }
        i = j + 1;
    }
    let pos = y[..n].iter().filter(|v| **v).count() as f64;
    let neg = n as f64 - pos;
    let rank_pos: f64 = (0..n).filter(|&k| y[k]).map(|k| ranks[k]).sum();
    let auc = if pos == 0.0 || neg == 0.0 {
        f64::NAN
    } else {
        (rank_pos - pos * (pos + 1.0) / 2.0) / (pos * neg)
    };
    let (mut ll, mut brier) = (0.0, 0.0);
    for k in 0..n {
        let q = p[k].clamp(1e-15, 1.0 - 1e-15);
        let t = f64::from(u8::from(y[k]));
        ll -= t * q.ln() + (1.0 - t) * (1.0 - q).ln();
        brier += (p[k] - t).powi(2);
    }
    Scores {
        auc,
        log_loss: ll / n.max(1) as f64,
        brier: brier / n.max(1) as f64,
    }
}

/// `k`-fold cross-validated scores of [`Logistic`] (fold of row `i`: `i % k`), the
/// out-of-fold probabilities scored together.
pub fn cross_validate(x: &[Vec<f64>], y: &[bool], c: f64, k: usize) -> Option<Scores> {
    let k = k.max(2);
    let mut p = vec![0.0; x.len()];
    for f in 0..k {
        let (mut tx, mut ty) = (Vec::new(), Vec::new());
        for i in (0..x.len()).filter(|i| i % k != f) {
            tx.push(x[i].clone());
            ty.push(y[i]);
        }
        let m = Logistic::fit(&tx, &ty, c)?;
        for i in (0..x.len()).filter(|i| i % k == f) {
            p[i] = m.predict(&x[i]);
        }
    }
    Some(scores(&p, y))
}
