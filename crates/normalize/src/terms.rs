//! User-supplied terminology maps ([`Terms`]): many spellings of a category to one term.

use std::collections::{BTreeMap, HashMap};

use crate::normalizer::{Normalizer, Outcome, keep};
use crate::text::text_key;

/// A synonym table for one field: each canonical term with its synonyms, matched case-,
/// accent-, punctuation- and whitespace-insensitively. The canonical term matches itself.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Terms};
/// let mut t = Terms::new();
/// t.add("gold", ["GOLD", "Gold Member", "or"]).add("silver", ["Silver Member"]);
/// assert_eq!(normalize_to_string(&t, "  gold  MEMBER").0, "gold");
/// assert_eq!(normalize_to_string(&t, "Sílver").0, "silver");
/// assert!(normalize_to_string(&t, "platinum").1.is_flagged());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Terms {
    map: HashMap<String, String>,
    keep_unknown: bool,
    clashes: Vec<String>,
}

impl Terms {
    /// An empty table.
    pub fn new() -> Terms {
        Terms::default()
    }

    /// A table from canonical term -> synonyms.
    pub fn from_map(map: &BTreeMap<String, Vec<String>>) -> Terms {
        let mut t = Terms::new();
        for (term, syn) in map {
            t.add(term, syn);
        }
        t
    }

    /// Adds a canonical term and its synonyms.
    pub fn add<I, S>(&mut self, term: &str, synonyms: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut k = String::new();
        for s in std::iter::once(term.to_owned())
            .chain(synonyms.into_iter().map(|s| s.as_ref().to_owned()))
        {
            text_key(&s, &mut k);
            if let Some(prev) = self.map.insert(k.clone(), term.to_owned())
                && prev != term
            {
                self.clashes
                    .push(format!("{s:?} is a synonym of both {prev:?} and {term:?}"));
            }
        }
        self
    }

    /// Whether values in no entry are kept as they are (unchanged) rather than flagged
    /// (the default).
    pub fn keep_unknown(&mut self, yes: bool) -> &mut Self {
        self.keep_unknown = yes;
        self
    }

    /// Synonyms that were given to two terms (the later one wins); a configuration should
    /// refuse them.
    pub fn clashes(&self) -> &[String] {
        &self.clashes
    }
}

impl Normalizer for Terms {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        let mut k = String::with_capacity(input.len());
        text_key(input, &mut k);
        match self.map.get(&k) {
            Some(term) => {
                out.clear();
                out.push_str(term);
                Outcome::compare(input, out)
            }
            None if self.keep_unknown => keep(input, out, Outcome::Unchanged),
            None => keep(
                input,
                out,
                Outcome::Invalid("not in the terminology map".into()),
            ),
        }
    }
}
