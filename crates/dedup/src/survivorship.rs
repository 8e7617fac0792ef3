//! Survivorship: one golden [`Profile`] per cluster, each field chosen by a declared rule, with
//! the record every value came from, the values it won over, and the suppressions that survive
//! every merge.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use mergetag_model::config::{Format, load};
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
}

fn default_rule() -> Rule {
    Rule::MostRecent
}

impl Default for SurvivorshipConfig {
    fn default() -> Self {
        SurvivorshipConfig {
            default: Rule::MostRecent,
            source_priority: Vec::new(),
            fields: BTreeMap::new(),
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
    // Field names in first-seen order over the sorted members: a stable order.
    let mut names: Vec<&FieldName> = Vec::new();
    for r in members {
        for f in r.iter() {
            if !names.contains(&&f.name) {
                names.push(&f.name);
            }
        }
    }
    for name in names {
        let candidates: Vec<Candidate<'_>> = members
            .iter()
            .zip(&filled)
            .filter_map(|(r, &filled)| {
                r.get(name.as_str())
                    .filter(|v| !v.is_missing())
                    .map(|value| Candidate {
                        value,
                        record: r,
                        filled,
                    })
            })
            .collect();
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
        primary.then_with(|| tie(a, b))
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
