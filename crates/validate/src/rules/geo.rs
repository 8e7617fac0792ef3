//! Country, region and postal-code rules.
//!
//! Country and region codes come from the `rust_iso3166` crate (ISO 3166-1 and ISO 3166-2 as
//! compile-time maps). Postal-code formats are a small embedded table: no maintained crate
//! covers them, and the formats change rarely (the patterns follow the countries' postal
//! services, as collected in Google's libaddressinput data).

use std::collections::HashMap;
use std::sync::LazyLock;

use mergetag_model::{FieldName, Record, fields};
use regex::Regex;

use super::{as_text, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// Codes in common use outside ISO 3166-1 that a customer's country field may rightly hold:
/// `XK` (Kosovo, user-assigned, used by the EU and CLDR).
const EXTRA_COUNTRIES: &[&str] = &["XK"];

/// Whether `code` is an assigned ISO 3166-1 alpha-2 code (upper case), or `XK`.
pub(crate) fn is_country(code: &str) -> bool {
    code.len() == 2
        && (rust_iso3166::from_alpha2(code).is_some() || EXTRA_COUNTRIES.contains(&code))
}

/// The value must be an ISO 3166-1 alpha-2 country code in capitals (`US`, `GB`), the
/// canonical form of [`fields::COUNTRY`]. Code `invalid_country`; the message suggests the
/// fix for lower case (`us`), alpha-3 (`USA`) and numeric (`840`) codes.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::CountryCode};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("country", "USA");
/// let mut report = Report::new();
/// CountryCode::new("country").check(&r, &mut report);
/// assert_eq!(report.findings()[0].message,
///     "country must be an ISO 3166 two-letter code; use US for USA");
/// ```
#[derive(Debug, Clone)]
pub struct CountryCode {
    field: FieldName,
    severity: Severity,
}

impl CountryCode {
    /// `field` must be a country code.
    pub fn new(field: impl Into<FieldName>) -> CountryCode {
        CountryCode {
            field: field.into(),
            severity: Severity::Error,
        }
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> CountryCode {
        self.severity = severity;
        self
    }
}

/// The message for a country value that is not a code, with a fix when one is known.
fn country_problem(field: &str, text: &str) -> Option<String> {
    if is_country(text) {
        return None;
    }
    let l = label(field);
    let upper = text.to_ascii_uppercase();
    let hint = if is_country(&upper) {
        Some(format!("write it in capitals, {upper}"))
    } else if let Some(c) = rust_iso3166::from_alpha3(&upper) {
        Some(format!("use {} for {upper}", c.alpha2))
    } else {
        text.parse::<u16>()
            .ok()
            .and_then(rust_iso3166::from_numeric)
            .map(|c| format!("use {} for {text}", c.alpha2))
    };
    Some(match hint {
        Some(h) => format!("{l} must be an ISO 3166 two-letter code; {h}"),
        None => format!("{l} must be an ISO 3166 two-letter code such as US or GB"),
    })
}

impl Rule for CountryCode {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            let message = match as_text(v) {
                Some(t) => match country_problem(self.field.as_str(), &t) {
                    Some(m) => m,
                    None => return,
                },
                None => format!("{} must be a country code", label(&self.field)),
            };
            report.push(
                Finding::new(
                    self.field.clone(),
                    codes::INVALID_COUNTRY,
                    self.severity,
                    message,
                )
                .with_value(v),
            );
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}

/// The value must be an ISO 3166-2 subdivision of the record's country, written without the
/// country prefix (`IL` for `US-IL`, `ON` for `CA-ON`), the canonical form of
/// [`fields::REGION`]. Code `invalid_region`.
///
/// The country is read from another field ([`fields::COUNTRY`] unless
/// [`country_field`](RegionCode::country_field) says otherwise); a record without a valid
/// country, or whose country has no subdivisions, is not judged.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::RegionCode};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("country", "US");
/// r.set("region", "ON");
/// let mut report = Report::new();
/// RegionCode::new("region").check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "invalid_region");
/// ```
#[derive(Debug, Clone)]
pub struct RegionCode {
    field: FieldName,
    country_field: FieldName,
    severity: Severity,
}

impl RegionCode {
    /// `field` must be a region of the country in [`fields::COUNTRY`].
    pub fn new(field: impl Into<FieldName>) -> RegionCode {
        RegionCode {
            field: field.into(),
            country_field: FieldName::new(fields::COUNTRY),
            severity: Severity::Error,
        }
    }

    /// Reads the country from this field instead.
    pub fn country_field(mut self, field: impl Into<FieldName>) -> RegionCode {
        self.country_field = field.into();
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> RegionCode {
        self.severity = severity;
        self
    }
}

impl Rule for RegionCode {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        let Some(country) = record.text(self.country_field.as_str()).map(str::trim) else {
            return;
        };
        let Some(c) = rust_iso3166::from_alpha2(country) else {
            return;
        };
        if c.subdivisions().is_none_or(<[_]>::is_empty) {
            return;
        }
        each_item(value, &mut |v| {
            let Some(region) = as_text(v) else { return };
            let mut code = String::with_capacity(3 + region.len());
            code.push_str(country);
            code.push('-');
            code.push_str(&region);
            if rust_iso3166::iso3166_2::from_code(&code).is_some() {
                return;
            }
            let l = label(&self.field);
            let upper = region.to_ascii_uppercase();
            let message = if let Some(bare) = upper
                .strip_prefix(country)
                .and_then(|r| r.strip_prefix('-'))
                .filter(|r| rust_iso3166::iso3166_2::from_code(&format!("{country}-{r}")).is_some())
            {
                format!("{l} must be written without the country prefix, as {bare}")
            } else if upper != *region
                && rust_iso3166::iso3166_2::from_code(&format!("{country}-{upper}")).is_some()
            {
                format!("{l} must be written in capitals, as {upper}")
            } else {
                format!("{l} is not a region code of {country} (ISO 3166-2, such as IL or ON)")
            };
            report.push(
                Finding::new(
                    self.field.clone(),
                    codes::INVALID_REGION,
                    self.severity,
                    message,
                )
                .with_value(v),
            );
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone(), self.country_field.clone()]
    }
}

/// Postal-code formats by country: ISO 3166-1 alpha-2 code and pattern (matched whole,
/// ignoring case).
const POSTAL_FORMATS: &[(&str, &str)] = &[
    ("AR", r"[A-HJ-NP-Z]?\d{4}(?:[A-Z]{3})?"),
    ("AT", r"\d{4}"),
    ("AU", r"\d{4}"),
    ("BE", r"\d{4}"),
    ("BG", r"\d{4}"),
    ("BR", r"\d{5}-?\d{3}"),
    (
        "CA",
        r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
    ),
    ("CH", r"\d{4}"),
    ("CL", r"\d{7}"),
    ("CN", r"\d{6}"),
    ("CZ", r"\d{3} ?\d{2}"),
    ("DE", r"\d{5}"),
    ("DK", r"\d{4}"),
    ("EE", r"\d{5}"),
    ("ES", r"\d{5}"),
    ("FI", r"\d{5}"),
    ("FR", r"\d{2} ?\d{3}"),
    (
        "GB",
        r"GIR ?0AA|(?:[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRV-Y])) ?\d[ABD-HJLNP-UW-Z]{2}",
    ),
    ("GR", r"\d{3} ?\d{2}"),
    ("HR", r"\d{5}"),
    ("HU", r"\d{4}"),
    ("IE", r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[\dAC-FHKNPRTV-Y]{4}"),
    ("IL", r"\d{5}(?:\d{2})?"),
    ("IN", r"\d{6}|\d{3} \d{3}"),
    ("IT", r"\d{5}"),
    ("JP", r"\d{3}-?\d{4}"),
    ("KR", r"\d{5}"),
    ("LT", r"(?:LT-)?\d{5}"),
    ("LU", r"(?:L-)?\d{4}"),
    ("LV", r"(?:LV-)?\d{4}"),
    ("MX", r"\d{5}"),
    ("NL", r"\d{4} ?[A-Z]{2}"),
    ("NO", r"\d{4}"),
    ("NZ", r"\d{4}"),
    ("PH", r"\d{4}"),
    ("PL", r"\d{2}-\d{3}"),
    ("PT", r"\d{4}-\d{3}"),
    ("RO", r"\d{6}"),
    ("RU", r"\d{6}"),
    ("SE", r"\d{3} ?\d{2}"),
    ("SG", r"\d{6}"),
    ("SI", r"(?:SI-)?\d{4}"),
    ("SK", r"\d{3} ?\d{2}"),
    ("TR", r"\d{5}"),
    ("TW", r"\d{3}(?:\d{2,3})?"),
    ("UA", r"\d{5}"),
    ("US", r"\d{5}(?:-\d{4})?"),
    ("ZA", r"\d{4}"),
];

static POSTAL_REGEXES: LazyLock<HashMap<&'static str, Regex>> = LazyLock::new(|| {
    POSTAL_FORMATS
        .iter()
        .map(|(country, pattern)| {
            let regex = Regex::new(&format!("(?i)^(?:{pattern})$"))
                .expect("the embedded postal-code patterns compile");
            (*country, regex)
        })
        .collect()
});

/// Compiles the postal-code patterns now.
pub(crate) fn warm_postal() {
    LazyLock::force(&POSTAL_REGEXES);
}

/// The countries whose postal-code format is known, in alphabetical order.
pub fn postal_code_countries() -> impl Iterator<Item = &'static str> {
    POSTAL_FORMATS.iter().map(|(c, _)| *c)
}

/// The postal code must have the format of the record's country (`62704` or `62704-1234` in
/// the US, `SW1A 1AA` in GB, `K1A 0B1` in CA; 48 countries, see [`postal_code_countries`]).
/// Case is ignored. Code `postal_code_mismatch`.
///
/// The country comes from [`fields::COUNTRY`] (or [`country_field`](Self::country_field)),
/// else from [`default_country`](Self::default_country); a record whose country is unknown or
/// has no known format is not judged.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::PostalCodeMatchesCountry};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("country", "GB");
/// r.set("postal_code", "62704");
/// let mut report = Report::new();
/// PostalCodeMatchesCountry::new().check(&r, &mut report);
/// assert_eq!(report.findings()[0].message, "postal code is not in the format used in GB");
/// ```
#[derive(Debug, Clone)]
pub struct PostalCodeMatchesCountry {
    postal_field: FieldName,
    country_field: FieldName,
    default_country: Option<String>,
    severity: Severity,
}

impl Default for PostalCodeMatchesCountry {
    fn default() -> Self {
        PostalCodeMatchesCountry::new()
    }
}

impl PostalCodeMatchesCountry {
    /// Checks [`fields::POSTAL_CODE`] against [`fields::COUNTRY`].
    pub fn new() -> PostalCodeMatchesCountry {
        PostalCodeMatchesCountry {
            postal_field: FieldName::new(fields::POSTAL_CODE),
            country_field: FieldName::new(fields::COUNTRY),
            default_country: None,
            severity: Severity::Error,
        }
    }

    /// Reads the postal code from this field instead.
    pub fn postal_field(mut self, field: impl Into<FieldName>) -> Self {
        self.postal_field = field.into();
        self
    }

    /// Reads the country from this field instead.
    pub fn country_field(mut self, field: impl Into<FieldName>) -> Self {
        self.country_field = field.into();
        self
    }

    /// The country of records that have none (an alpha-2 code, such as `US`).
    pub fn default_country(mut self, country: impl Into<String>) -> Self {
        self.default_country = Some(country.into());
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

impl Rule for PostalCodeMatchesCountry {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.postal_field) else {
            return;
        };
        let country = match present(record, &self.country_field) {
            Some(c) => c.as_str().map(str::trim),
            None => self.default_country.as_deref(),
        };
        let Some((country, regex)) =
            country.and_then(|c| POSTAL_REGEXES.get_key_value(c).map(|(k, r)| (*k, r)))
        else {
            return;
        };
        each_item(value, &mut |v| {
            if as_text(v).is_some_and(|t| regex.is_match(&t)) {
                return;
            }
            let message = format!(
                "{} is not in the format used in {country}",
                label(&self.postal_field)
            );
            report.push(
                Finding::new(
                    self.postal_field.clone(),
                    codes::POSTAL_CODE_MISMATCH,
                    self.severity,
                    message,
                )
                .with_value(v),
            );
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.postal_field.clone(), self.country_field.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries() {
        assert!(is_country("US") && is_country("GB") && is_country("XK"));
        assert!(!is_country("us") && !is_country("UK") && !is_country("USA"));
        assert_eq!(
            country_problem("country", "us").unwrap(),
            "country must be an ISO 3166 two-letter code; write it in capitals, US"
        );
        assert!(
            country_problem("country", "840")
                .unwrap()
                .ends_with("use US for 840")
        );
        assert!(
            country_problem("country", "Narnia")
                .unwrap()
                .ends_with("such as US or GB")
        );
    }

    #[test]
    fn postal_formats() {
        let ok = |c: &str, p: &str| POSTAL_REGEXES[c].is_match(p);
        assert!(ok("US", "62704") && ok("US", "62704-1234") && !ok("US", "6270"));
        assert!(ok("GB", "SW1A 1AA") && ok("GB", "M1 1AE") && ok("GB", "ec1a1bb"));
        assert!(!ok("GB", "62704"));
        assert!(ok("CA", "K1A 0B1") && !ok("CA", "D1A 0B1"));
        assert!(ok("NL", "1234 AB") && ok("DE", "10115") && !ok("DE", "1011"));
        assert!(ok("IE", "D02 X285") && ok("JP", "100-0001"));
        let mut sorted: Vec<_> = postal_code_countries().collect();
        sorted.sort_unstable();
        assert_eq!(sorted, postal_code_countries().collect::<Vec<_>>());
        for c in postal_code_countries() {
            assert!(is_country(c), "{c}");
        }
    }
}
