//! The steps of a run as pure functions over batches, for engines that run deduplication
//! outside this process's memory (a DataFusion plan, a distributed scheduler).
//!
//! [`Deduper::run`] prepares every record, blocks, compares, scores and clusters in one
//! process. An engine that cannot hold every record does the same steps over batches, with
//! the same code:
//!
//! 1. [`Deduper::features`]: each record's folded comparison columns and hashed blocking keys
//!    (per record, so any batch of records gives the rows they would have in a whole run);
//! 2. candidate pairs are the pairs sharing a key ([`Features::slot_pass`] says which pass a
//!    key slot belongs to), not already sharing a key of an earlier slot;
//! 3. [`Deduper::compare_features`]: the comparison levels of row `k` of one batch against row
//!    `k` of another, by the comparison code [`Deduper::run`] uses;
//! 4. [`Scorer`]: a pattern's match weight under a [`TrainedModel`], term frequencies given;
//! 5. [`cluster_pairs`]: the scored pairs joined into clusters exactly as a run joins them.
//!
//! ```
//! use mergetag_dedup::{DedupConfig, Scorer, cluster_pairs, match_probability};
//! use mergetag_model::{fields, Record, RecordId};
//!
//! let person = |id: &str, first: &str, email: &str| {
//!     let mut r = Record::new(RecordId::id("crm", id));
//!     r.set(fields::FIRST_NAME, first);
//!     r.set(fields::EMAIL, email);
//!     r
//! };
//! let deduper = DedupConfig::contacts().build()?;
//! let left = deduper.features(&[person("1", "Robert", "bob.smith@gmail.com")]);
//! let right = deduper.features(&[person("2", "Bob", "BobSmith+news@gmail.com")]);
//! // Both are keyed by the email pass (slot 0): a candidate pair.
//! assert_eq!(left.keys(0)[0], right.keys(0)[0]);
//! let patterns = deduper.compare_features(&left, &right)?;
//! assert_eq!(patterns, vec![left_vs_right_pattern(&deduper)?]);
//! # fn left_vs_right_pattern(d: &mergetag_dedup::Deduper) -> mergetag_dedup::Result<u64> {
//! #     let mut a = Record::new(RecordId::id("crm", "1"));
//! #     a.set(fields::FIRST_NAME, "Robert");
//! #     a.set(fields::EMAIL, "bob.smith@gmail.com");
//! #     let mut b = Record::new(RecordId::id("crm", "2"));
//! #     b.set(fields::FIRST_NAME, "Bob");
//! #     b.set(fields::EMAIL, "BobSmith+news@gmail.com");
//! #     Ok(d.prepare(&[a, b]).compare(0, 1))
//! # }
//! let model = deduper.run(&[
//!     person("1", "Robert", "bob.smith@gmail.com"),
//!     person("2", "Bob", "BobSmith+news@gmail.com"),
//! ]).model;
//! let scorer = Scorer::new(&model);
//! let weight = scorer.weight(patterns[0], |_| None);
//! let clusters = cluster_pairs(2, &[(0, 1)], &[weight], 0.0, true);
//! assert_eq!(clusters.clusters, vec![0, 0]);
//! assert!(match_probability(weight) > 0.0);
//! # Ok::<(), mergetag_dedup::Error>(())
//! ```

use std::collections::HashMap;

use mergetag_model::Record;

use crate::blocking::{PassSpec, pass_specs};
use crate::cluster::{Edge, cluster_by};
use crate::comparison::{Prepared, derive_from_names, name_sources};
use crate::dedup::{BlockingReport, Deduper, Tables, TrainedModel, level_of, probability};
use crate::error::{Error, Result};
use crate::prepare::{Column, column_specs, extract, per_comparison};

/// Records' comparison features, in the order given: the folded text of every compared field
/// (and of each name comparison's `swap_with` field), and every hashed blocking key.
///
/// Made from records by [`Deduper::features`], or column by column from values an engine
/// read back ([`Features::empty`], [`Features::push`]); compared by
/// [`Deduper::compare_features`].
#[derive(Debug, Default)]
pub struct Features {
    names: Vec<String>,
    main_columns: Vec<usize>,
    columns: Vec<Column>,
    keys: Vec<Vec<u64>>,
    slot_pass: Vec<usize>,
}

impl Features {
    /// Features with the columns `deduper` compares and no rows (nor keys): fill each column
    /// with [`Features::push`].
    pub fn empty(deduper: &Deduper) -> Features {
        let (names, slot_pass) = layout(deduper);
        Features {
            columns: names.iter().map(|_| Column::default()).collect(),
            names,
            main_columns: main_columns(deduper),
            keys: Vec::new(),
            slot_pass,
        }
    }

    /// The number of rows: the length of the shortest column.
    pub fn len(&self) -> usize {
        self.columns.iter().map(Column::len).min().unwrap_or(0)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the feature columns, in order: per comparison its field, then
    /// `<field>.swap` for a name comparison that uses its `swap_with` field. Names may repeat
    /// when two comparisons read one field.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of feature columns.
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    /// Per comparison (in configuration order), the index of its main feature column: the
    /// column whose value frequencies a term-frequency adjusted comparison weighs.
    pub fn comparison_columns(&self) -> &[usize] {
        &self.main_columns
    }

    /// The folded value of feature column `column` at `row` (empty when missing, or when
    /// either is out of range).
    pub fn value(&self, column: usize, row: usize) -> &str {
        self.columns
            .get(column)
            .filter(|c| row < c.len())
            .map_or("", |c| c.get(row))
    }

    /// Appends a folded value (empty for a missing one) to feature column `column`; nothing
    /// happens when there is no such column.
    pub fn push(&mut self, column: usize, value: &str) {
        if let Some(c) = self.columns.get_mut(column) {
            c.push(value);
        }
    }

    /// The number of hashed blocking-key slots: one per plain pass, one per band of a MinHash
    /// pass, none for a sorted-neighbourhood pass.
    pub fn slots(&self) -> usize {
        self.slot_pass.len()
    }

    /// The blocking pass (its index in the configuration) of each key slot.
    pub fn slot_pass(&self) -> &[usize] {
        &self.slot_pass
    }

    /// The hashed keys of slot `slot`, one per row (0 when the record has no complete key);
    /// empty for features built with [`Features::empty`] or a slot that does not exist.
    pub fn keys(&self, slot: usize) -> &[u64] {
        self.keys.get(slot).map_or(&[], Vec::as_slice)
    }
}

/// The feature column names and the pass of each key slot, for a configuration.
fn layout(deduper: &Deduper) -> (Vec<String>, Vec<usize>) {
    let config = deduper.config();
    let names = per_comparison(config, column_specs(config))
        .into_iter()
        .flat_map(|(c, _, swap)| {
            std::iter::once(c.field.clone()).chain(swap.map(|_| format!("{}.swap", c.field)))
        })
        .collect();
    (names, slot_passes(deduper))
}

/// Per comparison, the index of its main feature column (its swap column, if any, follows).
fn main_columns(deduper: &Deduper) -> Vec<usize> {
    let config = deduper.config();
    let mut at = 0;
    per_comparison(config, column_specs(config))
        .into_iter()
        .map(|(_, _, swap)| {
            let here = at;
            at += 1 + usize::from(swap.is_some());
            here
        })
        .collect()
}

/// The blocking pass of each hashed key slot.
fn slot_passes(deduper: &Deduper) -> Vec<usize> {
    let config = deduper.config();
    pass_specs(config)
        .iter()
        .enumerate()
        .flat_map(|(p, spec)| {
            let n = match spec {
                PassSpec::Block(_) => 1,
                PassSpec::Window(_) => 0,
                PassSpec::MinHash { bands, .. } => *bands,
            };
            std::iter::repeat_n(p, n)
        })
        .collect()
}

impl Deduper {
    /// The comparison features and hashed blocking keys of `records`, in their order: what
    /// [`Deduper::prepare`] extracts, row for row, so a batch of records has the features it
    /// would have in a whole run. Sorted-neighbourhood passes have no hashed keys (see
    /// [`Features::slot_pass`]).
    pub fn features(&self, records: &[Record]) -> Features {
        let (names, slot_pass) = layout(self);
        let specs = column_specs(self.config());
        let passes = pass_specs(self.config());
        let (columns, keys) = extract(records, &specs, &passes);
        Features {
            names,
            main_columns: main_columns(self),
            columns,
            keys: keys.into_iter().flat_map(|k| k.hashed).collect(),
            slot_pass,
        }
    }

    /// The comparison levels of row `k` of `left` against row `k` of `right`, for every row,
    /// packed as [`PreparedRecords::compare`](crate::PreparedRecords::compare) packs them:
    /// the same comparison code as [`Deduper::run`], so the same pair of records gets the same
    /// pattern here as there.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `features` when either side does not have this deduplicator's
    /// columns, or the two sides differ in length.
    pub fn compare_features(&self, left: &Features, right: &Features) -> Result<Vec<u64>> {
        let want = layout(self).0.len();
        for (side, f) in [("left", left), ("right", right)] {
            if f.columns.len() != want {
                return Err(Error::invalid(
                    "features",
                    format!(
                        "the {side} features have {} columns but this configuration compares {want}; build them with the same configuration",
                        f.columns.len()
                    ),
                ));
            }
        }
        let n = left.len();
        if right.len() != n
            || left
                .columns
                .iter()
                .chain(&right.columns)
                .any(|c| c.len() != n)
        {
            return Err(Error::invalid(
                "features",
                "the left and right features must have the same number of rows in every column",
            ));
        }
        let (a, b) = (self.prepared_of(left), self.prepared_of(right));
        Ok((0..n)
            .map(|k| {
                a.iter()
                    .zip(&b)
                    .enumerate()
                    .fold(0u64, |pattern, (c, (x, y))| {
                        pattern | u64::from(x.level_between(k, y, k)) << (4 * c)
                    })
            })
            .collect())
    }

    /// Each comparison prepared over copies of the feature columns (no term frequencies: only
    /// scoring reads them, and a batch's would not be the whole data's).
    fn prepared_of(&self, features: &Features) -> Vec<Prepared> {
        let columns: Vec<Column> = features.columns.to_vec();
        let mut prepared: Vec<Prepared> = per_comparison(self.config(), columns)
            .into_iter()
            .map(|(c, main, swap)| Prepared::build(c, main.unwrap_or_default(), swap, false))
            .collect();
        derive_from_names(&mut prepared, &name_sources(&self.config().comparisons));
        prepared
    }
}

/// Match weights of comparison patterns under a [`TrainedModel`], as [`Deduper::run`] scores
/// candidate pairs: the prior plus each comparison's level weight, an exact level of a
/// term-frequency adjusted comparison weighted by how common the first record's value is.
#[derive(Debug, Clone)]
pub struct Scorer {
    tables: Tables,
    comparisons: usize,
}

impl Scorer {
    /// The scorer of `model`, with its prior as it is (see [`TrainedModel::for_blocking`] for a
    /// model trained on other data).
    pub fn new(model: &TrainedModel) -> Scorer {
        Scorer {
            tables: Tables::new(model),
            comparisons: model.comparisons.len(),
        }
    }

    /// Whether comparison `c` is term-frequency adjusted: its exact level needs the frequency
    /// of the first record's value.
    pub fn uses_term_frequency(&self, c: usize) -> bool {
        self.tables.log_m_exact.get(c).is_some_and(Option::is_some)
    }

    /// The match weight of `pattern` (levels packed as [`Deduper::compare_features`] gives
    /// them) for a pair whose first record (the one with the smaller record id) has, for each
    /// term-frequency adjusted comparison `c`, the value frequency `tf(c)`: its value's count
    /// among the non-missing values of that field, divided by their number, as `f32`. `None`
    /// (or 0) leaves the level's own weight.
    #[inline]
    pub fn weight(&self, pattern: u64, tf: impl Fn(usize) -> Option<f32>) -> f64 {
        let mut w = self.tables.prior;
        for c in 0..self.comparisons {
            w += self.tables.field_weight(c, level_of(pattern, c), || tf(c));
        }
        w
    }

    /// The value frequency [`Scorer::weight`] expects from a value's `count` among `total`
    /// non-missing values, computed as a whole run computes it.
    pub fn term_frequency(count: u64, total: u64) -> f32 {
        if total == 0 {
            return 0.0;
        }
        count as u32 as f32 / total as u32 as f32
    }
}

impl TrainedModel {
    /// This model with its prior scaled to a run whose blocking gave `blocking`'s candidate
    /// and possible pairs, as [`Deduper::run_with_model`] scales it: the share of matches among
    /// candidates (`candidate_prior`) spread over all pairs. For the blocking it was trained
    /// on, the model is unchanged.
    pub fn for_blocking(&self, blocking: &BlockingReport) -> TrainedModel {
        let mut model = self.clone();
        model.prior = crate::dedup::global_prior(self.candidate_prior, blocking);
        model
    }
}

/// The match probability of a match weight: `1 / (1 + 2^-weight)`.
pub fn match_probability(weight: f64) -> f64 {
    probability(weight)
}

/// Clusters from [`cluster_pairs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clustering {
    /// The cluster of each node, numbered from 0 in the order of each cluster's smallest node.
    pub clusters: Vec<u32>,
    /// The number of clusters.
    pub cluster_count: usize,
    /// Matches not followed by the bridge guard ([`DedupResult::refused_bridges`](crate::DedupResult::refused_bridges)).
    pub refused_bridges: u64,
}

/// Clusters `n` nodes (records by position in record-id order) from every scored candidate
/// pair, as [`Deduper::run`] clusters: pairs whose [`match_probability`] is at least
/// `threshold` are joined strongest first (ties by pair), and with `guard_bridges` a join
/// that the other scored pairs between two groups mostly contradict is refused.
///
/// `pairs` must be sorted and unique with every node below `n`, `weights` beside them, for
/// the result to be a whole run's; a pair naming a node out of range is ignored.
pub fn cluster_pairs(
    n: usize,
    pairs: &[(u32, u32)],
    weights: &[f64],
    threshold: f64,
    guard_bridges: bool,
) -> Clustering {
    let usable: Vec<usize> = (0..pairs.len().min(weights.len()))
        .filter(|&k| (pairs[k].0 as usize) < n && (pairs[k].1 as usize) < n)
        .collect();
    let edge = |k: usize| {
        let i = usable[k];
        let (a, b) = pairs[i];
        let weight = weights[i];
        Edge {
            a,
            b,
            weight,
            matched: probability(weight) >= threshold,
        }
    };
    let (roots, refused_bridges) = cluster_by(n, usable.len(), edge, guard_bridges);
    let (clusters, cluster_count) = number_clusters(&roots);
    Clustering {
        clusters,
        cluster_count,
        refused_bridges,
    }
}

/// Cluster ids from union-find roots: numbered in the order of each cluster's first node.
pub(crate) fn number_clusters(roots: &[u32]) -> (Vec<u32>, usize) {
    let mut cluster_of_root: HashMap<u32, u32> = HashMap::new();
    let clusters = roots
        .iter()
        .map(|&root| {
            let next = cluster_of_root.len() as u32;
            *cluster_of_root.entry(root).or_insert(next)
        })
        .collect();
    (clusters, cluster_of_root.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DedupConfig;
    use mergetag_testkit::{Generator, Noise};

    #[test]
    fn batches_compare_and_score_as_a_run_does() {
        let records = Generator::new(7)
            .noise(Noise::default())
            .generate(600)
            .records;
        let deduper = DedupConfig::contacts().build().unwrap();
        let result = deduper.run(&records);
        let prepared = deduper.prepare(&records);
        let features = deduper.features(&records);
        // Pairs of input rows: every match, and some arbitrary others.
        let mut pairs: Vec<(usize, usize)> = result.matches.iter().map(|p| (p.a, p.b)).collect();
        pairs.extend((0..200).map(|k| (k, (k * 7 + 3) % records.len())));
        let take = |rows: &mut dyn Iterator<Item = usize>| {
            let mut f = Features::empty(&deduper);
            for row in rows {
                for c in 0..f.column_count() {
                    f.push(c, features.value(c, row));
                }
            }
            f
        };
        let left = take(&mut pairs.iter().map(|p| p.0));
        let right = take(&mut pairs.iter().map(|p| p.1));
        let patterns = deduper.compare_features(&left, &right).unwrap();
        for (k, &(a, b)) in pairs.iter().enumerate() {
            assert_eq!(patterns[k], prepared.compare(a, b), "pair {a} {b}");
        }
        // Scores: term frequencies from the whole data.
        let scorer = Scorer::new(&result.model.for_blocking(&result.blocking));
        let mut counts: Vec<HashMap<&str, u64>> = vec![HashMap::new(); features.column_count()];
        for (c, m) in counts.iter_mut().enumerate() {
            for row in 0..features.len() {
                let v = features.value(c, row);
                if !v.is_empty() {
                    *m.entry(v).or_default() += 1;
                }
            }
        }
        let main_column = features.comparison_columns();
        for (k, p) in result.matches.iter().enumerate() {
            let w = scorer.weight(patterns[k], |c| {
                let col = main_column[c];
                let total: u64 = counts[col].values().sum();
                let count = counts[col].get(features.value(col, p.a)).copied()?;
                Some(Scorer::term_frequency(count, total))
            });
            assert_eq!(w.to_bits(), p.weight.to_bits(), "pair {} {}", p.a, p.b);
        }
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let deduper = DedupConfig::contacts().build().unwrap();
        let mut f = Features::empty(&deduper);
        f.push(0, "ann");
        let e = deduper
            .compare_features(&f, &Features::empty(&deduper))
            .unwrap_err();
        assert!(e.to_string().starts_with("features: "), "{e}");
        let e = deduper
            .compare_features(&Features::default(), &f)
            .unwrap_err();
        assert!(e.to_string().contains("columns"), "{e}");
    }
}
