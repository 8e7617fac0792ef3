//! [`RecordNormalizer`]: the configured normalizers applied to whole [`Record`]s, each
//! record's changes written into a [`ChangeLog`]. Built in code with
//! [`RecordNormalizerBuilder`] or from a [`NormalizeConfig`](crate::NormalizeConfig).

use mergetag_model::{FieldName, Record, Value, fields};

use crate::{Change, ChangeLog, Context, Normalizer, Outcome};

/// Builds a [`RecordNormalizer`] in code.
#[derive(Debug, Default)]
pub struct RecordNormalizerBuilder {
    country_field: Option<String>,
    default_country: Option<&'static str>,
    split_full_name: bool,
    address_line: Option<FieldName>,
    fields: Vec<(FieldName, Box<dyn Normalizer>)>,
    null_markers: Option<Vec<String>>,
    keep_template_syntax: bool,
}

/// The values treated as missing by default (compared trimmed, exactly): what spreadsheets,
/// databases and scripts write for "no value", in the spellings they use. Matching is exact so
/// that a name such as `Nan` is not taken for pandas' `nan`.
pub const DEFAULT_NULL_MARKERS: &[&str] = &[
    "NULL",
    "null",
    "Null",
    "None",
    "NONE",
    "none",
    "N/A",
    "n/a",
    "N/a",
    "NA",
    "undefined",
    "UNDEFINED",
    "#N/A",
    "nan",
    "NaN",
    "NAN",
    "-",
    "n.a.",
    "N.A.",
];

impl RecordNormalizerBuilder {
    /// Whether to split `full_name` into its parts (see
    /// [`NormalizeConfig::split_full_name`](crate::NormalizeConfig::split_full_name)).
    pub fn split_full_name(&mut self, yes: bool) -> &mut Self {
        self.split_full_name = yes;
        self
    }

    /// The field holding a one-line US address (see
    /// [`NormalizeConfig::address_line_field`](crate::NormalizeConfig::address_line_field)).
    pub fn address_line_field(&mut self, name: &str) -> &mut Self {
        self.address_line = Some(FieldName::new(name));
        self
    }

    /// The values that mean "no value" (compared trimmed, exactly), removed from every
    /// text field of a record before the field normalizers run (default
    /// [`DEFAULT_NULL_MARKERS`]; an empty list removes none).
    pub fn null_markers(&mut self, markers: Vec<String>) -> &mut Self {
        self.null_markers = Some(markers);
        self
    }

    /// Keep values that hold template syntax (`{{`, `}}`, `{%`, `%}`) instead of removing
    /// them (default false: such a value is removed, so that it can never reach a template).
    pub fn keep_template_syntax(&mut self, yes: bool) -> &mut Self {
        self.keep_template_syntax = yes;
        self
    }

    /// Sets the field holding the record's country (default `country`).
    pub fn country_field(&mut self, name: &str) -> &mut Self {
        self.country_field = Some(name.to_owned());
        self
    }

    /// Sets the country of records without one (see
    /// [`NormalizeConfig::default_country`](crate::NormalizeConfig::default_country)): an ISO
    /// 3166-1 alpha-2 code, in any case.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) at `default_country` when `code` is not an
    /// assigned alpha-2 code; the builder is unchanged then.
    pub fn default_country(&mut self, code: &str) -> crate::Result<&mut Self> {
        let known = rust_iso3166::from_alpha2(&code.trim().to_ascii_uppercase())
            .filter(|_| code.trim().len() == 2)
            .map(|c| c.alpha2);
        match known {
            Some(c) => {
                self.default_country = Some(c);
                Ok(self)
            }
            None => Err(crate::Error::Invalid {
                path: "default_country".into(),
                message: format!(
                    "unknown country {code:?}; use an ISO 3166-1 alpha-2 code such as \"US\" or \"DE\""
                ),
            }),
        }
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
        let null_markers: Vec<String> = match self.null_markers.take() {
            Some(m) => m.iter().map(|m| m.trim().to_owned()).collect(),
            None => DEFAULT_NULL_MARKERS
                .iter()
                .map(|m| (*m).to_owned())
                .collect(),
        };
        let null_markers: Vec<String> =
            null_markers.into_iter().filter(|m| !m.is_empty()).collect();
        RecordNormalizer {
            country,
            default_country: self.default_country.take(),
            split_full_name: std::mem::take(&mut self.split_full_name),
            address_line: self.address_line.take(),
            fields,
            longest_marker: null_markers.iter().map(String::len).max().unwrap_or(0),
            null_markers,
            remove_template_syntax: !std::mem::take(&mut self.keep_template_syntax),
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
    default_country: Option<&'static str>,
    split_full_name: bool,
    address_line: Option<FieldName>,
    fields: Vec<(FieldName, Box<dyn Normalizer>)>,
    /// Trimmed null markers; compared ignoring case.
    null_markers: Vec<String>,
    /// The longest marker, in bytes: longer values are never markers.
    longest_marker: usize,
    remove_template_syntax: bool,
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
        self.remove_placeholders(record, log);
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
            let cx = Context::with_country(country.as_deref())
                .with_default_country(self.default_country);
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

/// Whether `text` holds template syntax of Handlebars, Liquid, Jinja or Django.
fn has_template_syntax(text: &str) -> bool {
    ["{{", "}}", "{%", "%}"].iter().any(|d| text.contains(d))
}

impl RecordNormalizer {
    /// Removes null markers and values holding template syntax from every text field.
    fn remove_placeholders(&self, record: &mut Record, log: &mut ChangeLog) {
        for (name, value) in record.iter_mut() {
            let Value::Text(text) = value else {
                continue;
            };
            let reason = {
                let t = text.trim();
                if t.len() <= self.longest_marker && self.null_markers.iter().any(|m| m == t) {
                    Some("a null marker, read as missing")
                } else if self.remove_template_syntax && has_template_syntax(text) {
                    Some("template syntax, removed so that it never reaches a template")
                } else {
                    None
                }
            };
            if let Some(reason) = reason {
                *value = Value::Null;
                log.changes.push(Change {
                    field: name.clone(),
                    outcome: Outcome::Removed(reason.to_owned()),
                });
            }
        }
    }

    fn split_name(&self, record: &mut Record, log: &mut ChangeLog) {
        let has = |r: &Record, f: &str| r.get(f).is_some_and(|v| !v.is_missing());
        if has(record, fields::FIRST_NAME) || has(record, fields::LAST_NAME) {
            return;
        }
        let Some(full) = record.text(fields::FULL_NAME) else {
            return;
        };
        let n = crate::PersonName::parse(full);
        fill_missing(
            record,
            log,
            [
                (fields::SALUTATION, n.salutation),
                (fields::FIRST_NAME, n.given),
                (fields::MIDDLE_NAME, n.middle),
                (fields::LAST_NAME, n.family),
                (fields::NAME_SUFFIX, n.suffix),
            ],
        );
    }

    fn split_address(&self, line: &FieldName, record: &mut Record, log: &mut ChangeLog) {
        let has = |r: &Record, f: &str| r.get(f).is_some_and(|v| !v.is_missing());
        if has(record, fields::STREET) {
            return;
        }
        // The record's country when it has one (an unknown one is not the US), else the
        // default country.
        let country = match record
            .text(self.country.as_str())
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => Some(crate::country_code(c).unwrap_or("")),
            None => self.default_country,
        };
        if country.is_some_and(|c| c != "US") {
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
        fill_missing(
            record,
            log,
            [
                (fields::STREET, Some(a.street)),
                (fields::CITY, a.city),
                (fields::REGION, a.region),
                (fields::POSTAL_CODE, a.postal_code),
            ],
        );
    }
}

/// Sets each part that has a value into its field, unless the record already has a value
/// there, logging each as changed: how split full names and address lines fill a record.
fn fill_missing<const N: usize>(
    record: &mut Record,
    log: &mut ChangeLog,
    parts: [(&str, Option<String>); N],
) {
    for (field, part) in parts {
        if let Some(p) = part
            && record.get(field).is_none_or(|v| v.is_missing())
        {
            record.set(field, p);
            log.changes.push(Change {
                field: FieldName::new(field),
                outcome: Outcome::Changed,
            });
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
