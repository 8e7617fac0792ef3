//! Blocking analysis without labels: how many candidate pairs each pass makes, how many of the
//! pairs the model scores as matches each finds, an estimate of each pass's and the union's
//! recall, and passes that would raise it.
//!
//! # How recall is estimated
//!
//! The matches found are those the trained model scores at or above the threshold. A match
//! missed by every pass is never scored, so it cannot be counted; it can be estimated, the way
//! ecologists estimate a population from animals caught in several traps (capture-recapture).
//!
//! - A pass's recall is the share of the matches found by the *other* passes that it finds too
//!   (Lincoln-Petersen): those matches were caught without its help, so they are a fair sample
//!   of all matches for it.
//! - The union's recall needs the passes' overlaps, which come from shared fields (two passes on
//!   `last_name` miss the same typo'd surnames). So the estimate works per field: for each field
//!   the passes key on, how its key parts agree (both transforms, one, none) is measured among
//!   the matches found by passes that do not use that field, and the fields are combined as
//!   independent, the same conditional independence the Fellegi-Sunter model assumes. A match
//!   is caught when some pass has all its key parts agreeing.
//!
//! The estimate is optimistic when a field's errors go together with another's (a record typed
//! carelessly throughout); it is marked `assumed` for a field that every pass uses, whose
//! agreement can only be measured among the matches those passes found. Sorted-neighbourhood
//! passes are counted as finding nothing here (their pairs depend on neighbours, not on the
//! pair), so the union estimate is a lower bound when a configuration has one.

use std::collections::HashMap;

use mergetag_model::Record;
use serde::Serialize;

use crate::blocking::{BlockingPass, KeyPart, KeyTransform, block_key, minhash_bands, part_text};
use crate::comparison::ComparisonKind;
use crate::dedup::{BlockingReport, DedupResult, Deduper};

/// What [`Deduper::blocking_analysis`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockingAnalysis {
    /// Candidate pairs per pass and in total, and the largest blocks.
    pub report: BlockingReport,
    /// The candidate pairs the model scores as matches.
    pub matches: u64,
    /// Per configured pass.
    pub passes: Vec<PassRecall>,
    /// The estimated share of all matching pairs that the passes together find (`None` with no
    /// matches to estimate from).
    pub estimated_recall: Option<f64>,
    /// Whether the estimate rests on a field whose agreement could only be measured among the
    /// matches found by passes that key on it (see the module docs).
    pub assumed: bool,
    /// Passes that would raise the estimated recall, best gain per pair first (at most five).
    pub suggestions: Vec<PassSuggestion>,
    /// The agreement bits behind the estimates, for choosing passes.
    #[serde(skip)]
    pub(crate) match_bits: Option<MatchBits>,
}

/// Per found match, which units agree; per configured pass, its units; per unit, its field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MatchBits {
    bits: Vec<u64>,
    pass_masks: Vec<u64>,
    unit_fields: Vec<String>,
}

impl MatchBits {
    fn fields(&self) -> Vec<&str> {
        self.unit_fields.iter().map(String::as_str).collect()
    }
}

/// One pass in the analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassRecall {
    /// The pass, as `field:transform + ...`.
    pub keys: String,
    /// Matches whose records share this pass's key.
    pub matches: u64,
    /// Matches no other pass finds.
    pub only_this_pass: u64,
    /// The share of the matches found by the other passes that this one finds too (`None`
    /// for a sorted-neighbourhood pass, or when the other passes find none).
    pub estimated_recall: Option<f64>,
}

/// A pass the analysis suggests adding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassSuggestion {
    /// The pass, ready to add to [`crate::DedupConfig::blocking`].
    pub pass: BlockingPass,
    /// The pass, as `field:transform`.
    pub keys: String,
    /// The candidate pairs it makes on its own (some may be found already).
    pub pairs: u64,
    /// The estimated recall of the union with it added.
    pub estimated_recall: f64,
}

impl std::fmt::Display for BlockingAnalysis {
    /// A readable report: passes, recall, suggestions.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "blocking: {} candidate pairs of {} ({:.6} spared); {} scored as matches",
            self.report.candidate_pairs,
            self.report.all_pairs,
            self.report.reduction_ratio(),
            self.matches
        )?;
        for (p, r) in self.passes.iter().zip(&self.report.passes) {
            let recall = p
                .estimated_recall
                .map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
            writeln!(
                f,
                "  {:<44} new pairs {:>10}  matches {:>8}  only here {:>6}  est. recall {recall}  largest blocks {:?}{}",
                p.keys,
                r.new_pairs,
                p.matches,
                p.only_this_pass,
                r.largest_blocks,
                if r.oversized_blocks > 0 {
                    format!(
                        "  ({} blocks over the size cap skipped, {} records)",
                        r.oversized_blocks, r.oversized_records
                    )
                } else {
                    String::new()
                }
            )?;
        }
        match self.estimated_recall {
            Some(r) => writeln!(
                f,
                "estimated blocking recall {r:.4}{}",
                if self.assumed {
                    " (assumed: a field every pass uses; see the docs)"
                } else {
                    ""
                }
            )?,
            None => writeln!(f, "estimated blocking recall: no matches to estimate from")?,
        }
        for s in &self.suggestions {
            writeln!(
                f,
                "suggestion: adding a pass on `{}` raises estimated recall from {:.4} to {:.4} for up to {} more pairs",
                s.keys,
                self.estimated_recall.unwrap_or(0.0),
                s.estimated_recall,
                s.pairs
            )?;
        }
        Ok(())
    }
}

/// One thing a pass can key on: a key part, or a MinHash over a field.
#[derive(Debug, Clone, PartialEq)]
enum Unit {
    Part(KeyPart),
    MinHash(KeyPart, usize, usize),
}

impl Unit {
    fn field(&self) -> &str {
        match self {
            Unit::Part(p) | Unit::MinHash(p, ..) => &p.field,
        }
    }

    /// Per record, the unit's keys (one, or one per band); 0 for a missing value.
    fn keys(&self, records: &[Record]) -> Vec<Vec<u64>> {
        let (mut tmp, mut text) = (String::new(), String::new());
        records
            .iter()
            .map(|r| match self {
                Unit::Part(p) => vec![block_key(r, std::slice::from_ref(p), &mut tmp, &mut text)],
                Unit::MinHash(p, bands, rows) => {
                    part_text(r, p, &mut tmp, &mut text);
                    let mut out = Vec::new();
                    minhash_bands(&tmp, *bands, *rows, &mut out);
                    out
                }
            })
            .collect()
    }
}

/// `field:transform`.
pub(crate) fn part_name(k: &KeyPart) -> String {
    let t = serde_json::to_value(k.transform)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{}:{t}", k.field)
}

/// The single-part passes worth trying on a compared field of this kind.
fn transforms_for(kind: ComparisonKind) -> &'static [KeyTransform] {
    match kind {
        ComparisonKind::Name | ComparisonKind::GivenName | ComparisonKind::Phonetic => {
            &[KeyTransform::Exact, KeyTransform::Soundex]
        }
        ComparisonKind::Email => &[KeyTransform::EmailKey],
        ComparisonKind::Phone => &[KeyTransform::PhoneDigits],
        ComparisonKind::Date => &[KeyTransform::Date],
        ComparisonKind::Numeric | ComparisonKind::Geo => &[],
        _ => &[KeyTransform::Exact],
    }
}

/// What [`Deduper::choose_blocking`] chose, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenBlocking {
    /// The passes chosen, in the order they run.
    pub passes: Vec<BlockingPass>,
    /// The candidate passes tried (single compared fields, and pairs of fields whose single
    /// passes were too costly), as `field:transform + ...`, with the pairs each makes.
    pub tried: Vec<(String, u64)>,
    /// The estimated blocking recall of the chosen passes (`None` when no match was found to
    /// estimate from; then every affordable pass is kept).
    pub estimated_recall: Option<f64>,
    /// The candidate pairs the chosen passes make together.
    pub candidate_pairs: u64,
}

/// The recall [`Deduper::choose_blocking`] aims for; passes are dropped while the estimate
/// stays at or above it.
pub const CHOSEN_RECALL_TARGET: f64 = 0.9995;

/// The most units (distinct key parts) an analysis tracks: one bit each.
const MAX_UNITS: usize = 64;
/// Beyond this many combinations of per-field states, the union estimate treats passes as
/// independent instead of enumerating.
const MAX_COMBINATIONS: usize = 200_000;

impl Deduper {
    /// Chooses blocking passes from the data, for a configuration with comparisons and no
    /// passes. The rule, in full:
    ///
    /// 1. Candidates: one pass per compared field (names and given names exact, emails by
    ///    [`KeyTransform::EmailKey`], phones by their digits, dates by day, anything else its
    ///    folded value; numbers and coordinates are not keys). A pass is affordable when its
    ///    blocks (those within `max_block_size`) make at most `max(20 n, 100,000)` pairs for
    ///    `n` records. A field whose single pass is not affordable is tried together with each
    ///    other candidate field (first and last name, say), and kept when affordable.
    /// 2. The deduplication runs once with every affordable candidate, and the
    ///    [blocking analysis](crate::analysis) estimates how each field's keys agree among the
    ///    matches found.
    /// 3. Passes are dropped, the one making most pairs first, while the estimated recall of
    ///    the rest stays at or above [`CHOSEN_RECALL_TARGET`] (0.9995: the estimate leans
    ///    optimistic when fields change together, as street and postcode do when people move).
    ///
    /// The passes chosen (and why) are returned; [`Deduper::run`] calls this by itself when
    /// the configuration has no passes, and reports the choice in
    /// [`DedupResult::chosen_blocking`].
    ///
    /// ```
    /// use mergetag_dedup::DedupConfig;
    /// use mergetag_testkit::Generator;
    ///
    /// let data = Generator::new(3).generate(2_000);
    /// let mut config = DedupConfig::contacts();
    /// config.blocking.clear();
    /// let chosen = config.build()?.choose_blocking(&data.records);
    /// assert!(!chosen.passes.is_empty());
    /// assert!(chosen.estimated_recall.unwrap() >= 0.9995);
    /// # Ok::<(), mergetag_dedup::Error>(())
    /// ```
    pub fn choose_blocking(&self, records: &[Record]) -> ChosenBlocking {
        let n = records.len();
        let budget = (20 * n as u64).max(100_000);
        let cap = self.config().max_block_size;
        let mut tried = Vec::new();
        let mut affordable: Vec<(BlockingPass, u64)> = Vec::new();
        let mut costly: Vec<KeyPart> = Vec::new();
        for c in &self.config().comparisons {
            let Some(&t) = transforms_for(c.kind).first() else {
                continue;
            };
            let part = KeyPart {
                field: c.field.clone(),
                transform: t,
            };
            if costly.contains(&part) || affordable.iter().any(|(p, _)| p.keys == [part.clone()]) {
                continue;
            }
            let pairs = block_pairs(&Unit::Part(part.clone()).keys(records), cap);
            tried.push((part_name(&part), pairs));
            if pairs == 0 {
                continue;
            }
            if pairs <= budget {
                affordable.push((BlockingPass::on(vec![part]), pairs));
            } else {
                costly.push(part);
            }
        }
        // Each costly field with each other field, costly or not (first name with last name,
        // last name with postcode): narrower blocks that still catch matches whose other
        // fields all changed.
        let singles: Vec<KeyPart> = affordable
            .iter()
            .filter_map(|(p, _)| p.keys.first().cloned())
            .collect();
        let mut combos: Vec<(KeyPart, KeyPart)> = Vec::new();
        for (i, x) in costly.iter().enumerate() {
            for y in costly[i + 1..].iter().chain(&singles) {
                combos.push((x.clone(), y.clone()));
            }
        }
        for (x, y) in combos {
            {
                let parts = vec![x, y];
                let keys: Vec<Vec<u64>> = {
                    let (mut tmp, mut text) = (String::new(), String::new());
                    records
                        .iter()
                        .map(|r| vec![block_key(r, &parts, &mut tmp, &mut text)])
                        .collect()
                };
                let pairs = block_pairs(&keys, cap);
                tried.push((
                    parts.iter().map(part_name).collect::<Vec<_>>().join(" + "),
                    pairs,
                ));
                if pairs > 0 && pairs <= budget {
                    affordable.push((BlockingPass::on(parts), pairs));
                }
            }
        }
        let mut config = self.config().clone();
        config.blocking = affordable.iter().map(|(p, _)| p.clone()).collect();
        let Ok(full) = crate::dedup::Deduper::new(config.clone()) else {
            return ChosenBlocking {
                passes: Vec::new(),
                tried,
                estimated_recall: None,
                candidate_pairs: 0,
            };
        };
        let result = full.run(records);
        let analysis = full.analyse(records, &result);
        // Drop passes, the costliest first, while the estimate holds.
        let mut keep: Vec<usize> = (0..affordable.len()).collect();
        let mut estimate = analysis.estimated_recall;
        if let Some(bits) = analysis.match_bits.as_ref() {
            let mut order: Vec<usize> = keep.clone();
            order.sort_by_key(|&i| (std::cmp::Reverse(affordable[i].1), i));
            for drop in order {
                let rest: Vec<usize> = keep.iter().copied().filter(|&i| i != drop).collect();
                if rest.is_empty() {
                    continue;
                }
                let masks: Vec<u64> = rest.iter().map(|&i| bits.pass_masks[i]).collect();
                if let Some((r, _)) = union_recall(&masks, &bits.bits, &bits.fields())
                    && r >= CHOSEN_RECALL_TARGET
                {
                    keep = rest;
                    estimate = Some(r);
                }
            }
        }
        let passes: Vec<BlockingPass> = keep.iter().map(|&i| affordable[i].0.clone()).collect();
        config.blocking = passes.clone();
        let candidate_pairs = crate::dedup::Deduper::new(config)
            .map(|d| d.analyze_blocking(records).0.candidate_pairs)
            .unwrap_or(0);
        ChosenBlocking {
            passes,
            tried,
            estimated_recall: estimate,
            candidate_pairs,
        }
    }

    /// Analyses blocking without labels: runs the deduplication, then reports candidate pairs
    /// per pass, the matches each pass finds, estimates of each pass's and the union's recall
    /// (see [the module docs](crate::analysis)) and up to five single-field passes that would
    /// raise the estimate, with the pairs each would cost.
    ///
    /// ```
    /// use mergetag_dedup::DedupConfig;
    /// use mergetag_testkit::Generator;
    ///
    /// let data = Generator::new(3).generate(2_000);
    /// let analysis = DedupConfig::contacts().build()?.blocking_analysis(&data.records);
    /// assert!(analysis.estimated_recall.unwrap() > 0.9);
    /// println!("{analysis}");
    /// # Ok::<(), mergetag_dedup::Error>(())
    /// ```
    pub fn blocking_analysis(&self, records: &[Record]) -> BlockingAnalysis {
        let result = self.run(records);
        self.analyse(records, &result)
    }

    /// The analysis of a finished run of these records.
    pub fn analyse(&self, records: &[Record], result: &DedupResult) -> BlockingAnalysis {
        let config = self.config();
        // Units of the configured passes, then candidates on compared fields.
        let mut units: Vec<Unit> = Vec::new();
        let unit_of = |u: Unit, units: &mut Vec<Unit>| -> Option<usize> {
            if let Some(i) = units.iter().position(|x| *x == u) {
                return Some(i);
            }
            (units.len() < MAX_UNITS).then(|| {
                units.push(u);
                units.len() - 1
            })
        };
        let passes: Vec<Option<Vec<usize>>> = config
            .blocking
            .iter()
            .map(|b| match (b.window, b.minhash) {
                (Some(_), _) => None,
                (None, Some(m)) => b
                    .keys
                    .first()
                    .and_then(|k| unit_of(Unit::MinHash(k.clone(), m.bands, m.rows), &mut units))
                    .map(|u| vec![u]),
                (None, None) => b
                    .keys
                    .iter()
                    .map(|k| unit_of(Unit::Part(k.clone()), &mut units))
                    .collect(),
            })
            .collect();
        let mut candidates: Vec<(KeyPart, usize)> = Vec::new();
        for c in &config.comparisons {
            for &t in transforms_for(c.kind) {
                let part = KeyPart {
                    field: c.field.clone(),
                    transform: t,
                };
                let single = BlockingPass::on(vec![part.clone()]);
                if config.blocking.contains(&single) {
                    continue;
                }
                if let Some(u) = unit_of(Unit::Part(part.clone()), &mut units) {
                    candidates.push((part, u));
                }
            }
        }
        let keys: Vec<Vec<Vec<u64>>> = units.iter().map(|u| u.keys(records)).collect();
        let agree = |u: usize, a: usize, b: usize| {
            let (x, y) = (&keys[u][a], &keys[u][b]);
            x.iter().zip(y).any(|(p, q)| *p != 0 && p == q)
        };
        let bits: Vec<u64> = result
            .matches
            .iter()
            .map(|m| {
                (0..units.len())
                    .filter(|&u| agree(u, m.a, m.b))
                    .fold(0u64, |acc, u| acc | (1 << u))
            })
            .collect();
        let masks: Vec<Option<u64>> = passes
            .iter()
            .map(|p| {
                p.as_ref()
                    .map(|us| us.iter().fold(0u64, |acc, &u| acc | (1 << u)))
            })
            .collect();
        let caught = |mask: u64, b: u64| mask != 0 && b & mask == mask;
        let pass_recalls: Vec<PassRecall> = config
            .blocking
            .iter()
            .zip(&masks)
            .enumerate()
            .map(|(i, (b, mask))| {
                let keys = b.keys.iter().map(part_name).collect::<Vec<_>>().join(" + ");
                let Some(mask) = *mask else {
                    return PassRecall {
                        keys,
                        matches: 0,
                        only_this_pass: 0,
                        estimated_recall: None,
                    };
                };
                let others = |b: u64| {
                    masks
                        .iter()
                        .enumerate()
                        .any(|(j, m)| j != i && m.is_some_and(|m| caught(m, b)))
                };
                let matches = bits.iter().filter(|&&b| caught(mask, b)).count() as u64;
                let only = bits
                    .iter()
                    .filter(|&&b| caught(mask, b) && !others(b))
                    .count() as u64;
                let witnesses: Vec<u64> = bits.iter().copied().filter(|&b| others(b)).collect();
                let estimated_recall = (!witnesses.is_empty()).then(|| {
                    witnesses.iter().filter(|&&b| caught(mask, b)).count() as f64
                        / witnesses.len() as f64
                });
                PassRecall {
                    keys,
                    matches,
                    only_this_pass: only,
                    estimated_recall,
                }
            })
            .collect();
        let field_of: Vec<&str> = units.iter().map(Unit::field).collect();
        let configured: Vec<u64> = masks.iter().flatten().copied().collect();
        let (estimated_recall, assumed) = match union_recall(&configured, &bits, &field_of) {
            Some((r, a)) => (Some(r), a),
            None => (None, false),
        };
        let mut suggestions: Vec<PassSuggestion> = Vec::new();
        if let Some(base) = estimated_recall {
            let n = records.len();
            for (part, u) in candidates {
                let pairs = block_pairs(&keys[u], config.max_block_size);
                if pairs > (50 * n as u64).max(100_000) {
                    continue;
                }
                let mut with = configured.clone();
                with.push(1 << u);
                let Some((r, _)) = union_recall(&with, &bits, &field_of) else {
                    continue;
                };
                if r - base >= 0.0005 {
                    suggestions.push(PassSuggestion {
                        keys: part_name(&part),
                        pass: BlockingPass::on(vec![part]),
                        pairs,
                        estimated_recall: r,
                    });
                }
            }
            suggestions.sort_by(|x, y| {
                let gain =
                    |s: &PassSuggestion| (s.estimated_recall - base) / (s.pairs as f64 + 1.0);
                gain(y)
                    .total_cmp(&gain(x))
                    .then_with(|| x.keys.cmp(&y.keys))
            });
            suggestions.truncate(5);
        }
        let all_block_passes = masks.iter().all(Option::is_some);
        BlockingAnalysis {
            report: result.blocking.clone(),
            matches: result.matches.len() as u64,
            passes: pass_recalls,
            estimated_recall,
            assumed,
            suggestions,
            match_bits: all_block_passes.then(|| MatchBits {
                pass_masks: masks.iter().flatten().copied().collect(),
                unit_fields: field_of.iter().map(|f| (*f).to_owned()).collect(),
                bits,
            }),
        }
    }
}

/// The pairs blocks of these keys make (blocks over `cap` skipped, as blocking does).
fn block_pairs(keys: &[Vec<u64>], cap: usize) -> u64 {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for k in keys {
        if let Some(&k) = k.first()
            && k != 0
        {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts
        .values()
        .filter(|&&c| c as usize <= cap)
        .map(|c| c * (c - 1) / 2)
        .sum()
}

/// The estimated share of matches some pass catches (see the module docs); with whether a
/// field's agreement had to be measured among matches found through it. `passes` are masks of
/// units; `bits` each found match's agreeing units; `field_of` each unit's field.
fn union_recall(passes: &[u64], bits: &[u64], field_of: &[&str]) -> Option<(f64, bool)> {
    if bits.is_empty() || passes.is_empty() {
        return None;
    }
    let used: u64 = passes.iter().fold(0, |a, m| a | m);
    let mut fields: Vec<&str> = (0..field_of.len())
        .filter(|&u| used & (1 << u) != 0)
        .map(|u| field_of[u])
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let caught_by = |b: u64, among: &[u64]| among.iter().any(|&m| covers(b, m));
    let mut assumed = false;
    // Per field: the distribution of its units' agreement among independent witnesses.
    let mut dists: Vec<Vec<(u64, f64)>> = Vec::new();
    for f in &fields {
        let mask: u64 = (0..field_of.len())
            .filter(|&u| field_of[u] == *f && used & (1 << u) != 0)
            .fold(0, |a, u| a | (1 << u));
        let others: Vec<u64> = passes.iter().copied().filter(|m| m & mask == 0).collect();
        let mut witnesses: Vec<u64> = bits
            .iter()
            .copied()
            .filter(|&b| caught_by(b, &others))
            .collect();
        if witnesses.is_empty() {
            assumed = true;
            witnesses = bits.to_vec();
        }
        let mut counts: HashMap<u64, f64> = HashMap::new();
        for b in &witnesses {
            *counts.entry(b & mask).or_default() += 1.0;
        }
        let total = witnesses.len() as f64;
        let mut dist: Vec<(u64, f64)> = counts.into_iter().map(|(s, c)| (s, c / total)).collect();
        dist.sort_unstable_by_key(|d| d.0);
        dists.push(dist);
    }
    let combinations = dists
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(d.len().max(1)));
    if combinations.is_none_or(|c| c > MAX_COMBINATIONS) {
        // Too many to enumerate: passes as independent, each measured on the others' finds.
        let mut miss = 1.0;
        for (i, &m) in passes.iter().enumerate() {
            let others: Vec<u64> = passes
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &x)| x)
                .collect();
            let w: Vec<u64> = bits
                .iter()
                .copied()
                .filter(|&b| caught_by(b, &others))
                .collect();
            let r = if w.is_empty() {
                assumed = true;
                bits.iter().filter(|&&b| b & m == m).count() as f64 / bits.len() as f64
            } else {
                w.iter().filter(|&&b| b & m == m).count() as f64 / w.len() as f64
            };
            miss *= 1.0 - r;
        }
        return Some((1.0 - miss, assumed));
    }
    fn walk(dists: &[Vec<(u64, f64)>], state: u64, p: f64, passes: &[u64]) -> f64 {
        match dists.split_first() {
            None => {
                if passes.iter().any(|&m| covers(state, m)) {
                    p
                } else {
                    0.0
                }
            }
            Some((d, rest)) => d
                .iter()
                .map(|&(s, q)| walk(rest, state | s, p * q, passes))
                .sum(),
        }
    }
    Some((walk(&dists, 0, 1.0, passes).clamp(0.0, 1.0), assumed))
}

/// Whether agreement bits `b` include every unit of pass mask `m`.
fn covers(b: u64, m: u64) -> bool {
    b & m == m
}
