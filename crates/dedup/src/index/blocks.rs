//! The index's blocking structures: for each hashed key slot, which records share each key.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::blocking::PassKeys;

/// The slots sharing each key of one hashed blocking slot: a sorted array for the records
/// indexed in bulk (compact: 12 bytes a record) and a map for those added one at a time.
///
/// Keys are hashes, so their top bits are uniform: `directory[t]` is where keys with top 16
/// bits `t` start in `sorted`, and a lookup binary-searches only that bucket (a few entries
/// at a million records) instead of the whole array, which at a million records was about 20
/// cache misses a key.
#[derive(Debug, Default)]
pub(super) struct Blocks {
    sorted: Vec<(u64, u32)>,
    directory: Vec<u32>,
    pub(super) added: HashMap<u64, Vec<u32>>,
}

const DIRECTORY_BITS: u32 = 16;

impl Blocks {
    /// The blocks of every hashed key slot, from each record's keys (record `i` is slot `i`).
    pub(super) fn from_keys(keys: Vec<PassKeys>) -> Vec<Blocks> {
        let hashed: Vec<Vec<u64>> = keys.into_iter().flat_map(|k| k.hashed).collect();
        hashed
            .par_iter()
            .map(|keys| {
                let mut sorted: Vec<(u64, u32)> = keys
                    .iter()
                    .enumerate()
                    .filter(|&(_, &k)| k != 0)
                    .map(|(i, &k)| (k, i as u32))
                    .collect();
                sorted.par_sort_unstable();
                Blocks::from_sorted(sorted)
            })
            .collect()
    }

    fn from_sorted(sorted: Vec<(u64, u32)>) -> Blocks {
        let buckets = 1usize << DIRECTORY_BITS;
        let mut directory = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for t in 0..=buckets {
            while at < sorted.len() && ((sorted[at].0 >> (64 - DIRECTORY_BITS)) as usize) < t {
                at += 1;
            }
            directory.push(at as u32);
        }
        Blocks {
            sorted,
            directory,
            added: HashMap::new(),
        }
    }

    fn bulk(&self, key: u64) -> &[(u64, u32)] {
        let t = (key >> (64 - DIRECTORY_BITS)) as usize;
        let (lo, hi) = match (self.directory.get(t), self.directory.get(t + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, self.sorted.len()),
        };
        let bucket = self.sorted.get(lo..hi).unwrap_or(&[]);
        let start = bucket.partition_point(|&(k, _)| k < key);
        let end = start + bucket[start..].partition_point(|&(k, _)| k == key);
        &bucket[start..end]
    }

    pub(super) fn for_each(&self, key: u64, mut f: impl FnMut(u32)) {
        for &(_, s) in self.bulk(key) {
            f(s);
        }
        if let Some(v) = self.added.get(&key) {
            for &s in v {
                f(s);
            }
        }
    }

    pub(super) fn remove(&mut self, key: u64, slot: u32) {
        if let Some(v) = self.added.get_mut(&key) {
            v.retain(|&s| s != slot);
            if v.is_empty() {
                self.added.remove(&key);
            }
        }
        // Bulk entries stay (removing one would shift the directory); a removed slot is
        // skipped at lookup because it is no longer live.
    }
}
