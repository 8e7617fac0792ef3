//! Configuration: which fields to compare and how, which blocking passes to run, the threshold.

use mergetag_model::fields;
use serde::{Deserialize, Serialize};

use crate::blocking::{BlockingPass, KeyPart, KeyTransform};
use crate::comparison::{ComparisonConfig, ComparisonKind};
use crate::error::{Error, Result, from_json, from_toml};

/// A dedup configuration, in code or from TOML/JSON.
///
/// # Worked example: customer contacts
///
/// This is [`DedupConfig::contacts`] written out; start from it and adapt.
///
/// ```
/// # use mergetag_dedup::DedupConfig;
/// let toml = r#"
/// threshold = 0.9         # match probability from which two records are one person
/// max_block_size = 5000   # a block larger than this (everyone called Smith) is skipped, and reported
///
/// ## Given names: nicknames (Bob ~ Robert) and first/last swaps recognised; agreeing on a rare
/// ## name weighs more than on a common one.
/// [[comparisons]]
/// field = "first_name"
/// kind = "given_name"
/// swap_with = "last_name"
/// term_frequency = true
///
/// [[comparisons]]
/// field = "last_name"
/// kind = "name"
/// swap_with = "first_name"
/// term_frequency = true
///
/// [[comparisons]]         # case, Gmail dots and +tags ignored; same local part at another
/// field = "email"         # provider and one-letter typos are levels of their own
/// kind = "email"
///
/// [[comparisons]]         # last ten digits; one wrong digit is a level
/// field = "phone"
/// kind = "phone"
///
/// [[comparisons]]         # day/month swaps and one-digit typos recognised
/// field = "birth_date"
/// kind = "date"
///
/// [[comparisons]]
/// field = "street"
/// kind = "text"
///
/// ## No city: it moves with the postal code, and comparing both counts one fact twice.
/// [[comparisons]]
/// field = "postal_code"
/// kind = "exact"
/// term_frequency = true
///
/// ## Candidate pairs: records sharing any of these keys.
/// [[blocking]]
/// keys = [{ field = "email", transform = "email_key" }]
/// [[blocking]]
/// keys = [{ field = "phone", transform = "phone_digits" }]
/// [[blocking]]
/// keys = [{ field = "last_name", transform = "exact" }, { field = "birth_date", transform = "date" }]
/// [[blocking]]
/// keys = [{ field = "first_name", transform = "exact" }, { field = "birth_date", transform = "date" }]
/// [[blocking]]
/// keys = [{ field = "last_name", transform = "soundex" }, { field = "postal_code", transform = "exact" }]
/// [[blocking]]
/// keys = [
///     { field = "first_name", transform = "prefix3" },
///     { field = "last_name", transform = "prefix3" },
///     { field = "birth_date", transform = "year" },
/// ]
/// "#;
/// assert_eq!(DedupConfig::from_toml_str(toml)?, DedupConfig::contacts());
/// # Ok::<(), mergetag_dedup::Error>(())
/// ```
///
/// A sorted-neighbourhood pass adds `window = 5` to a `[[blocking]]` entry; a MinHash LSH pass
/// on one field adds `minhash = { bands = 20, rows = 2 }`.
///
/// All the settings, with their defaults:
///
/// ```toml
/// threshold = 0.9          # match probability at or above which two records are linked
/// max_block_size = 5000    # larger blocks are skipped and reported
/// random_pairs = 1000000   # pairs sampled to estimate u probabilities
/// em_iterations = 25
/// guard_bridges = true     # refuse weak links between two groups of records
///
/// [[comparisons]]
/// field = "first_name"
/// kind = "given_name"
/// swap_with = "last_name"
///
/// [[blocking]]
/// keys = [{ field = "email", transform = "email_key" }]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// The compared fields.
    pub comparisons: Vec<ComparisonConfig>,
    /// The blocking passes.
    pub blocking: Vec<BlockingPass>,
    /// The match probability at or above which a pair is a match (default 0.9).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Blocks larger than this are skipped and reported (default 5000).
    #[serde(default = "default_max_block")]
    pub max_block_size: usize,
    /// Random pairs sampled to estimate how often non-matches agree (default 1,000,000).
    #[serde(default = "default_random_pairs")]
    pub random_pairs: usize,
    /// Expectation-maximisation iterations (default 25).
    #[serde(default = "default_em_iterations")]
    pub em_iterations: usize,
    /// Seed of the random pair sample (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Guard clusters against chaining (default `true`): a match that would join two groups of
    /// two or more records is not followed when most scored pairs between the groups are
    /// non-matches, so one weak link cannot merge two people.
    #[serde(default = "default_true")]
    pub guard_bridges: bool,
}

fn default_true() -> bool {
    true
}

fn default_threshold() -> f64 {
    0.9
}
fn default_max_block() -> usize {
    5000
}
fn default_random_pairs() -> usize {
    1_000_000
}
fn default_em_iterations() -> usize {
    25
}

fn part(field: &str, transform: KeyTransform) -> KeyPart {
    KeyPart {
        field: field.to_owned(),
        transform,
    }
}

impl DedupConfig {
    /// A configuration for customer contacts with the canonical fields: names (nickname- and
    /// swap-aware, term-frequency adjusted), email, phone, birth date, street and postal code
    /// (not city, which moves with the postal code); blocking on email,
    /// phone, name + birth date, phonetic surname + postal code, and given name + birth date.
    pub fn contacts() -> DedupConfig {
        use ComparisonKind as K;
        use KeyTransform as T;
        let cmp = |field: &str, kind, swap: Option<&str>| ComparisonConfig {
            swap_with: swap.map(str::to_owned),
            term_frequency: matches!(kind, K::Name | K::GivenName | K::Exact),
            ..ComparisonConfig::new(field, kind)
        };
        DedupConfig {
            comparisons: vec![
                cmp(fields::FIRST_NAME, K::GivenName, Some(fields::LAST_NAME)),
                cmp(fields::LAST_NAME, K::Name, Some(fields::FIRST_NAME)),
                cmp(fields::EMAIL, K::Email, None),
                cmp(fields::PHONE, K::Phone, None),
                cmp(fields::BIRTH_DATE, K::Date, None),
                cmp(fields::STREET, K::Text, None),
                // No separate city comparison: city and postal code move together, and
                // comparing both would count one piece of evidence twice.
                cmp(fields::POSTAL_CODE, K::Exact, None),
            ],
            blocking: vec![
                BlockingPass::on(vec![part(fields::EMAIL, T::EmailKey)]),
                BlockingPass::on(vec![part(fields::PHONE, T::PhoneDigits)]),
                BlockingPass::on(vec![
                    part(fields::LAST_NAME, T::Exact),
                    part(fields::BIRTH_DATE, T::Date),
                ]),
                BlockingPass::on(vec![
                    part(fields::FIRST_NAME, T::Exact),
                    part(fields::BIRTH_DATE, T::Date),
                ]),
                BlockingPass::on(vec![
                    part(fields::LAST_NAME, T::Soundex),
                    part(fields::POSTAL_CODE, T::Exact),
                ]),
                BlockingPass::on(vec![
                    part(fields::FIRST_NAME, T::Prefix3),
                    part(fields::LAST_NAME, T::Prefix3),
                    part(fields::BIRTH_DATE, T::Year),
                ]),
            ],
            threshold: default_threshold(),
            max_block_size: default_max_block(),
            random_pairs: default_random_pairs(),
            em_iterations: default_em_iterations(),
            seed: 0,
            guard_bridges: true,
        }
    }

    /// Parses TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the position of a syntax error or unknown key, then the errors of
    /// [`DedupConfig::validate`].
    pub fn from_toml_str(text: &str) -> Result<DedupConfig> {
        let c: DedupConfig = from_toml(text, "<toml>")?;
        c.validate()?;
        Ok(c)
    }

    /// Parses JSON.
    ///
    /// # Errors
    ///
    /// As [`DedupConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<DedupConfig> {
        let c: DedupConfig = from_json(text, "<json>")?;
        c.validate()?;
        Ok(c)
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] saying what to change: no comparisons, no blocking passes, an empty
    /// pass, a threshold outside `(0, 1)`, a block cap below 2.
    pub fn validate(&self) -> Result<()> {
        if self.comparisons.is_empty() {
            return Err(Error::Invalid(
                "add at least one [[comparisons]] entry".into(),
            ));
        }
        if self.blocking.is_empty() {
            return Err(Error::Invalid(
                "add at least one [[blocking]] pass; without blocking every pair would be compared"
                    .into(),
            ));
        }
        if let Some(i) = self.blocking.iter().position(|b| b.keys.is_empty()) {
            return Err(Error::Invalid(format!(
                "blocking pass {} has no keys; give it at least one",
                i + 1
            )));
        }
        for (i, b) in self.blocking.iter().enumerate() {
            let n = i + 1;
            if b.window.is_some() && b.minhash.is_some() {
                return Err(Error::Invalid(format!(
                    "blocking pass {n} has both `window` and `minhash`; choose one"
                )));
            }
            if b.window.is_some_and(|w| w < 2) {
                return Err(Error::Invalid(format!(
                    "blocking pass {n}: `window` must be at least 2"
                )));
            }
            if let Some(m) = b.minhash {
                if b.keys.len() != 1 {
                    return Err(Error::Invalid(format!(
                        "blocking pass {n}: `minhash` works on exactly one key field, not {}",
                        b.keys.len()
                    )));
                }
                if !(1..=64).contains(&m.bands) || !(1..=16).contains(&m.rows) {
                    return Err(Error::Invalid(format!(
                        "blocking pass {n}: `minhash` needs 1 to 64 bands of 1 to 16 rows"
                    )));
                }
            }
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(Error::Invalid(format!(
                "threshold {} is not a probability strictly between 0 and 1",
                self.threshold
            )));
        }
        if self.max_block_size < 2 {
            return Err(Error::Invalid("max_block_size must be at least 2".into()));
        }
        for c in &self.comparisons {
            if c.field.trim().is_empty() {
                return Err(Error::Invalid(
                    "a comparison has an empty field name".into(),
                ));
            }
            for (name, v) in [("tolerance", c.tolerance), ("percent", c.percent)] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(Error::Invalid(format!(
                        "comparison `{}`: {name} must be a non-negative number, not {v}",
                        c.field
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_round_trips_through_toml_and_json() {
        let c = DedupConfig::contacts();
        c.validate().unwrap();
        let toml = toml::to_string(&c).unwrap();
        assert_eq!(DedupConfig::from_toml_str(&toml).unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(DedupConfig::from_json_str(&json).unwrap(), c);
    }

    #[test]
    fn errors_say_how_to_fix() {
        let e = DedupConfig::from_toml_str("comparisons = []\nblocking = []\n").unwrap_err();
        assert!(
            e.to_string().contains("add at least one [[comparisons]]"),
            "{e}"
        );
        let e = DedupConfig::from_toml_str("threshold = 2\nbogus = 1\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = DedupConfig::from_toml_str(
            "threshold = 1.5\n[[comparisons]]\nfield = \"email\"\nkind = \"email\"\n[[blocking]]\nkeys = [{ field = \"email\", transform = \"email_key\" }]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("threshold 1.5"), "{e}");
    }
}
