//! Configuration: which fields to compare and how, which blocking passes to run, the threshold.

use std::path::Path;

use mergetag_model::config::{self, Format};
use mergetag_model::fields;
use serde::{Deserialize, Serialize};

use crate::blocking::{BlockingPass, KeyPart, KeyTransform};
use crate::comparison::{ComparisonConfig, ComparisonKind};
use crate::dedup::{Deduper, MAX_COMPARISONS};
use crate::error::{Error, Result};

/// A dedup configuration, in code or from TOML/JSON: plain data that
/// [`DedupConfig::build`] turns into the [`Deduper`] that runs.
///
/// The loaders ([`DedupConfig::from_toml_str`], [`DedupConfig::from_json_str`],
/// [`DedupConfig::from_path`]) reject unknown keys and run [`DedupConfig::validate`], so a
/// configuration that loads always builds.
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
/// [[blocking]]
/// keys = [{ field = "street", transform = "exact" }]
/// [[blocking]]
/// keys = [{ field = "first_name", transform = "exact" }, { field = "last_name", transform = "exact" }]
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
    /// The blocking passes. When there are none, a run chooses them from the data
    /// ([`Deduper::choose_blocking`]) and reports the choice.
    #[serde(default)]
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
    /// phone, name + birth date, phonetic surname + postal code, given name + birth date,
    /// name prefixes + birth year, street, and full name (blocking recall about 0.996 on the
    /// testkit's realistic noise, 100k to 1M records).
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
                BlockingPass::on(vec![part(fields::STREET, T::Exact)]),
                BlockingPass::on(vec![
                    part(fields::FIRST_NAME, T::Exact),
                    part(fields::LAST_NAME, T::Exact),
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

    /// Builds the [`Deduper`] this configuration describes. A configuration that passes
    /// [`DedupConfig::validate`] always builds; `build` can be called again, for example after
    /// changing a setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use mergetag_dedup::{DedupConfig, Error};
    /// use mergetag_model::{fields, Record, RecordId};
    ///
    /// let mut config = DedupConfig::contacts();
    /// config.threshold = 0.95;
    /// let deduper = config.build()?;
    ///
    /// let mut a = Record::new(RecordId::id("crm", "1"));
    /// a.set(fields::EMAIL, "ann.lee@example.com");
    /// let mut b = Record::new(RecordId::id("shop", "9"));
    /// b.set(fields::EMAIL, "Ann.Lee@Example.com");
    /// let result = deduper.run(&[a, b]);
    /// assert_eq!(result.clusters.len(), 2);
    ///
    /// // A configuration that cannot work says where and how to fix it.
    /// config.threshold = 0.0;
    /// let Err(Error::Invalid { path, message }) = config.build() else { panic!() };
    /// assert_eq!(path, "threshold");
    /// assert!(message.contains("between 0 and 1"), "{message}");
    /// # Ok::<(), mergetag_dedup::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`DedupConfig::validate`].
    pub fn build(&self) -> Result<Deduper> {
        Deduper::new(self.clone())
    }

    /// Parses and validates TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the position of a syntax error, an unknown key or a value of the
    /// wrong type, then the errors of [`DedupConfig::validate`].
    pub fn from_toml_str(text: &str) -> Result<DedupConfig> {
        DedupConfig::from_text(text, Format::Toml)
    }

    /// Parses and validates JSON.
    ///
    /// # Errors
    ///
    /// As [`DedupConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<DedupConfig> {
        DedupConfig::from_text(text, Format::Json)
    }

    /// Reads, parses and validates a configuration file: TOML or JSON by its extension
    /// (`.toml` or `.json`, in any case), as every mergetag configuration file is read.
    ///
    /// ```
    /// # use mergetag_dedup::DedupConfig;
    /// let path = std::env::temp_dir().join(format!("dedup-doc-{}.json", std::process::id()));
    /// std::fs::write(&path, serde_json::to_string(&DedupConfig::contacts()).unwrap()).unwrap();
    /// assert_eq!(DedupConfig::from_path(&path)?, DedupConfig::contacts());
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), mergetag_dedup::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or its extension is neither `.toml` nor
    /// `.json`; [`Error::Parse`] naming the file, line and column of a problem; then the
    /// errors of [`DedupConfig::validate`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<DedupConfig> {
        let c: DedupConfig = config::from_path(path)?;
        c.validate()?;
        Ok(c)
    }

    fn from_text(text: &str, format: Format) -> Result<DedupConfig> {
        let c: DedupConfig = config::load(text, format.text_origin(), format)?;
        c.validate()?;
        Ok(c)
    }

    /// Checks that the configuration can work: everything [`DedupConfig::build`] needs.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] with the key path and what to change: no comparisons, more than
    /// [`MAX_COMPARISONS`](crate::MAX_COMPARISONS), an empty field name, a negative
    /// `tolerance` or `percent`; no blocking passes, a pass without keys, a pass with both
    /// `window` and `minhash`, a window below 2, MinHash settings out of range; a threshold
    /// outside `(0, 1)`, a block cap below 2.
    pub fn validate(&self) -> Result<()> {
        if self.comparisons.is_empty() {
            return Err(Error::invalid(
                "comparisons",
                "add at least one [[comparisons]] entry",
            ));
        }
        if let Some(i) = self.blocking.iter().position(|b| b.keys.is_empty()) {
            return Err(Error::invalid(
                format!("blocking[{i}].keys"),
                "the pass has no keys; give it at least one",
            ));
        }
        for (i, b) in self.blocking.iter().enumerate() {
            if b.window.is_some() && b.minhash.is_some() {
                return Err(Error::invalid(
                    format!("blocking[{i}]"),
                    "the pass has both `window` and `minhash`; choose one",
                ));
            }
            if let Some(w) = b.window
                && w < 2
            {
                return Err(Error::invalid(
                    format!("blocking[{i}].window"),
                    format!("must be at least 2, not {w}"),
                ));
            }
            if let Some(m) = b.minhash {
                if b.keys.len() != 1 {
                    return Err(Error::invalid(
                        format!("blocking[{i}].keys"),
                        format!(
                            "`minhash` works on exactly one key field, not {}; keep one",
                            b.keys.len()
                        ),
                    ));
                }
                if !(1..=64).contains(&m.bands) || !(1..=16).contains(&m.rows) {
                    return Err(Error::invalid(
                        format!("blocking[{i}].minhash"),
                        "`minhash` needs 1 to 64 bands of 1 to 16 rows",
                    ));
                }
            }
        }
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(Error::invalid(
                "threshold",
                format!(
                    "{} is not a probability strictly between 0 and 1; use a value such as 0.9",
                    self.threshold
                ),
            ));
        }
        if self.max_block_size < 2 {
            return Err(Error::invalid(
                "max_block_size",
                format!("must be at least 2, not {}", self.max_block_size),
            ));
        }
        for (i, c) in self.comparisons.iter().enumerate() {
            if c.field.trim().is_empty() {
                return Err(Error::invalid(
                    format!("comparisons[{i}].field"),
                    "the comparison has an empty field name; name the record field to compare",
                ));
            }
            if let Some(names) = &c.name_fields {
                if c.kind != ComparisonKind::Email {
                    return Err(Error::invalid(
                        format!("comparisons[{i}].name_fields"),
                        "name_fields applies to email comparisons only",
                    ));
                }
                if names.len() > 2 {
                    return Err(Error::invalid(
                        format!("comparisons[{i}].name_fields"),
                        format!(
                            "{} fields; give at most two, the given name first and the family name second",
                            names.len()
                        ),
                    ));
                }
                if let Some(missing) = names
                    .iter()
                    .find(|n| !self.comparisons.iter().any(|o| &o.field == *n))
                {
                    return Err(Error::invalid(
                        format!("comparisons[{i}].name_fields"),
                        format!(
                            "`{missing}` is not a compared field; add a comparison of it or leave it out"
                        ),
                    ));
                }
            }
            for (name, v) in [("tolerance", c.tolerance), ("percent", c.percent)] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(Error::invalid(
                        format!("comparisons[{i}].{name}"),
                        format!("must be a non-negative number, not {v}"),
                    ));
                }
            }
        }
        if self.comparisons.len() > MAX_COMPARISONS {
            return Err(Error::invalid(
                "comparisons",
                format!(
                    "{} comparisons; at most {MAX_COMPARISONS} are supported, combine or drop some",
                    self.comparisons.len()
                ),
            ));
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
        assert!(e.to_string().starts_with("threshold: 1.5 is not"), "{e}");
        assert!(
            matches!(&e, Error::Invalid { path, .. } if path == "threshold"),
            "{e:?}"
        );
    }

    #[test]
    fn too_many_comparisons_are_reported_at_load_time() {
        let mut c = DedupConfig::contacts();
        while c.comparisons.len() <= MAX_COMPARISONS {
            c.comparisons
                .push(ComparisonConfig::new("loyalty_tier", ComparisonKind::Exact));
        }
        let e = DedupConfig::from_json_str(&serde_json::to_string(&c).unwrap()).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { path, .. } if path == "comparisons"),
            "{e}"
        );
        assert!(e.to_string().contains("at most 16"), "{e}");
        assert!(c.build().is_err());
        c.comparisons.truncate(MAX_COMPARISONS);
        c.validate().unwrap();
        c.build().unwrap();
    }

    #[test]
    fn files_by_extension() {
        let dir =
            std::env::temp_dir().join(format!("mergetag-dedup-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("dedup.TOML");
        std::fs::write(&good, toml::to_string(&DedupConfig::contacts()).unwrap()).unwrap();
        assert_eq!(
            DedupConfig::from_path(&good).unwrap(),
            DedupConfig::contacts()
        );
        let yaml = dir.join("dedup.yaml");
        std::fs::write(&yaml, "threshold: 0.9\n").unwrap();
        let e = DedupConfig::from_path(&yaml).unwrap_err();
        assert!(matches!(e, Error::Load(_)), "{e}");
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{\"threshold\": \"high\"}").unwrap();
        let e = DedupConfig::from_path(&bad).unwrap_err();
        let Error::Parse(cause) = &e else {
            panic!("{e:?}")
        };
        assert!(cause.origin.ends_with("bad.json") && cause.line == 1, "{e}");
        let e = DedupConfig::from_path(dir.join("missing.json")).unwrap_err();
        assert!(matches!(e, Error::Load(_)), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
