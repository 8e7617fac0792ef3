//! The [`Normalizer`] trait and the [`Outcome`] every normalizer reports.

use std::fmt;

use mergetag_model::Value;
use serde::{Deserialize, Serialize};

/// What a normalizer did with one value.
///
/// A value that cannot be normalized is kept as it was and flagged ([`Outcome::Invalid`],
/// [`Outcome::Ambiguous`]): never dropped and never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The value was already in normal form.
    Unchanged,
    /// The value was rewritten into normal form.
    Changed,
    /// The value was rewritten into normal form after reading it otherwise than the
    /// configuration says, where the configured reading is impossible (a date that cannot be
    /// month-day-year read as day-month-year). Its kind is `changed`; the reason says what was
    /// done.
    Corrected(String),
    /// The value cannot be normalized; it is kept as given. The reason is for a person.
    Invalid(String),
    /// The value has more than one reading and the configuration does not say which; it is
    /// kept as given. The reason says what to set.
    Ambiguous(String),
    /// The value was removed (it is missing now): a null marker such as `N/A` or `NULL`, or
    /// text holding template syntax (`{{first_name}}`) that must never reach a template. The
    /// reason says which.
    Removed(String),
}

impl Outcome {
    /// `Changed` when `before != after`, `Unchanged` otherwise.
    pub fn compare(before: &str, after: &str) -> Outcome {
        if before == after {
            Outcome::Unchanged
        } else {
            Outcome::Changed
        }
    }

    /// Whether the value is in normal form now (unchanged, changed, or removed as missing).
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Outcome::Unchanged | Outcome::Changed | Outcome::Corrected(_) | Outcome::Removed(_)
        )
    }

    /// Whether the value was flagged (invalid or ambiguous).
    pub fn is_flagged(&self) -> bool {
        !self.is_ok()
    }

    /// The reason, for a flagged, removed or corrected value.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Invalid(r)
            | Outcome::Ambiguous(r)
            | Outcome::Removed(r)
            | Outcome::Corrected(r) => Some(r),
            _ => None,
        }
    }

    /// A short stable name: `unchanged`, `changed`, `invalid`, `ambiguous`, `removed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Changed | Outcome::Corrected(_) => "changed",
            Outcome::Invalid(_) => "invalid",
            Outcome::Ambiguous(_) => "ambiguous",
            Outcome::Removed(_) => "removed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(r) => write!(f, "{}: {r}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// Extra facts about the record a value comes from, which some normalizers use (the phone
/// normalizer takes the default region from the record's country).
///
/// The country-dependent normalizers ([`Phone`](crate::Phone), [`Region`](crate::Region),
/// [`PostalCode`](crate::PostalCode), [`UsStreet`](crate::UsStreet)) take the first country
/// they know of, in this order: the record's [`country`](Context::country); the normalizer's
/// own default (`default_region` of a phone, `default_country` of the others); the
/// configuration's [`default_country`](Context::default_country)
/// ([`NormalizeConfig::default_country`](crate::NormalizeConfig::default_country)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The record's country, as ISO 3166-1 alpha-2, when known.
    pub country: Option<&'a str>,
    /// The country of records that have none, as ISO 3166-1 alpha-2: the last resort, after
    /// the record's country and the normalizer's own default.
    pub default_country: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// A context with the record's country.
    pub fn with_country(country: Option<&'a str>) -> Context<'a> {
        Context {
            country,
            default_country: None,
        }
    }

    /// This context with `country` as the default for records without one.
    ///
    /// ```
    /// use mergetag_normalize::{Context, Normalizer, Phone};
    /// let cx = Context::with_country(None).with_default_country(Some("US"));
    /// let mut out = String::new();
    /// Phone::new().normalize_in("(608) 555-0123", cx, &mut out);
    /// assert_eq!(out, "+16085550123");
    /// ```
    pub fn with_default_country(self, country: Option<&'a str>) -> Context<'a> {
        Context {
            default_country: country,
            ..self
        }
    }
}

/// Turns the many spellings of a value into one canonical form.
///
/// The one required method writes the stored form of `input` into `out` (cleared first) and
/// says what it did. On [`Outcome::Invalid`] and [`Outcome::Ambiguous`], `out` holds `input`
/// unchanged. Normalizers are idempotent: normalizing the output again yields
/// [`Outcome::Unchanged`] (or the same flag).
///
/// ```
/// use mergetag_normalize::{Normalizer, Outcome, Text};
///
/// let mut out = String::new();
/// assert_eq!(Text::new().normalize("  Jane \u{200b} Doe ", &mut out), Outcome::Changed);
/// assert_eq!(out, "Jane Doe");
/// ```
pub trait Normalizer: fmt::Debug + Send + Sync {
    /// Writes the normal form of `input` into `out` (which is cleared first).
    fn normalize(&self, input: &str, out: &mut String) -> Outcome;

    /// Like [`normalize`](Normalizer::normalize) with facts about the record. The default
    /// ignores the context.
    fn normalize_in(&self, input: &str, _cx: Context<'_>, out: &mut String) -> Outcome {
        self.normalize(input, out)
    }

    /// Normalizes a typed value: text goes through [`normalize_in`](Normalizer::normalize_in)
    /// and stays text; other values are returned as they are. Normalizers that produce typed
    /// values (dates) override this. Returns `None` when the value is not for this normalizer
    /// (null, or not text).
    fn normalize_value(&self, value: &Value, cx: Context<'_>) -> Option<(Value, Outcome)> {
        let text = value.as_str()?;
        let mut out = String::with_capacity(text.len());
        let outcome = self.normalize_in(text, cx, &mut out);
        Some((Value::Text(out), outcome))
    }
}

impl<T: Normalizer + ?Sized> Normalizer for &T {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        (**self).normalize(input, out)
    }
    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        (**self).normalize_in(input, cx, out)
    }
    fn normalize_value(&self, value: &Value, cx: Context<'_>) -> Option<(Value, Outcome)> {
        (**self).normalize_value(value, cx)
    }
}

impl<T: Normalizer + ?Sized> Normalizer for Box<T> {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        (**self).normalize(input, out)
    }
    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        (**self).normalize_in(input, cx, out)
    }
    fn normalize_value(&self, value: &Value, cx: Context<'_>) -> Option<(Value, Outcome)> {
        (**self).normalize_value(value, cx)
    }
}

/// Keeps `input` in `out` and returns `outcome`: the rule for flagged values.
pub(crate) fn keep(input: &str, out: &mut String, outcome: Outcome) -> Outcome {
    out.clear();
    out.push_str(input);
    outcome
}

/// Normalizes `input` with `n` into a new string.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Email};
/// let (s, _) = normalize_to_string(&Email::new(), "mailto:Jane@EXAMPLE.com");
/// assert_eq!(s, "Jane@example.com");
/// ```
pub fn normalize_to_string<N: Normalizer + ?Sized>(n: &N, input: &str) -> (String, Outcome) {
    let mut out = String::with_capacity(input.len());
    let o = n.normalize(input, &mut out);
    (out, o)
}
