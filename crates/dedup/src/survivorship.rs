//! Survivorship: one golden [`Profile`] per cluster, each field chosen by a declared rule, with
//! the record every value came from, the values it won over, and the suppressions that survive
//! every merge.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use mergetag_model::config::{Format, load};
use mergetag_model::fields::ValueKind;
use mergetag_model::{
    Channel, FieldName, Profile, ProfileField, ProfileId, Record, Sourced, Suppression,
    SuppressionReason, Value, fields,
};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How the surviving value of a field is chosen among a cluster's records. Missing values
/// (null, blank text) never survive while any record has a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// The value of the most recently observed record.
    MostRecent,
    /// The value of the record with the most non-missing fields.
    MostComplete,
    /// The value of the record whose source comes first in `source_priority`.
    SourcePriority,
    /// The value held by the most records.
    MostFrequent,
    /// The longest value (as text).
    Longest,
    /// The smallest value (numbers, dates and text compared within their type).
    Min,
    /// The largest value.
    Max,
    /// The value of the first record in record-id order.
    FirstNonEmpty,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::MostRecent => "most_recent",
            Rule::MostComplete => "most_complete",
            Rule::SourcePriority => "source_priority",
            Rule::MostFrequent => "most_frequent",
            Rule::Longest => "longest",
            Rule::Min => "min",
            Rule::Max => "max",
            Rule::FirstNonEmpty => "first_non_empty",
        }
    }
}

/// Survivorship configuration, in code or from TOML/JSON.
///
/// ```
/// use mergetag_dedup::survivorship::{Rule, SurvivorshipConfig};
///
/// let config = SurvivorshipConfig::from_toml_str(r#"
///     default = "most_recent"
///     source_priority = ["salesforce", "hubspot", "enrichment"]
///     [fields]
///     email = "source_priority"
///     customer_lifetime_value = "max"
/// "#)?;
/// assert_eq!(config.rule_for("email"), Rule::SourcePriority);
/// assert_eq!(config.rule_for("city"), Rule::MostRecent);
/// # Ok::<(), mergetag_dedup::Error>(())
/// ```
///
/// Values in canonical form come first: with `prefer_canonical` (the default), a value in
/// the normalized form [`fields`] documents for its canonical field (see [`is_canonical`]:
/// an E.164 phone, an ISO 3166-2 region code, an ISO 3166-1 country code, a date typed as a
/// date...) wins over a raw one among a profile's candidates, whatever the rule says; the
/// rule then chooses among the equally clean values. A raw value survives only when no member
/// has a clean one, and it is kept among the conflicts otherwise. Free-form attributes have no
/// canonical form: the rule alone decides for them.
///
/// Ties are broken the same way for every rule: the more recent record, then the source that
/// comes first in `source_priority`, then the smaller record id; so the result never depends
/// on input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipConfig {
    /// The rule for fields not listed in `fields` (default `most_recent`).
    #[serde(default = "default_rule")]
    pub default: Rule,
    /// Sources from most to least trusted, for `source_priority` and tie-breaks; unlisted
    /// sources come after, in name order.
    #[serde(default)]
    pub source_priority: Vec<String>,
    /// Rules per field.
    #[serde(default)]
    pub fields: BTreeMap<String, Rule>,
    /// Whether values in canonical form ([`is_canonical`]) win over raw ones before the rule
    /// is applied (default true).
    #[serde(default = "yes")]
    pub prefer_canonical: bool,
}

fn default_rule() -> Rule {
    Rule::MostRecent
}

fn yes() -> bool {
    true
}

impl Default for SurvivorshipConfig {
    fn default() -> Self {
        SurvivorshipConfig {
            default: Rule::MostRecent,
            source_priority: Vec::new(),
            fields: BTreeMap::new(),
            prefer_canonical: true,
        }
    }
}

impl SurvivorshipConfig {
    /// The rule for `field`.
    pub fn rule_for(&self, field: &str) -> Rule {
        self.fields.get(field).copied().unwrap_or(self.default)
    }

    /// Parses TOML.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`](crate::Error::Parse) with the line of a syntax error, unknown key or
    /// unknown rule.
    pub fn from_toml_str(text: &str) -> Result<SurvivorshipConfig> {
        Ok(load(text, Format::Toml.text_origin(), Format::Toml)?)
    }

    /// Parses JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`](crate::Error::Parse) with the position of the problem.
    pub fn from_json_str(text: &str) -> Result<SurvivorshipConfig> {
        Ok(load(text, Format::Json.text_origin(), Format::Json)?)
    }

    fn source_rank(&self, source: &str) -> usize {
        self.source_priority
            .iter()
            .position(|s| s == source)
            .unwrap_or(self.source_priority.len())
    }
}

/// One candidate value: the value, its record, and the record's tie-break facts.
struct Candidate<'a> {
    value: &'a Value,
    record: &'a Record,
    filled: usize,
    /// Whether the value is in its field's canonical form.
    canonical: bool,
}

/// Whether `value` is in the normalized form that [`fields`] documents for the canonical
/// field `field`: the test survivorship uses to prefer values that normalized cleanly.
///
/// - typed fields (dates, times, flags, numbers): the value has that type (an int counts as a
///   float);
/// - `phone`, `mobile_phone`: E.164, `+` and 4 to 15 digits (the first not 0), an extension
///   as `;ext=` and up to 10 digits;
/// - `email`: one `@` between a non-empty local part and a domain in lower-case ASCII (IDNA
///   encoded), no spaces or angle brackets; the local part is kept as given;
/// - `country`: two capital ASCII letters (ISO 3166-1 alpha-2);
/// - `region`: 1 to 3 capital ASCII letters or digits (an ISO 3166-2 code without its country
///   prefix);
/// - `postal_code`: 2 to 10 capital ASCII letters and digits, single inner spaces or hyphens;
/// - names and `city`: clean text whose casing carries information (not ALL CAPS, not all
///   lower-case, when it has two letters or more);
/// - any other canonical text field: clean text (trimmed, single spaces, no control
///   characters);
/// - lists: every item canonical.
///
/// A free-form attribute (not in [`fields::ALL`]) has no canonical form: always `true`. A
/// missing value is never canonical.
///
/// ```
/// use mergetag_dedup::survivorship::is_canonical;
/// use mergetag_model::{fields, Value};
///
/// assert!(is_canonical(fields::PHONE, &Value::from("+16085550123")));
/// assert!(!is_canonical(fields::PHONE, &Value::from("(608) 555-0123")));
/// assert!(is_canonical(fields::REGION, &Value::from("WI")));
/// assert!(!is_canonical(fields::REGION, &Value::from("Wisconsin")));
/// assert!(!is_canonical(fields::CITY, &Value::from("CHICAGO")));
/// ```
pub fn is_canonical(field: &str, value: &Value) -> bool {
    if value.is_missing() {
        return false;
    }
    let Some(spec) = fields::spec(field) else {
        return true;
    };
    if let Value::List(items) = value {
        return items.iter().all(|v| is_canonical(field, v));
    }
    match spec.kind {
        ValueKind::Text => {}
        ValueKind::Bool => return matches!(value, Value::Bool(_)),
        ValueKind::Int => return matches!(value, Value::Int(_)),
        ValueKind::Float => return matches!(value, Value::Float(_) | Value::Int(_)),
        ValueKind::Date => return matches!(value, Value::Date(_)),
        ValueKind::DateTime => return matches!(value, Value::DateTime(_)),
        _ => return true,
    }
    let Value::Text(t) = value else {
        return false;
    };
    match field {
        fields::PHONE | fields::MOBILE_PHONE => is_e164(t),
        fields::EMAIL => is_canonical_email(t),
        fields::COUNTRY => t.len() == 2 && t.bytes().all(|b| b.is_ascii_uppercase()),
        fields::REGION => {
            (1..=3).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        fields::POSTAL_CODE => is_canonical_postcode(t),
        fields::FIRST_NAME
        | fields::MIDDLE_NAME
        | fields::LAST_NAME
        | fields::FULL_NAME
        | fields::CITY => is_clean_text(t) && is_cased(t),
        _ => is_clean_text(t),
    }
}

/// `+`, 4 to 15 digits (the first not 0), and an optional `;ext=` with 1 to 10 digits.
fn is_e164(t: &str) -> bool {
    let (number, ext) = match t.split_once(";ext=") {
        Some((n, e)) => (n, Some(e)),
        None => (t, None),
    };
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (4..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && ext.is_none_or(|e| (1..=10).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()))
}

fn is_canonical_email(t: &str) -> bool {
    let Some((local, domain)) = t.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && !local.to_ascii_lowercase().starts_with("mailto:")
        && !t.contains(|c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

fn is_canonical_postcode(t: &str) -> bool {
    (2..=10).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'-')
        && t.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && t.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        && !t.contains("  ")
        && !t.contains(" -")
        && !t.contains("- ")
}

/// Trimmed, single spaces between words, no other whitespace or control characters.
fn is_clean_text(t: &str) -> bool {
    !t.starts_with(' ')
        && !t.ends_with(' ')
        && !t.contains("  ")
        && !t.contains(|c: char| c.is_control() || (c.is_whitespace() && c != ' '))
}

/// Whether the casing of `t` carries information: it has both capital and small letters, or
/// fewer than two letters.
fn is_cased(t: &str) -> bool {
    let (mut upper, mut lower, mut letters) = (false, false, 0);
    for c in t.chars() {
        upper |= c.is_uppercase();
        lower |= c.is_lowercase();
        letters += usize::from(c.is_alphabetic());
    }
    letters < 2 || (upper && lower)
}

/// Orders values of one type; values of different types by type name.
fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(_) | Value::Int(_), Value::Float(_) | Value::Int(_)) => a
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&b.as_f64().unwrap_or(0.0)),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => a.type_name().cmp(b.type_name()).then(Ordering::Equal),
    }
}

/// Builds golden profiles from records and their clusters (as [`crate::Deduper::run`] gives
/// them): profile ids are the cluster ids; members are sorted by record id.
///
/// ```
/// use mergetag_dedup::survivorship::{golden_profiles, SurvivorshipConfig};
/// use mergetag_model::{fields, Channel, Record, RecordId, Value};
///
/// let mut a = Record::new(RecordId::id("salesforce", "1"));
/// a.observed_at = "2026-01-01T00:00:00Z".parse().ok();
/// a.set(fields::CITY, "Chicago");
/// a.set(fields::EMAIL_OPT_OUT, true);
/// let mut b = Record::new(RecordId::id("hubspot", "9"));
/// b.observed_at = "2026-06-01T00:00:00Z".parse().ok();
/// b.set(fields::CITY, "Evanston");
/// b.set(fields::EMAIL_OPT_OUT, false);
///
/// let profiles = golden_profiles(&[a, b], &[0, 0], &SurvivorshipConfig::default());
/// let p = &profiles[0];
/// assert_eq!(p.value(fields::CITY), Some(&Value::from("Evanston"))); // most recent
/// assert_eq!(p.field(fields::CITY).unwrap().conflicts.len(), 1);      // Chicago, with its record
/// assert!(p.is_suppressed(Channel::Email)); // an opt-out survives a newer duplicate elsewhere
/// ```
pub fn golden_profiles(
    records: &[Record],
    clusters: &[u32],
    config: &SurvivorshipConfig,
) -> Vec<Profile> {
    let mut by_cluster: BTreeMap<u32, Vec<&Record>> = BTreeMap::new();
    for (r, &c) in records.iter().zip(clusters) {
        by_cluster.entry(c).or_default().push(r);
    }
    by_cluster
        .into_iter()
        .map(|(c, mut members)| {
            members.sort_by(|a, b| a.id.cmp(&b.id));
            profile(ProfileId(u64::from(c)), &members, config)
        })
        .collect()
}

/// The golden profile of one group of records (sorted by id).
pub fn profile(id: ProfileId, members: &[&Record], config: &SurvivorshipConfig) -> Profile {
    let mut p = Profile::new(id, members.iter().map(|r| r.id.clone()).collect());
    let filled: Vec<usize> = members
        .iter()
        .map(|r| r.iter().filter(|f| !f.value.is_missing()).count())
        .collect();
    // One pass over every member's fields: the candidates of each field name, the names in
    // first-seen order over the sorted members (a stable order). A hash map keeps this linear
    // in the number of fields, however wide the records are.
    let mut slot_of: HashMap<&str, usize> = HashMap::new();
    // (name, candidates, index of the last member seen with this name)
    let mut slots: Vec<(&FieldName, Vec<Candidate<'_>>, usize)> = Vec::new();
    for (m, (r, &filled)) in members.iter().zip(&filled).enumerate() {
        for f in r.iter() {
            let slot = *slot_of.entry(f.name.as_str()).or_insert_with(|| {
                slots.push((&f.name, Vec::new(), usize::MAX));
                slots.len() - 1
            });
            let (_, candidates, last) = &mut slots[slot];
            // A name twice in one record: the first one counts, as `Record::get` reads it.
            if *last == m {
                continue;
            }
            *last = m;
            if !f.value.is_missing() {
                candidates.push(Candidate {
                    value: &f.value,
                    record: r,
                    filled,
                    canonical: config.prefer_canonical && is_canonical(f.name.as_str(), &f.value),
                });
            }
        }
    }
    p.fields.reserve(slots.len());
    for (name, candidates, _) in slots {
        if candidates.is_empty() {
            continue;
        }
        let rule = config.rule_for(name.as_str());
        let winner = choose(&candidates, rule, config);
        let chosen = &candidates[winner];
        let mut conflicts: Vec<Sourced> = Vec::new();
        for c in &candidates {
            if c.value != chosen.value && !conflicts.iter().any(|s| &s.value == c.value) {
                conflicts.push(Sourced {
                    value: c.value.clone(),
                    record: c.record.id.clone(),
                    observed_at: c.record.observed_at,
                });
            }
        }
        p.fields.push(ProfileField {
            name: name.clone(),
            chosen: Sourced {
                value: chosen.value.clone(),
                record: chosen.record.id.clone(),
                observed_at: chosen.record.observed_at,
            },
            rule: Some(rule.name().to_owned()),
            conflicts,
        });
    }
    p.suppressions = suppressions(members);
    p
}

/// The index of the winning candidate.
fn choose(candidates: &[Candidate<'_>], rule: Rule, config: &SurvivorshipConfig) -> usize {
    use std::cmp::Ordering;
    // The shared tie-break: more recent, then higher-priority source, then smaller record id.
    let tie = |a: &Candidate<'_>, b: &Candidate<'_>| -> Ordering {
        b.record
            .observed_at
            .cmp(&a.record.observed_at)
            .then(
                config
                    .source_rank(a.record.id.source.as_str())
                    .cmp(&config.source_rank(b.record.id.source.as_str())),
            )
            .then(a.record.id.cmp(&b.record.id))
    };
    let counts: HashMap<String, usize> = if rule == Rule::MostFrequent {
        let mut m = HashMap::new();
        for c in candidates {
            *m.entry(c.value.to_string()).or_insert(0) += 1;
        }
        m
    } else {
        HashMap::new()
    };
    let order = |a: &Candidate<'_>, b: &Candidate<'_>| -> Ordering {
        let primary = match rule {
            Rule::MostRecent => Ordering::Equal,
            Rule::MostComplete => b.filled.cmp(&a.filled),
            Rule::SourcePriority => config
                .source_rank(a.record.id.source.as_str())
                .cmp(&config.source_rank(b.record.id.source.as_str())),
            Rule::MostFrequent => counts[&b.value.to_string()].cmp(&counts[&a.value.to_string()]),
            Rule::Longest => b
                .value
                .to_string()
                .chars()
                .count()
                .cmp(&a.value.to_string().chars().count()),
            Rule::Min => cmp_values(a.value, b.value),
            Rule::Max => cmp_values(b.value, a.value),
            Rule::FirstNonEmpty => a.record.id.cmp(&b.record.id),
        };
        // Values in canonical form first (false when `prefer_canonical` is off), then the rule.
        b.canonical
            .cmp(&a.canonical)
            .then(primary)
            .then_with(|| tie(a, b))
    };
    (0..candidates.len())
        .min_by(|&x, &y| order(&candidates[x], &candidates[y]))
        .unwrap_or(0)
}

fn is_true(r: &Record, field: &str) -> Option<bool> {
    match r.get(field)? {
        Value::Bool(b) => Some(*b),
        Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "y" => Some(true),
            "false" | "no" | "0" | "n" => Some(false),
            _ => None,
        },
        Value::Int(i) => Some(*i != 0),
        _ => None,
    }
}

/// The suppressions that survive the merge.
///
/// Any member that opted out, bounced, complained or withheld consent suppresses the channel.
/// An opt-out is lifted only by an explicit opt-in (`email_opt_out = false` or
/// `email_consent = true`) from the *same source*, observed strictly later; a duplicate from
/// another source, or an undated record, never lifts it. Bounces and complaints are never
/// lifted.
pub fn suppressions(members: &[&Record]) -> Vec<Suppression> {
    let mut out: Vec<Suppression> = Vec::new();
    let later_opt_in_from_same_source =
        |r: &Record, at: Option<DateTime<Utc>>, out_field: &str, consent_field: Option<&str>| {
            let Some(at) = at else { return false };
            members.iter().any(|o| {
                o.id.source == r.id.source
                    && o.observed_at.is_some_and(|t| t > at)
                    && (is_true(o, out_field) == Some(false)
                        || consent_field.is_some_and(|c| is_true(o, c) == Some(true)))
            })
        };
    for r in members {
        let mut add = |channel, reason| {
            if !out
                .iter()
                .any(|s: &Suppression| s.channel == channel && s.reason == reason)
            {
                out.push(Suppression {
                    channel,
                    reason,
                    record: r.id.clone(),
                    at: r.observed_at,
                });
            }
        };
        if is_true(r, fields::EMAIL_OPT_OUT) == Some(true)
            && !later_opt_in_from_same_source(
                r,
                r.observed_at,
                fields::EMAIL_OPT_OUT,
                Some(fields::EMAIL_CONSENT),
            )
        {
            add(Channel::Email, SuppressionReason::OptOut);
        }
        if is_true(r, fields::EMAIL_BOUNCED) == Some(true) {
            add(Channel::Email, SuppressionReason::Bounced);
        }
        if is_true(r, "email_complained") == Some(true) {
            add(Channel::Email, SuppressionReason::Complaint);
        }
        if is_true(r, fields::EMAIL_CONSENT) == Some(false)
            && !later_opt_in_from_same_source(
                r,
                r.observed_at,
                "email_consent_withdrawn",
                Some(fields::EMAIL_CONSENT),
            )
        {
            add(Channel::Email, SuppressionReason::NoConsent);
        }
        if is_true(r, fields::SMS_OPT_OUT) == Some(true)
            && !later_opt_in_from_same_source(r, r.observed_at, fields::SMS_OPT_OUT, None)
        {
            add(Channel::Sms, SuppressionReason::OptOut);
        }
    }
    out.sort_by(|a, b| (a.channel, a.reason, &a.record).cmp(&(b.channel, b.reason, &b.record)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::RecordId;

    fn rec(source: &str, id: &str, at: &str) -> Record {
        let mut r = Record::new(RecordId::id(source, id));
        r.observed_at = at.parse().ok();
        r
    }

    #[test]
    fn rules_choose_as_documented() {
        let mut a = rec("salesforce", "1", "2026-01-01T00:00:00Z");
        a.set(fields::FIRST_NAME, "Rob");
        a.set(fields::CUSTOMER_LIFETIME_VALUE, 100.0);
        a.set(fields::STREET, "12 Oak Rd");
        let mut b = rec("hubspot", "2", "2026-03-01T00:00:00Z");
        b.set(fields::FIRST_NAME, "Robert");
        b.set(fields::CUSTOMER_LIFETIME_VALUE, 250.0);
        b.set(fields::STREET, "12 Oak Road, Apt 4");
        b.set(fields::CITY, "Oslo");
        let mut c = rec("events", "3", "2026-02-01T00:00:00Z");
        c.set(fields::FIRST_NAME, "Robert");
        c.set(fields::CUSTOMER_LIFETIME_VALUE, Value::Null);
        let records = [a, b, c];
        let members: Vec<&Record> = records.iter().collect();
        let mut config = SurvivorshipConfig {
            source_priority: vec!["salesforce".into(), "hubspot".into()],
            ..SurvivorshipConfig::default()
        };
        let value = |config: &SurvivorshipConfig, f: &str| {
            profile(ProfileId(1), &members, config).value(f).cloned()
        };
        assert_eq!(
            value(&config, fields::FIRST_NAME),
            Some(Value::from("Robert"))
        ); // most recent
        for (rule, field, want) in [
            (Rule::SourcePriority, fields::FIRST_NAME, Value::from("Rob")),
            (
                Rule::MostFrequent,
                fields::FIRST_NAME,
                Value::from("Robert"),
            ),
            (
                Rule::Longest,
                fields::STREET,
                Value::from("12 Oak Road, Apt 4"),
            ),
            (
                Rule::Max,
                fields::CUSTOMER_LIFETIME_VALUE,
                Value::Float(250.0),
            ),
            (
                Rule::Min,
                fields::CUSTOMER_LIFETIME_VALUE,
                Value::Float(100.0),
            ),
            (
                Rule::FirstNonEmpty,
                fields::FIRST_NAME,
                Value::from("Robert"),
            ), // events:3 < hubspot:2 < salesforce:1
            (
                Rule::MostComplete,
                fields::FIRST_NAME,
                Value::from("Robert"),
            ),
        ] {
            config.fields.insert(field.into(), rule);
            assert_eq!(value(&config, field), Some(want), "{rule:?}");
        }
        // A null never survives while a value exists.
        assert!(value(&config, fields::CUSTOMER_LIFETIME_VALUE).is_some());
        let p = profile(ProfileId(1), &members, &config);
        let f = p.field(fields::FIRST_NAME).unwrap();
        assert_eq!(f.rule.as_deref(), Some("most_complete"));
        assert_eq!(f.conflicts.len(), 1);
        assert_eq!(p.members.len(), 3);
    }

    #[test]
    fn suppression_cannot_be_sneaked_back_through_a_duplicate() {
        let mut out = rec("salesforce", "1", "2026-01-01T00:00:00Z");
        out.set(fields::EMAIL_OPT_OUT, true);
        // A newer duplicate from another source says "not opted out": it must not lift it.
        let mut dup = rec("hubspot", "2", "2026-06-01T00:00:00Z");
        dup.set(fields::EMAIL_OPT_OUT, false);
        dup.set(fields::EMAIL_CONSENT, true);
        let s = suppressions(&[&out, &dup]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].record, out.id);
        // An older opt-in from the same source does not lift it either.
        let mut older = rec("salesforce", "0", "2025-01-01T00:00:00Z");
        older.set(fields::EMAIL_OPT_OUT, false);
        assert_eq!(suppressions(&[&out, &older]).len(), 1);
        // A newer explicit opt-in from the same source does.
        let mut newer = rec("salesforce", "3", "2026-02-01T00:00:00Z");
        newer.set(fields::EMAIL_OPT_OUT, false);
        assert!(suppressions(&[&out, &newer]).is_empty());
        // Bounces are never lifted; undated opt-outs neither.
        let mut bounced = rec("esp", "4", "2026-01-01T00:00:00Z");
        bounced.set(fields::EMAIL_BOUNCED, true);
        let mut undated = Record::new(RecordId::id("salesforce", "5"));
        undated.set(fields::EMAIL_OPT_OUT, "yes");
        let s = suppressions(&[&bounced, &undated, &newer]);
        assert_eq!(s.len(), 2, "{s:?}");
    }

    #[test]
    fn normalized_values_win_over_raw_ones_before_the_rule() {
        // The newer record holds raw values its source could not normalize; the older one
        // holds the canonical forms. Canonical wins first; the rule breaks ties among them.
        let mut clean = rec("crm", "1", "2026-01-01T00:00:00Z");
        clean.set(fields::PHONE, "+16085550123");
        clean.set(fields::REGION, "WI");
        clean.set(fields::COUNTRY, "US");
        clean.set(fields::EMAIL, "ann@example.com");
        clean.set(fields::CITY, "Chicago");
        clean.set(fields::POSTAL_CODE, "SW1A 1AA");
        clean.set(
            fields::BIRTH_DATE,
            Value::Date("1985-04-03".parse().unwrap()),
        );
        let mut raw = rec("web", "2", "2026-06-01T00:00:00Z");
        raw.set(fields::PHONE, "(608) 555-0123");
        raw.set(fields::REGION, "Wisconsin");
        raw.set(fields::COUNTRY, "United States");
        raw.set(fields::EMAIL, "Ann@EXAMPLE.com");
        raw.set(fields::CITY, "CHICAGO");
        raw.set(fields::POSTAL_CODE, "sw1a1aa");
        raw.set(fields::BIRTH_DATE, "03/04/1985");
        raw.set("favorite_store", "Oak Park");
        clean.set("favorite_store", "Evanston");
        let records = [clean, raw];
        let members: Vec<&Record> = records.iter().collect();
        let p = profile(ProfileId(1), &members, &SurvivorshipConfig::default());
        let text = |f: &str| p.value(f).map(|v| v.to_string());
        assert_eq!(text(fields::PHONE).as_deref(), Some("+16085550123"));
        assert_eq!(text(fields::REGION).as_deref(), Some("WI"));
        assert_eq!(text(fields::COUNTRY).as_deref(), Some("US"));
        assert_eq!(text(fields::EMAIL).as_deref(), Some("ann@example.com"));
        assert_eq!(text(fields::CITY).as_deref(), Some("Chicago"));
        assert_eq!(text(fields::POSTAL_CODE).as_deref(), Some("SW1A 1AA"));
        assert!(matches!(p.value(fields::BIRTH_DATE), Some(Value::Date(_))));
        // A free-form attribute has no canonical form: the rule alone decides.
        assert_eq!(text("favorite_store").as_deref(), Some("Oak Park"));
        // The raw value is kept as a conflict, with its record.
        let phone = p.field(fields::PHONE).unwrap();
        assert_eq!(phone.conflicts.len(), 1);
        assert_eq!(phone.conflicts[0].record, records[1].id);

        // Among equally clean values the rule decides (most recent), ties by record id.
        let mut newer = rec("web", "3", "2026-07-01T00:00:00Z");
        newer.set(fields::PHONE, "+16085550199");
        let records = [records[0].clone(), records[1].clone(), newer];
        let members: Vec<&Record> = records.iter().collect();
        let p = profile(ProfileId(1), &members, &SurvivorshipConfig::default());
        assert_eq!(p.value(fields::PHONE), Some(&Value::from("+16085550199")));

        // The preference can be switched off: then the rule alone decides.
        let config = SurvivorshipConfig {
            prefer_canonical: false,
            ..SurvivorshipConfig::default()
        };
        let p = profile(ProfileId(1), &members[..2], &config);
        assert_eq!(p.value(fields::PHONE), Some(&Value::from("(608) 555-0123")));
    }

    #[test]
    fn canonical_forms_per_field() {
        let t = |f: &str, s: &str| is_canonical(f, &Value::from(s));
        for (field, yes, no) in [
            (fields::PHONE, "+13125550147;ext=12", "312-555-0147"),
            (fields::MOBILE_PHONE, "+447911123456", "+44 7911 123456"),
            (fields::EMAIL, "Jane.Doe@example.com", " jane@example.com"),
            (
                fields::EMAIL,
                "jane@xn--bcher-kva.example",
                "jane@Example.com",
            ),
            (fields::COUNTRY, "GB", "gb"),
            (fields::REGION, "ENG", "England"),
            (fields::POSTAL_CODE, "62704-1234", "62704 - 1234"),
            (fields::CITY, "Frankfurt am Main", "FRANKFURT AM MAIN"),
            (fields::LAST_NAME, "van der Berg", "van der berg"),
            (fields::COMPANY, "Acme Inc", "Acme  Inc "),
        ] {
            assert!(t(field, yes), "{field}: {yes:?}");
            assert!(!t(field, no), "{field}: {no:?}");
        }
        assert!(is_canonical(fields::EMAIL_OPT_OUT, &Value::Bool(true)));
        assert!(!t(fields::EMAIL_OPT_OUT, "yes"));
        assert!(is_canonical(
            fields::CUSTOMER_LIFETIME_VALUE,
            &Value::Int(3)
        ));
        assert!(t("favorite_store", "  anything "));
    }

    #[test]
    fn wide_records_keep_every_field_in_first_seen_order() {
        let mut a = rec("crm", "1", "2026-01-01T00:00:00Z");
        let mut b = rec("web", "2", "2026-02-01T00:00:00Z");
        for i in 0..3000 {
            a.set(format!("col{i}"), i64::from(i));
            if i % 2 == 0 {
                b.set(format!("col{}", 5000 - i), i64::from(i) + 1);
            }
        }
        // A duplicate name pushed unchecked: the first one counts, as `Record::get` reads it.
        b.push_unchecked("col5000".into(), Value::from("second"));
        let records = [a, b];
        let p = profile(
            ProfileId(1),
            &records.iter().collect::<Vec<_>>(),
            &SurvivorshipConfig::default(),
        );
        let names: Vec<&str> = p.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), 3000 + 1001);
        assert_eq!(names[0], "col0");
        assert_eq!(names[3000], "col5000");
        assert_eq!(p.value("col1"), Some(&Value::Int(1)));
        assert_eq!(p.value("col4000"), Some(&Value::Int(1001))); // most recent
        assert_eq!(p.value("col0"), Some(&Value::Int(0)));
        assert_eq!(p.value("col5000"), Some(&Value::Int(1)));
    }

    #[test]
    fn config_errors_name_the_line() {
        let e = SurvivorshipConfig::from_toml_str(
            "default = \"most_recent\"\n[fields]\nemail = \"newest\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = SurvivorshipConfig::from_json_str(r#"{"defaults": "max"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `defaults`"), "{e}");
    }
}
