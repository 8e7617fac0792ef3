//! The rule-set file format: [`RuleSetConfig`] and the configuration of each rule.
//!
//! A rule set is a table of fields, each with the rules it must pass, and a table of checks
//! that span fields. In TOML:
//!
//! ```toml
//! # The date that date rules and the age check take as "today". Default: the UTC date when
//! # the rule set is built. Set it for reproducible runs.
//! as_of = "2026-03-01"
//!
//! [fields.email]
//! required = true
//! email = { disposable_domain = "error", role_account = "off" }
//!
//! [fields.phone]
//! phone = { region_field = "country", default_region = "US" }
//!
//! [fields.age]
//! type = "int"
//! range = { min = 13, max = 120 }
//!
//! [fields.birth_date]
//! date = { not_future = true, min = "1900-01-01" }
//!
//! [fields.last_order_at]
//! date = { within_days = 365, severity = "warning" }
//!
//! [fields.loyalty_tier]
//! one_of = { values = ["gold", "silver", "bronze"], ignore_case = true }
//!
//! [fields.first_name]
//! length = { max = 50 }
//!
//! [fields.store_code]
//! pattern = { regex = 'ST-\d{4}', message = "store code must look like ST-1234" }
//!
//! [fields.country]
//! country = true
//!
//! [fields.region]
//! region = true          # of the country in `country`
//!
//! [fields.user_id]
//! unique = true          # within each source
//!
//! [checks]
//! age_birth_date = { tolerance = 1 }
//! postal_code_country = { default_country = "US" }
//! unique_id = true
//! ```
//!
//! The same document in JSON has the same keys. Every table refuses unknown keys, naming the
//! ones it knows. Rules that take no options accept `true` (and `false` to leave the rule out);
//! rules with options accept a table, and some a shorthand: `type = "int"`,
//! `one_of = ["a", "b"]`, `pattern = '...'`. Each rule's table accepts `severity`
//! (`"error"`, `"warning"` or `"info"`; default `"error"`).
//!
//! Within a field, rules run in the order of the keys above; fields run in name order; the
//! checks run last.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use chrono::NaiveDate;
use mergetag_model::config::{self, Format};
use mergetag_model::fields::ValueKind;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize};

use crate::rules::{
    AgeMatchesBirthDate, CountryCode, DateBounds, EmailAddress, Length, OneOf, ParsesAs, Pattern,
    PhoneNumber, PostalCodeMatchesCountry, Range, RegionCode, Required, Unique,
};
use crate::{EmailConfig, Error, Result, RuleSet, Severity};

/// A rule set as written in a file; [`RuleSetConfig::build`] makes the [`RuleSet`]. See the
/// [module docs](self) for the format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSetConfig {
    /// "Today" for date rules and the age check; `None` means the UTC date at build time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<NaiveDate>,
    /// The rules of each field, by field name.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRules>,
    /// Checks across fields.
    #[serde(default)]
    pub checks: Checks,
}

/// The rules of one field. Each is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldRules {
    /// `required = true`: see [`Required`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub required: Option<Plain>,
    /// `type = "int"`: see [`ParsesAs`].
    #[serde(
        default,
        rename = "type",
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<TypeConfig>,
    /// `range = { min = 13, max = 120 }`: see [`Range`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeConfig>,
    /// `date = { not_future = true, min = "1900-01-01", within_days = 365 }`: see
    /// [`DateBounds`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateConfig>,
    /// `one_of = ["gold", "silver"]`: see [`OneOf`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub one_of: Option<OneOfConfig>,
    /// `length = { min = 1, max = 50 }`: see [`Length`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<LengthConfig>,
    /// `pattern = 'ST-\d{4}'`: see [`Pattern`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub pattern: Option<PatternConfig>,
    /// `country = true`: see [`CountryCode`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub country: Option<Plain>,
    /// `region = true`: see [`RegionCode`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<RegionConfig>,
    /// `phone = { default_region = "US" }`: see [`PhoneNumber`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<PhoneConfig>,
    /// `email = true`: see [`EmailAddress`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<EmailRuleConfig>,
    /// `unique = true`: see [`Unique::field`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique: Option<Plain>,
}

/// Checks across fields. Each is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Checks {
    /// `age_birth_date = true`: see [`AgeMatchesBirthDate`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub age_birth_date: Option<AgeConfig>,
    /// `postal_code_country = true`: see [`PostalCodeMatchesCountry`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub postal_code_country: Option<PostalConfig>,
    /// `unique_id = true`: see [`Unique::id`].
    #[serde(
        default,
        deserialize_with = "short",
        skip_serializing_if = "Option::is_none"
    )]
    pub unique_id: Option<Plain>,
}

/// A rule without options: `true`, or `{ severity = "warning" }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Plain {
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`ParsesAs`]: `"int"`, or `{ kind = "int", severity = "warning" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TypeConfig {
    /// `int`, `float`, `bool`, `date`, `datetime` or `text`.
    pub kind: ValueKind,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`Range`]: `{ min = 13, max = 120 }`, bounds inclusive, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RangeConfig {
    /// The smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`DateBounds`]: `{ not_future = true, min = "1900-01-01", max = ..., within_days = 365 }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DateConfig {
    /// Refuse dates after "today". Default `false`.
    #[serde(default)]
    pub not_future: bool,
    /// The earliest allowed date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<NaiveDate>,
    /// The latest allowed date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<NaiveDate>,
    /// Refuse dates more than this many days before "today".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`OneOf`]: `["gold", "silver"]`, or `{ values = [...], ignore_case = true }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OneOfConfig {
    /// The allowed values.
    pub values: Vec<String>,
    /// Compare without regard to case. Default `false`.
    #[serde(default)]
    pub ignore_case: bool,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`Length`]: `{ min = 1, max = 50 }`, in characters, each optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LengthConfig {
    /// The fewest characters allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    /// The most characters allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`Pattern`]: `'ST-\d{4}'`, or `{ regex = '...', message = "...", code = "..." }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PatternConfig {
    /// The regular expression the whole value must match.
    pub regex: String,
    /// What is expected, in words; default "`<field>` is not in the expected format".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The finding's code; default `pattern_mismatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`RegionCode`]: `true`, or `{ country_field = "country" }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegionConfig {
    /// The field holding the country; default `country`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_field: Option<String>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`PhoneNumber`]: `true`, or `{ default_region = "US", region_field = "country" }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PhoneConfig {
    /// The country of national numbers, an ISO 3166-1 alpha-2 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// The field holding the record's country, tried before the default region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_field: Option<String>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// Whether, and how seriously, to report a kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Level {
    /// Do not report it.
    Off,
    /// Report it as [`Severity::Info`].
    Info,
    /// Report it as [`Severity::Warning`].
    Warning,
    /// Report it as [`Severity::Error`].
    Error,
}

impl Level {
    /// The severity, or `None` for [`Level::Off`].
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Severity::Info),
            Level::Warning => Some(Severity::Warning),
            Level::Error => Some(Severity::Error),
        }
    }
}

/// [`EmailAddress`]: `true`, or a table of the validator's options ([`EmailConfig`]) and
/// the levels of its warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EmailRuleConfig {
    /// See [`EmailConfig::smtputf8`]. Default `true`.
    pub smtputf8: bool,
    /// See [`EmailConfig::quoted_local`]. Default `false`.
    pub quoted_local: bool,
    /// See [`EmailConfig::comments`]. Default `false`.
    pub comments: bool,
    /// See [`EmailConfig::folding_whitespace`]. Default `false`.
    pub folding_whitespace: bool,
    /// See [`EmailConfig::domain_literal`]. Default `false`.
    pub domain_literal: bool,
    /// See [`EmailConfig::reject_example_domains`]. Default `false`.
    pub reject_example_domains: bool,
    /// The severity of invalid addresses; default error.
    pub severity: Option<Severity>,
    /// The level of `disposable_domain`; default warning.
    pub disposable_domain: Level,
    /// The level of `role_account`; default warning.
    pub role_account: Level,
    /// The level of `domain_typo`; default warning.
    pub domain_typo: Level,
    /// The level of `needs_smtputf8`; default info.
    pub needs_smtputf8: Level,
}

impl Default for EmailRuleConfig {
    fn default() -> Self {
        let e = EmailConfig::default();
        EmailRuleConfig {
            smtputf8: e.smtputf8,
            quoted_local: e.quoted_local,
            comments: e.comments,
            folding_whitespace: e.folding_whitespace,
            domain_literal: e.domain_literal,
            reject_example_domains: e.reject_example_domains,
            severity: None,
            disposable_domain: Level::Warning,
            role_account: Level::Warning,
            domain_typo: Level::Warning,
            needs_smtputf8: Level::Info,
        }
    }
}

/// [`AgeMatchesBirthDate`]: `true`, or `{ age = "age", birth_date = "birth_date", tolerance = 1 }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AgeConfig {
    /// The age field; default `age`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// The birth-date field; default `birth_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Years of difference accepted; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<u32>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// [`PostalCodeMatchesCountry`]: `true`, or
/// `{ postal_code = "postal_code", country = "country", default_country = "US" }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PostalConfig {
    /// The postal-code field; default `postal_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// The country field; default `country`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The country of records without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// The severity of findings; default error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

// ------------------------------------------------------------------------ shorthands

/// A rule configuration that may also be written as `true`, a string or a list.
trait Short: DeserializeOwned {
    /// What the rule accepts, for error messages.
    const EXPECTING: &'static str;
    /// The configuration `true` stands for, if any.
    fn from_true() -> Option<Self> {
        None
    }
    /// The configuration a string stands for, if any.
    fn from_text(_: &str) -> Option<Self> {
        None
    }
    /// The configuration a list of strings stands for, if any.
    fn from_list(_: Vec<String>) -> Option<Self> {
        None
    }
}

impl Short for Plain {
    const EXPECTING: &'static str = "`true`, `false` or a table such as { severity = \"warning\" }";
    fn from_true() -> Option<Self> {
        Some(Plain::default())
    }
}

impl Short for TypeConfig {
    const EXPECTING: &'static str = "one of \"int\", \"float\", \"bool\", \"date\", \"datetime\", \
        \"text\", or a table such as { kind = \"int\", severity = \"warning\" }";
    fn from_text(s: &str) -> Option<Self> {
        let kind = match s {
            "int" => ValueKind::Int,
            "float" => ValueKind::Float,
            "bool" => ValueKind::Bool,
            "date" => ValueKind::Date,
            "datetime" => ValueKind::DateTime,
            "text" => ValueKind::Text,
            _ => return None,
        };
        Some(TypeConfig {
            kind,
            severity: None,
        })
    }
}

impl Short for OneOfConfig {
    const EXPECTING: &'static str =
        "a list of values, or a table such as { values = [\"a\", \"b\"], ignore_case = true }";
    fn from_list(values: Vec<String>) -> Option<Self> {
        Some(OneOfConfig {
            values,
            ..OneOfConfig::default()
        })
    }
}

impl Short for PatternConfig {
    const EXPECTING: &'static str =
        "a regular expression, or a table such as { regex = '...', message = \"...\" }";
    fn from_text(s: &str) -> Option<Self> {
        Some(PatternConfig {
            regex: s.to_owned(),
            ..PatternConfig::default()
        })
    }
}

macro_rules! short_table {
    ($($t:ty => $expecting:literal),* $(,)?) => {$(
        impl Short for $t {
            const EXPECTING: &'static str = $expecting;
            fn from_true() -> Option<Self> {
                Some(<$t>::default())
            }
        }
    )*};
}

short_table! {
    RegionConfig => "`true`, `false` or a table such as { country_field = \"country\" }",
    PhoneConfig => "`true`, `false` or a table such as { default_region = \"US\" }",
    EmailRuleConfig => "`true`, `false` or a table of email options such as { role_account = \"off\" }",
    AgeConfig => "`true`, `false` or a table such as { tolerance = 1 }",
    PostalConfig => "`true`, `false` or a table such as { default_country = \"US\" }",
}

/// Deserializes a [`Short`] configuration: `false` leaves the rule out.
fn short<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Short,
{
    struct ShortVisitor<T>(PhantomData<T>);

    impl<'de, T: Short> Visitor<'de> for ShortVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<T>, E> {
            if !v {
                return Ok(None);
            }
            T::from_true()
                .map(Some)
                .ok_or_else(|| E::invalid_type(Unexpected::Bool(v), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<T>, E> {
            T::from_text(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<T>, A::Error> {
            let list = Vec::<String>::deserialize(SeqAccessDeserializer::new(seq))?;
            T::from_list(list)
                .map(Some)
                .ok_or_else(|| de::Error::invalid_type(Unexpected::Seq, &self))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
    }

    d.deserialize_any(ShortVisitor(PhantomData))
}

// ------------------------------------------------------------------------ loading and building

impl RuleSetConfig {
    /// Parses TOML; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of the problem.
    pub fn from_toml_str(text: &str) -> Result<RuleSetConfig> {
        Ok(config::load(
            text,
            Format::Toml.text_origin(),
            Format::Toml,
        )?)
    }

    /// Parses JSON; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of the problem.
    pub fn from_json_str(text: &str) -> Result<RuleSetConfig> {
        Ok(config::load(
            text,
            Format::Json.text_origin(),
            Format::Json,
        )?)
    }

    /// Reads a `.toml` or `.json` file (by its extension, in any case); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else
    /// [`Error::Parse`] as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<RuleSetConfig> {
        Ok(config::from_path(path)?)
    }

    /// Checks the configuration and builds the rule set. Can be called again.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the rule (`fields.age.range`) and saying how to fix it: an
    /// empty field name, a range or length whose minimum exceeds its maximum, an empty list of
    /// allowed values, a regex that does not compile, an unknown region or country code.
    pub fn build(&self) -> Result<RuleSet> {
        let as_of = self
            .as_of
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let mut set = RuleSet::new();
        for (name, rules) in &self.fields {
            let path = |rule: &str| format!("fields.{name}.{rule}");
            if name.trim().is_empty() || name.trim() != name {
                return Err(invalid(
                    format!("fields.{name}"),
                    "a field name must be non-empty, without surrounding spaces",
                ));
            }
            let field = name.as_str();
            if let Some(c) = &rules.required {
                set.push(Required::new(field).with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.kind {
                set.push(ParsesAs::new(field, c.kind).with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.range {
                let mut r = Range::new(field);
                for (bound, v) in [("min", c.min), ("max", c.max)] {
                    if v.is_some_and(|v| !v.is_finite()) {
                        return Err(invalid(
                            path("range"),
                            format!("{bound} must be a finite number"),
                        ));
                    }
                }
                if let (Some(a), Some(b)) = (c.min, c.max)
                    && a > b
                {
                    return Err(invalid(
                        path("range"),
                        format!("min {a} is greater than max {b}; swap them"),
                    ));
                }
                if c.min.is_none() && c.max.is_none() {
                    return Err(invalid(path("range"), "give min, max or both"));
                }
                if let Some(v) = c.min {
                    r = r.min(v);
                }
                if let Some(v) = c.max {
                    r = r.max(v);
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.date {
                if let (Some(a), Some(b)) = (c.min, c.max)
                    && a > b
                {
                    return Err(invalid(
                        path("date"),
                        format!("min {a} is after max {b}; swap them"),
                    ));
                }
                if !c.not_future && c.min.is_none() && c.max.is_none() && c.within_days.is_none() {
                    return Err(invalid(
                        path("date"),
                        "give at least one of not_future, min, max, within_days",
                    ));
                }
                let mut r = DateBounds::new(field, as_of);
                if c.not_future {
                    r = r.not_future();
                }
                if let Some(d) = c.min {
                    r = r.min(d);
                }
                if let Some(d) = c.max {
                    r = r.max(d);
                }
                if let Some(n) = c.within_days {
                    r = r.within_days(n);
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.one_of {
                if c.values.is_empty() {
                    return Err(invalid(
                        path("one_of"),
                        "the list of allowed values is empty; list at least one",
                    ));
                }
                set.push(
                    OneOf::new(field, c.values.iter().map(|v| v.trim().to_owned()))
                        .ignore_case(c.ignore_case)
                        .with_severity(sev(c.severity)),
                );
            }
            if let Some(c) = &rules.length {
                if let (Some(a), Some(b)) = (c.min, c.max)
                    && a > b
                {
                    return Err(invalid(
                        path("length"),
                        format!("min {a} is greater than max {b}; swap them"),
                    ));
                }
                if c.min.is_none() && c.max.is_none() {
                    return Err(invalid(path("length"), "give min, max or both"));
                }
                let mut r = Length::new(field);
                if let Some(v) = c.min {
                    r = r.min(v);
                }
                if let Some(v) = c.max {
                    r = r.max(v);
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.pattern {
                let mut r = Pattern::new(field, &c.regex).map_err(|e| {
                    invalid(
                        path("pattern"),
                        format!(
                            "the regular expression does not compile; fix its syntax ({})",
                            e.to_string().lines().last().unwrap_or("").trim()
                        ),
                    )
                })?;
                if let Some(m) = &c.message {
                    r = r.with_message(m.clone());
                }
                if let Some(code) = &c.code {
                    check_code(code).map_err(|m| invalid(path("pattern"), m))?;
                    r = r.with_code(code.clone());
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.country {
                set.push(CountryCode::new(field).with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.region {
                let mut r = RegionCode::new(field);
                if let Some(f) = &c.country_field {
                    r = r.country_field(f.as_str());
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.phone {
                let mut r = PhoneNumber::new(field);
                if let Some(region) = &c.default_region {
                    r = r
                        .default_region(region)
                        .map_err(|m| invalid(path("phone"), m))?;
                }
                if let Some(f) = &c.region_field {
                    r = r.region_field(f.as_str());
                }
                set.push(r.with_severity(sev(c.severity)));
            }
            if let Some(c) = &rules.email {
                let validator = crate::EmailValidator::builder()
                    .smtputf8(c.smtputf8)
                    .quoted_local(c.quoted_local)
                    .comments(c.comments)
                    .folding_whitespace(c.folding_whitespace)
                    .domain_literal(c.domain_literal)
                    .reject_example_domains(c.reject_example_domains)
                    .build();
                set.push(
                    EmailAddress::new(field)
                        .validator(validator)
                        .with_severity(sev(c.severity))
                        .disposable_domain(c.disposable_domain.severity())
                        .role_account(c.role_account.severity())
                        .domain_typo(c.domain_typo.severity())
                        .needs_smtputf8(c.needs_smtputf8.severity()),
                );
            }
            if let Some(c) = &rules.unique {
                set.push(Unique::field(field).with_severity(sev(c.severity)));
            }
        }
        let checks = &self.checks;
        if let Some(c) = &checks.age_birth_date {
            let mut r = AgeMatchesBirthDate::new(as_of);
            if let Some(f) = &c.age {
                r = r.age_field(f.as_str());
            }
            if let Some(f) = &c.birth_date {
                r = r.birth_date_field(f.as_str());
            }
            if let Some(t) = c.tolerance {
                r = r.tolerance(t);
            }
            set.push(r.with_severity(sev(c.severity)));
        }
        if let Some(c) = &checks.postal_code_country {
            let mut r = PostalCodeMatchesCountry::new();
            if let Some(f) = &c.postal_code {
                r = r.postal_field(f.as_str());
            }
            if let Some(f) = &c.country {
                r = r.country_field(f.as_str());
            }
            if let Some(country) = &c.default_country {
                if !crate::rules::is_country(country) {
                    return Err(invalid(
                        "checks.postal_code_country",
                        format!(
                            "default_country `{country}` is not an ISO 3166-1 two-letter code; \
                             use one in capitals, such as US"
                        ),
                    ));
                }
                r = r.default_country(country.clone());
            }
            set.push(r.with_severity(sev(c.severity)));
        }
        if let Some(c) = &checks.unique_id {
            set.push(Unique::id().with_severity(sev(c.severity)));
        }
        Ok(set)
    }
}

/// A custom code must be snake case with dots, so that it sorts and greps like ours.
fn check_code(code: &str) -> Result<(), String> {
    let ok = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "code `{code}` must be lower-case letters, digits, `_` and `.`, such as store_code"
        ))
    }
}

fn sev(s: Option<Severity>) -> Severity {
    s.unwrap_or(Severity::Error)
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid {
        origin: "<config>".to_owned(),
        line: None,
        path: path.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    fn parse_err(toml: &str) -> (usize, String) {
        match RuleSetConfig::from_toml_str(toml).unwrap_err() {
            Error::Parse(p) => (p.line, p.message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shorthands() {
        let c = RuleSetConfig::from_toml_str("[fields.a]\nrequired = true\ntype = \"int\"\none_of = [\"1\", \"2\"]\npattern = '\\d+'\nemail = false\n[checks]\nunique_id = true\n")
        .unwrap();
        let a = &c.fields["a"];
        assert_eq!(a.required, Some(Plain::default()));
        assert_eq!(a.kind.as_ref().unwrap().kind, ValueKind::Int);
        assert_eq!(a.one_of.as_ref().unwrap().values, ["1", "2"]);
        assert_eq!(a.pattern.as_ref().unwrap().regex, "\\d+");
        assert_eq!(a.email, None);
        let set = c.build().unwrap();
        assert_eq!(set.len(), 5);
        assert_eq!(set.fields(), ["a"]);
    }

    #[test]
    fn parse_errors_name_the_line_and_the_fix() {
        let (line, m) = parse_err("[fields.age]\ntype = \"int\"\nrange = { min = 13, mx = 120 }\n");
        assert_eq!(line, 3);
        assert!(
            m.contains("unknown field `mx`, expected one of `min`, `max`, `severity`"),
            "{m}"
        );
        let (line, m) = parse_err("[fields.age]\ntype = \"integer\"\n");
        assert_eq!(line, 2);
        assert!(m.contains("expected one of \"int\""), "{m}");
        let (line, m) = parse_err("[fields.email]\nemail = { role = \"off\" }\n");
        assert_eq!(line, 2);
        assert!(m.contains("unknown field `role`"), "{m}");
        let (line, m) = parse_err("\n\nbogus = 1\n");
        assert_eq!(line, 3);
        assert!(m.contains("unknown field `bogus`"), "{m}");
        let (_, m) = parse_err("[fields.x]\nrequired = \"yes\"\n");
        assert!(m.contains("expected `true`, `false` or a table"), "{m}");
        let (line, m) = parse_err("as_of = \"2026-02-30\"\n");
        assert_eq!(line, 1);
        assert!(
            m.contains("input is out of range") || m.contains("invalid"),
            "{m}"
        );
    }

    #[test]
    fn build_errors_say_how_to_fix() {
        for (toml, want) in [
            (
                "[fields.age]\nrange = { min = 120, max = 13 }",
                "fields.age.range: min 120 is greater than max 13; swap them",
            ),
            ("[fields.age]\nrange = {}", "give min, max or both"),
            (
                "[fields.x]\npattern = '('",
                "fields.x.pattern: the regular expression does not compile",
            ),
            ("[fields.x]\none_of = []", "list at least one"),
            (
                "[fields.p]\nphone = { default_region = \"USA\" }",
                "unknown region `USA`",
            ),
            (
                "[checks]\npostal_code_country = { default_country = \"uk\" }",
                "not an ISO 3166-1",
            ),
            (
                "[fields.\" x\"]\nrequired = true",
                "a field name must be non-empty",
            ),
            ("[fields.d]\ndate = {}", "give at least one of"),
            (
                "[fields.x]\npattern = { regex = 'a', code = \"Bad Code\" }",
                "must be lower-case",
            ),
        ] {
            let e = RuleSetConfig::from_toml_str(toml)
                .unwrap()
                .build()
                .unwrap_err();
            assert!(e.to_string().contains(want), "{toml}: {e}");
        }
    }

    #[test]
    fn json_is_the_same_format() {
        let c = RuleSetConfig::from_json_str(r#"{"as_of": "2026-03-01", "fields": {"email": {"required": true, "email": {"role_account": "off"}}}}"#)
        .unwrap();
        assert_eq!(
            c.fields["email"].email.as_ref().unwrap().role_account,
            Level::Off
        );
        let e = RuleSetConfig::from_json_str("{\n\"fields\": {\"a\": {\"typo\": 1}}}").unwrap_err();
        assert!(matches!(&e, Error::Parse(p) if p.line == 2), "{e}");
        let back: RuleSetConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
