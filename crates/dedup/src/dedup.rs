//! The dedup run: prepare, block, train, score, cluster.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mergetag_model::config::Format;
use mergetag_model::{Record, RecordId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blocking::{PassKeys, pass_specs};
use crate::cluster::{Edge, cluster_by};
use crate::comparison::{ComparisonKind, Prepared, derive_from_names, name_sources};
use crate::config::DedupConfig;
use crate::error::{Error, Result};
use crate::prepare::{column_specs, extract, per_comparison};

/// The most comparisons a configuration may have: a pair's levels are packed 4 bits each into a
/// `u64` pattern for training.
pub const MAX_COMPARISONS: usize = 16;

/// A deduplicator built from a [`DedupConfig`] by [`DedupConfig::build`] (or
/// [`Deduper::new`]); see the crate docs for an example.
#[derive(Debug, Clone)]
pub struct Deduper {
    config: DedupConfig,
}

/// A pair of records judged to be the same person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredPair {
    /// The first record's index in the input (the one with the smaller [`RecordId`]).
    pub a: usize,
    /// The second record's index in the input.
    pub b: usize,
    /// The match weight: log2 of the odds that the pair is a match.
    pub weight: f64,
    /// The match probability, in `[0, 1]`.
    pub probability: f64,
}

/// What one blocking pass did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassReport {
    /// The pass, as `field:transform + ...`.
    pub keys: String,
    /// Records with a complete key.
    pub keyed_records: usize,
    /// Candidate pairs this pass added (not found by an earlier pass).
    pub new_pairs: u64,
    /// Pairs it found that an earlier pass had found already.
    pub repeated_pairs: u64,
    /// The sizes of its largest blocks, largest first (at most five).
    pub largest_blocks: Vec<usize>,
    /// Blocks over the size cap, skipped.
    pub oversized_blocks: usize,
    /// Records in those skipped blocks.
    pub oversized_records: usize,
}

/// What blocking did, pass by pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockingReport {
    /// Each pass.
    pub passes: Vec<PassReport>,
    /// All candidate pairs, each counted once.
    pub candidate_pairs: u64,
    /// The pairs an exhaustive comparison would make: `n (n - 1) / 2`.
    pub all_pairs: u64,
}

impl BlockingReport {
    /// The share of all pairs that blocking spared from comparison.
    pub fn reduction_ratio(&self) -> f64 {
        if self.all_pairs == 0 {
            return 1.0;
        }
        1.0 - self.candidate_pairs as f64 / self.all_pairs as f64
    }
}

/// The trained Fellegi-Sunter model: per comparison and level, how often matches (`m`) and
/// non-matches (`u`) are at that level, and the resulting weight.
///
/// Save it as JSON after training and load it in production runs
/// ([`Deduper::run_with_model`]) so they score with the same weights; or write one by hand to
/// supply weights instead of training. Scoring uses `prior`, each level's `weight`, and the `m`
/// of exact levels that are term-frequency adjusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    /// The prior probability that two records picked at random match: the odds every pair's
    /// weight starts from.
    pub prior: f64,
    /// The share of matches among the candidate pairs, as estimated during training.
    pub candidate_prior: f64,
    /// Per comparison.
    pub comparisons: Vec<ComparisonModel>,
    /// The EM iterations run.
    pub iterations: usize,
    /// Whether EM converged (parameters changed by less than 1e-6) before the iteration limit.
    pub converged: bool,
}

impl TrainedModel {
    /// Checks that this model fits a configuration: one comparison per configured comparison,
    /// same fields, same number of levels, and finite weights.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the first mismatch by its key path in the model
    /// (`comparisons`, `prior`, `comparisons[2]`, `comparisons[2].levels`).
    pub fn check(&self, config: &DedupConfig) -> Result<()> {
        if self.comparisons.len() != config.comparisons.len() {
            return Err(Error::invalid(
                "comparisons",
                format!(
                    "the model has {} comparisons but the configuration {}; train a model for this configuration",
                    self.comparisons.len(),
                    config.comparisons.len()
                ),
            ));
        }
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return Err(Error::invalid(
                "prior",
                format!(
                    "model prior {} is not a probability strictly between 0 and 1; retrain the model",
                    self.prior
                ),
            ));
        }
        for (i, (m, c)) in self.comparisons.iter().zip(&config.comparisons).enumerate() {
            if m.field != c.field || m.levels.len() != c.kind.levels().len() {
                return Err(Error::invalid(
                    format!("comparisons[{i}]"),
                    format!(
                        "model comparison `{}` with {} levels does not fit configured comparison `{}` ({} levels); train a model for this configuration",
                        m.field,
                        m.levels.len(),
                        c.field,
                        c.kind.levels().len()
                    ),
                ));
            }
            if m.levels
                .iter()
                .any(|l| !(l.weight.is_finite() && l.m > 0.0 && l.m <= 1.0))
            {
                return Err(Error::invalid(
                    format!("comparisons[{i}].levels"),
                    format!(
                        "model comparison `{}` has a weight that is not finite or an m outside (0, 1]; retrain the model",
                        m.field
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parses a model from JSON (as saved after training) and checks it against `config`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for malformed JSON (origin `<model json>`), then the errors of
    /// [`TrainedModel::check`].
    pub fn from_json_str(text: &str, config: &DedupConfig) -> Result<TrainedModel> {
        let model: TrainedModel = mergetag_model::config::load(text, "<model json>", Format::Json)?;
        model.check(config)?;
        Ok(model)
    }
}

/// The model of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonModel {
    /// The field.
    pub field: String,
    /// Whether exact agreement is weighted by the value's frequency instead of the level's
    /// weight.
    #[serde(default)]
    pub term_frequency: bool,
    /// Per level (after `null`): name, m, u and weight `log2(m / u)`.
    pub levels: Vec<LevelModel>,
}

/// One level of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelModel {
    /// The level's name.
    pub name: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
    /// log2(m / u).
    pub weight: f64,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct DedupResult {
    /// The pairs at or above the threshold, ordered by `(a, b)` record ids.
    pub matches: Vec<ScoredPair>,
    /// The cluster of each input record: `clusters[i]` for `records[i]`. Cluster ids are
    /// numbered from 0 in the order of their smallest record id, so they do not depend on
    /// input order.
    pub clusters: Vec<u32>,
    /// The number of clusters.
    pub cluster_count: usize,
    /// Matches not followed because they would have joined two groups of records that the
    /// other scored pairs between them say are different people (see
    /// [`DedupConfig::guard_bridges`]).
    pub refused_bridges: u64,
    /// What blocking did.
    pub blocking: BlockingReport,
    /// The trained model.
    pub model: TrainedModel,
    /// The pairwise precision, recall and F1 the model expects, without labels.
    pub quality: QualityEstimate,
    /// The blocking passes chosen from the data, when the configuration had none
    /// ([`Deduper::choose_blocking`]).
    pub chosen_blocking: Option<crate::analysis::ChosenBlocking>,
    /// How long each phase took. Wall-clock times are not data: they are left out when the
    /// result is serialized, so the same input still gives the same output.
    #[serde(skip)]
    pub timings: DedupTimings,
}

/// Wall-clock time of each phase of a [`Deduper`] run, to see where the time goes
/// (`mergetag dedup --timings` prints them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DedupTimings {
    /// Choosing blocking passes from the data, when the configuration had none.
    pub choose_blocking: Duration,
    /// Preparing the records: folding, phonetic codes and blocking keys per field.
    pub prepare: Duration,
    /// Generating the candidate pairs of every blocking pass.
    pub blocking: Duration,
    /// Comparing the candidate pairs field by field (their level patterns).
    pub comparing: Duration,
    /// Estimating u and training m by EM.
    pub training: Duration,
    /// Scoring the pairs and clustering the matches.
    pub scoring: Duration,
}

impl DedupTimings {
    /// The sum of the phases.
    pub fn total(&self) -> Duration {
        self.choose_blocking
            + self.prepare
            + self.blocking
            + self.comparing
            + self.training
            + self.scoring
    }
}

/// Pairwise quality estimated from the model alone, with no labels: each candidate pair's
/// match probability is the model's belief that it is a match, so at a threshold `t` the
/// expected true positives are the sum of the probabilities at or above `t`, and the expected
/// matches the sum over all candidate pairs. Recall is among the candidate pairs: matches that
/// blocking never compared are the blocking analysis's to estimate
/// ([`Deduper::blocking_analysis`]). The estimates are as good as the model's calibration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityEstimate {
    /// The expected number of matching pairs among the candidate pairs.
    pub expected_matches: f64,
    /// The estimates at the configured threshold.
    pub at_threshold: ThresholdEstimate,
    /// The threshold (a candidate pair's probability) with the highest expected F1.
    pub best: ThresholdEstimate,
    /// The estimates at the thresholds 0.5, 0.8, 0.9, 0.95, 0.99, 0.999 and 0.9999.
    pub curve: Vec<ThresholdEstimate>,
}

/// Expected pairwise quality at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ThresholdEstimate {
    /// The match probability at or above which pairs are linked.
    pub threshold: f64,
    /// The candidate pairs at or above it.
    pub pairs: u64,
    /// Expected precision.
    pub precision: f64,
    /// Expected recall among the candidate pairs.
    pub recall: f64,
    /// Their harmonic mean.
    pub f1: f64,
}

impl QualityEstimate {
    /// The estimates for candidate pairs with these match probabilities (any order) and the
    /// configured threshold.
    pub fn from_probabilities(probabilities: &[f64], threshold: f64) -> QualityEstimate {
        let p = probabilities
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        QualityEstimate::from_values(p, threshold)
    }

    /// The estimates for candidate pairs with these match weights.
    pub(crate) fn from_weights(weights: &[f64], threshold: f64) -> QualityEstimate {
        let p = weights
            .par_iter()
            .map(|&w| probability(w))
            .filter(|x| x.is_finite())
            .collect();
        QualityEstimate::from_values(p, threshold)
    }

    /// The estimates from finite probabilities, sorted here in place: one scan from the
    /// highest down keeps the running sum, so no second array of prefix sums is needed (on a
    /// million records, each such array is 40 MB).
    fn from_values(mut p: Vec<f64>, threshold: f64) -> QualityEstimate {
        const CURVE: [f64; 7] = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999];
        // Equal keys are equal bits, so any sort gives the same array.
        p.par_sort_unstable_by(|a, b| b.total_cmp(a));
        let expected: f64 = p.iter().sum();
        let estimate = |k: usize, tp: f64, t: f64| {
            let precision = if k == 0 { 1.0 } else { tp / k as f64 };
            let recall = if expected > 0.0 { tp / expected } else { 1.0 };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ThresholdEstimate {
                threshold: t,
                pairs: k as u64,
                precision,
                recall,
                f1,
            }
        };
        // The thresholds asked for (the configured one first, then the curve), each with the
        // number of pairs at or above it: always the end of a run of equal probabilities.
        let thresholds: Vec<f64> = std::iter::once(threshold).chain(CURVE).collect();
        let counts: Vec<usize> = thresholds
            .iter()
            .map(|&t| p.partition_point(|&x| x >= t))
            .collect();
        let mut wanted: Vec<(usize, usize)> =
            counts.iter().enumerate().map(|(i, &k)| (k, i)).collect();
        wanted.sort_unstable();
        let mut sums = vec![0.0; thresholds.len()];
        let mut next = 0;
        let mut take = |k: usize, sum: f64| {
            while let Some(&(at, i)) = wanted.get(next)
                && at == k
            {
                sums[i] = sum;
                next += 1;
            }
        };
        take(0, 0.0);
        // The best run end: the first that reaches the highest expected F1.
        let mut best: Option<ThresholdEstimate> = None;
        let (mut k, mut sum) = (0, 0.0);
        while k < p.len() {
            // All pairs tied at this probability go together.
            let t = p[k];
            while k < p.len() && p[k] >= t {
                sum += p[k];
                k += 1;
            }
            take(k, sum);
            let e = estimate(k, sum, t);
            if best.is_none_or(|b| e.f1 > b.f1) {
                best = Some(e);
            }
        }
        let at: Vec<ThresholdEstimate> = thresholds
            .iter()
            .zip(&counts)
            .zip(&sums)
            .map(|((&t, &k), &tp)| estimate(k, tp, t))
            .collect();
        let at_threshold = at[0];
        QualityEstimate {
            expected_matches: expected,
            at_threshold,
            best: match best {
                Some(b) if b.f1 > at_threshold.f1 => b,
                _ => at_threshold,
            },
            curve: at[1..].to_vec(),
        }
    }
}

/// A link between a record of the left dataset and one of the right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// The index in the left dataset.
    pub left: usize,
    /// The index in the right dataset.
    pub right: usize,
    /// The match weight.
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
}

/// The result of [`Deduper::link`].
#[derive(Debug, Clone, Serialize)]
pub struct LinkResult {
    /// The links at or above the threshold, ordered by left then right index.
    pub links: Vec<Link>,
    /// What blocking did (cross pairs only).
    pub blocking: BlockingReport,
    /// The trained model.
    pub model: TrainedModel,
}

/// One field's contribution to a pair's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEvidence {
    /// The field.
    pub field: String,
    /// The level (`null` when either value is missing).
    pub level: String,
    /// Its weight (0 for `null`).
    pub weight: f64,
}

/// Why two records match or not: each field's level and weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The prior weight: log2 of the odds that two random records match.
    pub prior: f64,
    /// Per comparison.
    pub fields: Vec<FieldEvidence>,
    /// The prior weight plus every field's weight.
    pub weight: f64,
    /// The match probability.
    pub probability: f64,
}

/// A deterministic generator for the random pair sample (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Records prepared for comparison: every compared field folded into a compact column, in
/// record-id order. Made by [`Deduper::prepare`]; comparing two prepared records allocates
/// nothing.
#[derive(Debug)]
pub struct PreparedRecords {
    /// Sorted position -> input index.
    pub(crate) order: Vec<usize>,
    /// Input index -> sorted position.
    position: Vec<u32>,
    pub(crate) prepared: Vec<Prepared>,
    /// Blocking keys per pass, in sorted order (0 = no key).
    pub(crate) keys: Vec<PassKeys>,
    /// For linkage: whether each sorted position comes from the left dataset.
    left: Option<Vec<bool>>,
}

type Run = PreparedRecords;

impl PreparedRecords {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The comparison levels of input records `a` and `b`, packed 4 bits per comparison in
    /// configuration order (0 = a value is missing, then the kind's levels from 1).
    ///
    /// # Panics
    ///
    /// When `a` or `b` is not an index of the prepared records.
    pub fn compare(&self, a: usize, b: usize) -> u64 {
        self.levels(self.position[a] as usize, self.position[b] as usize)
    }

    pub(crate) fn levels(&self, i: usize, j: usize) -> u64 {
        let mut pattern = 0u64;
        for (c, p) in self.prepared.iter().enumerate() {
            pattern |= u64::from(p.level(i, j)) << (4 * c);
        }
        pattern
    }
}

impl PreparedRecords {
    /// The level patterns of many pairs of sorted positions, in their order, computed in
    /// parallel.
    ///
    /// Comparing two records reads a dozen places in memory (each column's offsets, then its
    /// text), and in a large file the second record of a candidate pair (or both, for a random
    /// pair) is nowhere near the cache: measured on a million records, nine tenths of
    /// [`PreparedRecords::levels`]' time was waiting on those loads, one after another, since
    /// each comparison's branches depend on the text it loaded. So each batch of pairs is
    /// compared in three passes: the first loads every offset and per-record entry of every
    /// pair, the second the text they point to, the third compares. The loads of the first two
    /// passes depend on nothing but the pair, so the processor keeps many in flight at once.
    pub(crate) fn levels_of<P: Copy + Send + Sync>(
        &self,
        pairs: &[P],
        at: impl Fn(P) -> (usize, usize) + Send + Sync,
    ) -> Vec<u64> {
        const BATCH: usize = 32;
        let mut out = vec![0u64; pairs.len()];
        out.par_chunks_mut(BATCH)
            .zip(pairs.par_chunks(BATCH))
            .with_min_len(64)
            .for_each(|(out, pairs)| {
                let mut warm = 0u32;
                for &p in pairs {
                    let (i, j) = at(p);
                    for prep in &self.prepared {
                        warm ^= prep.touch_offsets(i) ^ prep.touch_offsets(j);
                    }
                }
                for &p in pairs {
                    let (i, j) = at(p);
                    for prep in &self.prepared {
                        warm ^= prep.touch_text(i) ^ prep.touch_text(j);
                    }
                }
                std::hint::black_box(warm);
                for (o, &p) in out.iter_mut().zip(pairs) {
                    let (i, j) = at(p);
                    *o = self.levels(i, j);
                }
            });
        out
    }
}

pub(crate) fn level_of(pattern: u64, c: usize) -> usize {
    ((pattern >> (4 * c)) & 0xF) as usize
}

impl Deduper {
    /// A deduplicator for this configuration, taking it by value; the same as
    /// [`DedupConfig::build`].
    ///
    /// # Errors
    ///
    /// Those of [`DedupConfig::validate`] (which checks everything a deduplicator needs,
    /// the limit of [`MAX_COMPARISONS`] included).
    pub fn new(config: DedupConfig) -> Result<Deduper> {
        config.validate()?;
        Ok(Deduper { config })
    }

    /// The configuration.
    pub fn config(&self) -> &DedupConfig {
        &self.config
    }

    /// Prepares records for comparison (the first step of [`Deduper::run`]).
    pub fn prepare(&self, records: &[Record]) -> PreparedRecords {
        let mut order: Vec<usize> = (0..records.len()).collect();
        // Record-id order makes everything after this independent of input order.
        order.par_sort_by(|&a, &b| records[a].id.cmp(&records[b].id).then(a.cmp(&b)));
        let specs = column_specs(&self.config);
        let passes = pass_specs(&self.config);
        // Extracted in sorted order: the columns and keys need no reordering (a copy of each)
        // afterwards.
        let sorted: Vec<&Record> = order.iter().map(|&i| &records[i]).collect();
        let (columns, keys) = extract(&sorted, &specs, &passes);
        drop(sorted);
        let mut prepared: Vec<Prepared> = per_comparison(&self.config, columns)
            .into_iter()
            .map(|(c, main, swap)| Prepared::new(c, main.unwrap_or_default(), swap))
            .collect();
        derive_from_names(&mut prepared, &name_sources(&self.config.comparisons));
        let mut position = vec![0u32; order.len()];
        for (pos, &i) in order.iter().enumerate() {
            position[i] = pos as u32;
        }
        PreparedRecords {
            order,
            position,
            prepared,
            keys,
            left: None,
        }
    }

    /// Candidate pairs (positions in record-id order, `a < b`, sorted, unique) and the blocking
    /// report.
    pub(crate) fn block(&self, run: &Run) -> (Vec<(u32, u32)>, BlockingReport) {
        let n = run.order.len();
        // Every hashed key vector in pass order: a pair sharing a key in an earlier one was
        // found already, so it is not emitted again (no set of pairs is kept).
        let slots: Vec<&Vec<u64>> = run.keys.iter().flat_map(|k| k.hashed.iter()).collect();
        let seen_before = |upto: usize, a: u32, b: u32| {
            slots[..upto]
                .iter()
                .any(|q| q[a as usize] != 0 && q[a as usize] == q[b as usize])
        };
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut passes = Vec::new();
        let mut slot = 0;
        for (p, pass_keys) in run.keys.iter().enumerate() {
            let pass = &self.config.blocking[p];
            let mut report = PassReport {
                keys: pass.label(),
                keyed_records: 0,
                new_pairs: 0,
                repeated_pairs: 0,
                largest_blocks: Vec::new(),
                oversized_blocks: 0,
                oversized_records: 0,
            };
            let mut emit = |a: u32, b: u32, upto: usize, report: &mut PassReport| {
                let (a, b) = if a < b { (a, b) } else { (b, a) };
                // Linkage compares across the two datasets only.
                if let Some(left) = &run.left
                    && left[a as usize] == left[b as usize]
                {
                    return;
                }
                if seen_before(upto, a, b) {
                    report.repeated_pairs += 1;
                } else {
                    report.new_pairs += 1;
                    pairs.push((a, b));
                }
            };
            if let Some(sort) = &pass_keys.sort {
                // Sorted neighbourhood: each record with the next `window - 1` in key order.
                let window = pass.window.unwrap_or(2);
                let mut idx: Vec<u32> = (0..n as u32)
                    .filter(|&i| !sort.get(i as usize).is_empty())
                    .collect();
                idx.par_sort_unstable_by(|&x, &y| {
                    sort.get(x as usize)
                        .cmp(sort.get(y as usize))
                        .then(x.cmp(&y))
                });
                report.keyed_records = idx.len();
                for (k, &x) in idx.iter().enumerate() {
                    for &y in idx.iter().skip(k + 1).take(window - 1) {
                        emit(x, y, slot, &mut report);
                    }
                }
                report.largest_blocks = vec![window.min(idx.len())];
            }
            // The five largest blocks, largest first.
            let mut sizes: Vec<usize> = Vec::new();
            for band in &pass_keys.hashed {
                // Keys beside their records, sorted: no lookup into the key array per
                // comparison of the sort.
                let mut idx: Vec<(u64, u32)> = band
                    .iter()
                    .zip(0..n as u32)
                    .filter(|(k, _)| **k != 0)
                    .map(|(&k, i)| (k, i))
                    .collect();
                idx.par_sort_unstable();
                report.keyed_records = report.keyed_records.max(idx.len());
                for block in idx.chunk_by(|x, y| x.0 == y.0) {
                    let at = sizes.partition_point(|&s| s >= block.len());
                    if at < 5 {
                        sizes.insert(at, block.len());
                        sizes.truncate(5);
                    }
                    if block.len() > self.config.max_block_size {
                        report.oversized_blocks += 1;
                        report.oversized_records += block.len();
                        continue;
                    }
                    for (k, &(_, x)) in block.iter().enumerate() {
                        for &(_, y) in &block[k + 1..] {
                            emit(x, y, slot, &mut report);
                        }
                    }
                }
                slot += 1;
            }
            if !sizes.is_empty() {
                report.largest_blocks = sizes;
            }
            passes.push(report);
        }
        // Sorted-neighbourhood passes cannot tell cheaply whether an earlier window had a pair;
        // the few repeats they make go here.
        pairs.par_sort_unstable();
        pairs.dedup();
        // Growing by doubling can leave almost as much again unused: give it back.
        pairs.shrink_to_fit();
        let all_pairs = match &run.left {
            Some(left) => {
                let l = left.iter().filter(|&&x| x).count() as u64;
                l * (n as u64 - l)
            }
            None => (n as u64) * (n as u64).saturating_sub(1) / 2,
        };
        let report = BlockingReport {
            passes,
            candidate_pairs: pairs.len() as u64,
            all_pairs,
        };
        (pairs, report)
    }

    /// u probabilities: how often two records that are not the same person meet at each
    /// level, among pairs where both values are present.
    ///
    /// The exact level of every kind that agrees on equal folded text is counted, not sampled:
    /// two random records share a value with probability `sum c(c - 1) / (N (N - 1))` over the
    /// value counts `c` (`sum cL cR / (NL NR)` when linking), which is exact at any size and
    /// costs a sort. The other levels come from a seeded sample of random pairs, drawn in
    /// rounds that double (from 20,000) until every level has been seen 400 times, or at
    /// least 100 times and moved by less than 0.05 bits in the last round, or fewer than 30
    /// times (a rare level keeps its add-one smoothed estimate); or until the sample reaches
    /// `4 n` pairs (at least 20,000) or `random_pairs`. So a small
    /// file is not charged a million pairs, and a large one stops once the estimates settle.
    fn estimate_u(&self, run: &Run) -> (Vec<Vec<f64>>, Vec<ExactCounts>) {
        const FIRST_ROUND: u64 = 20_000;
        const SAMPLE_RUN: u64 = 64;
        const LARGE: u64 = 1 << 16;
        const SETTLED: f64 = 0.05;
        let n = run.order.len() as u64;
        let mut counts: Vec<Vec<u64>> = self
            .config
            .comparisons
            .iter()
            .map(|c| vec![0; c.kind.levels().len() + 1])
            .collect();
        // For linkage, random pairs are drawn across the two datasets.
        let sides: Option<(Vec<usize>, Vec<usize>)> = run.left.as_ref().map(|left| {
            let (l, r): (Vec<usize>, Vec<usize>) = (0..left.len()).partition(|&i| left[i]);
            (l, r)
        });
        let all = match &sides {
            Some((l, r)) => (l.len() * r.len()) as u64,
            None => n * n.saturating_sub(1) / 2,
        };
        let cap = (self.config.random_pairs as u64)
            .min(n.saturating_mul(4).max(FIRST_ROUND))
            .min(all);
        let smoothed = |counts: &[Vec<u64>]| -> Vec<Vec<f64>> {
            counts
                .iter()
                .map(|row| {
                    let total: u64 = row[1..].iter().sum();
                    let k = (row.len() - 1) as f64;
                    row.iter()
                        .map(|&c| (c as f64 + 1.0) / (total as f64 + k))
                        .collect()
                })
                .collect()
        };
        let mut rng = SplitMix(self.config.seed ^ 0x6D65_7267_6574_6167);
        let mut drawn = 0u64;
        let mut round = FIRST_ROUND.min(cap);
        let mut before: Option<Vec<Vec<f64>>> = None;
        while drawn < cap && round > 0 {
            let take = round.min(cap - drawn);
            // In a large file pairs come in runs: a random record on each side, then the next
            // ones on both (wrapping), `(a + k, b + k)`. Every pair is still uniform over all
            // pairs (each side's start is), but a run reads its records one after another
            // instead of from anywhere in memory: on a million records, drawn one by one, this
            // sample cost more than comparing all the candidate pairs, nearly all of it waiting
            // on memory. Below 65,536 records (which mostly fit in cache, and where a few
            // hundred pairs in runs would be a lumpy sample) pairs are drawn one by one.
            let run_len = if n >= LARGE { SAMPLE_RUN } else { 1 };
            let mut pairs: Vec<(usize, usize)> = Vec::with_capacity(take as usize);
            while (pairs.len() as u64) < take {
                let left = take - pairs.len() as u64;
                match &sides {
                    Some((l, r)) => {
                        let (nl, nr) = (l.len() as u64, r.len() as u64);
                        let (x, y) = (rng.below(nl), rng.below(nr));
                        for k in 0..run_len.min(nl).min(nr).min(left) {
                            pairs.push((l[((x + k) % nl) as usize], r[((y + k) % nr) as usize]));
                        }
                    }
                    None => {
                        let a = rng.below(n);
                        let b = rng.below(n);
                        if a == b {
                            continue;
                        }
                        for k in 0..run_len.min(n).min(left) {
                            pairs.push((((a + k) % n) as usize, ((b + k) % n) as usize));
                        }
                    }
                }
            }
            let patterns = run.levels_of(&pairs, |p| p);
            for p in patterns {
                for (c, row) in counts.iter_mut().enumerate() {
                    row[level_of(p, c)] += 1;
                }
            }
            drawn += take;
            let now = smoothed(&counts);
            // Settled: every sampled level either moved by less than SETTLED bits in the last
            // round or has been seen often enough that its estimate is within about that
            // (400 sightings: a standard error of 0.07 bits), or is too rare yet to matter.
            let settled = before.as_ref().is_some_and(|old| {
                now.iter().zip(old).zip(&counts).all(|((new, old), seen)| {
                    (2..new.len()).all(|l| {
                        seen[l] < 30
                            || seen[l] >= 400
                            || (seen[l] >= 100 && (new[l].log2() - old[l].log2()).abs() < SETTLED)
                    })
                })
            });
            if settled {
                break;
            }
            before = Some(now);
            round = drawn;
        }
        let mut u = smoothed(&counts);
        let mut exact_counts = Vec::with_capacity(u.len());
        for (c, conf) in self.config.comparisons.iter().enumerate() {
            let counted = if matches!(conf.kind, ComparisonKind::Numeric | ComparisonKind::Geo) {
                None
            } else {
                exact_agreement(&run.prepared[c], run.left.as_deref())
            };
            if let Some((same, total)) = counted {
                // Add-one smoothed like the sampled levels: a file of two records says little.
                let k = (u[c].len() - 1) as f64;
                set_exact(&mut u[c], (same + 1.0) / (total + k));
            }
            exact_counts.push(counted);
        }
        for row in &mut u {
            row[0] = 1.0;
        }
        (u, exact_counts)
    }

    /// For each email comparison that checks names: a seeded sample of pairs of records whose
    /// names agree exactly (both emails present), drawn uniformly among all such pairs. Its
    /// `name_local_part` level's u is estimated on them: among people who share a name, how
    /// often do two different ones hold the same name-built local part?
    fn same_name_pairs(&self, run: &Run) -> Vec<(usize, Vec<(u32, u32)>)> {
        use std::hash::{Hash, Hasher};
        const SAMPLE: u64 = 50_000;
        let sources = name_sources(&self.config.comparisons);
        let mut out = Vec::new();
        for (c, source) in sources.iter().enumerate() {
            let Some((given, family)) = *source else {
                continue;
            };
            let names: Vec<&Prepared> = [given, family]
                .into_iter()
                .flatten()
                .filter_map(|k| run.prepared.get(k))
                .collect();
            let email = &run.prepared[c];
            let n = email.value_count();
            let mut keyed: Vec<(u64, u32)> = (0..n)
                .into_par_iter()
                .filter(|&i| {
                    !email.value(i).is_empty()
                        && names
                            .iter()
                            .all(|p| i < p.value_count() && !p.value(i).is_empty())
                })
                .map(|i| {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    for p in &names {
                        p.value(i).hash(&mut h);
                    }
                    (h.finish(), i as u32)
                })
                .collect();
            keyed.par_sort_unstable();
            // Groups of two or more, with the running count of pairs before each.
            let mut groups: Vec<(&[(u64, u32)], u64)> = Vec::new();
            let mut total = 0u64;
            for g in keyed.chunk_by(|x, y| x.0 == y.0) {
                if g.len() >= 2 {
                    groups.push((g, total));
                    let k = g.len() as u64;
                    total += k * (k - 1) / 2;
                }
            }
            let mut pairs = Vec::new();
            if total <= SAMPLE {
                for (g, _) in &groups {
                    for (a, x) in g.iter().enumerate() {
                        for y in &g[a + 1..] {
                            pairs.push((x.1, y.1));
                        }
                    }
                }
            } else {
                let mut rng = SplitMix(self.config.seed ^ 0x6E61_6D65_6C6F_6361 ^ c as u64);
                for _ in 0..SAMPLE {
                    let t = rng.below(total);
                    let k = groups.partition_point(|g| g.1 <= t).saturating_sub(1);
                    let g = groups[k].0;
                    let len = g.len() as u64;
                    let a = rng.below(len);
                    let mut b = rng.below(len - 1);
                    if b >= a {
                        b += 1;
                    }
                    pairs.push((g[a as usize].1, g[b as usize].1));
                }
            }
            out.push((c, pairs));
        }
        out
    }

    /// Sets the u of each checked email comparison's `name_local_part` level from its
    /// same-name pairs: the share at that level, each pair weighted by the chance that it is
    /// not a match under `model` (all 1 without one), add-one smoothed.
    fn condition_u(
        &self,
        run: &Run,
        samples: &[(usize, Vec<(u32, u32)>)],
        u: &mut [Vec<f64>],
        model: Option<&TrainedModel>,
    ) {
        const NAME_LOCAL_PART: usize = 3;
        let tables = model.map(Tables::new);
        for (c, pairs) in samples {
            // Weights in parallel, summed in order: the same bits whatever the thread count.
            let weighted: Vec<(f64, f64)> = pairs
                .par_iter()
                .map(|&(i, j)| {
                    let (i, j) = (i as usize, j as usize);
                    let pattern = run.levels(i, j);
                    let level = level_of(pattern, *c);
                    if level == 0 {
                        return (0.0, 0.0);
                    }
                    let w = tables
                        .as_ref()
                        .map_or(1.0, |t| 1.0 - probability(run.weight(t, i, j, pattern)));
                    (if level == NAME_LOCAL_PART { w } else { 0.0 }, w)
                })
                .collect();
            let (hit, total) = weighted
                .iter()
                .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
            if let Some(row) = u.get_mut(*c) {
                let k = (row.len() - 1) as f64;
                if let Some(x) = row.get_mut(NAME_LOCAL_PART) {
                    *x = (hit + 1.0) / (total + k);
                }
            }
        }
    }

    /// Fellegi-Sunter m probabilities and prior by expectation-maximisation over the candidate
    /// pairs' level patterns (u fixed from random pairs).
    ///
    /// Each pattern comes with the comparisons its pairs were blocked on (a bit each, see
    /// `blocked_comparisons`): a pair found only because its streets are equal says nothing
    /// about how often matches' streets are equal, and scored on it the many different people
    /// who share a street in a large file look like matches. So those comparisons are left out
    /// of the pair's E-step and of their m's M-step, as Splink leaves a blocking rule's fields
    /// out of the session it trains.
    fn train(&self, patterns: &[(u64, u16, u64)], u: &[Vec<f64>]) -> (Vec<Vec<f64>>, f64, usize) {
        let kinds: Vec<ComparisonKind> = self.config.comparisons.iter().map(|c| c.kind).collect();
        // Start: matches mostly agree exactly, and the rest of the mass falls off by level.
        let mut m: Vec<Vec<f64>> = kinds
            .iter()
            .map(|k| {
                let l = k.levels().len();
                let mut row = vec![1.0; l + 1];
                let mut rest = 0.1;
                row[1] = 0.9;
                for x in row.iter_mut().skip(2) {
                    rest /= 2.0;
                    *x = rest;
                }
                let sum: f64 = row[1..].iter().sum();
                for x in row.iter_mut().skip(1) {
                    *x /= sum;
                }
                row
            })
            .collect();
        // A weak Dirichlet prior toward the starting m, so a level that no candidate pair shows
        // (a one-digit phone typo in data that has none) keeps a plausible m instead of
        // collapsing to zero and turning positive evidence into a veto.
        let total_pairs: f64 = patterns.iter().map(|&(_, _, n)| n as f64).sum();
        let alpha = (total_pairs * 1e-3).max(1.0);
        let m0 = m.clone();
        let mut prior = 0.1;
        let mut iterations = 0;
        for _ in 0..self.config.em_iterations {
            iterations += 1;
            let mut num: Vec<Vec<f64>> = m.iter().map(|r| vec![0.0; r.len()]).collect();
            let mut total = 0.0;
            let mut count = 0.0;
            for &(pattern, blocked, n) in patterns {
                let (mut pm, mut pu) = (prior, 1.0 - prior);
                for c in 0..m.len() {
                    let l = level_of(pattern, c);
                    if l > 0 && blocked & (1 << c) == 0 {
                        pm *= m[c][l];
                        pu *= u[c][l];
                    }
                }
                let w = if pm + pu > 0.0 { pm / (pm + pu) } else { 0.0 };
                let n = n as f64;
                total += w * n;
                count += n;
                for (c, row) in num.iter_mut().enumerate() {
                    if blocked & (1 << c) == 0 {
                        row[level_of(pattern, c)] += w * n;
                    }
                }
            }
            let new_prior = if count > 0.0 {
                (total / count).clamp(1e-6, 1.0 - 1e-6)
            } else {
                prior
            };
            let mut change = (new_prior - prior).abs();
            prior = new_prior;
            for (c, row) in num.iter().enumerate() {
                let denom: f64 = row[1..].iter().sum::<f64>() + alpha;
                for l in 1..row.len() {
                    let v = ((row[l] + alpha * m0[c][l]) / denom).max(1e-12);
                    change = change.max((v - m[c][l]).abs());
                    m[c][l] = v;
                }
            }
            if change < 1e-6 {
                break;
            }
        }
        (m, prior, iterations)
    }

    /// Blocking alone, before any scoring: the report and the candidate pairs as input indices
    /// (`a` has the smaller record id), for choosing passes and measuring blocking recall.
    pub fn analyze_blocking(&self, records: &[Record]) -> (BlockingReport, Vec<(usize, usize)>) {
        let run = self.prepare(records);
        let (pairs, report) = self.block(&run);
        let pairs = pairs
            .into_iter()
            .map(|(a, b)| (run.order[a as usize], run.order[b as usize]))
            .collect();
        (report, pairs)
    }

    /// Runs the whole deduplication of `records`: blocking, training, scoring and clustering.
    ///
    /// The result does not depend on the order of `records` nor on the number of threads.
    ///
    /// With no blocking passes configured, they are chosen from the data first
    /// ([`Deduper::choose_blocking`]) and the choice is in [`DedupResult::chosen_blocking`].
    pub fn run(&self, records: &[Record]) -> DedupResult {
        let start = Instant::now();
        if let Some((deduper, chosen)) = self.with_chosen_blocking(records) {
            let choose_blocking = start.elapsed();
            let mut result = deduper.run(records);
            result.chosen_blocking = Some(chosen);
            result.timings.choose_blocking = choose_blocking;
            return result;
        }
        let prepared = self.prepare(records);
        let prepare = start.elapsed();
        let mut result = self.run_prepared(&prepared);
        result.timings.prepare = prepare;
        result
    }

    /// For a configuration without passes: a deduplicator with passes chosen from `records`.
    fn with_chosen_blocking(
        &self,
        records: &[Record],
    ) -> Option<(Deduper, crate::analysis::ChosenBlocking)> {
        if !self.config.blocking.is_empty() || records.len() < 2 {
            return None;
        }
        let chosen = self.choose_blocking(records);
        let mut config = self.config.clone();
        config.blocking = chosen.passes.clone();
        if config.blocking.is_empty() {
            return None;
        }
        Deduper::new(config).ok().map(|d| (d, chosen))
    }

    /// Runs the deduplication of records prepared by [`Deduper::prepare`]; keep the prepared
    /// records to [explain](Deduper::explain) pairs afterwards.
    pub fn run_prepared(&self, run: &PreparedRecords) -> DedupResult {
        let mut clock = Instant::now();
        let mut lap = || {
            let now = Instant::now();
            let took = now - clock;
            clock = now;
            took
        };
        let (pairs, blocking) = self.block(run);
        let blocking_time = lap();
        let patterns_per_pair = run.levels_of(&pairs, |(a, b)| (a as usize, b as usize));
        let comparing = lap();
        let model = self.train_on(run, &pairs, &patterns_per_pair, &blocking);
        let training = lap();
        let mut result = self.score_and_cluster(run, pairs, patterns_per_pair, blocking, model);
        result.timings = DedupTimings {
            blocking: blocking_time,
            comparing,
            training,
            scoring: lap(),
            ..DedupTimings::default()
        };
        result
    }

    /// Runs the deduplication with a model trained earlier (or weights written by hand) instead
    /// of training: production runs score with the weights that were reviewed.
    ///
    /// The model's `candidate_prior` (the share of matches among candidate pairs) is scaled to
    /// this run's number of candidate and possible pairs, so a model trained on a sample applies
    /// to the full data.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the model does not fit this configuration
    /// ([`TrainedModel::check`]).
    pub fn run_with_model(
        &self,
        run: &PreparedRecords,
        model: &TrainedModel,
    ) -> Result<DedupResult> {
        self.score_with(run, model, true)
    }

    /// Runs the deduplication with a model exactly as given, its `prior` included (unlike
    /// [`Deduper::run_with_model`], which rescales the prior to this run's blocking). This is
    /// how a [`MatchIndex`](crate::index::MatchIndex) scores, so a batch run with this method
    /// and the same model gives the clusters the index reaches record by record.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the model does not fit this configuration
    /// ([`TrainedModel::check`]).
    pub fn run_with_fixed_model(
        &self,
        run: &PreparedRecords,
        model: &TrainedModel,
    ) -> Result<DedupResult> {
        self.score_with(run, model, false)
    }

    /// Blocks, then scores and clusters with `model`; with `rescale_prior`, its prior is scaled
    /// to this run's candidate and possible pairs first.
    fn score_with(
        &self,
        run: &PreparedRecords,
        model: &TrainedModel,
        rescale_prior: bool,
    ) -> Result<DedupResult> {
        model.check(&self.config)?;
        let (pairs, blocking) = self.block(run);
        let patterns_per_pair = run.levels_of(&pairs, |(a, b)| (a as usize, b as usize));
        let mut model = model.clone();
        if rescale_prior {
            model.prior = global_prior(model.candidate_prior, &blocking);
        }
        Ok(self.score_and_cluster(run, pairs, patterns_per_pair, blocking, model))
    }

    /// For each candidate pair, the comparisons (a bit each) whose fields every pass that finds
    /// the pair keys on: without their agreement the pair would not be a candidate. A pair
    /// found by the email pass and by the street pass blocks neither (each pass finds it
    /// without the other's field). Sorted-neighbourhood passes, which need no agreement, block
    /// none.
    fn blocked_comparisons(&self, run: &PreparedRecords, pairs: &[(u32, u32)]) -> Vec<u16> {
        // Per hashed key slot (in pass order): the comparisons of its pass's fields.
        let mut slots: Vec<(&Vec<u64>, u16)> = Vec::new();
        for (pass, keys) in self.config.blocking.iter().zip(&run.keys) {
            let mask = self
                .config
                .comparisons
                .iter()
                .enumerate()
                .filter(|(_, c)| pass.keys.iter().any(|k| k.field == c.field))
                .fold(0u16, |m, (i, _)| m | (1 << i));
            for band in &keys.hashed {
                slots.push((band, mask));
            }
        }
        pairs
            .par_iter()
            .map(|&(a, b)| {
                let (a, b) = (a as usize, b as usize);
                slots
                    .iter()
                    .filter(|(band, _)| band[a] != 0 && band[a] == band[b])
                    .map(|&(_, mask)| mask)
                    .reduce(|x, y| x & y)
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Trains a model on the candidate pairs' level patterns.
    fn train_on(
        &self,
        run: &PreparedRecords,
        pairs: &[(u32, u32)],
        patterns_per_pair: &[u64],
        blocking: &BlockingReport,
    ) -> TrainedModel {
        let masks = self.blocked_comparisons(run, pairs);
        let mut counts: HashMap<(u64, u16), u64> = HashMap::new();
        for (&p, &mask) in patterns_per_pair.iter().zip(&masks) {
            *counts.entry((p, mask)).or_default() += 1;
        }
        let mut masked: Vec<(u64, u16, u64)> =
            counts.into_iter().map(|((p, k), n)| (p, k, n)).collect();
        masked.sort_unstable();
        let mut by_pattern: HashMap<u64, u64> = HashMap::new();
        for &(p, _, n) in &masked {
            *by_pattern.entry(p).or_default() += n;
        }
        let mut patterns: Vec<(u64, u64)> = by_pattern.into_iter().collect();
        patterns.sort_unstable();
        let (mut u, exact_counts) = self.estimate_u(run);
        let samples = self.same_name_pairs(run);
        self.condition_u(run, &samples, &mut u, None);
        let (m, prior, iterations) = self.train(&masked, &u);
        let model = self.model_of(&m, &u, prior, iterations, blocking);
        // Pairs of one person's records agree as matches do, yet were counted among all
        // pairs: negligible in a large file, not in a small one. One round removes the
        // likely matches among the candidates from the exact-level counts, and (same-name pairs
        // include the duplicates of people with rare names) weights each same-name pair by
        // the first model's chance that it is not a match; then training runs again.
        // The pairs to take out are the candidate pairs at the exact level, each weighed by
        // the first model's probability that it is a match (from its pattern: term
        // frequencies aside). A subtraction of expected counts instead (matches times m) is
        // the difference of two large numbers, and in a million records it left u near zero.
        let tables = Tables::new(&model);
        let posterior: Vec<f64> = patterns
            .iter()
            .map(|&(p, _)| {
                let w = (0..self.config.comparisons.len()).fold(tables.prior, |w, c| {
                    w + tables
                        .weights
                        .get(c)
                        .and_then(|row| row.get(level_of(p, c)))
                        .copied()
                        .unwrap_or(0.0)
                });
                probability(w)
            })
            .collect();
        for (c, counted) in exact_counts.iter().enumerate() {
            if let Some((same, total)) = *counted {
                let agreeing_matches: f64 = patterns
                    .iter()
                    .zip(&posterior)
                    .filter(|((p, _), _)| level_of(*p, c) == 1)
                    .map(|((_, n), q)| *n as f64 * q)
                    .sum();
                let k = (u[c].len() - 1) as f64;
                let exact = ((same - agreeing_matches).max(0.0) + 1.0) / (total + k);
                set_exact(&mut u[c], exact);
            }
        }
        self.condition_u(run, &samples, &mut u, Some(&model));
        let (m, prior, iterations) = self.train(&masked, &u);
        self.model_of(&m, &u, prior, iterations, blocking)
    }

    /// The trained model of these m and u probabilities and prior.
    fn model_of(
        &self,
        m: &[Vec<f64>],
        u: &[Vec<f64>],
        prior: f64,
        iterations: usize,
        blocking: &BlockingReport,
    ) -> TrainedModel {
        TrainedModel {
            prior: global_prior(prior, blocking),
            candidate_prior: prior,
            iterations,
            converged: iterations < self.config.em_iterations,
            comparisons: self
                .config
                .comparisons
                .iter()
                .enumerate()
                .map(|(c, conf)| ComparisonModel {
                    field: conf.field.clone(),
                    term_frequency: conf.term_frequency,
                    levels: conf
                        .kind
                        .levels()
                        .iter()
                        .enumerate()
                        .map(|(l, name)| LevelModel {
                            name: (*name).to_owned(),
                            m: m[c][l + 1],
                            u: u[c][l + 1],
                            weight: (m[c][l + 1] / u[c][l + 1]).log2(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Scores the candidate pairs with `model` and clusters the matches.
    fn score_and_cluster(
        &self,
        run: &PreparedRecords,
        pairs: Vec<(u32, u32)>,
        patterns_per_pair: Vec<u64>,
        blocking: BlockingReport,
        model: TrainedModel,
    ) -> DedupResult {
        let tables = Tables::new(&model);
        let threshold = self.config.threshold;
        let weights: Vec<f64> = pairs
            .par_iter()
            .zip(&patterns_per_pair)
            .map(|(&(a, b), &pattern)| run.weight(&tables, a as usize, b as usize, pattern))
            .collect();
        drop(patterns_per_pair);
        let edge = |k: usize| {
            let (a, b) = pairs[k];
            let weight = weights[k];
            Edge {
                a,
                b,
                weight,
                matched: probability(weight) >= threshold,
            }
        };
        let n = run.order.len();
        let quality = QualityEstimate::from_weights(&weights, threshold);
        let (roots, refused_bridges) = cluster_by(n, pairs.len(), edge, self.config.guard_bridges);
        // Cluster ids in record-id order of their first member, so they do not depend on input
        // order; then everything is mapped back to input indices.
        let (by_position, cluster_count) = crate::batch::number_clusters(&roots);
        let mut clusters = vec![0u32; n];
        for (pos, &id) in by_position.iter().enumerate() {
            clusters[run.order[pos]] = id;
        }
        let matches: Vec<ScoredPair> = (0..pairs.len())
            .map(edge)
            .filter(|e| e.matched)
            .map(|e| ScoredPair {
                a: run.order[e.a as usize],
                b: run.order[e.b as usize],
                weight: e.weight,
                probability: 1.0 / (1.0 + (-e.weight).exp2()),
            })
            .collect();
        DedupResult {
            matches,
            cluster_count,
            clusters,
            refused_bridges,
            blocking,
            model,
            quality,
            chosen_blocking: None,
            timings: DedupTimings::default(),
        }
    }

    /// Links two datasets (a CRM export and an enrichment file, say): the same blocking,
    /// training and scoring as [`Deduper::run`], but only pairs with one record from each side
    /// are compared. With `one_to_one`, each record is linked at most once: pairs are taken
    /// strongest first (ties by index) and a pair whose left or right record is already linked
    /// is skipped.
    pub fn link(&self, left: &[Record], right: &[Record], one_to_one: bool) -> LinkResult {
        let all: Vec<Record> = left.iter().chain(right).cloned().collect();
        if let Some((deduper, _)) = self.with_chosen_blocking(&all) {
            return deduper.link(left, right, one_to_one);
        }
        let mut run = self.prepare(&all);
        run.left = Some(run.order.iter().map(|&i| i < left.len()).collect());
        let result = self.run_prepared(&run);
        let mut links: Vec<Link> = result
            .matches
            .iter()
            .map(|p| {
                let (l, r) = if p.a < left.len() {
                    (p.a, p.b)
                } else {
                    (p.b, p.a)
                };
                Link {
                    left: l,
                    right: r - left.len(),
                    weight: p.weight,
                    probability: p.probability,
                }
            })
            .collect();
        if one_to_one {
            links.sort_by(|x, y| {
                y.weight
                    .total_cmp(&x.weight)
                    .then((x.left, x.right).cmp(&(y.left, y.right)))
            });
            let mut used_left = vec![false; left.len()];
            let mut used_right = vec![false; right.len()];
            links.retain(|l| {
                let free = !used_left[l.left] && !used_right[l.right];
                if free {
                    used_left[l.left] = true;
                    used_right[l.right] = true;
                }
                free
            });
        }
        links.sort_by_key(|l| (l.left, l.right));
        LinkResult {
            links,
            blocking: result.blocking,
            model: result.model,
        }
    }

    /// Explains the score of input records `a` and `b` of `prepared` under a trained model:
    /// each field's level and weight, which with the prior sum to the pair's weight.
    ///
    /// # Panics
    ///
    /// When `a` or `b` is not an index of the prepared records.
    pub fn explain(
        &self,
        model: &TrainedModel,
        prepared: &PreparedRecords,
        a: usize,
        b: usize,
    ) -> Explanation {
        let tables = Tables::new(model);
        let (i, j) = (prepared.position[a] as usize, prepared.position[b] as usize);
        let pattern = prepared.levels(i, j);
        let fields = self
            .config
            .comparisons
            .iter()
            .enumerate()
            .map(|(c, conf)| {
                let l = level_of(pattern, c);
                FieldEvidence {
                    field: conf.field.clone(),
                    level: level_name(conf.kind, l).to_owned(),
                    weight: prepared.field_weight(&tables, c, l, i),
                }
            })
            .collect();
        let weight = prepared.weight(&tables, i, j, pattern);
        Explanation {
            prior: tables.prior,
            fields,
            weight,
            probability: 1.0 / (1.0 + (-weight).exp2()),
        }
    }
}

impl std::fmt::Display for Explanation {
    /// A readable table: the prior, each field's level and weight, and the total.
    ///
    /// ```text
    /// prior                         -19.87
    /// first_name    nickname         +4.64
    /// ...
    /// total                         +23.10  (probability 1.0000)
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{:<14}{:<16}{:>+8.2}", "prior", "", self.prior)?;
        for e in &self.fields {
            writeln!(f, "{:<14}{:<16}{:>+8.2}", e.field, e.level, e.weight)?;
        }
        write!(
            f,
            "{:<14}{:<16}{:>+8.2}  (probability {:.4})",
            "total", "", self.weight, self.probability
        )
    }
}

/// How many pairs of records (across the sides when `left` is given) whose values are both
/// present have the same folded value, and how many pairs have both values: from the value
/// counts, exactly. `None` when fewer than two values (or none on a side) are present.
fn exact_agreement(p: &Prepared, left: Option<&[bool]>) -> Option<(f64, f64)> {
    use std::hash::{Hash, Hasher};
    let n = p.value_count();
    let mut keyed: Vec<(u64, bool)> = (0..n)
        .into_par_iter()
        .filter(|&i| !p.value(i).is_empty())
        .map(|i| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            p.value(i).hash(&mut h);
            (
                h.finish(),
                left.is_none_or(|l| l.get(i).copied().unwrap_or(false)),
            )
        })
        .collect();
    keyed.par_sort_unstable();
    match left {
        None => {
            let m = keyed.len() as f64;
            if m < 2.0 {
                return None;
            }
            let same: f64 = keyed
                .chunk_by(|a, b| a.0 == b.0)
                .map(|g| (g.len() as f64) * (g.len() as f64 - 1.0))
                .sum();
            Some((same / 2.0, m * (m - 1.0) / 2.0))
        }
        Some(_) => {
            let l = keyed.iter().filter(|k| k.1).count() as f64;
            let r = keyed.len() as f64 - l;
            if l < 1.0 || r < 1.0 {
                return None;
            }
            let same: f64 = keyed
                .chunk_by(|a, b| a.0 == b.0)
                .map(|g| {
                    let gl = g.iter().filter(|k| k.1).count() as f64;
                    gl * (g.len() as f64 - gl)
                })
                .sum();
            Some((same, l * r))
        }
    }
}

/// Per comparison: pairs with equal values and pairs with both values present, when counted.
type ExactCounts = Option<(f64, f64)>;

/// Sets a u row's exact level (index 1); the sampled levels after it share what it leaves, in
/// their sampled proportions.
fn set_exact(row: &mut [f64], exact: f64) {
    let exact = exact.clamp(1e-12, 1.0 - 1e-9);
    let rest: f64 = row.iter().skip(2).sum();
    for x in row.iter_mut().skip(2) {
        *x *= (1.0 - exact) / rest.max(f64::MIN_POSITIVE);
    }
    if let Some(x) = row.get_mut(1) {
        *x = exact;
    }
}

/// The prior odds for a random pair: the expected matches among candidates spread over all
/// pairs. Field weights compare matches with *random* pairs (u comes from random pairs), so they
/// add to these odds, not to those of a candidate pair.
pub(crate) fn global_prior(candidate_prior: f64, blocking: &BlockingReport) -> f64 {
    if blocking.all_pairs == 0 {
        return candidate_prior.clamp(1e-12, 0.5);
    }
    (candidate_prior * blocking.candidate_pairs as f64 / blocking.all_pairs as f64)
        .clamp(1e-12, 0.5)
}

/// The name of level `l` of a comparison kind (`null` for 0).
pub(crate) fn level_name(kind: ComparisonKind, l: usize) -> &'static str {
    if l == 0 {
        "null"
    } else {
        kind.levels().get(l - 1).copied().unwrap_or("null")
    }
}

/// The match probability of a weight.
pub(crate) fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Scoring tables derived from a trained model.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub(crate) prior: f64,
    /// Per comparison, per level (0 = null): the weight.
    pub(crate) weights: Vec<Vec<f64>>,
    /// Per comparison: log2(m) of the exact level when term-frequency adjusted.
    pub(crate) log_m_exact: Vec<Option<f64>>,
}

impl Tables {
    /// The weight of comparison `c` at level `l`, where `tf` gives the first record's value
    /// frequency (read only for the exact level of a term-frequency adjusted comparison).
    #[inline]
    pub(crate) fn field_weight(&self, c: usize, l: usize, tf: impl FnOnce() -> Option<f32>) -> f64 {
        if l == 1
            && let Some(log_m) = self.log_m_exact.get(c).copied().flatten()
            && let Some(tf) = tf()
            && tf > 0.0
        {
            return log_m - f64::from(tf).log2();
        }
        self.weights
            .get(c)
            .and_then(|w| w.get(l))
            .copied()
            .unwrap_or(0.0)
    }

    pub(crate) fn new(model: &TrainedModel) -> Tables {
        Tables {
            prior: (model.prior / (1.0 - model.prior)).log2(),
            weights: model
                .comparisons
                .iter()
                .map(|c| {
                    std::iter::once(0.0)
                        .chain(c.levels.iter().map(|l| l.weight))
                        .collect()
                })
                .collect(),
            log_m_exact: model
                .comparisons
                .iter()
                .map(|c| {
                    c.term_frequency
                        .then(|| c.levels.first().map_or(0.0, |l| l.m.log2()))
                })
                .collect(),
        }
    }
}

impl PreparedRecords {
    /// The weight of comparison `c` at level `l` for the record at sorted position `i`.
    #[inline]
    fn field_weight(&self, tables: &Tables, c: usize, l: usize, i: usize) -> f64 {
        tables.field_weight(c, l, || {
            self.prepared.get(c).and_then(|p| p.tf.get(i)).copied()
        })
    }

    /// The match weight of sorted positions `i` and `j` whose levels are `pattern`.
    #[inline]
    pub(crate) fn weight(&self, tables: &Tables, i: usize, _j: usize, pattern: u64) -> f64 {
        let mut w = tables.prior;
        for c in 0..self.prepared.len() {
            w += self.field_weight(tables, c, level_of(pattern, c), i);
        }
        w
    }
}

/// The record ids of each cluster with more than one member, for reports.
pub fn clusters_by_id(records: &[Record], clusters: &[u32]) -> Vec<Vec<RecordId>> {
    let mut by: HashMap<u32, Vec<RecordId>> = HashMap::new();
    for (r, c) in records.iter().zip(clusters) {
        by.entry(*c).or_default().push(r.id.clone());
    }
    let mut out: Vec<Vec<RecordId>> = by.into_values().filter(|v| v.len() > 1).collect();
    for v in &mut out {
        v.sort();
    }
    out.sort();
    out
}
