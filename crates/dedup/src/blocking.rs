//! Blocking keys: the parts a key is made of ([`KeyPart`], [`KeyTransform`]), the passes
//! ([`BlockingPass`], [`MinHash`]), and how a record's key is computed for each kind of pass
//! (hashed key, sort key, MinHash band keys).

use mergetag_model::Record;
use serde::{Deserialize, Serialize};

use crate::config::DedupConfig;
use crate::prepare::{Column, value_text};
use crate::{fold, phonetic};

/// How a blocking key part is derived from a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyTransform {
    /// The folded value.
    Exact,
    /// The first three letters of the folded value.
    Prefix3,
    /// Soundex of the value.
    Soundex,
    /// NYSIIS of the value.
    Nysiis,
    /// Primary Double Metaphone code of the value.
    Metaphone,
    /// The email dedup key.
    EmailKey,
    /// The last ten digits of a phone number.
    PhoneDigits,
    /// The year of an ISO date.
    Year,
    /// An ISO date as `YYYYMMDD`.
    Date,
}

/// One part of a blocking key: a field and a transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPart {
    /// The record field.
    pub field: String,
    /// How the key is derived from it.
    pub transform: KeyTransform,
}

/// A blocking pass. By default records whose key parts are all present and all equal become
/// candidate pairs. With `window`, records are sorted by the key and each is paired with the
/// next `window - 1` (sorted neighbourhood: tolerant of typos after the first letters). With
/// `minhash`, the single key field's character bigrams are MinHashed into `bands` bands of
/// `rows` hashes, and records sharing any band become candidates (LSH: tolerant of typos
/// anywhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingPass {
    /// The key parts, all required.
    pub keys: Vec<KeyPart>,
    /// Sorted neighbourhood: the window size (at least 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    /// MinHash LSH over the key field's bigrams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minhash: Option<MinHash>,
}

impl BlockingPass {
    /// The pass as reports name it: `field:transform + ...` (`email:email_key`).
    pub fn label(&self) -> String {
        self.keys
            .iter()
            .map(|k| {
                let t = serde_json::to_value(k.transform)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{}:{t}", k.field)
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// A pass blocking on equal keys.
    pub fn on(keys: Vec<KeyPart>) -> BlockingPass {
        BlockingPass {
            keys,
            window: None,
            minhash: None,
        }
    }
}

/// MinHash LSH settings: `bands` bands of `rows` hashes each. Two values whose bigram sets have
/// Jaccard similarity `s` share a band with probability `1 - (1 - s^rows)^bands`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinHash {
    /// The number of bands (1 to 64).
    pub bands: usize,
    /// Hashes per band (1 to 16).
    pub rows: usize,
}

/// The key text of one part of a blocking key, in `tmp`; empty when the value is missing.
pub(crate) fn part_text(record: &Record, part: &KeyPart, tmp: &mut String, text: &mut String) {
    tmp.clear();
    let Some(s) = value_text(record.get(&part.field), text) else {
        return;
    };
    match part.transform {
        KeyTransform::Exact => fold::name(s, tmp),
        KeyTransform::Prefix3 => {
            fold::name(s, tmp);
            let cut = tmp.char_indices().nth(3).map_or(tmp.len(), |(i, _)| i);
            tmp.truncate(cut);
        }
        KeyTransform::Soundex => tmp.push_str(&phonetic::soundex(s)),
        KeyTransform::Nysiis => tmp.push_str(&phonetic::nysiis(s)),
        KeyTransform::Metaphone => tmp.push_str(&phonetic::double_metaphone(s)),
        KeyTransform::EmailKey => fold::email(s, tmp),
        KeyTransform::PhoneDigits => {
            fold::phone(s, tmp);
            // Too few digits to identify anyone: a placeholder such as `0` or `555`.
            if tmp.len() < 7 {
                tmp.clear();
            }
        }
        KeyTransform::Year => {
            fold::date(s, tmp);
            tmp.truncate(4.min(tmp.len()));
        }
        KeyTransform::Date => fold::date(s, tmp),
    }
}

/// The blocking key of a record for one pass, hashed; 0 when a part is missing.
pub(crate) fn block_key(
    record: &Record,
    parts: &[KeyPart],
    tmp: &mut String,
    text: &mut String,
) -> u64 {
    use std::hash::{Hash, Hasher};
    // `DefaultHasher::new()` uses fixed keys: the same hash on every run, so blocks are
    // deterministic (a randomly keyed `RandomState` would not be).
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for part in parts {
        part_text(record, part, tmp, text);
        if tmp.is_empty() {
            return 0;
        }
        tmp.hash(&mut h);
    }
    h.finish().max(1)
}

/// The sort key of a record for a sorted-neighbourhood pass (the parts joined by U+001F), in
/// `out`; empty when a part is missing.
pub(crate) fn sort_key(
    record: &Record,
    parts: &[KeyPart],
    tmp: &mut String,
    text: &mut String,
    out: &mut String,
) {
    out.clear();
    for (k, part) in parts.iter().enumerate() {
        part_text(record, part, tmp, text);
        if tmp.is_empty() {
            out.clear();
            return;
        }
        if k > 0 {
            out.push('\u{1f}');
        }
        out.push_str(tmp);
    }
}

/// SplitMix64's finaliser: a fast, well-mixed hash of one `u64`.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// MinHash band keys of a folded text's character bigrams, appended to `out` (one per band;
/// 0 for every band when the text has no bigram).
pub(crate) fn minhash_bands(folded: &str, bands: usize, rows: usize, out: &mut Vec<u64>) {
    let chars: Vec<char> = folded.chars().collect();
    let grams: Vec<u64> = chars
        .windows(2)
        .map(|w| mix((u64::from(u32::from(w[0])) << 32) | u64::from(u32::from(w[1]))))
        .collect();
    for band in 0..bands {
        if grams.is_empty() {
            out.push(0);
            continue;
        }
        let mut key = mix(band as u64 + 1);
        for row in 0..rows {
            let seed = mix(((band * rows + row) as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let min = grams.iter().map(|&g| mix(g ^ seed)).min().unwrap_or(0);
            key = mix(key ^ min);
        }
        out.push(key.max(1));
    }
}

/// What each blocking pass of a configuration needs from each record.
pub(crate) fn pass_specs(config: &DedupConfig) -> Vec<PassSpec<'_>> {
    config
        .blocking
        .iter()
        .map(|b| match (b.window, b.minhash) {
            (Some(_), _) => PassSpec::Window(&b.keys),
            (None, Some(m)) => PassSpec::MinHash {
                part: &b.keys[0],
                bands: m.bands,
                rows: m.rows,
            },
            (None, None) => PassSpec::Block(&b.keys),
        })
        .collect()
}

/// What one blocking pass needs from each record.
pub(crate) enum PassSpec<'a> {
    /// One hashed key.
    Block(&'a [KeyPart]),
    /// One sortable key string.
    Window(&'a [KeyPart]),
    /// `bands` hashed band keys of one field.
    MinHash {
        part: &'a KeyPart,
        bands: usize,
        rows: usize,
    },
}

/// What extraction gives one blocking pass: hashed keys (one vector per band; one for a plain
/// pass; none for a window pass) and, for a window pass, the sort keys.
#[derive(Debug, Default)]
pub(crate) struct PassKeys {
    pub(crate) hashed: Vec<Vec<u64>>,
    pub(crate) sort: Option<Column>,
}
