//! How good a partition is: the silhouette (sampled for large data) and the Davies-Bouldin
//! index, and the choice of k by them.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::kmeans::{KMeans, KMeansFit};
use crate::matrix::{Matrix, sq_dist};
use crate::rng::Rng;

/// The default number of points the silhouette is computed on: it costs the square of the
/// points, so larger data are sampled (seeded), as scikit-learn's `sample_size`.
pub const SILHOUETTE_SAMPLE: usize = 10_000;

/// The mean silhouette coefficient of `labels` (noise, a negative label, is left out), on all
/// points when there are at most `sample` clustered points, else on `sample` of them drawn
/// without replacement with `seed`. `None` when fewer than two clusters (or fewer than two
/// points) remain, where the silhouette is undefined.
///
/// ```
/// use mergetag_segment::{Matrix, silhouette};
///
/// let x = Matrix::from_rows(&[[0.0], [1.0], [10.0], [11.0]])?;
/// let s = silhouette(&x, &[0, 0, 1, 1], 10_000, 0).unwrap();
/// // Point 0: a = 1, b = 10.5; point 1: a = 1, b = 9.5; the others mirror them.
/// assert!((s - (9.5 / 10.5 + 8.5 / 9.5) / 2.0).abs() < 1e-12);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
pub fn silhouette(x: &Matrix, labels: &[i64], sample: usize, seed: u64) -> Option<f64> {
    let mut idx: Vec<usize> = (0..x.rows().min(labels.len()))
        .filter(|&i| labels[i] >= 0)
        .collect();
    if idx.len() > sample {
        // A partial Fisher-Yates shuffle: the first `sample` are a uniform sample.
        let mut rng = Rng::new(seed);
        for i in 0..sample {
            let j = i + rng.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx.truncate(sample);
        idx.sort_unstable();
    }
    // Dense cluster numbers for the sample.
    let mut names: Vec<i64> = idx.iter().map(|&i| labels[i]).collect();
    names.sort_unstable();
    names.dedup();
    let k = names.len();
    if k < 2 || idx.len() < 2 {
        return None;
    }
    let lab: Vec<usize> = idx
        .iter()
        .map(|&i| names.binary_search(&labels[i]).unwrap_or(0))
        .collect();
    let mut sizes = vec![0usize; k];
    for &l in &lab {
        sizes[l] += 1;
    }
    let values: Vec<f64> = (0..idx.len())
        .into_par_iter()
        .map(|a| {
            let p = x.row(idx[a]);
            let mut sums = vec![0.0; k];
            for (b, &j) in idx.iter().enumerate() {
                sums[lab[b]] += sq_dist(p, x.row(j)).sqrt();
            }
            let own = lab[a];
            if sizes[own] <= 1 {
                return 0.0;
            }
            let intra = sums[own] / (sizes[own] - 1) as f64;
            let inter = (0..k)
                .filter(|&c| c != own)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = intra.max(inter);
            if m > 0.0 { (inter - intra) / m } else { 0.0 }
        })
        .collect();
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// The Davies-Bouldin index of `labels` (lower is better; noise left out): the mean over
/// clusters of the worst ratio of summed spreads to centre distance. `None` with fewer than
/// two clusters.
///
/// ```
/// use mergetag_segment::{Matrix, davies_bouldin};
///
/// let x = Matrix::from_rows(&[[0.0], [2.0], [10.0], [12.0]])?;
/// assert_eq!(davies_bouldin(&x, &[0, 0, 1, 1]), Some(0.2));
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
pub fn davies_bouldin(x: &Matrix, labels: &[i64]) -> Option<f64> {
    let mut names: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
    names.sort_unstable();
    names.dedup();
    let k = names.len();
    if k < 2 {
        return None;
    }
    let d = x.cols();
    let mut centres = vec![0.0; k * d];
    let mut sizes = vec![0usize; k];
    for (p, &l) in x.iter_rows().zip(labels) {
        if l < 0 {
            continue;
        }
        let c = names.binary_search(&l).unwrap_or(0);
        sizes[c] += 1;
        for (s, v) in centres[c * d..(c + 1) * d].iter_mut().zip(p) {
            *s += v;
        }
    }
    for c in 0..k {
        for v in &mut centres[c * d..(c + 1) * d] {
            *v /= sizes[c].max(1) as f64;
        }
    }
    let mut spread = vec![0.0; k];
    for (p, &l) in x.iter_rows().zip(labels) {
        if l < 0 {
            continue;
        }
        let c = names.binary_search(&l).unwrap_or(0);
        spread[c] += sq_dist(p, &centres[c * d..(c + 1) * d]).sqrt();
    }
    for c in 0..k {
        spread[c] /= sizes[c].max(1) as f64;
    }
    let mut total = 0.0;
    for i in 0..k {
        let mut worst = 0.0f64;
        for j in 0..k {
            if i == j {
                continue;
            }
            let m = sq_dist(&centres[i * d..(i + 1) * d], &centres[j * d..(j + 1) * d]).sqrt();
            // Coinciding centres: scikit-learn treats the distance as infinite.
            let r = if m > 0.0 {
                (spread[i] + spread[j]) / m
            } else {
                0.0
            };
            worst = worst.max(r);
        }
        total += worst;
    }
    Some(total / k as f64)
}

/// The adjusted Rand index of two partitions of the same points (Hubert and Arabie 1985): 1
/// for the same partition whatever the label numbers, about 0 for chance agreement. Labels are
/// compared as they are (noise, `-1`, is one more label). `None` when the lengths differ or
/// there are fewer than two points.
///
/// ```
/// use mergetag_segment::adjusted_rand_index;
///
/// assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 2, 2]), Some(1.0));
/// assert!(adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap() < 0.0);
/// ```
pub fn adjusted_rand_index(a: &[i64], b: &[i64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let mut pairs: std::collections::BTreeMap<(i64, i64), u64> = std::collections::BTreeMap::new();
    let mut ra: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
    let mut rb: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *pairs.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    let c2 = |n: u64| (n as f64) * (n as f64 - 1.0) / 2.0;
    let index: f64 = pairs.values().map(|&n| c2(n)).sum();
    let sa: f64 = ra.values().map(|&n| c2(n)).sum();
    let sb: f64 = rb.values().map(|&n| c2(n)).sum();
    let total = c2(a.len() as u64);
    let expected = sa * sb / total;
    let max = (sa + sb) / 2.0;
    if max == expected {
        // Both partitions trivial (one cluster, or all singletons): identical or not.
        return Some(if sa == sb { 1.0 } else { 0.0 });
    }
    Some((index - expected) / (max - expected))
}

/// The scores of one candidate k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// The number of clusters.
    pub k: usize,
    /// The inertia of the fit.
    pub inertia: f64,
    /// The (sampled) silhouette; higher is better.
    pub silhouette: Option<f64>,
    /// The Davies-Bouldin index; lower is better.
    pub davies_bouldin: Option<f64>,
}

/// Fits `params` for each k in `ks` and keeps the one with the highest silhouette (ties: the
/// lower Davies-Bouldin index, then the smaller k), returning it with every candidate's
/// scores.
///
/// # Errors
///
/// [`KMeans::fit`]'s errors for any k.
pub fn choose_k(
    x: &Matrix,
    params: &KMeans,
    ks: impl IntoIterator<Item = usize>,
    sample: usize,
) -> Result<(KMeansFit, Vec<KScore>)> {
    let mut best: Option<(KMeansFit, KScore)> = None;
    let mut scores = Vec::new();
    for k in ks {
        let fit = KMeans {
            k,
            ..params.clone()
        }
        .fit(x)?;
        let labels: Vec<i64> = fit.labels.iter().map(|&l| i64::from(l)).collect();
        let score = KScore {
            k,
            inertia: fit.inertia,
            silhouette: silhouette(x, &labels, sample, params.seed),
            davies_bouldin: davies_bouldin(x, &labels),
        };
        scores.push(score.clone());
        let better = match &best {
            None => true,
            Some((_, b)) => {
                let (s, bs) = (
                    score.silhouette.unwrap_or(f64::NEG_INFINITY),
                    b.silhouette.unwrap_or(f64::NEG_INFINITY),
                );
                s > bs
                    || (s == bs
                        && score.davies_bouldin.unwrap_or(f64::INFINITY)
                            < b.davies_bouldin.unwrap_or(f64::INFINITY))
            }
        };
        if better {
            best = Some((fit, score));
        }
    }
    match best {
        Some((fit, _)) => Ok((fit, scores)),
        None => Err(crate::Error::invalid("k", "no candidate k to choose from")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_cases_are_none() {
        let x = Matrix::from_rows(&[[0.0], [1.0]]).unwrap();
        assert_eq!(silhouette(&x, &[0, 0], 10, 0), None);
        assert_eq!(silhouette(&x, &[-1, -1], 10, 0), None);
        assert_eq!(davies_bouldin(&x, &[0, 0]), None);
    }

    #[test]
    fn choose_k_finds_three_blobs() {
        let mut rows = Vec::new();
        for c in 0..3 {
            for i in 0..30 {
                rows.push([c as f64 * 20.0 + (i % 5) as f64 * 0.1, (i / 5) as f64 * 0.1]);
            }
        }
        let x = Matrix::from_rows(&rows).unwrap();
        let (fit, scores) = choose_k(&x, &KMeans::new(2), 2..=6, 1000).unwrap();
        assert_eq!(fit.centroids.rows(), 3);
        assert_eq!(scores.len(), 5);
    }
}
