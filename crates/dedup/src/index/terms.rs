//! Term counts: how often each folded value occurs in the index, for term-frequency adjusted
//! comparisons.

use std::collections::HashMap;

/// How often each folded value occurs, for term-frequency adjusted comparisons.
#[derive(Debug, Default)]
pub(super) struct TermCounts {
    counts: HashMap<Box<str>, u32>,
    total: u32,
}

impl TermCounts {
    pub(super) fn add(&mut self, v: &str) {
        if !v.is_empty() {
            *self.counts.entry(v.into()).or_default() += 1;
            self.total += 1;
        }
    }

    pub(super) fn remove(&mut self, v: &str) {
        if let Some(c) = self.counts.get_mut(v) {
            *c -= 1;
            self.total = self.total.saturating_sub(1);
            if *c == 0 {
                self.counts.remove(v);
            }
        }
    }

    /// The frequency of `v`, counting `extra` more occurrences of it (a record about to be
    /// added), computed as a batch run computes it.
    pub(super) fn frequency(&self, v: &str, extra: u32) -> f32 {
        let total = self.total + extra;
        if v.is_empty() || total == 0 {
            return 0.0;
        }
        (self.counts.get(v).copied().unwrap_or(0) + extra) as f32 / total as f32
    }
}
