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
}

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
        RecordNormalizer {
            country,
            default_country: self.default_country.take(),
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
    default_country: Option<&'static str>,
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
