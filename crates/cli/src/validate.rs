//! `mergetag validate --kind email`: one address per input line in, one JSON object per line
//! out.
//!
//! ```
//! use mergetag_cli::validate::LineValidator;
//! use mergetag_validate::EmailValidator;
//!
//! let v = LineValidator::new(EmailValidator::new());
//! let line = serde_json::to_string(&v.validate("jane@yaho.com")).unwrap();
//! assert_eq!(
//!     line,
//!     r#"{"input":"jane@yaho.com","valid":true,"reason":"the address is valid","normalized":"jane@yaho.com","ascii":"jane@yaho.com","smtputf8":false,"warnings":[{"code":"domain_typo","message":"the domain looks mistyped; did you mean yahoo.com?"}],"suggestion":"jane@yahoo.com"}"#
//! );
//! ```

use std::io::{BufRead, Write};

use mergetag_validate::{EmailValidator, EmailWarning};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::lines::{Line, NOT_UTF8, for_each_line};

/// What the values are. Only email addresses for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ValidateKind {
    /// Email addresses, by [`EmailValidator`].
    Email,
}

/// The reason given for a valid address.
pub const VALID: &str = "the address is valid";

/// A warning about a valid address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The stable code: `disposable_domain`, `role_account` or `domain_typo`.
    pub code: &'static str,
    /// What it means, for a person.
    pub message: String,
}

/// One output line. Keys, in order: `input`, `valid`, `code` (only when invalid), `reason`,
/// `normalized`, `ascii`, `smtputf8`, `warnings`, `suggestion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidatedLine {
    /// The input line (lossily decoded when it is not UTF-8).
    pub input: String,
    /// Whether the address is valid.
    pub valid: bool,
    /// The stable code of the problem (`invalid_email.missing_at`, ...); absent when valid. A
    /// line that is not UTF-8 has `invalid_email.invalid_utf8`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Why the address is invalid, or [`VALID`].
    pub reason: String,
    /// The normalized address (domain lower-cased, in Unicode form), or `None` when invalid.
    pub normalized: Option<String>,
    /// The all-ASCII form (IDNA domain), or `None` when invalid or when the local part is not
    /// ASCII.
    pub ascii: Option<String>,
    /// Whether sending needs SMTPUTF8 (a non-ASCII local part).
    pub smtputf8: bool,
    /// The warnings about a valid address (empty when invalid).
    pub warnings: Vec<Warning>,
    /// The address with a mistyped popular domain corrected (`jane@gmail.com` for
    /// `jane@gmial.com`), or `None`.
    pub suggestion: Option<String>,
}

/// Validates lines with an [`EmailValidator`].
#[derive(Debug, Clone, Copy)]
pub struct LineValidator {
    validator: EmailValidator,
}

impl LineValidator {
    /// A line validator using `validator`.
    pub fn new(validator: EmailValidator) -> LineValidator {
        LineValidator { validator }
    }

    /// Validates one address.
    pub fn validate(&self, input: &str) -> ValidatedLine {
        match self.validator.validate(input) {
            Ok(email) => {
                let suggestion = email.warnings().iter().find_map(|w| match w {
                    EmailWarning::DomainTypo { suggestion } => {
                        Some(format!("{}@{suggestion}", email.local()))
                    }
                    _ => None,
                });
                ValidatedLine {
                    input: input.to_owned(),
                    valid: true,
                    code: None,
                    reason: VALID.to_owned(),
                    normalized: Some(email.normalized().to_owned()),
                    ascii: email.ascii().map(str::to_owned),
                    smtputf8: email.needs_smtputf8(),
                    warnings: email
                        .warnings()
                        .iter()
                        .map(|w| Warning {
                            code: w.code(),
                            message: w.to_string(),
                        })
                        .collect(),
                    suggestion,
                }
            }
            Err(e) => invalid(input, e.code(), e.to_string()),
        }
    }

    /// Reads `input` line by line and writes one JSON object per line to `out`, in order. A
    /// line that is not UTF-8 is invalid (`invalid_email.invalid_utf8`) and the lines after
    /// it are processed. A `\r` before the line break is not part of the address.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading or writing fails.
    pub fn run(&self, input: impl BufRead, mut out: impl Write) -> Result<(u64, u64)> {
        let (mut valid, mut invalid_count) = (0, 0);
        for_each_line(input, |line| {
            let result = match line {
                Line::Text(text) => self.validate(text),
                Line::NotUtf8(lossy) => {
                    invalid(lossy, "invalid_email.invalid_utf8", NOT_UTF8.to_owned())
                }
            };
            if result.valid {
                valid += 1;
            } else {
                invalid_count += 1;
            }
            serde_json::to_writer(&mut out, &result)
                .map_err(|e| Error::io("<stdout>", e.into()))?;
            out.write_all(b"\n").map_err(|e| Error::io("<stdout>", e))
        })?;
        out.flush().map_err(|e| Error::io("<stdout>", e))?;
        Ok((valid, invalid_count))
    }
}

fn invalid(input: &str, code: &'static str, reason: String) -> ValidatedLine {
    ValidatedLine {
        input: input.to_owned(),
        valid: false,
        code: Some(code),
        reason,
        normalized: None,
        ascii: None,
        smtputf8: false,
        warnings: Vec::new(),
        suggestion: None,
    }
}
