//! K-Means written here rather than taken from linfa-clustering: linfa 0.8 needs its default
//! ten runs, about fifty times scikit-learn's time, to reach the inertia scikit-learn reaches in
//! one. This one follows scikit-learn's algorithm step for step (greedy k-means++ seeding,
//! the relative tolerance, strict convergence on unchanged labels, a last assignment step,
//! empty clusters moved to the farthest points) and prunes the assignment step with Hamerly's
//! bounds, which give the same assignments as plain Lloyd while skipping most distances.
//!
//! Determinism: points are processed in fixed chunks of [`CHUNK`] rows; each chunk's partial
//! sums are combined in chunk order, so the result is the same for any number of threads.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matrix::{Matrix, sq_dist};
use crate::rng::Rng;

/// Rows per unit of parallel work; partial sums are combined in this order.
pub const CHUNK: usize = 4096;

/// How the K-Means iterations are computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansAlgorithm {
    /// Lloyd's iterations with Hamerly's bounds (Hamerly 2010): each point keeps an upper
    /// bound on the distance to its centre and a lower bound on the distance to the second
    /// closest, and is only searched again when the bounds cross. Same partition as Lloyd; the
    /// default.
    #[default]
    Hamerly,
    /// Plain Lloyd: every point against every centre at every iteration (the baseline).
    Lloyd,
    /// Mini-batch K-Means (Sculley 2010) for millions of points: centres move by
    /// per-centre learning rates on seeded random batches; a final full pass assigns every
    /// point. Faster, with a slightly higher inertia.
    MiniBatch,
}

/// The parameters of a K-Means fit. Defaults: 8 clusters, 3 runs of k-means++, at most 300
/// iterations, relative tolerance 1e-4, seed 0, [`KMeansAlgorithm::Hamerly`], batches of 1024
/// points for [`KMeansAlgorithm::MiniBatch`].
///
/// ```
/// use mergetag_segment::{KMeans, Matrix};
///
/// let x = Matrix::from_rows(&[[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])?;
/// let fit = KMeans::new(2).seed(7).fit(&x)?;
/// assert_eq!(fit.labels[0], fit.labels[1]);
/// assert_ne!(fit.labels[0], fit.labels[2]);
/// assert!(fit.converged);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KMeans {
    /// The number of clusters.
    pub k: usize,
    /// Independent seeded runs; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// The most iterations of one run.
    pub max_iter: usize,
    /// Relative tolerance: a run stops when the squared centre shifts sum to at most `tol`
    /// times the mean variance of the features (scikit-learn's rule).
    pub tol: f64,
    /// The seed; run `i` uses a seed derived from it.
    pub seed: u64,
    /// How iterations are computed.
    pub algorithm: KMeansAlgorithm,
    /// Points per batch for [`KMeansAlgorithm::MiniBatch`].
    pub batch_size: usize,
}

impl Default for KMeans {
    fn default() -> KMeans {
        KMeans {
            k: 8,
            n_init: 3,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            algorithm: KMeansAlgorithm::Hamerly,
            batch_size: 1024,
        }
    }
}

/// A fitted K-Means partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansFit {
    /// The centres, one row per cluster.
    pub centroids: Matrix,
    /// Each point's cluster (`0..k`), in input order.
    pub labels: Vec<u32>,
    /// The sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Iterations of the kept run.
    pub iterations: usize,
    /// Whether the kept run converged (labels unchanged, or centre shift within the
    /// tolerance) before `max_iter`.
    pub converged: bool,
    /// The inertia of every run, in run order.
    pub run_inertia: Vec<f64>,
}

impl KMeans {
    /// Parameters with `k` clusters and the other defaults.
    pub fn new(k: usize) -> KMeans {
        KMeans {
            k,
            ..KMeans::default()
        }
    }

    /// Sets the number of runs.
    pub fn n_init(mut self, n: usize) -> KMeans {
        self.n_init = n;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> KMeans {
        self.seed = seed;
        self
    }

    /// Sets the algorithm.
    pub fn algorithm(mut self, a: KMeansAlgorithm) -> KMeans {
        self.algorithm = a;
        self
    }

    /// Sets the most iterations of a run.
    pub fn max_iter(mut self, n: usize) -> KMeans {
        self.max_iter = n;
        self
    }

    /// Sets the relative tolerance.
    pub fn tol(mut self, tol: f64) -> KMeans {
        self.tol = tol;
        self
    }

    /// Checks the parameters against `n` points.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the parameter: `k` of 0 or more than the points, `n_init`,
    /// `max_iter` or `batch_size` of 0, a negative or non-finite `tol`.
    pub fn validate(&self, n: usize) -> Result<()> {
        if self.k == 0 {
            return Err(Error::invalid("k", "must be at least 1"));
        }
        if self.k > n {
            return Err(Error::invalid(
                "k",
                format!(
                    "{} clusters need at least {} points; there are {n}",
                    self.k, self.k
                ),
            ));
        }
        if self.n_init == 0 {
            return Err(Error::invalid("n_init", "must be at least 1"));
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("max_iter", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::invalid("tol", "must be a finite number, 0 or more"));
        }
        Ok(())
    }

    /// Clusters the rows of `x`.
    ///
    /// # Errors
    ///
    /// [`KMeans::validate`]'s errors.
    pub fn fit(&self, x: &Matrix) -> Result<KMeansFit> {
        let n = x.rows();
        self.validate(n)?;
        let tol = self.tol * mean_variance(x);
        let mut best: Option<KMeansFit> = None;
        let mut run_inertia = Vec::with_capacity(self.n_init);
        for run in 0..self.n_init {
            let run_seed = Rng::derive(self.seed, run as u64);
            let mut rng = Rng::new(run_seed);
            let fit = match self.algorithm {
                KMeansAlgorithm::Hamerly | KMeansAlgorithm::Lloyd => {
                    let init = kmeans_plus_plus(x, self.k, run_seed);
                    lloyd(
                        x,
                        init,
                        self.max_iter,
                        tol,
                        self.algorithm == KMeansAlgorithm::Hamerly,
                    )
                }
                KMeansAlgorithm::MiniBatch => self.mini_batch(x, &mut rng, tol),
            };
            run_inertia.push(fit.inertia);
            // Strictly lower: ties keep the earlier run, so the result never depends on luck.
            if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
                best = Some(fit);
            }
        }
        let mut best = best.ok_or_else(|| Error::invalid("n_init", "must be at least 1"))?;
        best.run_inertia = run_inertia;
        Ok(best)
    }

    fn mini_batch(&self, x: &Matrix, rng: &mut Rng, tol: f64) -> KMeansFit {
        let n = x.rows();
        let d = x.cols();
        let k = self.k;
        let batch = self.batch_size.min(n);
        // Seed on a sample of three batches (at least k points), as scikit-learn does.
        let init_n = (3 * batch).max(k).min(n);
        let sample: Vec<usize> = if init_n == n {
            (0..n).collect()
        } else {
            (0..init_n).map(|_| rng.below(n)).collect()
        };
        let sub = x.select(&sample);
        let init = kmeans_plus_plus(&sub, k, rng.next_u64());
        let mut centers = init;
        let mut counts = vec![0.0f64; k];
        let steps = (self.max_iter * n).div_ceil(batch).max(1);
        let mut ewa: Option<f64> = None;
        let mut best_ewa = f64::INFINITY;
        let mut no_improvement = 0;
        let mut iterations = 0;
        let mut converged = false;
        let mut idx = vec![0usize; batch];
        let mut sums = Matrix::zeros(k, d);
        let mut batch_counts = vec![0.0f64; k];
        for step in 0..steps {
            iterations = step + 1;
            for i in idx.iter_mut() {
                *i = rng.below(n);
            }
            sums.as_mut_slice().iter_mut().for_each(|v| *v = 0.0);
            batch_counts.iter_mut().for_each(|c| *c = 0.0);
            let mut batch_inertia = 0.0;
            for &i in &idx {
                let p = x.row(i);
                let (c, dist, _) = nearest_two(p, &centers);
                batch_inertia += dist;
                batch_counts[c] += 1.0;
                for (s, v) in sums.row_mut(c).iter_mut().zip(p) {
                    *s += v;
                }
            }
            let mut shift = 0.0;
            for c in 0..k {
                if batch_counts[c] == 0.0 {
                    continue;
                }
                counts[c] += batch_counts[c];
                let lr = 1.0 / counts[c];
                let bc = batch_counts[c];
                let sum = sums.row(c).to_vec();
                let row = centers.row_mut(c);
                for (cv, sv) in row.iter_mut().zip(&sum) {
                    let new = *cv + lr * (sv - bc * *cv);
                    shift += (new - *cv) * (new - *cv);
                    *cv = new;
                }
            }
            // Early stopping on the smoothed batch inertia, as scikit-learn's
            // max_no_improvement = 10, and on a centre shift within the tolerance.
            let bi = batch_inertia / batch as f64;
            let alpha = (2.0 * batch as f64 / (n as f64 + 1.0)).min(1.0);
            let e = match ewa {
                None => bi,
                Some(prev) => prev * (1.0 - alpha) + bi * alpha,
            };
            ewa = Some(e);
            if tol > 0.0 && shift <= tol && step > 0 {
                converged = true;
                break;
            }
            if e < best_ewa {
                best_ewa = e;
                no_improvement = 0;
            } else {
                no_improvement += 1;
                if no_improvement >= 10 {
                    converged = true;
                    break;
                }
            }
        }
        let (labels, dist) = assign(x, &centers);
        let inertia = chunked_sum(&dist);
        KMeansFit {
            centroids: centers,
            labels,
            inertia,
            iterations,
            converged,
            run_inertia: Vec::new(),
        }
    }
}

/// The mean over features of each feature's variance: the unit of the relative tolerance.
/// One pass of sums and squares shifted by the first row (exact enough for a tolerance).
pub(crate) fn mean_variance(x: &Matrix) -> f64 {
    let n = x.rows();
    let d = x.cols();
    if n == 0 || d == 0 {
        return 0.0;
    }
    let shift = x.row(0);
    let parts: Vec<Vec<f64>> = x
        .as_slice()
        .par_chunks(CHUNK * d)
        .map(|rows| {
            let mut s = vec![0.0; 2 * d];
            for p in rows.chunks_exact(d) {
                for j in 0..d {
                    let v = p[j] - shift[j];
                    s[j] += v;
                    s[d + j] += v * v;
                }
            }
            s
        })
        .collect();
    let mut total = vec![0.0; 2 * d];
    for p in &parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    let nf = n as f64;
    (0..d)
        .map(|j| (total[d + j] / nf - (total[j] / nf).powi(2)).max(0.0))
        .sum::<f64>()
        / d as f64
}

/// Greedy k-means++ (Arthur and Vassilvitskii 2007, with scikit-learn's `2 + ln k` local
/// trials per centre): each new centre is the best of several candidates drawn with
/// probability proportional to the squared distance to the centres chosen so far.
///
/// The draws walk the points in the order of a hash of their values rather than in row
/// order, so that the centres chosen do not depend on the order of the rows (equal rows have
/// equal hashes and are interchangeable).
pub(crate) fn kmeans_plus_plus(x: &Matrix, k: usize, seed: u64) -> Matrix {
    let n = x.rows();
    let d = x.cols().max(1);
    let mut centers = Matrix::zeros(k, x.cols());
    if n == 0 || k == 0 {
        return centers;
    }
    let mut rng = Rng::new(seed);
    let trials = 2 + (k as f64).ln() as usize;
    let mut order: Vec<(u64, u32)> = x
        .as_slice()
        .par_chunks(CHUNK * d)
        .enumerate()
        .flat_map_iter(|(c, rows)| {
            rows.chunks_exact(d)
                .enumerate()
                .map(|(i, p)| (row_hash(p), (c * CHUNK + i) as u32))
                .collect::<Vec<_>>()
        })
        .collect();
    order.par_sort_unstable();
    let first = order[rng.below(n)].1 as usize;
    centers.row_mut(0).copy_from_slice(x.row(first));
    let c0 = x.row(first).to_vec();
    let mut closest: Vec<f64> = par_map_rows(x, |p| sq_dist(p, &c0));
    let mut pot = chunked_sum(&closest);
    let mut cumsum = vec![0.0; n];
    // Per point, the squared distance to each candidate of the current round.
    let mut cand_dist = vec![0.0; n * trials];
    for c in 1..k {
        let mut acc = 0.0;
        for (s, &(_, i)) in cumsum.iter_mut().zip(&order) {
            acc += closest[i as usize];
            *s = acc;
        }
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.next_f64() * pot;
                order[cumsum.partition_point(|&s| s < r).min(n - 1)].1 as usize
            })
            .collect();
        let cand_rows: Vec<Vec<f64>> = candidates.iter().map(|&i| x.row(i).to_vec()).collect();
        // Per chunk, per candidate: the potential if that candidate were chosen.
        let partial: Vec<Vec<f64>> = x
            .as_slice()
            .par_chunks(CHUNK * d)
            .zip(closest.par_chunks(CHUNK))
            .zip(cand_dist.par_chunks_mut(CHUNK * trials))
            .map(|((rows, cl), cd)| {
                let mut pots = vec![0.0; trials];
                for ((p, &best), dists) in rows
                    .chunks_exact(d)
                    .zip(cl)
                    .zip(cd.chunks_exact_mut(trials))
                {
                    for (t, cr) in cand_rows.iter().enumerate() {
                        let v = sq_dist(p, cr).min(best);
                        dists[t] = v;
                        pots[t] += v;
                    }
                }
                pots
            })
            .collect();
        let mut pots = vec![0.0; trials];
        for p in &partial {
            for (a, b) in pots.iter_mut().zip(p) {
                *a += b;
            }
        }
        let mut best_t = 0;
        for t in 1..trials {
            if pots[t] < pots[best_t] {
                best_t = t;
            }
        }
        pot = pots[best_t];
        centers.row_mut(c).copy_from_slice(&cand_rows[best_t]);
        closest
            .par_chunks_mut(CHUNK)
            .zip(cand_dist.par_chunks(CHUNK * trials))
            .for_each(|(cl, cd)| {
                for (b, dists) in cl.iter_mut().zip(cd.chunks_exact(trials)) {
                    *b = dists[best_t];
                }
            });
    }
    centers
}

/// A hash of a row's values (`-0.0` as `0.0`).
fn row_hash(p: &[f64]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for v in p {
        h = mix(h ^ (v + 0.0).to_bits());
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps each row to a value in parallel, in input order.
fn par_map_rows(x: &Matrix, f: impl Fn(&[f64]) -> f64 + Sync) -> Vec<f64> {
    let d = x.cols().max(1);
    x.as_slice()
        .par_chunks(CHUNK * d)
        .flat_map_iter(|rows| rows.chunks_exact(d).map(&f).collect::<Vec<_>>())
        .collect()
}

/// A sum computed per fixed chunk and combined in order: the same bits for any thread count.
pub(crate) fn chunked_sum(v: &[f64]) -> f64 {
    let parts: Vec<f64> = v.par_chunks(CHUNK).map(|c| c.iter().sum::<f64>()).collect();
    parts.iter().sum()
}

/// The nearest centre of `p` (lowest index among equals), its squared distance, and the
/// squared distance to the second nearest (infinite with one centre).
#[inline]
pub(crate) fn nearest_two(p: &[f64], centers: &Matrix) -> (usize, f64, f64) {
    let mut best = 0;
    let mut d1 = f64::INFINITY;
    let mut d2 = f64::INFINITY;
    for (c, row) in centers.iter_rows().enumerate() {
        let dist = sq_dist(p, row);
        if dist < d1 {
            d2 = d1;
            d1 = dist;
            best = c;
        } else if dist < d2 {
            d2 = dist;
        }
    }
    (best, d1, d2)
}

/// Assigns each row of `x` to its nearest centroid (lowest index among equals), in parallel:
/// the labels and the squared distances.
///
/// ```
/// use mergetag_segment::{Matrix, assign};
///
/// let centres = Matrix::from_rows(&[[0.0], [10.0]])?;
/// let x = Matrix::from_rows(&[[1.0], [9.0]])?;
/// let (labels, d) = assign(&x, &centres);
/// assert_eq!(labels, vec![0, 1]);
/// assert_eq!(d, vec![1.0, 1.0]);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
pub fn assign(x: &Matrix, centroids: &Matrix) -> (Vec<u32>, Vec<f64>) {
    let d = x.cols().max(1);
    let pairs: Vec<(u32, f64)> = x
        .as_slice()
        .par_chunks(CHUNK * d)
        .flat_map_iter(|rows| {
            rows.chunks_exact(d)
                .map(|p| {
                    let (c, dist, _) = nearest_two(p, centroids);
                    (c as u32, dist)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    pairs.into_iter().unzip()
}

/// One chunk's contribution to the next centres.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<u64>,
    changed: usize,
}

/// Each point's assignment state between iterations: its centre, and (with bounds) an upper
/// bound on the distance to it and a lower bound on the distance to any other centre.
struct State {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

/// One assignment pass: every point searched (`full`), or only those whose bounds cross.
/// Returns each chunk's sums and counts for the next centres, and how many labels changed.
fn assign_pass(
    x: &Matrix,
    centers: &Matrix,
    st: &mut State,
    full: bool,
    first: bool,
) -> Vec<Partial> {
    let d = x.cols().max(1);
    let k = centers.rows();
    let mut half_gap = vec![0.0f64; k];
    if !full {
        for (c, g) in half_gap.iter_mut().enumerate() {
            let mut m = f64::INFINITY;
            for o in 0..k {
                if o != c {
                    m = m.min(sq_dist(centers.row(c), centers.row(o)));
                }
            }
            *g = 0.5 * m.sqrt();
        }
    }
    let half_gap = &half_gap;
    x.as_slice()
        .par_chunks(CHUNK * d)
        .zip(st.labels.par_chunks_mut(CHUNK))
        .zip(st.upper.par_chunks_mut(CHUNK))
        .zip(st.lower.par_chunks_mut(CHUNK))
        .map(|(((rows, lab), up), lo)| {
            let mut part = Partial {
                sums: vec![0.0; k * d],
                counts: vec![0; k],
                changed: 0,
            };
            for (i, p) in rows.chunks_exact(d).enumerate() {
                let a = lab[i] as usize;
                let mut search = full;
                if !full {
                    let m = half_gap[a].max(lo[i]);
                    if up[i] > m {
                        up[i] = sq_dist(p, centers.row(a)).sqrt();
                        search = up[i] > m;
                    }
                }
                if search {
                    let (c, d1, d2) = nearest_two(p, centers);
                    part.changed += usize::from(c != a || first);
                    lab[i] = c as u32;
                    up[i] = d1.sqrt();
                    lo[i] = d2.sqrt();
                }
                let c = lab[i] as usize;
                part.counts[c] += 1;
                for (s, v) in part.sums[c * d..(c + 1) * d].iter_mut().zip(p) {
                    *s += v;
                }
            }
            part
        })
        .collect()
}

/// Lloyd's iterations from `init`, pruned by Hamerly's bounds when `bounds`; scikit-learn's
/// stopping rules.
pub(crate) fn lloyd(
    x: &Matrix,
    init: Matrix,
    max_iter: usize,
    tol: f64,
    bounds: bool,
) -> KMeansFit {
    let n = x.rows();
    let d = x.cols();
    let k = init.rows();
    let mut centers = init;
    let mut st = State {
        labels: vec![0u32; n],
        upper: vec![0.0f64; n],
        lower: vec![0.0f64; n],
    };
    let mut iterations = 0;
    let mut strict = false;
    let mut converged = false;
    for it in 0..max_iter {
        iterations = it + 1;
        let partials = assign_pass(x, &centers, &mut st, !bounds || it == 0, it == 0);
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0u64; k];
        let mut changed = 0;
        for p in &partials {
            for (a, b) in sums.iter_mut().zip(&p.sums) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&p.counts) {
                *a += b;
            }
            changed += p.changed;
        }
        relocate_empty(x, &centers, &mut st, &mut sums, &mut counts);
        let mut new_centers = Matrix::zeros(k, d);
        for c in 0..k {
            let row = new_centers.row_mut(c);
            if counts[c] == 0 {
                row.copy_from_slice(centers.row(c));
            } else {
                for (r, s) in row.iter_mut().zip(&sums[c * d..(c + 1) * d]) {
                    *r = s / counts[c] as f64;
                }
            }
        }
        let shifts: Vec<f64> = (0..k)
            .map(|c| sq_dist(centers.row(c), new_centers.row(c)).sqrt())
            .collect();
        let shift_tot: f64 = shifts.iter().map(|s| s * s).sum();
        centers = new_centers;
        if bounds {
            move_bounds(&mut st, &shifts);
        }
        if it > 0 && changed == 0 {
            strict = true;
            converged = true;
            break;
        }
        if shift_tot <= tol {
            converged = true;
            break;
        }
    }
    if !strict {
        // The labels of the last centres, as scikit-learn's final assignment step (pruned
        // by the bounds too).
        assign_pass(x, &centers, &mut st, !bounds, false);
    }
    let dist: Vec<f64> = par_map_rows_indexed(x, &st.labels, &centers);
    let inertia = chunked_sum(&dist);
    KMeansFit {
        centroids: centers,
        labels: st.labels,
        inertia,
        iterations,
        converged,
        run_inertia: Vec::new(),
    }
}

/// Hamerly's bound update after the centres moved by `shifts`: the own centre came at most
/// its shift closer, every other at most the largest other shift.
fn move_bounds(st: &mut State, shifts: &[f64]) {
    let (mut m1, mut m2, mut arg) = (0.0f64, 0.0f64, usize::MAX);
    for (c, &s) in shifts.iter().enumerate() {
        if s > m1 {
            m2 = m1;
            m1 = s;
            arg = c;
        } else if s > m2 {
            m2 = s;
        }
    }
    st.labels
        .par_chunks(CHUNK)
        .zip(st.upper.par_chunks_mut(CHUNK))
        .zip(st.lower.par_chunks_mut(CHUNK))
        .for_each(|((lab, up), lo)| {
            for i in 0..lab.len() {
                let a = lab[i] as usize;
                up[i] += shifts[a];
                lo[i] -= if a == arg { m2 } else { m1 };
            }
        });
}

fn par_map_rows_indexed(x: &Matrix, labels: &[u32], centers: &Matrix) -> Vec<f64> {
    let d = x.cols().max(1);
    x.as_slice()
        .par_chunks(CHUNK * d)
        .zip(labels.par_chunks(CHUNK))
        .flat_map_iter(|(rows, lab)| {
            rows.chunks_exact(d)
                .zip(lab)
                .map(|(p, &c)| sq_dist(p, centers.row(c as usize)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Moves each empty cluster to the point farthest from its centre (scikit-learn's rule; ties
/// by the lowest index), taking that point out of its old cluster.
fn relocate_empty(
    x: &Matrix,
    centers: &Matrix,
    st: &mut State,
    sums: &mut [f64],
    counts: &mut [u64],
) {
    let State {
        labels,
        upper,
        lower,
    } = st;
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let d = x.cols();
    let dist = par_map_rows_indexed(x, labels, centers);
    let mut order: Vec<usize> = (0..x.rows()).collect();
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    let mut taken = 0;
    for c in empty {
        // A point whose cluster would become empty is not taken.
        while taken < order.len() && counts[labels[order[taken]] as usize] <= 1 {
            taken += 1;
        }
        let Some(&i) = order.get(taken) else { return };
        taken += 1;
        let old = labels[i] as usize;
        let p = x.row(i);
        for j in 0..d {
            sums[old * d + j] -= p[j];
            sums[c * d + j] = p[j];
        }
        counts[old] -= 1;
        counts[c] = 1;
        labels[i] = c as u32;
        upper[i] = 0.0;
        lower[i] = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Matrix {
        let mut rows = Vec::new();
        let mut rng = Rng::new(3);
        for c in 0..4 {
            for _ in 0..200 {
                rows.push(vec![
                    c as f64 * 10.0 + rng.next_f64(),
                    (c % 2) as f64 * 7.0 + rng.next_f64(),
                ]);
            }
        }
        Matrix::from_rows(&rows).unwrap()
    }

    #[test]
    fn hamerly_matches_lloyd() {
        let x = blobs();
        for seed in 0..5 {
            let h = KMeans::new(4).seed(seed).n_init(1).fit(&x).unwrap();
            let l = KMeans::new(4)
                .seed(seed)
                .n_init(1)
                .algorithm(KMeansAlgorithm::Lloyd)
                .fit(&x)
                .unwrap();
            assert_eq!(h.labels, l.labels);
            assert!((h.inertia - l.inertia).abs() <= 1e-9 * l.inertia);
        }
    }

    #[test]
    fn mini_batch_is_close() {
        let x = blobs();
        let full = KMeans::new(4).fit(&x).unwrap();
        let mb = KMeans::new(4)
            .algorithm(KMeansAlgorithm::MiniBatch)
            .fit(&x)
            .unwrap();
        assert!(
            mb.inertia <= full.inertia * 1.2,
            "{} vs {}",
            mb.inertia,
            full.inertia
        );
    }

    #[test]
    fn bad_parameters_are_errors() {
        let x = blobs();
        assert!(KMeans::new(0).fit(&x).is_err());
        assert!(KMeans::new(10_000).fit(&x).is_err());
        assert!(KMeans::new(2).n_init(0).fit(&x).is_err());
        assert!(KMeans::new(2).tol(f64::NAN).fit(&x).is_err());
        // Every point identical: one centre holds them all, no panic.
        let same = Matrix::from_rows(&[[1.0, 1.0]; 10]).unwrap();
        let fit = KMeans::new(3).fit(&same).unwrap();
        assert_eq!(fit.inertia, 0.0);
    }
}
