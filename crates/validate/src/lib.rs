//! Validation for mergetag: declarative rules checked against records at ingestion, so that
//! bad data is caught with a reason and kept for repair, never silently sent or dropped.
//!
//! ```
//! use mergetag_validate::{QuarantineWriter, RuleSet, Validator};
//! use mergetag_validate::model::{IterSource, Record, RecordId};
//!
//! // Rules load from TOML or JSON (or are built in code, see `RuleSet`).
//! let rules = RuleSet::from_toml_str(r#"
//!     as_of = "2026-03-01"            # "today", for reproducible date checks
//!     [fields.email]
//!     required = true
//!     email = true
//!     [fields.age]
//!     range = { min = 13, max = 120 }
//!     [fields.country]
//!     country = true
//! "#)?;
//!
//! let rows = [
//!     ("ada@example.org", 36, "GB"),
//!     ("jane..doe@example.com", 7, "USA"),   // three problems, all reported
//!     ("sales@gmial.com", 41, "US"),         // accepted, with warnings
//! ];
//! let records = rows.iter().enumerate().map(|(i, (email, age, country))| {
//!     let mut r = Record::new(RecordId::row("crm", i as u64 + 1));
//!     r.set("email", *email);
//!     r.set("age", *age);
//!     r.set("country", *country);
//!     Ok::<_, std::convert::Infallible>(r)
//! });
//!
//! let mut validator = Validator::new(rules);
//! let mut quarantine = QuarantineWriter::new(Vec::new());
//! let mut flagged = Vec::new();
//! validator.run(&mut IterSource::new("crm", records), &mut quarantine, |record, report| {
//!     if !report.is_empty() {
//!         flagged.push((record.id.to_string(), report.to_string()));
//!     }
//! })?;
//!
//! let stats = validator.stats();
//! assert_eq!((stats.read, stats.accepted, stats.quarantined), (3, 2, 1));
//! assert_eq!(stats.by_code["invalid_email.consecutive_dots"], 1);
//! assert_eq!(stats.by_code["out_of_range"], 1);
//! assert_eq!(stats.by_code["invalid_country"], 1);
//! assert_eq!(flagged[0].0, "crm:#3");
//! assert!(flagged[0].1.contains("did you mean gmail.com?"));
//!
//! // The quarantine holds the original record, its position and every finding, with
//! // values redacted in the findings.
//! let text = String::from_utf8(quarantine.into_inner()?).unwrap();
//! assert!(text.contains(r#""value":"j***@example.com""#));
//! # Ok::<(), mergetag_validate::Error>(())
//! ```
//!
//! # Contents
//!
//! - [`Rule`]: the trait every check implements; it adds every finding to a [`Report`].
//!   [`rules`] holds the built-in rules, [`from_fn`] makes one from a closure.
//! - [`RuleSet`]: rules in order, built in code or loaded from TOML/JSON ([`config`]).
//! - [`Finding`], [`Severity`], [`Report`]: what the rules find, with stable [`codes`] and
//!   values redacted ([`redact_value`]).
//! - [`EmailValidator`]: email validation written for customer data ([`email`]).
//! - [`Validator`]: a rule over a stream of records, with [`Stats`] that add up and an
//!   [`Audit`] of completeness and validity per field.
//! - [`QuarantineWriter`], [`QuarantineReader`], [`QuarantineEntry`]: records with errors
//!   (and rows a source could not read) as JSON Lines, to fix and ingest again.
//!
//! Errors ([`Error`]) are for broken configuration and I/O only; findings are data.
//!
//! The crate depends on [`mergetag-model`](mergetag_model) alone among mergetag's crates, and
//! re-exports it as [`model`].

mod audit;
pub mod codes;
pub mod config;
pub mod email;
mod error;
mod quarantine;
mod report;
mod rule;
pub mod rules;
mod ruleset;
mod validator;

pub use mergetag_model as model;

pub use crate::audit::{Audit, FieldAudit, TOP_VIOLATIONS, Violation};
pub use crate::config::RuleSetConfig;
pub use crate::email::{
    Email, EmailConfig, EmailError, EmailValidator, EmailValidatorBuilder, EmailWarning,
};
pub use crate::error::{Error, Result};
pub use crate::quarantine::{QuarantineEntry, QuarantineReader, QuarantineWriter, reject_finding};
pub use crate::report::{Finding, Report, Severity, redact_value};
pub use crate::rule::{FnRule, Rule, from_fn};
pub use crate::ruleset::RuleSet;
pub use crate::validator::{Stats, Validator, ValidatorBuilder, Verdict};

/// Loads the reference data now (disposable domains, role accounts, phone metadata, postal
/// formats) rather than on first use, so that the first records checked are not slower.
pub fn warm() {
    EmailValidator::warm();
    rules::PhoneNumber::warm();
    rules::warm_postal();
}
