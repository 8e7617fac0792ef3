//! Numeric scaling, fitted on the training points and kept with the model: [`Scaling`] says
//! which, [`Scaler`] holds what was learnt.

use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;

/// How numeric features are scaled before clustering, so that no feature dominates the
/// distances by its unit alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Values as they are.
    None,
    /// `(x - mean) / standard deviation` (population deviation, as scikit-learn's
    /// `StandardScaler`); the default.
    #[default]
    Standard,
    /// `(x - median) / interquartile range` (scikit-learn's `RobustScaler`): a few extreme
    /// spenders do not squeeze everyone else together.
    Robust,
}

impl Scaling {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scaling::None => "none",
            Scaling::Standard => "standard",
            Scaling::Robust => "robust",
        }
    }

    /// Parses `none`, `standard` or `robust`.
    pub fn parse(s: &str) -> Option<Scaling> {
        match s {
            "none" => Some(Scaling::None),
            "standard" => Some(Scaling::Standard),
            "robust" => Some(Scaling::Robust),
            _ => None,
        }
    }
}

/// A fitted scaling: per column, the centre subtracted and the scale divided by. A column
/// with no spread (a constant) gets scale 1, as scikit-learn does.
///
/// ```
/// use mergetag_segment::{Matrix, Scaler, Scaling};
///
/// let m = Matrix::from_rows(&[[1.0, 10.0], [3.0, 10.0]])?;
/// let s = Scaler::fit(Scaling::Standard, &m);
/// assert_eq!(s.transform(&m).row(0), &[-1.0, 0.0]);
/// assert_eq!(s.inverse_row(&[1.0, 0.0]), vec![3.0, 10.0]);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Which scaling.
    pub scaling: Scaling,
    /// Per column, the value subtracted.
    pub center: Vec<f64>,
    /// Per column, the value divided by (never 0).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Learns `scaling` from the columns of `m`.
    pub fn fit(scaling: Scaling, m: &Matrix) -> Scaler {
        let d = m.cols();
        let n = m.rows();
        let (mut center, mut scale) = (vec![0.0; d], vec![1.0; d]);
        if n > 0 {
            match scaling {
                Scaling::None => {}
                Scaling::Standard => {
                    for j in 0..d {
                        let mean = m.iter_rows().map(|r| r[j]).sum::<f64>() / n as f64;
                        let var =
                            m.iter_rows().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n as f64;
                        center[j] = mean;
                        scale[j] = nonzero(var.sqrt());
                    }
                }
                Scaling::Robust => {
                    let mut col = Vec::with_capacity(n);
                    for j in 0..d {
                        col.clear();
                        col.extend(m.iter_rows().map(|r| r[j]));
                        col.sort_by(f64::total_cmp);
                        center[j] = quantile(&col, 0.5);
                        scale[j] = nonzero(quantile(&col, 0.75) - quantile(&col, 0.25));
                    }
                }
            }
        }
        Scaler {
            scaling,
            center,
            scale,
        }
    }

    /// The identity on `cols` columns.
    pub fn identity(cols: usize) -> Scaler {
        Scaler {
            scaling: Scaling::None,
            center: vec![0.0; cols],
            scale: vec![1.0; cols],
        }
    }

    /// Scales one row in place (a row of another length is left as it is past the columns
    /// the scaler knows).
    pub fn transform_row(&self, row: &mut [f64]) {
        for ((v, c), s) in row.iter_mut().zip(&self.center).zip(&self.scale) {
            *v = (*v - c) / s;
        }
    }

    /// A scaled copy of `m`.
    pub fn transform(&self, m: &Matrix) -> Matrix {
        let mut out = m.clone();
        for i in 0..out.rows() {
            self.transform_row(out.row_mut(i));
        }
        out
    }

    /// A scaled row back in the original units.
    pub fn inverse_row(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(&self.center)
            .zip(&self.scale)
            .map(|((v, c), s)| v * s + c)
            .collect()
    }
}

fn nonzero(s: f64) -> f64 {
    if s.is_finite() && s > f64::EPSILON * 16.0 {
        s
    } else {
        1.0
    }
}

/// The `q` quantile of sorted values, interpolated linearly (numpy's default).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_uses_median_and_iqr() {
        let m = Matrix::from_rows(&[[1.0], [2.0], [3.0], [4.0], [100.0]]).unwrap();
        let s = Scaler::fit(Scaling::Robust, &m);
        assert_eq!(s.center, vec![3.0]);
        assert_eq!(s.scale, vec![2.0]);
        let none = Scaler::fit(Scaling::None, &m);
        assert_eq!(none.transform(&m), m);
        assert_eq!(Scaling::parse("robust"), Some(Scaling::Robust));
        assert_eq!(Scaling::parse("x"), None);
    }

    #[test]
    fn constant_columns_keep_scale_one() {
        let m = Matrix::from_rows(&[[5.0], [5.0]]).unwrap();
        let s = Scaler::fit(Scaling::Standard, &m);
        assert_eq!(s.scale, vec![1.0]);
        assert_eq!(s.transform(&m).row(0), &[0.0]);
    }
}
