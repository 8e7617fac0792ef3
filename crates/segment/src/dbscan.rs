//! DBSCAN (Ester et al. 1996) over a k-d tree, written here rather than taken from
//! linfa-clustering so that the stage crate carries no ndarray stack and so that memory stays
//! linear: neighbourhoods are queried when needed and never stored (scikit-learn stores every
//! neighbourhood, n times the neighbours, which is what costs its users tens of gigabytes).
//! The expansion visits points in scikit-learn's order, so core points get scikit-learn's
//! labels exactly, cluster numbers included.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kdtree::KdTree;
use crate::kmeans::CHUNK;
use crate::matrix::Matrix;
use crate::rng::Rng;

/// The label of a point in no cluster.
pub const NOISE: i64 = -1;

/// The parameters of DBSCAN: a point with at least `min_samples` points (itself included)
/// within distance `eps` is a core point; clusters are the core points connected through
/// such neighbourhoods, with the non-core points they reach; the rest is noise.
///
/// ```
/// use mergetag_segment::{Dbscan, Matrix, NOISE};
///
/// let x = Matrix::from_rows(&[[0.0], [0.5], [1.0], [10.0], [10.5], [11.0], [50.0]])?;
/// let fit = Dbscan::new(1.0, 2).fit(&x)?;
/// assert_eq!(fit.labels, vec![0, 0, 0, 1, 1, 1, NOISE]);
/// assert_eq!((fit.clusters, fit.noise), (2, 1));
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dbscan {
    /// The neighbourhood radius (Euclidean, in the scaled feature space).
    pub eps: f64,
    /// The points (the point itself included) a neighbourhood needs for a core point.
    pub min_samples: usize,
}

/// A DBSCAN partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbscanFit {
    /// Each point's cluster (`0..clusters`) or [`NOISE`], in input order.
    pub labels: Vec<i64>,
    /// Whether each point is a core point.
    pub core: Vec<bool>,
    /// The number of clusters.
    pub clusters: usize,
    /// The number of noise points.
    pub noise: usize,
}

impl Dbscan {
    /// DBSCAN with radius `eps` and `min_samples`.
    pub fn new(eps: f64, min_samples: usize) -> Dbscan {
        Dbscan { eps, min_samples }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an `eps` that is not a finite positive number, or `min_samples`
    /// of 0.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::invalid("eps", "must be a finite number above 0"));
        }
        if self.min_samples == 0 {
            return Err(Error::invalid("min_samples", "must be at least 1"));
        }
        Ok(())
    }

    /// Clusters the rows of `x`. Memory: the tree (a copy of the points) and a few words per
    /// point; time: one radius query per point, and one more per core point.
    ///
    /// # Errors
    ///
    /// [`Dbscan::validate`]'s errors.
    pub fn fit(&self, x: &Matrix) -> Result<DbscanFit> {
        self.validate()?;
        let tree = KdTree::new(x);
        Ok(self.fit_with(x, &tree))
    }

    /// As [`Dbscan::fit`] with a tree already built over `x`.
    pub(crate) fn fit_with(&self, x: &Matrix, tree: &KdTree) -> DbscanFit {
        let n = x.rows().min(tree.len());
        let d = x.cols().max(1);
        let (eps, min) = (self.eps, self.min_samples);
        let core: Vec<bool> = x.as_slice()[..n * x.cols()]
            .par_chunks(CHUNK * d)
            .flat_map_iter(|rows| {
                rows.chunks_exact(d)
                    .map(|p| tree.count_within(p, eps, min) >= min)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut labels = vec![NOISE; n];
        let mut next = 0i64;
        let mut stack = Vec::new();
        let mut near = Vec::new();
        for start in 0..n {
            if labels[start] != NOISE || !core[start] {
                continue;
            }
            // scikit-learn's dbscan_inner: a depth-first walk from the lowest unlabelled
            // core point, labelling what it reaches and expanding only core points.
            let mut i = start;
            loop {
                if labels[i] == NOISE {
                    labels[i] = next;
                    if core[i] {
                        near.clear();
                        tree.within(x.row(i), eps, &mut near);
                        for &v in &near {
                            if labels[v] == NOISE {
                                stack.push(v);
                            }
                        }
                    }
                }
                match stack.pop() {
                    Some(v) => i = v,
                    None => break,
                }
            }
            next += 1;
        }
        let noise = labels.iter().filter(|&&l| l == NOISE).count();
        DbscanFit {
            labels,
            core,
            clusters: next as usize,
            noise,
        }
    }
}

/// An `eps` read off the k-distance curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpsSuggestion {
    /// The suggested radius: the distance at the curve's knee.
    pub eps: f64,
    /// The k-distances of the sampled points, ascending (at most 200 evenly spaced values).
    pub curve: Vec<f64>,
}

/// Suggests `eps` for `min_samples` from the k-distance curve: for (a seeded sample of at most
/// `sample`) points, the distance to the `min_samples`-th nearest point (itself counted, so
/// the radius at which the point would be core), sorted; the knee is the point of the curve
/// farthest from the chord joining its ends (Kneedle, Satopää et al. 2011). `None` without
/// enough points.
///
/// ```
/// use mergetag_segment::{Matrix, suggest_eps};
///
/// let mut rows = Vec::new();
/// for i in 0..100 {
///     rows.push([(i % 10) as f64 * 0.1, (i / 10) as f64 * 0.1]); // a dense grid
/// }
/// rows.push([50.0, 50.0]); // far away
/// let s = suggest_eps(&Matrix::from_rows(&rows)?, 4, 10_000, 0).unwrap();
/// assert!(s.eps > 0.05 && s.eps < 1.0, "{}", s.eps);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
pub fn suggest_eps(
    x: &Matrix,
    min_samples: usize,
    sample: usize,
    seed: u64,
) -> Option<EpsSuggestion> {
    let n = x.rows();
    if min_samples == 0 || n < min_samples.max(3) {
        return None;
    }
    let tree = KdTree::new(x);
    let mut idx: Vec<usize> = (0..n).collect();
    if n > sample {
        let mut rng = Rng::new(seed);
        for i in 0..sample {
            let j = i + rng.below(n - i);
            idx.swap(i, j);
        }
        idx.truncate(sample);
    }
    let mut kd: Vec<f64> = idx
        .par_iter()
        .map(|&i| {
            tree.nearest(x.row(i), min_samples)
                .last()
                .map_or(0.0, |p| p.0)
        })
        .collect();
    kd.sort_by(f64::total_cmp);
    let m = kd.len();
    let (first, last) = (kd[0], kd[m - 1]);
    let span = last - first;
    let mut knee = m - 1;
    if span > 0.0 {
        let mut best = f64::NEG_INFINITY;
        for (i, &v) in kd.iter().enumerate() {
            // Distance below the chord, both axes scaled to [0, 1].
            let xi = i as f64 / (m - 1) as f64;
            let yi = (v - first) / span;
            let gap = xi - yi;
            if gap > best {
                best = gap;
                knee = i;
            }
        }
    }
    let step = m.div_ceil(200).max(1);
    let curve = kd.iter().step_by(step).copied().collect();
    Some(EpsSuggestion {
        eps: kd[knee],
        curve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_errors() {
        let x = Matrix::from_rows(&[[0.0]]).unwrap();
        assert!(Dbscan::new(0.0, 2).fit(&x).is_err());
        assert!(Dbscan::new(f64::NAN, 2).fit(&x).is_err());
        assert!(Dbscan::new(1.0, 0).fit(&x).is_err());
        let fit = Dbscan::new(1.0, 1).fit(&Matrix::empty(2)).unwrap();
        assert!(fit.labels.is_empty());
    }

    #[test]
    fn border_point_joins_first_cluster() {
        // 0..2 core, 3 is a border point, 4 is noise.
        let x = Matrix::from_rows(&[[0.0], [0.1], [0.2], [1.15], [5.0]]).unwrap();
        let fit = Dbscan::new(1.0, 3).fit(&x).unwrap();
        assert_eq!(fit.labels, vec![0, 0, 0, 0, NOISE]);
        assert_eq!(fit.core, vec![true, true, true, false, false]);
    }
}
