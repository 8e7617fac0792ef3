//! The stable machine codes of findings.
//!
//! A code never changes meaning once released; new codes may be added. Codes are snake case;
//! the email codes share the prefix `invalid_email.` (see
//! [`EmailError::code`](crate::EmailError::code) for the full list). Custom rules may use codes
//! of their own ([`rules::Pattern::with_code`](crate::rules::Pattern::with_code)).
//!
//! | code | rule | default severity |
//! |---|---|---|
//! | `required` | [`Required`](crate::rules::Required) | error |
//! | `invalid_int`, `invalid_float`, `invalid_bool`, `invalid_date`, `invalid_datetime`, `invalid_text` | [`ParsesAs`](crate::rules::ParsesAs), and every rule that needs a number or a date | error |
//! | `invalid_number` | [`Range`](crate::rules::Range) | error |
//! | `out_of_range` | [`Range`](crate::rules::Range) | error |
//! | `date_in_future`, `date_too_early`, `date_too_late`, `date_too_old` | [`DateBounds`](crate::rules::DateBounds) | error |
//! | `not_allowed` | [`OneOf`](crate::rules::OneOf) | error |
//! | `too_short`, `too_long` | [`Length`](crate::rules::Length) | error |
//! | `pattern_mismatch` | [`Pattern`](crate::rules::Pattern) | error |
//! | `invalid_country` | [`CountryCode`](crate::rules::CountryCode) | error |
//! | `invalid_region` | [`RegionCode`](crate::rules::RegionCode) | error |
//! | `invalid_phone` | [`PhoneNumber`](crate::rules::PhoneNumber) | error |
//! | `invalid_email.*` | [`EmailAddress`](crate::rules::EmailAddress) | error |
//! | `disposable_domain`, `role_account`, `domain_typo` | [`EmailAddress`](crate::rules::EmailAddress) | warning |
//! | `needs_smtputf8` | [`EmailAddress`](crate::rules::EmailAddress) | info |
//! | `age_mismatch` | [`AgeMatchesBirthDate`](crate::rules::AgeMatchesBirthDate) | error |
//! | `postal_code_mismatch` | [`PostalCodeMatchesCountry`](crate::rules::PostalCodeMatchesCountry) | error |
//! | `duplicate_id`, `duplicate_value` | [`Unique`](crate::rules::Unique) | error |
//! | `source.<code>` | a row the source could not read ([`Reject`](mergetag_model::Reject)), e.g. `source.ragged_row` | error |

/// A required field is missing (absent, null or blank).
pub const REQUIRED: &str = "required";
/// A value is not an integer.
pub const INVALID_INT: &str = "invalid_int";
/// A value is not a number.
pub const INVALID_FLOAT: &str = "invalid_float";
/// A value is not a boolean.
pub const INVALID_BOOL: &str = "invalid_bool";
/// A value is not an ISO 8601 date (`YYYY-MM-DD`, or an RFC 3339 date and time).
pub const INVALID_DATE: &str = "invalid_date";
/// A value is not an RFC 3339 date and time.
pub const INVALID_DATETIME: &str = "invalid_datetime";
/// A value is not text.
pub const INVALID_TEXT: &str = "invalid_text";
/// A value that must be a number for a range check is not one.
pub const INVALID_NUMBER: &str = "invalid_number";
/// A number is outside its allowed range.
pub const OUT_OF_RANGE: &str = "out_of_range";
/// A date is after the validator's "today".
pub const DATE_IN_FUTURE: &str = "date_in_future";
/// A date is before its earliest allowed date.
pub const DATE_TOO_EARLY: &str = "date_too_early";
/// A date is after its latest allowed date.
pub const DATE_TOO_LATE: &str = "date_too_late";
/// A date is older than "within the last N days" allows.
pub const DATE_TOO_OLD: &str = "date_too_old";
/// A value is not one of the allowed values.
pub const NOT_ALLOWED: &str = "not_allowed";
/// Text is shorter than its minimum length.
pub const TOO_SHORT: &str = "too_short";
/// Text is longer than its maximum length.
pub const TOO_LONG: &str = "too_long";
/// Text does not match its pattern.
pub const PATTERN_MISMATCH: &str = "pattern_mismatch";
/// A country is not an ISO 3166-1 alpha-2 code.
pub const INVALID_COUNTRY: &str = "invalid_country";
/// A region is not an ISO 3166-2 subdivision of the record's country.
pub const INVALID_REGION: &str = "invalid_region";
/// A phone number cannot be read or is not a valid number.
pub const INVALID_PHONE: &str = "invalid_phone";
/// The email's domain is a disposable-mailbox service.
pub const DISPOSABLE_DOMAIN: &str = "disposable_domain";
/// The email is a role account (`info@`, `sales@`).
pub const ROLE_ACCOUNT: &str = "role_account";
/// The email's domain looks like a mistyped popular domain.
pub const DOMAIN_TYPO: &str = "domain_typo";
/// The email's local part is not ASCII, so sending needs SMTPUTF8.
pub const NEEDS_SMTPUTF8: &str = "needs_smtputf8";
/// An age does not agree with the birth date.
pub const AGE_MISMATCH: &str = "age_mismatch";
/// A postal code does not have the format of the record's country.
pub const POSTAL_CODE_MISMATCH: &str = "postal_code_mismatch";
/// A record id appears more than once in its source.
pub const DUPLICATE_ID: &str = "duplicate_id";
/// A value that must be unique appears on more than one record of a source.
pub const DUPLICATE_VALUE: &str = "duplicate_value";
/// The prefix of the codes of rows a source could not read.
pub const SOURCE_PREFIX: &str = "source.";
