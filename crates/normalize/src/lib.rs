//! Per-field normalizers that make equal things look equal: Unicode text, email, phone (E.164),
//! dates and times (ISO 8601), postal addresses (USPS Publication 28), countries and regions
//! (ISO 3166), personal names and user-supplied terminology maps.
//!
//! ```
//! use mergetag_normalize::{ChangeLog, NormalizeConfig, Outcome, Tally};
//! use mergetag_normalize::model::{Record, RecordId, Value};
//!
//! // Which normalizer applies to which field, with per-source options (or build it in code
//! // with `RecordNormalizer::builder()`).
//! let normalizer = NormalizeConfig::from_toml_str(r#"
//!     [fields.email]
//!     normalizer = "email"
//!     [fields.phone]
//!     normalizer = "phone"          # the region comes from the record's country
//!     [fields.last_name]
//!     normalizer = "name"
//!     [fields.birth_date]
//!     normalizer = "date"
//!     order = "DMY"                 # this source writes 03/04/1985 for 3 April
//!     [fields.street]
//!     normalizer = "street"
//!     [fields.country]
//!     normalizer = "country"
//!     [fields.loyalty_tier]
//!     normalizer = "terms"
//!     terms = { gold = ["GOLD", "Gold Member"] }
//! "#)?.build()?;
//!
//! let mut r = Record::new(RecordId::row("crm", 1));
//! r.set("email", "\"Doe, Jane\" <Jane.Doe@EXAMPLE.com>");
//! r.set("phone", "(312) 555-0147 x12");
//! r.set("last_name", "MCDONALD");
//! r.set("birth_date", "03/04/1985");
//! r.set("street", "123 north main street apartment 4b");
//! r.set("country", "U.S.A.");
//! r.set("loyalty_tier", "gold member");
//!
//! let mut log = ChangeLog::new();
//! normalizer.normalize(&mut r, &mut log);
//! assert_eq!(r.text("email"), Some("Jane.Doe@example.com"));
//! assert_eq!(r.text("phone"), Some("+13125550147;ext=12"));
//! assert_eq!(r.text("last_name"), Some("McDonald"));
//! assert_eq!(r.get("birth_date").and_then(Value::as_date).map(|d| d.to_string()).as_deref(), Some("1985-04-03"));
//! assert_eq!(r.text("street"), Some("123 N MAIN ST APT 4B"));
//! assert_eq!(r.text("country"), Some("US"));
//! assert_eq!(r.text("loyalty_tier"), Some("gold"));
//!
//! // The change log says what happened to each field; a tally counts logs for a run report.
//! let mut tally = Tally::default();
//! tally.add(&log);
//! assert_eq!(tally.total("changed"), 7);
//!
//! // Match keys are separate from stored values.
//! let mut key = String::new();
//! mergetag_normalize::email_key("J.A.N.E+news@GoogleMail.com", &mut key);
//! assert_eq!(key, "jane@gmail.com");
//! assert!(mergetag_normalize::given_names_match("Bob", "Robert"));
//! # Ok::<(), mergetag_normalize::Error>(())
//! ```
//!
//! # Contents
//!
//! - [`Normalizer`]: the trait (one required method, `normalize(&self, input, &mut out)`),
//!   reporting an [`Outcome`]: unchanged, changed, or flagged (invalid or ambiguous, with a
//!   reason) and then kept as given. [`Context`] carries the record's country.
//! - Normalizers: [`Text`], [`Email`], [`Phone`], [`DateNormalizer`] (over [`DateParser`]),
//!   [`Country`], [`Region`], [`UsStreet`], [`PostalCode`], [`NamePart`], [`City`], [`Terms`];
//!   and the parsers behind them: [`PersonName`], [`UsAddress`], [`country_code`],
//!   [`region_code`], [`postal_code`], [`us_street`], [`case_name`], [`case_city`].
//! - Match keys (never stored): [`text_key`], [`email_key`], [`given_name_keys`] /
//!   [`given_names_match`] (nicknames, many-to-many), [`family_name_key`].
//! - Records: [`NormalizeConfig`] (TOML/JSON, see [`config`]) builds a [`RecordNormalizer`]
//!   that writes a [`ChangeLog`] per record; [`Tally`] counts them.
//!
//! Errors ([`Error`]) are for broken configuration only; values that cannot be normalized are
//! outcomes, never errors. Reference data (USPS Publication 28 tables, nicknames, country
//! aliases, ISO 3166-1 names) is embedded from `data/` and parsed once, on first use;
//! [`warm_phone`] loads the phone metadata ahead of time (a few milliseconds).
//!
//! The crate depends on [`mergetag-model`](mergetag_model) alone among mergetag's crates, and
//! re-exports it as [`model`].

mod address;
mod changes;
mod city;
pub mod config;
mod country;
mod date;
mod email;
mod error;
mod name;
mod normalizer;
mod phone;
mod record;
mod terms;
mod text;

pub use mergetag_model as model;

pub use crate::address::{PostalCode, UsAddress, UsStreet, postal_code, us_street};
pub use crate::changes::{Change, ChangeLog, Tally};
pub use crate::city::{City, case_city};
pub use crate::config::{FieldConfig, NormalizeConfig};
pub use crate::country::{Country, Region, country_code, region_code};
pub use crate::date::{
    DateError, DateKind, DateNormalizer, DateOrder, DateParser, Parsed, SourceZone,
};
pub use crate::email::{Email, email_key, email_unicode};
pub use crate::error::{Error, Result};
pub use crate::name::{
    NameCasing, NamePart, ParticleCase, PersonName, case_name, case_name_with, family_name_key,
    given_name_keys, given_names_match,
};
pub use crate::normalizer::{Context, Normalizer, Outcome, normalize_to_string};
pub use crate::phone::{Phone, warm_phone};
pub use crate::record::{DEFAULT_NULL_MARKERS, RecordNormalizer, RecordNormalizerBuilder};
pub use crate::terms::Terms;
pub use crate::text::{Text, clean_text, text_key, text_key_string};
