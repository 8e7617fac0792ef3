//! Comparisons: the kinds a field can be compared by ([`ComparisonKind`]) with their levels,
//! one compared field's settings ([`ComparisonConfig`]), and the prepared per-record features
//! and level function that score a pair. A new kind is a variant with its levels here, a
//! folder, its features in [`Extra`] and its arm in [`Prepared::level_between`].

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::prepare::Column;
use crate::{fold, nicknames, phonetic};

/// How one field is compared. Each kind has fixed levels, from most to least similar; a missing
/// value on either side is its own level that weighs nothing (missing is never disagreement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComparisonKind {
    /// Folded text equal or not: `exact`, `different`.
    Exact,
    /// A family name: `exact`, `swapped` (equals the other record's `swap_with` field),
    /// `jw_0.92`, `jw_0.80` (Jaro-Winkler on the folded names), `different`.
    Name,
    /// A given name: as [`ComparisonKind::Name`] plus `nickname` (Bob ~ Robert) after `swapped`.
    GivenName,
    /// An email address: `exact` (same dedup key: case, Gmail dots and `+tags` ignored),
    /// `same_local_part` (at another domain), `name_local_part` (the same local part at
    /// another domain, built from both records' own names: `mark.davis`, `markdavis85`),
    /// `typo` (same domain, local parts one edit apart, not two name-built handles),
    /// `same_domain` (weak on webmail, telling on a small company's domain: the model learns
    /// which), `different`.
    ///
    /// People build addresses from their names, so two different Mark Davises often hold
    /// `markdavis` at two providers: once the names agree, such a local part says little more.
    /// `name_local_part` keeps that evidence from being counted twice: its u is estimated among
    /// pairs that already agree on the names (see [`ComparisonConfig::name_fields`]), not among
    /// random pairs.
    Email,
    /// A phone number (last ten digits): `exact`, `one_edit`, `different`.
    Phone,
    /// An ISO 8601 date: `exact`, `transposed` (day and month swapped, or one digit off),
    /// `same_year`, `different`.
    Date,
    /// Free text such as a street: `exact`, `close` (Jaro-Winkler at least 0.90 or half the words
    /// shared), `different`.
    Text,
    /// Folded text by Levenshtein distance: `exact`, `distance_1`, `distance_2`, `different`.
    Levenshtein,
    /// Folded text by Damerau-Levenshtein distance (a swap of neighbours is one edit):
    /// `exact`, `distance_1`, `distance_2`, `different`.
    DamerauLevenshtein,
    /// Multi-word text by the Jaccard index of character bigrams: `exact`, `qgram_0.8`,
    /// `qgram_0.6`, `different`.
    Qgram,
    /// Names by sound: `exact`, `metaphone` (same primary Double Metaphone code), `soundex`,
    /// `different`.
    Phonetic,
    /// Numbers: `exact`, `within_tolerance` (absolute difference at most `tolerance`, default
    /// 1), `within_percent` (relative difference at most `percent`, default 10), `different`.
    /// Text that is not a number counts as missing.
    Numeric,
    /// A location given as `"latitude,longitude"` in degrees: `within_1km`, `within_10km`,
    /// `within_50km`, `different` (great-circle distance). Unparseable text counts as missing.
    Geo,
}

impl ComparisonKind {
    /// The names of the levels after `null`, most similar first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            ComparisonKind::Exact => &["exact", "different"],
            ComparisonKind::Name => &["exact", "swapped", "jw_0.92", "jw_0.80", "different"],
            ComparisonKind::GivenName => &[
                "exact",
                "swapped",
                "nickname",
                "jw_0.92",
                "jw_0.80",
                "different",
            ],
            ComparisonKind::Email => &[
                "exact",
                "same_local_part",
                "name_local_part",
                "typo",
                "same_domain",
                "different",
            ],
            ComparisonKind::Phone => &["exact", "one_edit", "different"],
            ComparisonKind::Date => &["exact", "transposed", "same_year", "different"],
            ComparisonKind::Text => &["exact", "close", "different"],
            ComparisonKind::Levenshtein | ComparisonKind::DamerauLevenshtein => {
                &["exact", "distance_1", "distance_2", "different"]
            }
            ComparisonKind::Qgram => &["exact", "qgram_0.8", "qgram_0.6", "different"],
            ComparisonKind::Phonetic => &["exact", "metaphone", "soundex", "different"],
            ComparisonKind::Numeric => {
                &["exact", "within_tolerance", "within_percent", "different"]
            }
            ComparisonKind::Geo => &["within_1km", "within_10km", "within_50km", "different"],
        }
    }
}

/// One compared field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonConfig {
    /// The record field.
    pub field: String,
    /// How it is compared.
    pub kind: ComparisonKind,
    /// For names: the field a swapped value would be in (`last_name` for `first_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_with: Option<String>,
    /// Term-frequency adjustment of exact agreement: agreeing on a rare value (a rare surname,
    /// a small town's postcode) weighs more than agreeing on a common one ("Smith"). The
    /// weight of an exact match becomes `log2(m / f)`, where `f` is the value's frequency among
    /// the records. Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub term_frequency: bool,
    /// For [`ComparisonKind::Numeric`]: the absolute difference still counted close (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// For [`ComparisonKind::Numeric`]: the relative difference in percent still counted close
    /// (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// For [`ComparisonKind::Email`]: the compared name fields, given name first, that an
    /// address's local part is checked against (level `name_local_part`). When absent, the
    /// field of the first `given_name` comparison and of the first `name` comparison (or, with
    /// no `given_name` comparison, of the first two `name` comparisons); `[]` turns the check
    /// off. Each must be the field of a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_fields: Option<Vec<String>>,
}

impl ComparisonConfig {
    /// A comparison of `field` by `kind`, with no options set.
    pub fn new(field: &str, kind: ComparisonKind) -> ComparisonConfig {
        ComparisonConfig {
            field: field.to_owned(),
            kind,
            swap_with: None,
            term_frequency: false,
            tolerance: None,
            percent: None,
            name_fields: None,
        }
    }
}

/// One prepared comparison.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) kind: ComparisonKind,
    pub(crate) main: Column,
    /// The folded `swap_with` field, for name kinds.
    pub(crate) swap: Option<Column>,
    /// Nickname groups per record, for given names.
    pub(crate) groups: Vec<&'static [u32]>,
    /// The frequency of each record's value among the non-missing values, when the comparison
    /// is term-frequency adjusted (empty otherwise).
    pub(crate) tf: Vec<f32>,
    /// Per record: Double Metaphone and Soundex codes (phonetic), or the parsed number or
    /// coordinates (numeric, geo), whatever the kind compares beyond the folded text.
    pub(crate) extra: Extra,
    /// For email: whether each record's local part is built from its own names (filled by
    /// [`derive_from_names`]; empty when the comparison checks no names).
    pub(crate) derived: Vec<bool>,
}

/// Per-record features some kinds compare instead of, or beside, the folded text.
#[derive(Debug, Default)]
pub(crate) enum Extra {
    #[default]
    None,
    Codes(Column, Column),
    Numbers {
        values: Vec<f64>,
        tolerance: f64,
        percent: f64,
    },
    Points(Vec<(f64, f64)>),
}

impl Extra {
    /// Appends the features of one record's folded value.
    fn push(&mut self, main: &str) {
        match self {
            Extra::None => {}
            Extra::Codes(metaphone, soundex) => {
                metaphone.push(&phonetic::double_metaphone(main));
                soundex.push(&phonetic::soundex(main));
            }
            Extra::Numbers { values, .. } => values.push(parse_number(main)),
            Extra::Points(points) => {
                points.push(parse_point(main).unwrap_or((f64::NAN, f64::NAN)));
            }
        }
    }
}

/// Parses `"lat,lon"` (degrees, in range); `None` otherwise.
fn parse_point(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let lat: f64 = a.trim().parse().ok()?;
    let lon: f64 = b.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// A finite number, or NaN.
fn parse_number(s: &str) -> f64 {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .unwrap_or(f64::NAN)
}

/// Great-circle distance in kilometres (haversine).
pub(crate) fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Character bigrams of `s`, sorted and deduplicated.
fn bigrams(s: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = s.chars().collect();
    let mut grams: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The Jaccard index of two strings' bigram sets, in `[0, 1]`.
pub(crate) fn qgram_similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() && y.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let common = x.iter().filter(|g| y.binary_search(g).is_ok()).count();
    common as f64 / (x.len() + y.len() - common) as f64
}

impl Prepared {
    /// How the compared field and its swap field are folded for this comparison.
    pub(crate) fn folder(kind: ComparisonKind) -> fn(&str, &mut String) {
        match kind {
            ComparisonKind::Name | ComparisonKind::GivenName => fold::name,
            ComparisonKind::Email => fold::email,
            ComparisonKind::Phone => fold::phone,
            ComparisonKind::Date => fold::date,
            ComparisonKind::Text
            | ComparisonKind::Exact
            | ComparisonKind::Levenshtein
            | ComparisonKind::DamerauLevenshtein
            | ComparisonKind::Qgram => fold::text,
            ComparisonKind::Phonetic => fold::name,
            ComparisonKind::Numeric | ComparisonKind::Geo => fold::trimmed,
        }
    }

    /// Whether the comparison uses its `swap_with` field.
    pub(crate) fn uses_swap(config: &ComparisonConfig) -> bool {
        matches!(
            config.kind,
            ComparisonKind::Name | ComparisonKind::GivenName
        ) && config.swap_with.is_some()
    }

    /// A prepared comparison over columns already extracted (and in their final order).
    pub(crate) fn new(config: &ComparisonConfig, main: Column, swap: Option<Column>) -> Prepared {
        Prepared::build(config, main, swap, true)
    }

    /// [`Prepared::new`], with the term frequencies of the values counted only when
    /// `with_tf` (a batch's frequencies are not the whole data's).
    pub(crate) fn build(
        config: &ComparisonConfig,
        main: Column,
        swap: Option<Column>,
        with_tf: bool,
    ) -> Prepared {
        let groups = if config.kind == ComparisonKind::GivenName {
            (0..main.len())
                .map(|i| nicknames::groups(main.get(i)))
                .collect()
        } else {
            Vec::new()
        };
        let tf = if with_tf && config.term_frequency {
            let n = main.len();
            let mut counts: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
            for i in 0..n {
                let v = main.get(i);
                if !v.is_empty() {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let total: u32 = counts.values().sum();
            (0..n)
                .map(|i| {
                    let v = main.get(i);
                    if v.is_empty() || total == 0 {
                        0.0
                    } else {
                        counts.get(v).copied().unwrap_or(1) as f32 / total as f32
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut extra = match config.kind {
            ComparisonKind::Phonetic => Extra::Codes(Column::default(), Column::default()),
            ComparisonKind::Numeric => Extra::Numbers {
                values: Vec::new(),
                tolerance: config.tolerance.unwrap_or(1.0),
                percent: config.percent.unwrap_or(10.0),
            },
            ComparisonKind::Geo => Extra::Points(Vec::new()),
            _ => Extra::None,
        };
        for i in 0..main.len() {
            extra.push(main.get(i));
        }
        Prepared {
            kind: config.kind,
            main,
            swap,
            groups,
            tf,
            extra,
            derived: Vec::new(),
        }
    }

    /// An empty preparation of `config`, for records pushed one by one (the incremental
    /// index).
    pub(crate) fn empty(config: &ComparisonConfig) -> Prepared {
        let swap = Prepared::uses_swap(config).then(Column::default);
        Prepared::new(config, Column::default(), swap)
    }

    /// Appends one record's folded value (and its folded swap field, when the comparison
    /// uses one), with the features the kind compares beyond the text.
    pub(crate) fn push(&mut self, main: &str, swap: &str) {
        self.main.push(main);
        if let Some(col) = &mut self.swap {
            col.push(swap);
        }
        if self.kind == ComparisonKind::GivenName {
            self.groups.push(nicknames::groups(main));
        }
        self.extra.push(main);
    }

    /// Forgets record `i`: its text overwritten, its features emptied (an erased record).
    pub(crate) fn blank(&mut self, i: usize) {
        self.main.blank(i);
        if let Some(col) = &mut self.swap {
            col.blank(i);
        }
        if let Some(g) = self.groups.get_mut(i) {
            *g = &[];
        }
        if let Some(d) = self.derived.get_mut(i) {
            *d = false;
        }
        match &mut self.extra {
            Extra::None => {}
            Extra::Codes(metaphone, soundex) => {
                metaphone.blank(i);
                soundex.blank(i);
            }
            Extra::Numbers { values, .. } => {
                if let Some(v) = values.get_mut(i) {
                    *v = f64::NAN;
                }
            }
            Extra::Points(points) => {
                if let Some(p) = points.get_mut(i) {
                    *p = (f64::NAN, f64::NAN);
                }
            }
        }
    }

    /// Loads the per-record entries comparing record `i` reads (offsets, nickname groups,
    /// name-derived flag, features; not the term frequency, which only scoring reads),
    /// returning a value that depends on them so the loads are not optimised away. With
    /// [`Prepared::touch_text`], the first of two passes that bring a batch of records into
    /// cache before they are compared.
    #[inline]
    pub(crate) fn touch_offsets(&self, i: usize) -> u32 {
        let mut t = self.main.touch_offset(i);
        if let Some(col) = &self.swap {
            t ^= col.touch_offset(i);
        }
        t ^= self.groups.get(i).map_or(0, |g| g.len() as u32);
        t ^= u32::from(self.derived.get(i).copied().unwrap_or(false));
        match &self.extra {
            Extra::None => {}
            Extra::Codes(metaphone, soundex) => {
                t ^= metaphone.touch_offset(i) ^ soundex.touch_offset(i);
            }
            Extra::Numbers { values, .. } => t ^= values.get(i).map_or(0, |v| v.to_bits() as u32),
            Extra::Points(points) => t ^= points.get(i).map_or(0, |p| p.0.to_bits() as u32),
        }
        t
    }

    /// Loads the text comparing record `i` reads (the second pass, see
    /// [`Prepared::touch_offsets`]).
    #[inline]
    pub(crate) fn touch_text(&self, i: usize) -> u32 {
        let mut t = u32::from(self.main.touch_text(i));
        if let Some(col) = &self.swap {
            t ^= u32::from(col.touch_text(i));
        }
        if let Extra::Codes(metaphone, soundex) = &self.extra {
            t ^= u32::from(metaphone.touch_text(i) ^ soundex.touch_text(i));
        }
        t
    }

    /// The folded value of record `i`.
    pub(crate) fn value(&self, i: usize) -> &str {
        self.main.get(i)
    }

    /// The number of records.
    pub(crate) fn value_count(&self) -> usize {
        self.main.len()
    }

    /// The level of records `i` and `j`: 0 for missing, then the kind's levels from 1.
    #[inline]
    pub(crate) fn level(&self, i: usize, j: usize) -> u8 {
        self.level_between(i, self, j)
    }

    /// The level of record `i` of `self` and record `j` of `other`, a preparation of the same
    /// comparison (a new record against an index).
    #[inline]
    pub(crate) fn level_between(&self, i: usize, other: &Prepared, j: usize) -> u8 {
        let (a, b) = (self.main.get(i), other.main.get(j));
        if a.is_empty() || b.is_empty() {
            return 0;
        }
        match self.kind {
            ComparisonKind::Exact => {
                if a == b {
                    1
                } else {
                    2
                }
            }
            ComparisonKind::Name | ComparisonKind::GivenName => {
                let given = self.kind == ComparisonKind::GivenName;
                if a == b {
                    return 1;
                }
                if let (Some(swap_i), Some(swap_j)) = (&self.swap, &other.swap)
                    && swap_j.get(j) == a
                    && swap_i.get(i) == b
                {
                    return 2;
                }
                if given && nicknames::intersects(self.groups[i], other.groups[j]) {
                    return 3;
                }
                let base = if given { 4 } else { 3 };
                if a.is_ascii()
                    && b.is_ascii()
                    && crate::similarity::jaro_winkler_bound(a.as_bytes(), b.as_bytes()) < 0.80
                {
                    return base + 2;
                }
                let sim = jaro_winkler_str(a, b);
                if sim >= 0.92 {
                    base
                } else if sim >= 0.80 {
                    base + 1
                } else {
                    base + 2
                }
            }
            ComparisonKind::Email => {
                if a == b {
                    return 1;
                }
                let (la, da) = a.rsplit_once('@').unwrap_or((a, ""));
                let (lb, db) = b.rsplit_once('@').unwrap_or((b, ""));
                let from_names = self.derived.get(i).copied().unwrap_or(false)
                    || other.derived.get(j).copied().unwrap_or(false);
                if la == lb {
                    if from_names { 3 } else { 2 }
                } else if da == db
                    && !from_names
                    && crate::similarity::within_one_edit(la.as_bytes(), lb.as_bytes())
                {
                    4
                } else if da == db && !da.is_empty() {
                    5
                } else {
                    6
                }
            }
            ComparisonKind::Phone => {
                if a == b {
                    1
                } else if crate::similarity::within_one_edit(a.as_bytes(), b.as_bytes()) {
                    2
                } else {
                    3
                }
            }
            ComparisonKind::Date => {
                if a == b {
                    return 1;
                }
                let (x, y) = (a.as_bytes(), b.as_bytes());
                let transposed = x.len() == 8
                    && y.len() == 8
                    && x[..4] == y[..4]
                    && x[4..6] == y[6..8]
                    && x[6..8] == y[4..6];
                if transposed || crate::similarity::within_one_edit(x, y) {
                    2
                } else if x.get(..4) == y.get(..4) {
                    3
                } else {
                    4
                }
            }
            ComparisonKind::Text => {
                let could_be_close = !(a.is_ascii() && b.is_ascii())
                    || crate::similarity::jaro_winkler_bound(a.as_bytes(), b.as_bytes()) >= 0.90;
                if a == b {
                    1
                } else if could_be_close && jaro_winkler_str(a, b) >= 0.90
                    || crate::similarity::token_set(a, b) >= 0.5
                {
                    2
                } else {
                    3
                }
            }
            ComparisonKind::Levenshtein | ComparisonKind::DamerauLevenshtein => {
                if a == b {
                    return 1;
                }
                // Counts of i16: strings longer than that are compared in full.
                if a.is_ascii()
                    && b.is_ascii()
                    && a.len().max(b.len()) < i16::MAX as usize
                    && crate::similarity::bag_distance(a.as_bytes(), b.as_bytes()) > 2
                {
                    return 4;
                }
                let d = if self.kind == ComparisonKind::Levenshtein {
                    crate::similarity::levenshtein(a, b)
                } else {
                    crate::similarity::damerau_levenshtein(a, b)
                };
                match d {
                    1 => 2,
                    2 => 3,
                    _ => 4,
                }
            }
            ComparisonKind::Qgram => {
                if a == b {
                    return 1;
                }
                let q = qgram_similarity(a, b);
                if q >= 0.8 {
                    2
                } else if q >= 0.6 {
                    3
                } else {
                    4
                }
            }
            ComparisonKind::Phonetic => {
                if a == b {
                    return 1;
                }
                let (Extra::Codes(metaphone_i, soundex_i), Extra::Codes(metaphone_j, soundex_j)) =
                    (&self.extra, &other.extra)
                else {
                    return 4;
                };
                let same =
                    |ci: &Column, cj: &Column| !ci.get(i).is_empty() && ci.get(i) == cj.get(j);
                if same(metaphone_i, metaphone_j) {
                    2
                } else if same(soundex_i, soundex_j) {
                    3
                } else {
                    4
                }
            }
            ComparisonKind::Numeric => {
                let (
                    Extra::Numbers {
                        values,
                        tolerance,
                        percent,
                    },
                    Extra::Numbers {
                        values: values_j, ..
                    },
                ) = (&self.extra, &other.extra)
                else {
                    return 0;
                };
                let (x, y) = (values[i], values_j[j]);
                if x.is_nan() || y.is_nan() {
                    return 0;
                }
                let diff = (x - y).abs();
                if diff == 0.0 {
                    1
                } else if diff <= *tolerance {
                    2
                } else if diff <= x.abs().max(y.abs()) * percent / 100.0 {
                    3
                } else {
                    4
                }
            }
            ComparisonKind::Geo => {
                let (Extra::Points(points), Extra::Points(points_j)) = (&self.extra, &other.extra)
                else {
                    return 0;
                };
                let (p, q) = (points[i], points_j[j]);
                if p.0.is_nan() || q.0.is_nan() {
                    return 0;
                }
                let d = distance_km(p, q);
                if d <= 1.0 {
                    1
                } else if d <= 10.0 {
                    2
                } else if d <= 50.0 {
                    3
                } else {
                    4
                }
            }
        }
    }
}

/// Jaro-Winkler of two strings: on bytes when both are ASCII (the common case after folding),
/// else on chars decoded into stack buffers.
#[inline]
pub(crate) fn jaro_winkler_str(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        return crate::similarity::jaro_winkler(a.as_bytes(), b.as_bytes());
    }
    let mut xa = ['\0'; 64];
    let mut xb = ['\0'; 64];
    let (na, nb) = (a.chars().count(), b.chars().count());
    if na <= 64 && nb <= 64 {
        for (slot, c) in xa.iter_mut().zip(a.chars()) {
            *slot = c;
        }
        for (slot, c) in xb.iter_mut().zip(b.chars()) {
            *slot = c;
        }
        crate::similarity::jaro_winkler(&xa[..na], &xb[..nb])
    } else {
        let va: Vec<char> = a.chars().collect();
        let vb: Vec<char> = b.chars().collect();
        crate::similarity::jaro_winkler(&va, &vb)
    }
}

/// Which compared name fields each email comparison checks its local parts against: per
/// comparison, `Some((given, family))` as comparison indexes for an email comparison that
/// checks names (either may be absent), `None` otherwise.
pub(crate) fn name_sources(
    comparisons: &[ComparisonConfig],
) -> Vec<Option<(Option<usize>, Option<usize>)>> {
    let index_of = |field: &str| comparisons.iter().position(|c| c.field == field);
    comparisons
        .iter()
        .map(|c| {
            if c.kind != ComparisonKind::Email {
                return None;
            }
            let (given, family) = match &c.name_fields {
                Some(fields) => (
                    fields.first().and_then(|f| index_of(f)),
                    fields.get(1).and_then(|f| index_of(f)),
                ),
                None => {
                    let of = |k: ComparisonKind| {
                        comparisons
                            .iter()
                            .enumerate()
                            .filter(move |(_, c)| c.kind == k)
                            .map(|(i, _)| i)
                    };
                    match of(ComparisonKind::GivenName).next() {
                        Some(g) => (Some(g), of(ComparisonKind::Name).next()),
                        None => {
                            let mut names = of(ComparisonKind::Name);
                            (names.next(), names.next())
                        }
                    }
                }
            };
            (given.is_some() || family.is_some()).then_some((given, family))
        })
        .collect()
}

/// Fills each email comparison's `derived` flags for the records not flagged yet (all of them
/// after a batch preparation, the newest after an index adds one): whether the record's local
/// part is built from its own names.
pub(crate) fn derive_from_names(
    prepared: &mut [Prepared],
    sources: &[Option<(Option<usize>, Option<usize>)>],
) {
    for (c, source) in sources.iter().enumerate() {
        let Some((given, family)) = *source else {
            continue;
        };
        let from = prepared.get(c).map_or(0, |p| p.derived.len());
        let n = prepared.get(c).map_or(0, Prepared::value_count);
        let flags: Vec<bool> = (from..n)
            .into_par_iter()
            .map_init(NameLetters::default, |scratch, i| {
                let name = |k: Option<usize>| {
                    k.and_then(|k| prepared.get(k))
                        .filter(|p| i < p.value_count())
                        .map_or("", |p| p.value(i))
                };
                let email = prepared[c].value(i);
                let local = email.rsplit_once('@').map_or(email, |(l, _)| l);
                scratch.local_from_names(local, name(given), name(family))
            })
            .collect();
        prepared[c].derived.extend(flags);
    }
}

/// The letters of a local part and two names, in buffers kept from one record to the next
/// (six strings allocated per record cost more than the test itself on a million records).
#[derive(Debug, Default)]
pub(crate) struct NameLetters {
    local: String,
    given: String,
    family: String,
}

impl NameLetters {
    /// Whether an address's local part is built from a person's names, as people build them: the
    /// letters of the local part (separators and digits dropped: `mark.davis85` -> `markdavis`) are
    /// given + family name in either order, with either one cut to its initial and at most one
    /// letter (a middle initial) between; or one name alone when it has at least three letters;
    /// and its digits, if any, a year or at most two digits. `given` and `family` are folded
    /// names (see [`crate::fold::name`]).
    ///
    /// ```text
    /// mark.davis  markdavis  mdavis  davism  mark_davis85  markjdavis  davis.mark  davis1985
    /// ```
    pub(crate) fn local_from_names(&mut self, local: &str, given: &str, family: &str) -> bool {
        let letters = |s: &str, out: &mut String| {
            out.clear();
            out.extend(s.chars().filter(|c| c.is_alphabetic()));
        };
        letters(local, &mut self.local);
        letters(given, &mut self.given);
        letters(family, &mut self.family);
        let (l, g, f) = (&self.local, self.given.as_str(), self.family.as_str());
        // Digits other than a year (`85`, `1985`) or a one- or two-digit counter make a handle
        // specific to its holder (`markdavis4471`): that is evidence of its own.
        let mut digits = local.bytes().filter(u8::is_ascii_digit);
        let first_two = (digits.next(), digits.next());
        let count = usize::from(first_two.0.is_some())
            + usize::from(first_two.1.is_some())
            + digits.count();
        let year_like = count <= 2
            || (count == 4
                && matches!(
                    first_two,
                    (Some(b'1'), Some(b'9')) | (Some(b'2'), Some(b'0'))
                ));
        if l.is_empty() || !year_like {
            return false;
        }
        let alone = |name: &str| name.chars().count() >= 3 && l == name;
        if alone(g) || alone(f) {
            return true;
        }
        if g.is_empty() || f.is_empty() {
            return false;
        }
        fn initial(s: &str) -> &str {
            &s[..s.chars().next().map_or(0, char::len_utf8)]
        }
        let (gi, fi) = (initial(g), initial(f));
        // first part, last part: the local part starts with one and ends with the other, with
        // at most one letter between.
        let joins = |first: &str, last: &str| {
            l.len() >= first.len() + last.len()
                && l.len() <= first.len() + last.len() + 1
                && l.starts_with(first)
                && l.ends_with(last)
        };
        [(g, f), (f, g), (gi, f), (f, gi), (g, fi)]
            .iter()
            .any(|&(first, last)| first.len() + last.len() >= 3 && joins(first, last))
    }
}
