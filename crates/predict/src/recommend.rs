//! Next product: item-to-item co-occurrence with a popularity fallback, and its hit rate on
//! a time split beside the popularity baseline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// One person's purchases: the products of each order, oldest first.
pub type Basket = Vec<String>;

/// Item-to-item co-occurrence: products bought by the same people, scored by cosine
/// similarity (`co(i, j) / sqrt(n_i n_j)`), summed over a person's products; products nobody
/// bought together with theirs are filled in by popularity.
///
/// ```
/// use mergetag_predict::CoOccurrence;
///
/// let history = |items: &[&str]| vec![items.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
/// let people = vec![
///     history(&["tent", "stove"]),
///     history(&["tent", "stove", "lamp"]),
///     history(&["shoes", "socks"]),
///     history(&["shoes", "socks"]),
///     history(&["shoes", "socks"]),
/// ];
/// let model = CoOccurrence::fit(&people, &[]);
/// // Someone with a tent gets the stove, though socks are more popular.
/// assert_eq!(model.recommend(&history(&["tent"]), 1), vec!["stove"]);
/// // Someone with nothing gets the most popular product.
/// assert_eq!(model.recommend(&[], 1), vec!["shoes"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoOccurrence {
    /// People who bought each product.
    pub counts: BTreeMap<String, u32>,
    /// People who bought both, for each product: the other product and the count.
    pub pairs: BTreeMap<String, BTreeMap<String, u32>>,
    /// Products by popularity (most first; ties by name).
    pub popular: Vec<String>,
    /// Products people buy again (consumables): recommended even to those who have them.
    pub repeat: BTreeSet<String>,
}

impl CoOccurrence {
    /// Counts products and pairs over `people` (each a list of orders, each a list of
    /// products); `repeat` names the repeat-purchase products.
    pub fn fit(people: &[Vec<Basket>], repeat: &[String]) -> CoOccurrence {
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        let mut pairs: HashMap<(&str, &str), u32> = HashMap::new();
        for person in people {
            let items: BTreeSet<&str> = person.iter().flatten().map(String::as_str).collect();
            for &i in &items {
                *counts.entry(i.to_owned()).or_insert(0) += 1;
            }
            // People with very many products say little about any pair: at most 200 counted.
            let items: Vec<&str> = items.into_iter().take(200).collect();
            for (n, &i) in items.iter().enumerate() {
                for &j in &items[n + 1..] {
                    *pairs.entry((i, j)).or_insert(0) += 1;
                }
            }
        }
        let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for ((i, j), c) in pairs {
            out.entry(i.to_owned()).or_default().insert(j.to_owned(), c);
            out.entry(j.to_owned()).or_default().insert(i.to_owned(), c);
        }
        let mut popular: Vec<(&String, &u32)> = counts.iter().collect();
        popular.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let popular = popular.into_iter().map(|(p, _)| p.clone()).collect();
        CoOccurrence {
            counts,
            pairs: out,
            popular,
            repeat: repeat.iter().cloned().collect(),
        }
    }

    /// The `k` products `history`'s owner is most likely to buy next: never one they bought,
    /// unless it is a repeat-purchase product; ties by name; popularity fills the rest.
    pub fn recommend(&self, history: &[Basket], k: usize) -> Vec<String> {
        let owned: BTreeSet<&str> = history.iter().flatten().map(String::as_str).collect();
        let allowed = |p: &str| !owned.contains(p) || self.repeat.contains(p);
        let mut scores: BTreeMap<&str, f64> = BTreeMap::new();
        for &i in &owned {
            let (Some(ni), Some(row)) = (self.counts.get(i), self.pairs.get(i)) else {
                continue;
            };
            for (j, &c) in row {
                if !allowed(j) {
                    continue;
                }
                let nj = self.counts.get(j).copied().unwrap_or(1);
                *scores.entry(j.as_str()).or_insert(0.0) +=
                    f64::from(c) / (f64::from(*ni) * f64::from(nj)).sqrt();
            }
        }
        let mut ranked: Vec<(&str, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let mut out: Vec<String> = ranked
            .into_iter()
            .take(k)
            .map(|(p, _)| p.to_owned())
            .collect();
        for p in &self.popular {
            if out.len() >= k {
                break;
            }
            if allowed(p) && !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    /// The `k` most popular products `history`'s owner may be recommended: the baseline.
    pub fn popular_for(&self, history: &[Basket], k: usize) -> Vec<String> {
        let owned: BTreeSet<&str> = history.iter().flatten().map(String::as_str).collect();
        self.popular
            .iter()
            .filter(|p| !owned.contains(p.as_str()) || self.repeat.contains(p.as_str()))
            .take(k)
            .cloned()
            .collect()
    }
}

/// Hit rate at k on a time split: of the people who bought something after the split, the
/// share whose top-k recommendation (from their orders before it, with a model fitted on
/// everyone's orders before it) includes a product they then bought.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HitRate {
    /// The k.
    pub k: usize,
    /// People evaluated (with orders on both sides of the split).
    pub people: usize,
    /// Hit rate of the co-occurrence model.
    pub co_occurrence: f64,
    /// Hit rate of recommending the most popular products (the baseline, in the same run).
    pub popularity: f64,
}

/// Evaluates [`CoOccurrence`] against popularity: `before[i]` and `after[i]` are person `i`'s
/// orders before and after the split.
///
/// ```
/// use mergetag_predict::hit_rate;
///
/// let o = |items: &[&str]| vec![items.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
/// let before = vec![o(&["tent"]), o(&["tent"]), o(&["shoes"]), o(&["shoes", "socks"])];
/// let after = vec![o(&["stove"]), o(&["stove"]), o(&["socks"]), vec![]];
/// let h = hit_rate(&before, &after, &[], 1);
/// assert_eq!(h.people, 3);
/// assert!(h.co_occurrence >= h.popularity);
/// ```
pub fn hit_rate(
    before: &[Vec<Basket>],
    after: &[Vec<Basket>],
    repeat: &[String],
    k: usize,
) -> HitRate {
    // The model learns pairs from the training side only; a person's later orders are what
    // it must guess.
    let mut train: Vec<Vec<Basket>> = before.to_vec();
    // Pairs need two products per person: people with one product still count popularity.
    train.retain(|p| !p.is_empty());
    let model = CoOccurrence::fit(&train, repeat);
    let (mut people, mut ours, mut base) = (0usize, 0usize, 0usize);
    for (b, a) in before.iter().zip(after) {
        let owned: BTreeSet<&str> = b.iter().flatten().map(String::as_str).collect();
        let bought: BTreeSet<&str> = a
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|p| !owned.contains(p) || model.repeat.contains(*p))
            .collect();
        if b.is_empty() || bought.is_empty() {
            continue;
        }
        people += 1;
        if model
            .recommend(b, k)
            .iter()
            .any(|p| bought.contains(p.as_str()))
        {
            ours += 1;
        }
        if model
            .popular_for(b, k)
            .iter()
            .any(|p| bought.contains(p.as_str()))
        {
            base += 1;
        }
    }
    let rate = |h: usize| {
        if people == 0 {
            0.0
        } else {
            h as f64 / people as f64
        }
    };
    HitRate {
        k,
        people,
        co_occurrence: rate(ours),
        popularity: rate(base),
    }
}
