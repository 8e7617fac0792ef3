//! [`Matrix`]: points as rows of one contiguous, row-major buffer of `f64`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Points as rows of a dense row-major matrix: `rows()` points of `cols()` features each, in
/// one buffer, so that distance loops run over contiguous memory.
///
/// ```
/// use mergetag_segment::Matrix;
///
/// let m = Matrix::new(2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!((m.rows(), m.cols()), (3, 2));
/// assert_eq!(m.row(1), &[3.0, 4.0]);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MatrixData")]
pub struct Matrix {
    cols: usize,
    data: Vec<f64>,
}

/// The serde form of a [`Matrix`], checked by [`Matrix::new`] when read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixData {
    cols: usize,
    data: Vec<f64>,
}

impl TryFrom<MatrixData> for Matrix {
    type Error = Error;

    fn try_from(m: MatrixData) -> Result<Matrix> {
        Matrix::new(m.cols, m.data)
    }
}

impl Matrix {
    /// A matrix of rows of `cols` values, read from `data` row after row.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when `cols` is 0 and `data` is not empty, when `data`'s length is not
    /// a multiple of `cols`, or when a value is NaN or infinite.
    pub fn new(cols: usize, data: Vec<f64>) -> Result<Matrix> {
        if cols == 0 && !data.is_empty() {
            return Err(Error::invalid(
                "matrix",
                "a matrix with values needs at least one column",
            ));
        }
        if cols != 0 && !data.len().is_multiple_of(cols) {
            return Err(Error::invalid(
                "matrix",
                format!("{} values do not make rows of {cols} columns", data.len()),
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "matrix",
                format!(
                    "row {}, column {}: not a finite number",
                    i / cols + 1,
                    i % cols + 1
                ),
            ));
        }
        Ok(Matrix { cols, data })
    }

    /// A matrix from rows of equal length.
    ///
    /// # Errors
    ///
    /// As [`Matrix::new`], and when rows differ in length.
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Matrix> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(cols * rows.len());
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(Error::invalid(
                    "matrix",
                    format!("row {} has {} values, the first has {cols}", i + 1, r.len()),
                ));
            }
            data.extend_from_slice(r);
        }
        Matrix::new(cols, data)
    }

    /// An empty matrix of `cols` columns.
    pub fn empty(cols: usize) -> Matrix {
        Matrix {
            cols,
            data: Vec::new(),
        }
    }

    pub(crate) fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// The number of rows (points).
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.cols).unwrap_or(0)
    }

    /// The number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row `i`.
    ///
    /// # Panics
    ///
    /// When `i >= self.rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub(crate) fn row_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Every value, row after row.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The rows, in order.
    pub fn iter_rows(&self) -> impl ExactSizeIterator<Item = &[f64]> + '_ {
        self.data.chunks_exact(self.cols.max(1)).take(self.rows())
    }

    /// Appends a row.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when its length is not [`Matrix::cols`] or a value is not finite.
    pub fn push_row(&mut self, row: &[f64]) -> Result<()> {
        if row.len() != self.cols {
            return Err(Error::invalid(
                "matrix",
                format!(
                    "a row of {} values in a matrix of {} columns",
                    row.len(),
                    self.cols
                ),
            ));
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "matrix",
                "a row with a value that is not finite",
            ));
        }
        self.data.extend_from_slice(row);
        Ok(())
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    ///
    /// When an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            cols: self.cols,
            data,
        }
    }
}

/// The squared Euclidean distance between two points of equal length.
#[inline]
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: the loop vectorises, and the order of additions is fixed.
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        for j in 0..4 {
            let d = x[j] - y[j];
            acc[j] += d * d;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        tail += d * d;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_errors() {
        assert!(Matrix::new(0, vec![1.0]).is_err());
        assert!(Matrix::new(2, vec![1.0, 2.0, 3.0]).is_err());
        assert!(Matrix::new(1, vec![f64::NAN]).is_err());
        assert!(Matrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_err());
        let m = Matrix::from_rows(&[[1.0, 2.0], [3.0, 4.0]]).unwrap();
        assert_eq!(m.iter_rows().count(), 2);
        assert_eq!(m.select(&[1]).row(0), &[3.0, 4.0]);
        assert_eq!(Matrix::empty(3).rows(), 0);
        assert_eq!(sq_dist(&[0.0; 5], &[1.0, 1.0, 1.0, 1.0, 2.0]), 8.0);
    }
}
