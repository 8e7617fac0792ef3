//! [`PhoneNumber`]: a valid phone number, by libphonenumber's metadata.

use std::str::FromStr;

use mergetag_model::{FieldName, Record};
use phonenumber::country;

use super::{as_text, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};
use mergetag_phone as phone_meta;

/// The value must be a valid phone number: one that libphonenumber's metadata (through the
/// `phonenumber` crate) accepts for its country, not merely one with the right number of
/// digits. Code `invalid_phone`.
///
/// Numbers in international form (`+1 312 555 0147`, E.164 `+13125550147`) need nothing
/// else. National numbers (`(312) 555-0147`) need a country: the record's own, from
/// [`region_field`](Self::region_field), else [`default_region`](Self::default_region); a
/// national number without either is reported.
///
/// The metadata is loaded once per process, on first use or by [`PhoneNumber::warm`], and each
/// region's patterns are compiled the first time a number of that region is checked. Validity
/// is decided as `phonenumber::is_valid` decides it, with the patterns compiled once (see the
/// `mergetag-phone` crate's notes), which makes it several times faster.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::PhoneNumber};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let rule = PhoneNumber::new("phone").default_region("US")?;
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("phone", "(312) 555-0147");
/// let mut report = Report::new();
/// rule.check(&r, &mut report);
/// assert!(report.is_empty());
///
/// r.set("phone", "+1 312 555 01");
/// rule.check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "invalid_phone");
/// assert_eq!(report.findings()[0].value.as_deref(), Some("+1 *** *55 01"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
pub struct PhoneNumber {
    field: FieldName,
    default_region: Option<country::Id>,
    region_field: Option<FieldName>,
    severity: Severity,
}

impl PhoneNumber {
    /// `field` must be a valid phone number in international form.
    pub fn new(field: impl Into<FieldName>) -> PhoneNumber {
        PhoneNumber {
            field: field.into(),
            default_region: None,
            region_field: None,
            severity: Severity::Error,
        }
    }

    /// Reads national numbers as numbers of `region`, an ISO 3166-1 alpha-2 code (`US`).
    ///
    /// # Errors
    ///
    /// A message when libphonenumber does not know the region.
    pub fn default_region(mut self, region: &str) -> Result<PhoneNumber, String> {
        self.default_region = Some(parse_region(region).ok_or_else(|| {
            format!(
                "unknown region `{region}`; use an ISO 3166-1 two-letter code in capitals, \
                 such as US"
            )
        })?);
        Ok(self)
    }

    /// Reads national numbers as numbers of the country in this field of the record (usually
    /// [`fields::COUNTRY`](mergetag_model::fields::COUNTRY)), before the default region.
    pub fn region_field(mut self, field: impl Into<FieldName>) -> PhoneNumber {
        self.region_field = Some(field.into());
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> PhoneNumber {
        self.severity = severity;
        self
    }

    /// Loads the phone metadata now, so that the first check does not pay for it.
    pub fn warm() {
        phone_meta::warm();
    }

    fn problem(&self, text: &str, region: Option<country::Id>) -> Option<String> {
        // The common case, an international number with plain separators, skips the parser.
        let mut buf = [0u8; 24];
        if let Some((code, national)) = phone_meta::split_international(text, &mut buf)
            && phone_meta::is_valid(code, national)
        {
            return None;
        }
        // A national number written with digits and separators only, read in its region as
        // libphonenumber does (international dialling and trunk prefixes of that region),
        // without the full parser and its copy of the metadata.
        if let Some(r) = region
            && !text.starts_with('+')
        {
            let digits: String = text
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
                .collect();
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return match phone_meta::read_in_region(r.as_ref(), &digits) {
                    Some(_) => None,
                    None => Some(format!(
                        "{} is not a valid number (wrong length or an unassigned range)",
                        label(&self.field)
                    )),
                };
            }
        }
        let l = label(&self.field);
        let international = text.starts_with('+') || text.starts_with("00");
        if !international && region.is_none() {
            return Some(format!(
                "{l} has no country code (like +1) and no default country is set"
            ));
        }
        match phonenumber::parse(region, text) {
            Err(_) => Some(format!("{l} cannot be read as a phone number")),
            Ok(n) if !phone_meta::is_valid(n.code().value(), &n.national().to_string()) => Some(
                format!("{l} is not a valid number (wrong length or an unassigned range)"),
            ),
            Ok(_) => None,
        }
    }
}

/// A libphonenumber region from an alpha-2 code in capitals.
fn parse_region(code: &str) -> Option<country::Id> {
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        country::Id::from_str(code).ok()
    } else {
        None
    }
}

impl Rule for PhoneNumber {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        let region = self
            .region_field
            .as_ref()
            .and_then(|f| record.text(f.as_str()))
            .and_then(|c| parse_region(c.trim()))
            .or(self.default_region);
        each_item(value, &mut |v| {
            let message = match as_text(v) {
                Some(t) => match self.problem(&t, region) {
                    Some(m) => m,
                    None => return,
                },
                None => format!("{} must be text", label(&self.field)),
            };
            report.push(
                Finding::new(
                    self.field.clone(),
                    codes::INVALID_PHONE,
                    self.severity,
                    message,
                )
                .with_value(v),
            );
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        let mut f = vec![self.field.clone()];
        f.extend(self.region_field.clone());
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let us = PhoneNumber::new("phone").default_region("US").unwrap();
        assert_eq!(us.problem("+13125550147", None), None);
        assert_eq!(us.problem("+44 20 7946 0958", None), None);
        assert_eq!(us.problem("(312) 555-0147", us.default_region), None);
        assert!(us.problem("555-0147", us.default_region).is_some());
        assert!(us.problem("call me", us.default_region).is_some());
        assert!(us.problem("+1 000 000 0000", None).is_some());
        assert!(
            PhoneNumber::new("p")
                .problem("312 555 0147", None)
                .is_some()
        );
        assert!(PhoneNumber::new("p").default_region("ZZ").is_err());
        assert!(PhoneNumber::new("p").default_region("us").is_err());
        // The region's own dialling prefixes: 011 abroad from the US, not 00.
        assert_eq!(us.problem("011 44 20 7946 0958", us.default_region), None);
        assert!(
            us.problem("00 44 20 7946 0958", us.default_region)
                .is_some()
        );
        let by = PhoneNumber::new("p").default_region("BY").unwrap();
        assert_eq!(by.problem("8 0152 45-09-11", by.default_region), None);
    }
}
