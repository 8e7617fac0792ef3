//! Per-field configuration: which normalizer applies to which field ([`NormalizeConfig`],
//! from TOML or JSON or in code), built into a [`RecordNormalizer`] that normalizes
//! [`Record`]s and logs every change ([`ChangeLog`]).
//!
//! ```toml
//! # The field holding the record's country; normalized first, then used by phone, region,
//! # street and postcode. Default: "country".
//! country_field = "country"
//! split_full_name = true         # full_name -> salutation, first/middle/last name, suffix
//! address_line_field = "address" # a one-line US address -> street, city, region, postal_code
//!
//! [fields.email]
//! normalizer = "email"
//!
//! [fields.phone]
//! normalizer = "phone"
//! default_region = "US"          # for numbers without +country code and records without a country
//!
//! [fields.birth_date]
//! normalizer = "date"
//! order = "MDY"                  # MDY, DMY or YMD; unset: both readings valid -> ambiguous
//! pivot = 30                     # two-digit years: 00-29 -> 20xx, 30-99 -> 19xx (default 50)
//!
//! [fields.updated_at]
//! normalizer = "datetime"
//! time_zone = "America/Chicago"  # zone of times written without an offset: an IANA name or
//!                                 # a fixed offset such as "-05:00" (default UTC)
//!
//! [fields.loyalty_tier]
//! normalizer = "terms"
//! keep_unknown = false
//! terms = { gold = ["GOLD", "Gold Member"], silver = ["Silver Member"] }
//! ```
//!
//! Other normalizers: `text`, `name`, `country`, `region`, `street` and `postal_code` (these
//! three take `default_country`). Every table refuses unknown keys.

use std::collections::BTreeMap;
use std::path::Path;

use mergetag_model::{FieldName, Record, Value, fields};
use serde::{Deserialize, Serialize};

use crate::{
    Context, Country, DateKind, DateNormalizer, DateOrder, DateParser, Email, Error, NamePart,
    Normalizer, Outcome, Phone, PostalCode, Region, Result, Terms, Text, UsStreet,
};

/// The configuration of one field's normalizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "normalizer", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FieldConfig {
    /// [`Text`].
    Text {},
    /// [`Email`].
    Email {},
    /// [`Phone`].
    Phone {
        /// Region of national numbers in records without a country.
        #[serde(default)]
        default_region: Option<String>,
    },
    /// [`DateNormalizer`] producing dates.
    Date {
        /// Order of numeric dates.
        #[serde(default)]
        order: Option<DateOrder>,
        /// Two-digit-year pivot (default 50).
        #[serde(default)]
        pivot: Option<u8>,
        /// Offset of local times (`+02:00`; default UTC).
        #[serde(default)]
        time_zone: Option<String>,
    },
    /// [`DateNormalizer`] producing RFC 3339 UTC instants.
    #[serde(rename = "datetime")]
    DateTime {
        /// Order of numeric dates.
        #[serde(default)]
        order: Option<DateOrder>,
        /// Two-digit-year pivot (default 50).
        #[serde(default)]
        pivot: Option<u8>,
        /// Offset of local times (`+02:00`; default UTC).
        #[serde(default)]
        time_zone: Option<String>,
    },
    /// [`Country`].
    Country {},
    /// [`Region`].
    Region {
        /// Country of records without one.
        #[serde(default)]
        default_country: Option<String>,
    },
    /// [`UsStreet`].
    Street {
        /// Country of records without one.
        #[serde(default)]
        default_country: Option<String>,
    },
    /// [`PostalCode`].
    PostalCode {
        /// Country of records without one.
        #[serde(default)]
        default_country: Option<String>,
    },
    /// [`NamePart`].
    Name {},
    /// [`Terms`].
    Terms {
        /// Canonical term -> synonyms.
        terms: BTreeMap<String, Vec<String>>,
        /// Keep values in no entry unchanged instead of flagging them.
        #[serde(default)]
        keep_unknown: bool,
    },
}

/// A normalization configuration as written in a file; [`NormalizeConfig::build`] makes the
/// [`RecordNormalizer`]. See the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// The field holding the record's country (default `country`).
    #[serde(default = "default_country_field")]
    pub country_field: String,
    /// Split `full_name` into `salutation`, `first_name`, `middle_name`, `last_name` and
    /// `name_suffix` when the record has a full name and no first or last name (default
    /// false). Runs before the field normalizers.
    #[serde(default)]
    pub split_full_name: bool,
    /// A field holding a whole US address on one line (`"123 Main St, Springfield, IL
    /// 62704"`), split into `street`, `city`, `region` and `postal_code` when the record has
    /// no street (default: none). Only for records whose country is the US or unset.
    #[serde(default)]
    pub address_line_field: Option<String>,
    /// Field name -> its normalizer.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldConfig>,
}

fn default_country_field() -> String {
    fields::COUNTRY.to_owned()
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            country_field: default_country_field(),
            split_full_name: false,
            address_line_field: None,
            fields: BTreeMap::new(),
        }
    }
}

fn zone(path: &str, tz: Option<&str>) -> Result<crate::date::SourceZone> {
    match tz {
        None => Ok(crate::date::SourceZone::UTC),
        Some(t) => crate::date::SourceZone::parse(t).ok_or_else(|| Error::Invalid {
            path: format!("{path}.time_zone"),
            message: format!(
                "unknown time zone {t:?}; use \"UTC\", an offset such as \"+02:00\", or an \
                 IANA zone name such as \"America/Chicago\""
            ),
        }),
    }
}

fn prefix_path<T>(path: &str, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        Error::Invalid { path: p, message } => Error::Invalid {
            path: format!("{path}.{p}"),
            message,
        },
        e => e,
    })
}

impl FieldConfig {
    /// Builds the normalizer; `path` names the field in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown region, country or time zone, or clashing terms.
    pub fn build(&self, path: &str) -> Result<Box<dyn Normalizer>> {
        Ok(match self {
            FieldConfig::Text {} => Box::new(Text::new()),
            FieldConfig::Email {} => Box::new(Email::new()),
            FieldConfig::Phone { default_region } => match default_region {
                Some(r) => Box::new(prefix_path(path, Phone::new().default_region(r))?),
                None => Box::new(Phone::new()),
            },
            FieldConfig::Date {
                order,
                pivot,
                time_zone,
            }
            | FieldConfig::DateTime {
                order,
                pivot,
                time_zone,
            } => {
                let kind = if matches!(self, FieldConfig::Date { .. }) {
                    DateKind::Date
                } else {
                    DateKind::DateTime
                };
                if pivot.is_some_and(|p| p > 100) {
                    return Err(Error::Invalid {
                        path: format!("{path}.pivot"),
                        message: "pivot must be between 0 and 100".into(),
                    });
                }
                let parser = DateParser::new()
                    .order(*order)
                    .pivot(pivot.unwrap_or(50))
                    .time_zone(zone(path, time_zone.as_deref())?);
                Box::new(DateNormalizer::new(parser, kind))
            }
            FieldConfig::Country {} => Box::new(Country::new()),
            FieldConfig::Region { default_country } => match default_country {
                Some(c) => Box::new(prefix_path(path, Region::new().default_country(c))?),
                None => Box::new(Region::new()),
            },
            FieldConfig::Street { default_country } => match default_country {
                Some(c) => Box::new(prefix_path(path, UsStreet::new().default_country(c))?),
                None => Box::new(UsStreet::new()),
            },
            FieldConfig::PostalCode { default_country } => match default_country {
                Some(c) => Box::new(prefix_path(path, PostalCode::new().default_country(c))?),
                None => Box::new(PostalCode::new()),
            },
            FieldConfig::Name {} => Box::new(NamePart::new()),
            FieldConfig::Terms {
                terms,
                keep_unknown,
            } => {
                let mut t = Terms::from_map(terms);
                t.keep_unknown(*keep_unknown);
                if let Some(c) = t.clashes().first() {
                    return Err(Error::Invalid {
                        path: format!("{path}.terms"),
                        message: format!("{c}; give each synonym to one term"),
                    });
                }
                Box::new(t)
            }
        })
    }
}

impl NormalizeConfig {
    /// The usual normalizers for the canonical contact fields ([`fields`]): text, email,
    /// phone, names, birth date (order unknown), address, country, created/updated times.
    pub fn standard() -> NormalizeConfig {
        let mut c = NormalizeConfig::default();
        let date = FieldConfig::Date {
            order: None,
            pivot: None,
            time_zone: None,
        };
        let datetime = FieldConfig::DateTime {
            order: None,
            pivot: None,
            time_zone: None,
        };
        for (f, n) in [
            (fields::EMAIL, FieldConfig::Email {}),
            (
                fields::PHONE,
                FieldConfig::Phone {
                    default_region: None,
                },
            ),
            (
                fields::MOBILE_PHONE,
                FieldConfig::Phone {
                    default_region: None,
                },
            ),
            (fields::FIRST_NAME, FieldConfig::Name {}),
            (fields::MIDDLE_NAME, FieldConfig::Name {}),
            (fields::LAST_NAME, FieldConfig::Name {}),
            (fields::FULL_NAME, FieldConfig::Name {}),
            (fields::BIRTH_DATE, date),
            (
                fields::STREET,
                FieldConfig::Street {
                    default_country: None,
                },
            ),
            (fields::STREET2, FieldConfig::Text {}),
            (fields::CITY, FieldConfig::Text {}),
            (
                fields::REGION,
                FieldConfig::Region {
                    default_country: None,
                },
            ),
            (
                fields::POSTAL_CODE,
                FieldConfig::PostalCode {
                    default_country: None,
                },
            ),
            (fields::COUNTRY, FieldConfig::Country {}),
            (fields::COMPANY, FieldConfig::Text {}),
            (fields::JOB_TITLE, FieldConfig::Text {}),
            (fields::CREATED_AT, datetime.clone()),
            (fields::UPDATED_AT, datetime),
        ] {
            c.fields.insert(f.to_owned(), n);
        }
        c
    }

    /// Parses a TOML document.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for bad syntax, unknown keys or wrong types.
    pub fn from_toml_str(s: &str) -> Result<NormalizeConfig> {
        toml::from_str(s).map_err(|e| Error::Parse {
            origin: "<toml>".into(),
            message: e.message().to_owned(),
        })
    }

    /// Parses a JSON document.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] for bad syntax, unknown keys or wrong types.
    pub fn from_json_str(s: &str) -> Result<NormalizeConfig> {
        serde_json::from_str(s).map_err(|e| Error::Parse {
            origin: "<json>".into(),
            message: e.to_string(),
        })
    }

    /// Reads a `.toml` or `.json` file (by its extension; TOML otherwise).
    ///
    /// # Errors
    ///
    /// [`Error::Read`] when the file cannot be read, else as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<NormalizeConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let origin = path.display().to_string();
        let r = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        r.map_err(|e| match e {
            Error::Parse { message, .. } => Error::Parse { origin, message },
            e => e,
        })
    }

    /// Builds the runtime normalizer.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the field and saying how to fix it.
    pub fn build(&self) -> Result<RecordNormalizer> {
        let mut b = RecordNormalizer::builder();
        b.country_field(&self.country_field);
        b.split_full_name(self.split_full_name);
        if let Some(f) = &self.address_line_field {
            b.address_line_field(f);
        }
        for (name, fc) in &self.fields {
            b.field(name, fc.build(&format!("fields.{name}"))?);
        }
        Ok(b.build())
    }
}

/// One change or flag on one field of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// The field.
    pub field: FieldName,
    /// What the normalizer did (never [`Outcome::Unchanged`] in a log).
    pub outcome: Outcome,
}

/// The changes and flags of one record; reuse one across records ([`RecordNormalizer::normalize`]
/// clears it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeLog {
    /// Changed and flagged fields, in the order the normalizers ran.
    pub changes: Vec<Change>,
    /// How many fields were normalized and found unchanged.
    pub unchanged: u32,
}

impl ChangeLog {
    /// An empty log.
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// Empties the log.
    pub fn clear(&mut self) {
        self.changes.clear();
        self.unchanged = 0;
    }

    /// Whether any field was flagged (invalid or ambiguous).
    pub fn has_flags(&self) -> bool {
        self.changes.iter().any(|c| c.outcome.is_flagged())
    }

    /// The flagged fields.
    pub fn flags(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.outcome.is_flagged())
    }
}

/// Counts over many [`ChangeLog`]s, per field and outcome kind, for a run report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Records counted.
    pub records: u64,
    /// `(field, outcome kind)` -> count; kinds are those of [`Outcome::kind`] other than
    /// `unchanged`.
    pub by_field: BTreeMap<String, BTreeMap<String, u64>>,
    /// Fields found unchanged.
    pub unchanged: u64,
}

impl Tally {
    /// Adds one record's log.
    pub fn add(&mut self, log: &ChangeLog) {
        self.records += 1;
        self.unchanged += u64::from(log.unchanged);
        for c in &log.changes {
            *self
                .by_field
                .entry(c.field.to_string())
                .or_default()
                .entry(c.outcome.kind().to_owned())
                .or_default() += 1;
        }
    }

    /// The count of `kind` (`changed`, `invalid`, `ambiguous`) over all fields.
    pub fn total(&self, kind: &str) -> u64 {
        self.by_field.values().filter_map(|m| m.get(kind)).sum()
    }
}

/// Builds a [`RecordNormalizer`] in code.
#[derive(Debug, Default)]
pub struct RecordNormalizerBuilder {
    country_field: Option<String>,
    split_full_name: bool,
    address_line: Option<FieldName>,
    fields: Vec<(FieldName, Box<dyn Normalizer>)>,
}

impl RecordNormalizerBuilder {
    /// Whether to split `full_name` into its parts (see [`NormalizeConfig::split_full_name`]).
    pub fn split_full_name(&mut self, yes: bool) -> &mut Self {
        self.split_full_name = yes;
        self
    }

    /// The field holding a one-line US address (see
    /// [`NormalizeConfig::address_line_field`]).
    pub fn address_line_field(&mut self, name: &str) -> &mut Self {
        self.address_line = Some(FieldName::new(name));
        self
    }

    /// Sets the field holding the record's country (default `country`).
    pub fn country_field(&mut self, name: &str) -> &mut Self {
        self.country_field = Some(name.to_owned());
        self
    }

    /// Applies `normalizer` to the field `name` (replacing an earlier one).
    pub fn field(&mut self, name: &str, normalizer: Box<dyn Normalizer>) -> &mut Self {
        let name = FieldName::new(name);
        self.fields.retain(|(n, _)| *n != name);
        self.fields.push((name, normalizer));
        self
    }

    /// Builds the normalizer, leaving the builder empty.
    pub fn build(&mut self) -> RecordNormalizer {
        let country = FieldName::new(self.country_field.as_deref().unwrap_or(fields::COUNTRY));
        let mut fields = std::mem::take(&mut self.fields);
        // The country first, so that the others see its normalized code.
        fields.sort_by_key(|(n, _)| *n != country);
        RecordNormalizer {
            country,
            split_full_name: std::mem::take(&mut self.split_full_name),
            address_line: self.address_line.take(),
            fields,
        }
    }
}

/// Normalizes the configured fields of records, writing what it did into a [`ChangeLog`].
///
/// ```
/// use mergetag_normalize::{ChangeLog, NormalizeConfig, Outcome};
/// use mergetag_normalize::model::{Record, RecordId, Value};
///
/// let n = NormalizeConfig::from_toml_str(r#"
///     [fields.phone]
///     normalizer = "phone"
///     [fields.country]
///     normalizer = "country"
///     [fields.birth_date]
///     normalizer = "date"
/// "#)?.build()?;
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("phone", "(312) 555-0147");
/// r.set("country", "U.S.A.");
/// r.set("birth_date", "03/04/1985");
/// let mut log = ChangeLog::new();
/// n.normalize(&mut r, &mut log);
/// assert_eq!(r.text("phone"), Some("+13125550147"));
/// assert_eq!(r.text("country"), Some("US"));
/// assert_eq!(r.text("birth_date"), Some("03/04/1985")); // kept, and flagged
/// assert!(matches!(log.flags().next().unwrap().outcome, Outcome::Ambiguous(_)));
/// # Ok::<(), mergetag_normalize::Error>(())
/// ```
#[derive(Debug)]
pub struct RecordNormalizer {
    country: FieldName,
    split_full_name: bool,
    address_line: Option<FieldName>,
    fields: Vec<(FieldName, Box<dyn Normalizer>)>,
}

impl RecordNormalizer {
    /// A builder.
    pub fn builder() -> RecordNormalizerBuilder {
        RecordNormalizerBuilder::default()
    }

    /// Normalizes the configured fields of `record` in place. Flagged values stay as they
    /// were. `log` is cleared first. Lists are normalized item by item.
    pub fn normalize(&self, record: &mut Record, log: &mut ChangeLog) {
        log.clear();
        if self.split_full_name {
            self.split_name(record, log);
        }
        if let Some(line) = &self.address_line {
            self.split_address(line, record, log);
        }
        let mut country: Option<String> = None;
        for (name, n) in &self.fields {
            if *name != self.country && country.is_none() {
                country = record.text(self.country.as_str()).map(str::to_owned);
            }
            let cx = Context::with_country(country.as_deref());
            let Some(value) = record.get_mut(name.as_str()) else {
                continue;
            };
            if value.is_missing() {
                continue;
            }
            let outcome = apply(&**n, value, cx);
            match outcome {
                Outcome::Unchanged => log.unchanged += 1,
                o => log.changes.push(Change {
                    field: name.clone(),
                    outcome: o,
                }),
            }
        }
    }
}

impl RecordNormalizer {
    fn split_name(&self, record: &mut Record, log: &mut ChangeLog) {
        let has = |r: &Record, f: &str| r.get(f).is_some_and(|v| !v.is_missing());
        if has(record, fields::FIRST_NAME) || has(record, fields::LAST_NAME) {
            return;
        }
        let Some(full) = record.text(fields::FULL_NAME) else {
            return;
        };
        let n = crate::PersonName::parse(full);
        for (field, part) in [
            (fields::SALUTATION, n.salutation),
            (fields::FIRST_NAME, n.given),
            (fields::MIDDLE_NAME, n.middle),
            (fields::LAST_NAME, n.family),
            (fields::NAME_SUFFIX, n.suffix),
        ] {
            if let Some(p) = part
                && !has(record, field)
            {
                record.set(field, p);
                log.changes.push(Change {
                    field: FieldName::new(field),
                    outcome: Outcome::Changed,
                });
            }
        }
    }

    fn split_address(&self, line: &FieldName, record: &mut Record, log: &mut ChangeLog) {
        let has = |r: &Record, f: &str| r.get(f).is_some_and(|v| !v.is_missing());
        if has(record, fields::STREET) {
            return;
        }
        let country = record
            .text(self.country.as_str())
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if country.is_some_and(|c| crate::country_code(c) != Some("US")) {
            return;
        }
        let Some(text) = record.text(line.as_str()) else {
            return;
        };
        let a = match crate::UsAddress::read(text) {
            Ok(a) => a,
            Err(outcome) => {
                log.changes.push(Change {
                    field: line.clone(),
                    outcome,
                });
                return;
            }
        };
        for (field, part) in [
            (fields::STREET, Some(a.street)),
            (fields::CITY, a.city),
            (fields::REGION, a.region),
            (fields::POSTAL_CODE, a.postal_code),
        ] {
            if let Some(p) = part
                && !has(record, field)
            {
                record.set(field, p);
                log.changes.push(Change {
                    field: FieldName::new(field),
                    outcome: Outcome::Changed,
                });
            }
        }
    }
}

/// Normalizes one value in place (lists item by item); returns the first flag, else changed
/// or unchanged.
fn apply(n: &dyn Normalizer, value: &mut Value, cx: Context<'_>) -> Outcome {
    if let Value::List(items) = value {
        let mut result = Outcome::Unchanged;
        for item in items {
            let o = apply(n, item, cx);
            if o.is_flagged() && !result.is_flagged()
                || (o == Outcome::Changed && result == Outcome::Unchanged)
            {
                result = o;
            }
        }
        return result;
    }
    match n.normalize_value(value, cx) {
        Some((v, outcome)) => {
            if outcome.is_ok() {
                *value = v;
            }
            outcome
        }
        None => Outcome::Unchanged,
    }
}
