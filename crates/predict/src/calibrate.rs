//! Probability calibration of a classifier's raw scores: Platt's sigmoid and isotonic
//! regression, as scikit-learn's `CalibratedClassifierCV` fits them (on out-of-fold scores,
//! so the calibrator never sees a score of a row its model was trained on).

use serde::{Deserialize, Serialize};

use crate::churn::sigmoid;

use crate::optimize::bfgs;

/// How raw scores become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    /// The model's own probabilities (the default).
    #[default]
    None,
    /// Platt scaling: `σ(a s + b)` of the raw score `s`, fitted by log-loss with Platt's
    /// smoothed targets.
    Sigmoid,
    /// Isotonic regression: a non-decreasing step function of the raw score (pool adjacent
    /// violators), interpolated linearly between steps and clipped at the ends.
    Isotonic,
}

/// A fitted calibration map from raw score to probability.
///
/// ```
/// use mergetag_predict::{Calibration, Calibrator};
///
/// // Scores twice as confident as they should be: Platt's map halves them.
/// let s: Vec<f64> = (0..2000).map(|i| (i % 200) as f64 / 20.0 - 5.0).collect();
/// let y: Vec<bool> = s.iter().enumerate().map(|(i, v)| ((i * 7919) % 1000) as f64 / 1000.0 < 1.0 / (1.0 + (-v / 2.0).exp())).collect();
/// let c = Calibrator::fit(Calibration::Sigmoid, &s, &y).unwrap();
/// let Calibrator::Sigmoid { a, .. } = c else { unreachable!() };
/// assert!((a - 0.5).abs() < 0.1, "{a}");
/// let iso = Calibrator::fit(Calibration::Isotonic, &s, &y).unwrap();
/// assert!(iso.apply(-10.0) <= iso.apply(0.0) && iso.apply(0.0) <= iso.apply(10.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Calibrator {
    /// `σ(a s + b)`.
    Sigmoid {
        /// The slope.
        a: f64,
        /// The intercept.
        b: f64,
    },
    /// Linear interpolation through `(x[i], y[i])` (`x` increasing, `y` non-decreasing),
    /// constant beyond the ends.
    Isotonic {
        /// Score knots.
        x: Vec<f64>,
        /// Probabilities at the knots.
        y: Vec<f64>,
    },
}

impl Calibrator {
    /// Fits `method` to raw `scores` and their labels. `None` for [`Calibration::None`],
    /// without rows, with as many scores as labels, or with a score that is not finite.
    pub fn fit(method: Calibration, scores: &[f64], y: &[bool]) -> Option<Calibrator> {
        if scores.is_empty() || scores.len() != y.len() || scores.iter().any(|v| !v.is_finite()) {
            return None;
        }
        match method {
            Calibration::None => None,
            Calibration::Sigmoid => platt(scores, y),
            Calibration::Isotonic => Some(isotonic(scores, y)),
        }
    }

    /// The calibrated probability of raw score `s` (a score that is not a number gives the
    /// map's value at the low end), clamped to [0, 1] (a map read from a file may hold any
    /// numbers).
    pub fn apply(&self, s: f64) -> f64 {
        self.map(s).clamp(0.0, 1.0)
    }

    fn map(&self, s: f64) -> f64 {
        match self {
            Calibrator::Sigmoid { a, b } => sigmoid(a * s + b),
            Calibrator::Isotonic { x, y } => {
                let (Some(&x0), Some(&y0)) = (x.first(), y.first()) else {
                    return 0.5;
                };
                if s.is_nan() || s <= x0 {
                    return y0;
                }
                let k = x.partition_point(|v| *v < s);
                match (x.get(k), y.get(k)) {
                    (Some(&x1), Some(&y1)) if k > 0 => {
                        let (xa, ya) = (x[k - 1], y[k - 1]);
                        if x1 > xa {
                            ya + (y1 - ya) * (s - xa) / (x1 - xa)
                        } else {
                            y1
                        }
                    }
                    (Some(_), Some(&y1)) => y1,
                    _ => y.last().copied().unwrap_or(0.5),
                }
            }
        }
    }
}

/// Platt's method with his smoothed targets, from `a = 0` and the prior log-odds.
fn platt(s: &[f64], y: &[bool]) -> Option<Calibrator> {
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    let objective = |p: &[f64], g: &mut [f64]| -> f64 {
        let (mut loss, mut ga, mut gb) = (0.0, 0.0, 0.0);
        for (&si, &yi) in s.iter().zip(y) {
            let t = if yi { hi } else { lo };
            let z = p[0] * si + p[1];
            loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z;
            let r = sigmoid(z) - t;
            ga += r * si;
            gb += r;
        }
        g[0] = ga;
        g[1] = gb;
        loss
    };
    let start = [0.0, ((pos + 1.0) / (neg + 1.0)).ln()];
    let m = bfgs(&objective, &start, 1000, 1e-10 * s.len() as f64)?;
    Some(Calibrator::Sigmoid {
        a: m.x[0],
        b: m.x[1],
    })
}

/// Pool adjacent violators over the distinct scores (equal scores pooled first), keeping
/// each step's first and last knot.
fn isotonic(s: &[f64], y: &[bool]) -> Calibrator {
    let mut idx: Vec<usize> = (0..s.len()).collect();
    idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]).then(a.cmp(&b)));
    // Blocks: (first score, last score, label sum, weight).
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
    for &i in &idx {
        let t = f64::from(u8::from(y[i]));
        match blocks.last_mut() {
            Some(b) if b.1 == s[i] => {
                b.2 += t;
                b.3 += 1.0;
            }
            _ => blocks.push((s[i], s[i], t, 1.0)),
        }
    }
    // Each distinct score is a knot; pooling merges runs into steps.
    let knots: Vec<f64> = blocks.iter().map(|b| b.0).collect();
    let mut steps: Vec<(usize, usize, f64, f64)> = Vec::new(); // (first knot, last knot, sum, weight)
    for (k, b) in blocks.iter().enumerate() {
        steps.push((k, k, b.2, b.3));
        while steps.len() > 1 {
            let n = steps.len();
            let (p, q) = (steps[n - 2], steps[n - 1]);
            if p.2 / p.3 >= q.2 / q.3 {
                steps[n - 2] = (p.0, q.1, p.2 + q.2, p.3 + q.3);
                steps.pop();
            } else {
                break;
            }
        }
    }
    let (mut x, mut v) = (Vec::new(), Vec::new());
    for (first, last, sum, w) in steps {
        let mean = sum / w;
        x.push(knots[first]);
        v.push(mean);
        if last != first {
            x.push(knots[last]);
            v.push(mean);
        }
    }
    Calibrator::Isotonic { x, y: v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0];
        let y = [false, true, false, true, true, false];
        let Calibrator::Isotonic { x, y: v } = isotonic(&s, &y) else {
            unreachable!()
        };
        assert_eq!(x, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        // 2 and 3 pool to 1/2; 4 and the two at 5 to 2/3.
        assert_eq!(v, vec![0.0, 0.5, 0.5, 2.0 / 3.0, 2.0 / 3.0]);
        let c = isotonic(&s, &y);
        assert_eq!(c.apply(0.0), 0.0);
        assert_eq!(c.apply(1.5), 0.25);
        assert_eq!(c.apply(3.5), 0.5 + (2.0 / 3.0 - 0.5) / 2.0);
        assert_eq!(c.apply(9.0), 2.0 / 3.0);
        assert_eq!(c.apply(f64::NAN), 0.0);
    }

    #[test]
    fn nothing_to_fit_is_none() {
        assert!(Calibrator::fit(Calibration::Sigmoid, &[], &[]).is_none());
        assert!(Calibrator::fit(Calibration::Isotonic, &[f64::NAN], &[true]).is_none());
        assert!(Calibrator::fit(Calibration::None, &[1.0], &[true]).is_none());
        // One class: Platt's targets still make a finite map.
        let c = Calibrator::fit(Calibration::Sigmoid, &[1.0, 2.0], &[true, true]).unwrap();
        assert!(c.apply(1.5) > 0.5 && c.apply(1.5) < 1.0);
    }
}
