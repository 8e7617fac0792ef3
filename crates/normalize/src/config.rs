//! Per-field configuration: which normalizer applies to which field ([`NormalizeConfig`],
//! from TOML or JSON or in code), built into a [`RecordNormalizer`] that normalizes
//! [`Record`](crate::model::Record)s and logs every change
//! ([`ChangeLog`](crate::ChangeLog)).
//!
//! ```toml
//! # The field holding the record's country; normalized first, then used by phone, region,
//! # street and postcode. Default: "country".
//! country_field = "country"
//! # The country of records whose country field is missing, blank or unknown, for phone,
//! # region, street and postcode (ISO 3166-1 alpha-2). Default: none.
//! default_country = "US"
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
//! Other normalizers: `text`, `name`, `city`, `country`, `region`, `street` and `postal_code`
//! (these three take `default_country`). Every table refuses unknown keys.
//!
//! # Which country a value is read in
//!
//! Phone numbers, regions, street lines and postcodes depend on a country. Each takes the
//! first it knows of: the record's own country (the `country_field`, normalized first); the
//! field's own default (`default_region` of a phone, `default_country` of a region, street or
//! postcode), which is the more specific setting; the configuration's top-level
//! `default_country`. The default is only used, never written: a record without a country
//! keeps having none. Without any of them, a national phone number is flagged ambiguous and a
//! region or postcode gets the safe text cleanup only.

use std::collections::BTreeMap;
use std::path::Path;

use mergetag_model::config::{self, Format};
use mergetag_model::fields;
use serde::{Deserialize, Serialize};

use crate::{
    City, Country, DateKind, DateNormalizer, DateOrder, DateParser, Email, Error, NameCasing,
    NamePart, Normalizer, ParticleCase, Phone, PostalCode, RecordNormalizer, Region, Result, Terms,
    Text, UsStreet,
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
        /// Refuse a date impossible in `order` but valid in the other (default false: it is
        /// read in the other order, reported changed with a reason).
        #[serde(default)]
        strict_order: Option<bool>,
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
        /// Refuse a date impossible in `order` but valid in the other (default false: it is
        /// read in the other order, reported changed with a reason).
        #[serde(default)]
        strict_order: Option<bool>,
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
    Name {
        /// How particles (`van`, `de`) are cased in names whose case is lost (default
        /// `initial`: `De Graaf`, `Jan van der Berg`; or `lower`, `capital`).
        #[serde(default)]
        particles: Option<ParticleCase>,
        /// Re-case the all-lower-case or ALL CAPS words of a mixed-case name (`juan garcia
        /// III` -> `Juan Garcia III`; default false: mixed case is kept as given).
        #[serde(default)]
        fix_mixed_case: Option<bool>,
    },
    /// [`City`].
    City {},
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
    /// The country of records whose country field is missing, blank or not a known country,
    /// as an ISO 3166-1 alpha-2 code (`"US"`); phone, region, street and postcode normalizers
    /// read their values in it (after their own `default_region` / `default_country`, see the
    /// [module docs](self)). Checked by [`NormalizeConfig::build`]. Default: none.
    #[serde(default)]
    pub default_country: Option<String>,
    /// Split `full_name` into `salutation`, `first_name`, `middle_name`, `last_name` and
    /// `name_suffix` when the record has a full name and no first or last name (default
    /// false). Runs before the field normalizers.
    #[serde(default)]
    pub split_full_name: bool,
    /// A field holding a whole US address on one line (`"123 Main St, Springfield, IL
    /// 62704"`), split into `street`, `city`, `region` and `postal_code` when the record has
    /// no street (default: none). Only for records whose country is the US, or unset while
    /// `default_country` is the US or unset.
    #[serde(default)]
    pub address_line_field: Option<String>,
    /// Values that mean "no value", removed (made missing) from every text field before the
    /// field normalizers run, compared trimmed and exactly (default:
    /// [`DEFAULT_NULL_MARKERS`](crate::DEFAULT_NULL_MARKERS): `NULL`, `None`, `N/A`,
    /// `undefined`, `#N/A`, `nan`, `-`, `n.a.` in their usual spellings; `[]` removes none).
    /// Each removal is logged as [`Outcome::Removed`](crate::Outcome::Removed) and counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_markers: Option<Vec<String>>,
    /// Keep values holding template syntax (`{{first_name}}`, `{% if %}`) instead of removing
    /// them (default false: removed, logged, so that they never reach a template).
    #[serde(default)]
    pub keep_template_syntax: bool,
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
            default_country: None,
            split_full_name: false,
            address_line_field: None,
            null_markers: None,
            keep_template_syntax: false,
            fields: BTreeMap::new(),
        }
    }
}

fn zone(tz: Option<&str>) -> Result<crate::date::SourceZone> {
    match tz {
        None => Ok(crate::date::SourceZone::UTC),
        Some(t) => crate::date::SourceZone::parse(t).ok_or_else(|| Error::Invalid {
            path: "time_zone".into(),
            message: format!(
                "unknown time zone {t:?}; use \"UTC\", an offset such as \"+02:00\", or an \
                 IANA zone name such as \"America/Chicago\"{}",
                if cfg!(feature = "tz") {
                    ""
                } else {
                    " (zone names need the cargo feature `tz`)"
                }
            ),
        }),
    }
}

/// Puts `prefix` in front of an [`Error::Invalid`]'s path; other errors are returned as they
/// are.
fn under(prefix: &str, e: Error) -> Error {
    match e {
        Error::Invalid { path, message } => Error::Invalid {
            path: format!("{prefix}.{path}"),
            message,
        },
        e => e,
    }
}

impl FieldConfig {
    /// [`FieldConfig::Name`] with the default casing.
    pub fn name() -> FieldConfig {
        FieldConfig::Name {
            particles: None,
            fix_mixed_case: None,
        }
    }

    /// Builds the normalizer.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown region, country or time zone, a pivot over 100, or
    /// clashing terms; its path is the key within this table (`default_region`), which
    /// [`NormalizeConfig::build`] puts under the field's (`fields.phone.default_region`).
    pub fn build(&self) -> Result<Box<dyn Normalizer>> {
        Ok(match self {
            FieldConfig::Text {} => Box::new(Text::new()),
            FieldConfig::Email {} => Box::new(Email::new()),
            FieldConfig::Phone { default_region } => match default_region {
                Some(r) => Box::new(Phone::new().default_region(r)?),
                None => Box::new(Phone::new()),
            },
            FieldConfig::Date {
                order,
                pivot,
                time_zone,
                strict_order,
            }
            | FieldConfig::DateTime {
                order,
                pivot,
                time_zone,
                strict_order,
            } => {
                let kind = if matches!(self, FieldConfig::Date { .. }) {
                    DateKind::Date
                } else {
                    DateKind::DateTime
                };
                if pivot.is_some_and(|p| p > 100) {
                    return Err(Error::Invalid {
                        path: "pivot".into(),
                        message: "pivot must be between 0 and 100".into(),
                    });
                }
                let parser = DateParser::new()
                    .order(*order)
                    .strict_order(strict_order.unwrap_or(false))
                    .pivot(pivot.unwrap_or(50))
                    .time_zone(zone(time_zone.as_deref())?);
                Box::new(DateNormalizer::new(parser, kind))
            }
            FieldConfig::Country {} => Box::new(Country::new()),
            FieldConfig::Region { default_country } => match default_country {
                Some(c) => Box::new(Region::new().default_country(c)?),
                None => Box::new(Region::new()),
            },
            FieldConfig::Street { default_country } => match default_country {
                Some(c) => Box::new(UsStreet::new().default_country(c)?),
                None => Box::new(UsStreet::new()),
            },
            FieldConfig::PostalCode { default_country } => match default_country {
                Some(c) => Box::new(PostalCode::new().default_country(c)?),
                None => Box::new(PostalCode::new()),
            },
            FieldConfig::Name {
                particles,
                fix_mixed_case,
            } => Box::new(
                NamePart::new().casing(
                    NameCasing::new()
                        .particles(particles.unwrap_or(ParticleCase::Initial))
                        .fix_mixed_case(fix_mixed_case.unwrap_or(false)),
                ),
            ),
            FieldConfig::City {} => Box::new(City::new()),
            FieldConfig::Terms {
                terms,
                keep_unknown,
            } => {
                let mut t = Terms::from_map(terms);
                t.keep_unknown(*keep_unknown);
                if let Some(c) = t.clashes().first() {
                    return Err(Error::Invalid {
                        path: "terms".into(),
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
    /// phone, names, birth date (order unknown), address (the city cased with [`City`]),
    /// country, created/updated times. No default country.
    pub fn standard() -> NormalizeConfig {
        let mut c = NormalizeConfig::default();
        let date = FieldConfig::Date {
            order: None,
            pivot: None,
            time_zone: None,
            strict_order: None,
        };
        let datetime = FieldConfig::DateTime {
            order: None,
            pivot: None,
            time_zone: None,
            strict_order: None,
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
            (fields::FIRST_NAME, FieldConfig::name()),
            (fields::MIDDLE_NAME, FieldConfig::name()),
            (fields::LAST_NAME, FieldConfig::name()),
            (fields::FULL_NAME, FieldConfig::name()),
            (fields::BIRTH_DATE, date),
            (
                fields::STREET,
                FieldConfig::Street {
                    default_country: None,
                },
            ),
            (fields::STREET2, FieldConfig::Text {}),
            (fields::CITY, FieldConfig::City {}),
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

    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<NormalizeConfig> {
        Ok(config::load(
            text,
            Format::Toml.text_origin(),
            Format::Toml,
        )?)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_json_str(text: &str) -> Result<NormalizeConfig> {
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
    pub fn from_path(path: impl AsRef<Path>) -> Result<NormalizeConfig> {
        Ok(config::from_path(path)?)
    }

    /// Builds the runtime normalizer.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the field (or `default_country`) and saying how to fix it.
    pub fn build(&self) -> Result<RecordNormalizer> {
        let mut b = RecordNormalizer::builder();
        b.country_field(&self.country_field);
        if let Some(c) = &self.default_country {
            b.default_country(c)?;
        }
        b.split_full_name(self.split_full_name);
        if let Some(m) = &self.null_markers {
            b.null_markers(m.clone());
        }
        b.keep_template_syntax(self.keep_template_syntax);
        if let Some(f) = &self.address_line_field {
            b.address_line_field(f);
        }
        for (name, fc) in &self.fields {
            let normalizer = fc
                .build()
                .map_err(|e| under(&format!("fields.{name}"), e))?;
            b.field(name, normalizer);
        }
        Ok(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_line_and_column() {
        let e = NormalizeConfig::from_toml_str(
            "country_field = \"country\"\n\n[fields.email]\nnormalizer = \"email\"\nfoo = 1\n",
        )
        .unwrap_err();
        let Error::Parse(p) = &e else { panic!("{e:?}") };
        assert_eq!((p.origin.as_str(), p.line, p.column), ("<toml>", 3, 1));
        assert!(p.message.contains("unknown field `foo`"), "{e}");
        assert!(
            e.to_string().starts_with("<toml>: line 3, column 1: "),
            "{e}"
        );

        let e = NormalizeConfig::from_json_str(
            "{\n  \"fields\": {\n    \"x\": {\"normalizer\": 3}\n  }\n}",
        )
        .unwrap_err();
        let Error::Parse(p) = &e else { panic!("{e:?}") };
        assert_eq!((p.origin.as_str(), p.line), ("<json>", 3));
        assert!(p.column > 0, "{e}");
        assert!(!p.message.contains("at line"), "{e}");
    }

    #[test]
    fn files_are_read_by_extension() {
        let dir =
            std::env::temp_dir().join(format!("mergetag-normalize-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let json = dir.join("n.JSON");
        std::fs::write(&json, r#"{"fields": {"email": {"normalizer": "email"}}}"#).unwrap();
        let c = NormalizeConfig::from_path(&json).unwrap();
        assert_eq!(c.fields["email"], FieldConfig::Email {});
        let bad = dir.join("n.toml");
        std::fs::write(&bad, "[fields.email]\nnormalizer = \"mail\"\n").unwrap();
        let e = NormalizeConfig::from_path(&bad).unwrap_err();
        assert!(matches!(&e, Error::Parse(p) if p.line == 2), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}: line 2, column 14: ", bad.display())),
            "{e}"
        );
        let other = dir.join("n.yaml");
        std::fs::write(&other, "").unwrap();
        let e = NormalizeConfig::from_path(&other).unwrap_err();
        assert!(
            matches!(e, Error::Load(config::LoadError::UnknownFormat { .. })),
            "{e:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
