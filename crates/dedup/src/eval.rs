//! Evaluation against known truth: pairwise and blocking precision, recall and F1.

use std::collections::HashMap;

use serde::Serialize;

/// Pairwise quality of a clustering against the true entities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairwiseScores {
    /// Pairs put together that truly belong together.
    pub true_positives: u64,
    /// Pairs put together.
    pub predicted_pairs: u64,
    /// Pairs that truly belong together.
    pub true_pairs: u64,
    /// `true_positives / predicted_pairs` (1 when nothing was predicted).
    pub precision: f64,
    /// `true_positives / true_pairs` (1 when there is nothing to find).
    pub recall: f64,
    /// The harmonic mean of precision and recall.
    pub f1: f64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores predicted clusters against true entity ids, pair by pair: two records form a
/// predicted pair when they share a cluster, a true pair when they share an entity.
///
/// ```
/// use mergetag_dedup::eval::pairwise;
///
/// let s = pairwise(&[0, 0, 1, 2], &[7, 7, 7, 8]);
/// assert_eq!((s.true_positives, s.predicted_pairs, s.true_pairs), (1, 1, 3));
/// assert_eq!(s.precision, 1.0);
/// ```
pub fn pairwise<C: Eq + std::hash::Hash, E: Eq + std::hash::Hash>(
    clusters: &[C],
    entities: &[E],
) -> PairwiseScores {
    let mut cells: HashMap<(&C, &E), u64> = HashMap::new();
    let mut by_cluster: HashMap<&C, u64> = HashMap::new();
    let mut by_entity: HashMap<&E, u64> = HashMap::new();
    for (c, e) in clusters.iter().zip(entities) {
        *cells.entry((c, e)).or_default() += 1;
        *by_cluster.entry(c).or_default() += 1;
        *by_entity.entry(e).or_default() += 1;
    }
    let true_positives = cells.values().map(|&n| pairs(n)).sum();
    let predicted_pairs = by_cluster.values().map(|&n| pairs(n)).sum();
    let true_pairs = by_entity.values().map(|&n| pairs(n)).sum();
    scores(true_positives, predicted_pairs, true_pairs)
}

fn scores(true_positives: u64, predicted_pairs: u64, true_pairs: u64) -> PairwiseScores {
    let precision = if predicted_pairs == 0 {
        1.0
    } else {
        true_positives as f64 / predicted_pairs as f64
    };
    let recall = if true_pairs == 0 {
        1.0
    } else {
        true_positives as f64 / true_pairs as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairwiseScores {
        true_positives,
        predicted_pairs,
        true_pairs,
        precision,
        recall,
        f1,
    }
}

/// The share of true pairs that a set of candidate pairs contains (blocking recall).
pub fn pair_recall<E: Eq + std::hash::Hash>(
    candidates: impl IntoIterator<Item = (usize, usize)>,
    entities: &[E],
) -> f64 {
    let mut by_entity: HashMap<&E, u64> = HashMap::new();
    for e in entities {
        *by_entity.entry(e).or_default() += 1;
    }
    let true_pairs: u64 = by_entity.values().map(|&n| pairs(n)).sum();
    let found = candidates
        .into_iter()
        .filter(|&(a, b)| entities[a] == entities[b])
        .count() as u64;
    if true_pairs == 0 {
        1.0
    } else {
        found as f64 / true_pairs as f64
    }
}

/// Cluster-level quality: how many predicted clusters are exactly a true entity, and how many
/// true entities were recovered exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClusterScores {
    /// Predicted clusters equal to a true entity's set of records.
    pub exact_clusters: u64,
    /// Predicted clusters.
    pub predicted_clusters: u64,
    /// True entities.
    pub true_clusters: u64,
    /// `exact_clusters / predicted_clusters`.
    pub precision: f64,
    /// `exact_clusters / true_clusters`.
    pub recall: f64,
    /// The harmonic mean of precision and recall.
    pub f1: f64,
}

/// Scores predicted clusters against true entities cluster by cluster: a predicted cluster
/// counts only when it holds exactly the records of one entity.
///
/// ```
/// use mergetag_dedup::eval::clusters;
///
/// let s = clusters(&[0, 0, 1, 2], &[7, 7, 8, 8]);
/// assert_eq!((s.exact_clusters, s.predicted_clusters, s.true_clusters), (1, 3, 2));
/// ```
pub fn clusters<C: Eq + std::hash::Hash, E: Eq + std::hash::Hash>(
    predicted: &[C],
    entities: &[E],
) -> ClusterScores {
    let mut cells: HashMap<(&C, &E), u64> = HashMap::new();
    let mut by_cluster: HashMap<&C, u64> = HashMap::new();
    let mut by_entity: HashMap<&E, u64> = HashMap::new();
    for (c, e) in predicted.iter().zip(entities) {
        *cells.entry((c, e)).or_default() += 1;
        *by_cluster.entry(c).or_default() += 1;
        *by_entity.entry(e).or_default() += 1;
    }
    let exact = cells
        .iter()
        .filter(|&(&(c, e), &n)| by_cluster[c] == n && by_entity[e] == n)
        .count() as u64;
    let (p, t) = (by_cluster.len() as u64, by_entity.len() as u64);
    let precision = if p == 0 { 1.0 } else { exact as f64 / p as f64 };
    let recall = if t == 0 { 1.0 } else { exact as f64 / t as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    ClusterScores {
        exact_clusters: exact,
        predicted_clusters: p,
        true_clusters: t,
        precision,
        recall,
        f1,
    }
}

/// Pairwise scores from true pairs instead of entity ids: `predicted` and `truth` are pairs of
/// record indices (either order); a predicted clustering's pairs can be listed with
/// [`cluster_pairs`].
pub fn from_pairs(predicted: &[(usize, usize)], truth: &[(usize, usize)]) -> PairwiseScores {
    let norm = |&(a, b): &(usize, usize)| if a <= b { (a, b) } else { (b, a) };
    let truth: std::collections::HashSet<(usize, usize)> = truth.iter().map(norm).collect();
    let predicted: std::collections::HashSet<(usize, usize)> = predicted.iter().map(norm).collect();
    let tp = predicted.intersection(&truth).count() as u64;
    scores(tp, predicted.len() as u64, truth.len() as u64)
}

/// Every pair of records that share a cluster (quadratic in cluster size; for evaluation).
pub fn cluster_pairs<C: Eq + std::hash::Hash>(clusters: &[C]) -> Vec<(usize, usize)> {
    let mut by: HashMap<&C, Vec<usize>> = HashMap::new();
    for (i, c) in clusters.iter().enumerate() {
        by.entry(c).or_default().push(i);
    }
    let mut out = Vec::new();
    for members in by.values() {
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                out.push((a.min(b), a.max(b)));
            }
        }
    }
    out.sort_unstable();
    out
}
