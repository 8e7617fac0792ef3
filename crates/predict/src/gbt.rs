//! Histogram-based gradient-boosted trees for binary labels (churned, converted), after
//! scikit-learn's `HistGradientBoostingClassifier`: features binned into at most 255
//! quantile bins, trees grown best-first on the log-loss's gradients and Hessians, leaves
//! shrunk by the learning rate and an L2 penalty.
//!
//! Written here rather than taken from a crate: the Rust gradient-boosting crates found
//! (`ferricml`, `hessboost`, `scry-learn`, `anofox-ml-ensemble`, all 0.x and young) would
//! bring `ndarray` or a multi-class framework for one binary model of a few hundred
//! lines, and none promises scikit-learn's binning and growth rules, which the tests
//! compare against. Every step is sequential over rows in input order (features in
//! parallel, each summed alone), so a fit is the same whatever the thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::churn::sigmoid;

use crate::error::{Error, Result};

/// Options of [`Gbt::fit`]; the defaults are scikit-learn's.
///
/// ```
/// use mergetag_predict::GbtOptions;
///
/// let o = GbtOptions::default().learning_rate(0.05).max_iter(200);
/// assert_eq!((o.max_leaf_nodes, o.min_samples_leaf, o.max_bins), (Some(31), 20, 255));
/// assert!(o.early_stopping.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GbtOptions {
    /// The shrinkage of each tree's leaves (default 0.1).
    pub learning_rate: f64,
    /// The most boosting iterations, one tree each (default 100).
    pub max_iter: usize,
    /// The most leaves of a tree (default 31; `None` for no limit).
    pub max_leaf_nodes: Option<usize>,
    /// The deepest a leaf may be, the root at depth 0 (default `None`: no limit).
    pub max_depth: Option<usize>,
    /// The fewest rows in a leaf (default 20).
    pub min_samples_leaf: usize,
    /// The L2 penalty on leaf values (default 0).
    pub l2_regularization: f64,
    /// Bins per feature, 2 to 255 (default 255).
    pub max_bins: usize,
    /// Stop when a held-out part of the rows stops improving (default: off).
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for GbtOptions {
    fn default() -> GbtOptions {
        GbtOptions {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: None,
        }
    }
}

impl GbtOptions {
    /// Sets [`GbtOptions::learning_rate`].
    pub fn learning_rate(mut self, v: f64) -> GbtOptions {
        self.learning_rate = v;
        self
    }

    /// Sets [`GbtOptions::max_iter`].
    pub fn max_iter(mut self, v: usize) -> GbtOptions {
        self.max_iter = v;
        self
    }

    /// Sets [`GbtOptions::max_leaf_nodes`].
    pub fn max_leaf_nodes(mut self, v: Option<usize>) -> GbtOptions {
        self.max_leaf_nodes = v;
        self
    }

    /// Sets [`GbtOptions::max_depth`].
    pub fn max_depth(mut self, v: Option<usize>) -> GbtOptions {
        self.max_depth = v;
        self
    }

    /// Sets [`GbtOptions::min_samples_leaf`].
    pub fn min_samples_leaf(mut self, v: usize) -> GbtOptions {
        self.min_samples_leaf = v;
        self
    }

    /// Sets [`GbtOptions::l2_regularization`].
    pub fn l2_regularization(mut self, v: f64) -> GbtOptions {
        self.l2_regularization = v;
        self
    }

    /// Sets [`GbtOptions::max_bins`].
    pub fn max_bins(mut self, v: usize) -> GbtOptions {
        self.max_bins = v;
        self
    }

    /// Sets [`GbtOptions::early_stopping`].
    pub fn early_stopping(mut self, v: Option<EarlyStopping>) -> GbtOptions {
        self.early_stopping = v;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |path: &str, message: &str| Err(Error::invalid(path, message));
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                "must be a finite number above 0 (0.1 is usual)",
            );
        }
        if !(1..=100_000).contains(&self.max_iter) {
            return bad("max_iter", "must be from 1 to 100000 (100 is usual)");
        }
        if self.max_leaf_nodes.is_some_and(|v| v < 2) {
            return bad("max_leaf_nodes", "must be at least 2, or left out");
        }
        if self.min_samples_leaf == 0 {
            return bad("min_samples_leaf", "must be at least 1");
        }
        if !(self.l2_regularization.is_finite() && self.l2_regularization >= 0.0) {
            return bad("l2_regularization", "must be a finite number at least 0");
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", "must be from 2 to 255");
        }
        if let Some(e) = self.early_stopping {
            if !(2..=1000).contains(&e.validation_every) {
                return bad("early_stopping.validation_every", "must be from 2 to 1000");
            }
            if e.patience == 0 {
                return bad("early_stopping.patience", "must be at least 1");
            }
            if !(e.tolerance.is_finite() && e.tolerance >= 0.0) {
                return bad(
                    "early_stopping.tolerance",
                    "must be a finite number at least 0",
                );
            }
        }
        Ok(())
    }
}

/// Early stopping: every `validation_every`-th row (by position) is held out, and boosting
/// stops when the held-out log-loss has not improved by more than `tolerance` for
/// `patience` iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStopping {
    /// Hold out one row in this many (default 10, scikit-learn's `validation_fraction`
    /// 0.1).
    pub validation_every: usize,
    /// Iterations without improvement before stopping (default 10).
    pub patience: usize,
    /// The smallest improvement that counts (default 1e-7).
    pub tolerance: f64,
}

impl Default for EarlyStopping {
    fn default() -> EarlyStopping {
        EarlyStopping {
            validation_every: 10,
            patience: 10,
            tolerance: 1e-7,
        }
    }
}

/// One node of a [`Tree`]: a split (`left`/`right` index the tree's nodes) or a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// Rows with `x[feature] <= threshold` go to `left`, the others (and values that are not
    /// numbers) to `right`.
    Split {
        /// The feature's position.
        feature: usize,
        /// The largest value sent left.
        threshold: f64,
        /// The left child.
        left: usize,
        /// The right child.
        right: usize,
    },
    /// A leaf adding `value` (already shrunk) to the raw score.
    Leaf {
        /// The leaf's value.
        value: f64,
    },
}

/// One regression tree on the raw (log-odds) score; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The leaf value `x` falls in (0 for a malformed tree).
    pub fn value(&self, x: &[f64]) -> f64 {
        let mut at = 0;
        // A well-formed tree's path is shorter than its node count; the bound keeps a
        // malformed (deserialized) tree from looping.
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(at) {
                Some(Node::Leaf { value }) => return *value,
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let v = x.get(*feature).copied().unwrap_or(f64::NAN);
                    at = if v <= *threshold { *left } else { *right };
                }
                None => return 0.0,
            }
        }
        0.0
    }
}

/// A fitted gradient-boosted tree ensemble: `P(y = 1) = σ(baseline + Σ tree(x))`.
///
/// ```
/// use mergetag_predict::{Gbt, GbtOptions};
///
/// // Positive inside a band of the first feature: no straight line separates it.
/// let x: Vec<Vec<f64>> = (0..400).map(|i| vec![(i % 100) as f64, (i / 100) as f64]).collect();
/// let y: Vec<bool> = x.iter().map(|r| (30.0..70.0).contains(&r[0])).collect();
/// let m = Gbt::fit(&x, &y, &GbtOptions::default())?;
/// assert!(m.predict(&[50.0, 1.0]) > 0.9 && m.predict(&[10.0, 1.0]) < 0.1);
/// assert!(m.predict(&[90.0, 2.0]) < 0.1);
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbt {
    /// The number of features.
    pub features: usize,
    /// The starting raw score: the log-odds of the training labels.
    pub baseline: f64,
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
    /// The options it was fitted with.
    pub options: GbtOptions,
}

/// Per-bin sums of one feature at one node.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

/// A node's histograms: `features * 256` bins.
type Histogram = Vec<Bin>;

/// A candidate split of a growing node.
#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
}

/// A node of a tree being grown.
struct Growing {
    /// The node's index in the tree.
    id: usize,
    /// Its rows: `rows[start..end]`.
    start: usize,
    end: usize,
    depth: usize,
    g: f64,
    h: f64,
    hist: Histogram,
    split: Option<Split>,
}

const BINS: usize = 256;

/// The bin thresholds of one column as scikit-learn finds them: the midpoints of the
/// distinct values when there are at most `max_bins`, else the `max_bins - 1` inner
/// percentiles (the midpoint method), duplicates dropped.
fn thresholds(column: &[f64], max_bins: usize) -> Vec<f64> {
    let mut sorted = column.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut distinct = sorted.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| (w[0] + w[1]) * 0.5).collect();
    }
    let n = sorted.len();
    let mut out: Vec<f64> = Vec::with_capacity(max_bins - 1);
    for k in 1..max_bins {
        let q = k as f64 / max_bins as f64;
        let pos = q * (n - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let v = (sorted[lo.min(n - 1)] + sorted[hi.min(n - 1)]) * 0.5;
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    out
}

/// The bin of `v`: the number of thresholds below it.
fn bin_of(thresholds: &[f64], v: f64) -> u8 {
    thresholds.partition_point(|t| *t < v).min(BINS - 1) as u8
}

struct Grower<'a> {
    binned: &'a [Vec<u8>],
    thresholds: &'a [Vec<f64>],
    g: &'a [f64],
    h: &'a [f64],
    options: &'a GbtOptions,
}

impl Grower<'_> {
    fn histogram(&self, rows: &[u32]) -> Histogram {
        let per_feature: Vec<[Bin; BINS]> = self
            .binned
            .par_iter()
            .map(|col| {
                let mut hist = [Bin::default(); BINS];
                for &r in rows {
                    let r = r as usize;
                    let b = &mut hist[col[r] as usize];
                    b.g += self.g[r];
                    b.h += self.h[r];
                    b.n += 1;
                }
                hist
            })
            .collect();
        per_feature.into_iter().flatten().collect()
    }

    fn best_split(&self, node: &Growing) -> Option<Split> {
        let o = self.options;
        let n = (node.end - node.start) as u32;
        let min_leaf = o.min_samples_leaf.min(u32::MAX as usize) as u32;
        if n < min_leaf.saturating_mul(2) || o.max_depth.is_some_and(|d| node.depth >= d) {
            return None;
        }
        let l2 = o.l2_regularization;
        let score = |g: f64, h: f64| g * g / (h + l2);
        let parent = score(node.g, node.h);
        let mut best: Option<Split> = None;
        for f in 0..self.binned.len() {
            let bins = self.thresholds[f].len() + 1;
            let hist = &node.hist[f * BINS..f * BINS + bins];
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0u32);
            for (b, bin) in hist.iter().enumerate().take(bins - 1) {
                gl += bin.g;
                hl += bin.h;
                nl += bin.n;
                let nr = n - nl;
                if nl < min_leaf {
                    continue;
                }
                if nr < min_leaf {
                    break;
                }
                let (gr, hr) = (node.g - gl, node.h - hl);
                if hl < 1e-3 || hr < 1e-3 {
                    continue;
                }
                let gain = score(gl, hl) + score(gr, hr) - parent;
                if gain > 0.0 && best.is_none_or(|s| gain > s.gain) {
                    best = Some(Split {
                        gain,
                        feature: f,
                        bin: b as u8,
                    });
                }
            }
        }
        best
    }

    fn node(
        &self,
        id: usize,
        rows: &[u32],
        start: usize,
        depth: usize,
        hist: Histogram,
    ) -> Growing {
        let f0 = &hist[..BINS];
        let (g, h) = f0.iter().fold((0.0, 0.0), |(g, h), b| (g + b.g, h + b.h));
        let mut node = Growing {
            id,
            start,
            end: start + rows.len(),
            depth,
            g,
            h,
            hist,
            split: None,
        };
        node.split = self.best_split(&node);
        node
    }

    /// Grows one tree over `rows` (reordered in place); leaf values are shrunk.
    fn grow(&self, rows: &mut [u32], scratch: &mut Vec<u32>) -> Tree {
        let o = self.options;
        let leaf = |g: f64, h: f64| Node::Leaf {
            value: -o.learning_rate * g / (h + o.l2_regularization).max(f64::MIN_POSITIVE),
        };
        let mut nodes = vec![Node::Leaf { value: 0.0 }];
        let root = self.node(0, rows, 0, 0, self.histogram(rows));
        let mut open: Vec<Growing> = Vec::new();
        let mut leaves = 1;
        if root.split.is_some() {
            open.push(root);
        } else {
            nodes[0] = leaf(root.g, root.h);
        }
        let max_leaves = o.max_leaf_nodes.unwrap_or(usize::MAX);
        while !open.is_empty() {
            // The open node of highest gain; ties to the earliest node.
            let mut pick = 0;
            for (i, n) in open.iter().enumerate() {
                let (a, b) = (
                    n.split.map_or(0.0, |s| s.gain),
                    open[pick].split.map_or(0.0, |s| s.gain),
                );
                if a > b || (a == b && n.id < open[pick].id) {
                    pick = i;
                }
            }
            let node = open.swap_remove(pick);
            let Some(split) = node.split else {
                nodes[node.id] = leaf(node.g, node.h);
                continue;
            };
            // Stable partition of the node's rows.
            let col = &self.binned[split.feature];
            let part = &mut rows[node.start..node.end];
            scratch.clear();
            let mut nl = 0;
            for i in 0..part.len() {
                let r = part[i];
                if col[r as usize] <= split.bin {
                    part[nl] = r;
                    nl += 1;
                } else {
                    scratch.push(r);
                }
            }
            part[nl..].copy_from_slice(scratch);
            let (lrows, rrows) = part.split_at(nl);
            // The smaller child's histogram by summing, the other's by subtraction.
            let small_left = lrows.len() <= rrows.len();
            let small = self.histogram(if small_left { lrows } else { rrows });
            let large: Histogram = node
                .hist
                .iter()
                .zip(&small)
                .map(|(p, s)| Bin {
                    g: p.g - s.g,
                    h: p.h - s.h,
                    n: p.n - s.n,
                })
                .collect();
            let (lh, rh) = if small_left {
                (small, large)
            } else {
                (large, small)
            };
            let (lid, rid) = (nodes.len(), nodes.len() + 1);
            nodes.push(Node::Leaf { value: 0.0 });
            nodes.push(Node::Leaf { value: 0.0 });
            nodes[node.id] = Node::Split {
                feature: split.feature,
                threshold: self.thresholds[split.feature][split.bin as usize],
                left: lid,
                right: rid,
            };
            leaves += 1;
            let left = self.node(lid, lrows, node.start, node.depth + 1, lh);
            let right = self.node(rid, rrows, node.start + nl, node.depth + 1, rh);
            for child in [left, right] {
                if child.split.is_some() && leaves < max_leaves {
                    open.push(child);
                } else {
                    nodes[child.id] = leaf(child.g, child.h);
                }
            }
            if leaves >= max_leaves {
                for n in open.drain(..) {
                    nodes[n.id] = leaf(n.g, n.h);
                }
            }
        }
        Tree { nodes }
    }
}

fn log_loss(raw: &[f64], y: &[bool], rows: &[u32]) -> f64 {
    let mut sum = 0.0;
    for &r in rows {
        let s = raw[r as usize];
        sum += s.max(0.0) + (-s.abs()).exp().ln_1p() - if y[r as usize] { s } else { 0.0 };
    }
    sum / rows.len().max(1) as f64
}

impl Gbt {
    /// Fits by gradient boosting on the log-loss.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for options out of range (naming the option); [`Error::Fit`]
    /// without rows, with rows of different lengths or as many rows as labels, or with a
    /// value that is not finite (naming its row and feature).
    pub fn fit(x: &[Vec<f64>], y: &[bool], options: &GbtOptions) -> Result<Gbt> {
        options.validate()?;
        let n = x.len();
        let fail = |m: String| Err(Error::fit("gbt", m));
        let Some(d) = x.first().map(Vec::len) else {
            return fail("no rows".into());
        };
        if d == 0 {
            return fail("rows have no features".into());
        }
        if n != y.len() {
            return fail(format!("{n} rows but {} labels", y.len()));
        }
        if n > u32::MAX as usize {
            return fail("more than 4294967295 rows".into());
        }
        for (i, r) in x.iter().enumerate() {
            if r.len() != d {
                return fail(format!("row {i} has {} features, row 0 has {d}", r.len()));
            }
            if let Some(j) = r.iter().position(|v| !v.is_finite()) {
                return fail(format!("row {i}, feature {j}: not a finite number"));
            }
        }
        let columns: Vec<Vec<f64>> = (0..d).map(|j| x.iter().map(|r| r[j]).collect()).collect();
        let thresholds: Vec<Vec<f64>> = columns
            .par_iter()
            .map(|c| thresholds(c, options.max_bins))
            .collect();
        let binned: Vec<Vec<u8>> = columns
            .par_iter()
            .zip(&thresholds)
            .map(|(c, t)| c.iter().map(|&v| bin_of(t, v)).collect())
            .collect();
        let (mut train, mut valid): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        for i in 0..n as u32 {
            match options.early_stopping {
                Some(e) if (i as usize) % e.validation_every == e.validation_every - 1 => {
                    valid.push(i)
                }
                _ => train.push(i),
            }
        }
        if train.is_empty() {
            return fail("no rows left to train on after holding out the validation rows".into());
        }
        let pos = train.iter().filter(|&&r| y[r as usize]).count() as f64;
        let mean = (pos / train.len() as f64).clamp(1e-15, 1.0 - 1e-15);
        let baseline = (mean / (1.0 - mean)).ln();
        let mut raw = vec![baseline; n];
        let (mut g, mut h) = (vec![0.0; n], vec![0.0; n]);
        let mut trees = Vec::new();
        let mut rows = train.clone();
        let mut scratch = Vec::with_capacity(n);
        let mut history = vec![log_loss(&raw, y, &valid)];
        for _ in 0..options.max_iter {
            for &r in &train {
                let r = r as usize;
                let p = sigmoid(raw[r]);
                g[r] = p - f64::from(u8::from(y[r]));
                h[r] = p * (1.0 - p);
            }
            let grower = Grower {
                binned: &binned,
                thresholds: &thresholds,
                g: &g,
                h: &h,
                options,
            };
            rows.copy_from_slice(&train);
            let tree = grower.grow(&mut rows, &mut scratch);
            for (r, x) in x.iter().enumerate() {
                raw[r] += tree.value(x);
            }
            trees.push(tree);
            if let Some(e) = options.early_stopping
                && !valid.is_empty()
            {
                history.push(log_loss(&raw, y, &valid));
                if history.len() > e.patience {
                    let reference = history[history.len() - e.patience - 1];
                    if history[history.len() - e.patience..]
                        .iter()
                        .all(|&l| l > reference - e.tolerance)
                    {
                        break;
                    }
                }
            }
        }
        Ok(Gbt {
            features: d,
            baseline,
            trees,
            options: *options,
        })
    }

    /// The raw score (log-odds) of `x`.
    pub fn raw(&self, x: &[f64]) -> f64 {
        self.baseline + self.trees.iter().map(|t| t.value(x)).sum::<f64>()
    }

    /// The probability of the positive class for `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.raw(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_midpoints_or_percentiles() {
        assert_eq!(thresholds(&[3.0, 1.0, 2.0, 2.0], 255), vec![1.5, 2.5]);
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let t = thresholds(&many, 4);
        // numpy.percentile(range(1000), [25, 50, 75], method="midpoint")
        assert_eq!(t, vec![249.5, 499.5, 749.5]);
        assert_eq!(bin_of(&t, 249.5), 0);
        assert_eq!(bin_of(&t, 249.6), 1);
        assert_eq!(bin_of(&t, 1e9), 3);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let o = GbtOptions::default();
        assert!(Gbt::fit(&[], &[], &o).is_err());
        assert!(Gbt::fit(&[vec![1.0], vec![1.0, 2.0]], &[true, false], &o).is_err());
        let e = Gbt::fit(&[vec![1.0], vec![f64::NAN]], &[true, false], &o).unwrap_err();
        assert_eq!(e.to_string(), "gbt: row 1, feature 0: not a finite number");
        let e = Gbt::fit(&[vec![1.0]], &[true], &o.max_bins(300)).unwrap_err();
        assert_eq!(e.to_string(), "max_bins: must be from 2 to 255");
        // One class only: a constant, finite prediction.
        let m = Gbt::fit(&[vec![1.0], vec![2.0]], &[true, true], &o).unwrap();
        assert!(m.predict(&[1.5]) > 0.99);
        assert!(m.predict(&[f64::NAN]).is_finite());
    }

    #[test]
    fn leaves_respect_the_limits() {
        let x: Vec<Vec<f64>> = (0..500)
            .map(|i| vec![f64::from(i % 97), f64::from(i % 13)])
            .collect();
        let y: Vec<bool> = (0..500).map(|i| (i * 7919) % 11 < 5).collect();
        let o = GbtOptions::default()
            .max_iter(5)
            .max_leaf_nodes(Some(4))
            .min_samples_leaf(30);
        let m = Gbt::fit(&x, &y, &o).unwrap();
        for t in &m.trees {
            let leaves = t
                .nodes
                .iter()
                .filter(|n| matches!(n, Node::Leaf { .. }))
                .count();
            assert!(leaves <= 4, "{leaves}");
        }
        let o = o.max_leaf_nodes(None).max_depth(Some(1));
        let m = Gbt::fit(&x, &y, &o).unwrap();
        assert!(m.trees.iter().all(|t| t.nodes.len() <= 3));
    }

    #[test]
    fn early_stopping_stops_on_noise() {
        let x: Vec<Vec<f64>> = (0..2000)
            .map(|i| vec![f64::from((i * 31) % 1000)])
            .collect();
        let y: Vec<bool> = (0..2000).map(|i| (i * 7919 + 13) % 17 < 8).collect();
        let o = GbtOptions::default()
            .max_iter(500)
            .early_stopping(Some(EarlyStopping::default()));
        let m = Gbt::fit(&x, &y, &o).unwrap();
        assert!(m.trees.len() < 100, "{}", m.trees.len());
    }
}
