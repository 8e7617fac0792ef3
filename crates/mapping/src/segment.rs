//! Segments: rule-based definitions over profile fields and traits, and RFM scoring.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use mergetag_model::config::Format;
use mergetag_model::{Event, ProfileId, Value};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::document::{Recipient, Source, from_json};
use crate::error::{Error, Result, load_path, load_str};
use crate::order::cmp_values;

/// A comparison of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Equal (numbers numerically, text exactly).
    Eq,
    /// Not equal (also true when the value is absent).
    Ne,
    /// Equal to one of a list.
    In,
    /// Text containing the value (case-insensitively), or a list containing an equal item.
    Contains,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Has a value that is not missing (null, empty or whitespace-only).
    Exists,
    /// Has no value, or a missing one.
    Missing,
    /// A date or datetime before the given ISO 8601 date or RFC 3339 instant.
    Before,
    /// A date or datetime after the given ISO 8601 date or RFC 3339 instant.
    After,
    /// A date or datetime within the last `value` days before "now".
    WithinDays,
}

/// The serde form of a condition: exactly one of `all`, `any`, `not`, or `field` with `op`
/// (and `value`, except for `exists` and `missing`).
///
/// ```toml
/// rule = { all = [
///     { field = "profile.city", op = "eq", value = "New York" },
///     { not = { field = "traits.orders", op = "lt", value = 2 } },
/// ] }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// Every condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<ConditionConfig>>,
    /// At least one condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<ConditionConfig>>,
    /// The condition does not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<ConditionConfig>>,
    /// `profile.<field>[.<path>]` or `traits.<trait>[.<path>]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<Op>,
    /// The value compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
}

fn parse_instant(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Date(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Value::DateTime(t) => Some(*t),
        Value::Text(s) => {
            let s = s.trim();
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .or_else(|| {
                    DateTime::parse_from_rfc3339(s)
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                })
        }
        _ => None,
    }
}

impl ConditionConfig {
    /// Validates and builds the runtime [`Condition`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (with paths relative to the condition: `all[0].op`, `value`) for a
    /// condition that is not exactly one of `all`, `any`, `not` or `field`, a field that is
    /// not `profile.` or `traits.`, a missing `op`, or a missing or unfit `value`.
    pub fn build(&self) -> Result<Condition> {
        self.build_at("")
    }

    /// [`ConditionConfig::build`], with `path` (empty at the root) in front of error paths.
    fn build_at(&self, path: &str) -> Result<Condition> {
        let at = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        let set = [
            self.all.is_some(),
            self.any.is_some(),
            self.not.is_some(),
            self.field.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(Error::invalid(
                path,
                "a condition needs exactly one of `all`, `any`, `not` or `field`",
            ));
        }
        if let Some(all) = &self.all {
            return all
                .iter()
                .enumerate()
                .map(|(i, c)| c.build_at(&at(&format!("all[{i}]"))))
                .collect::<Result<_>>()
                .map(|c| Condition(Cond::All(c)));
        }
        if let Some(any) = &self.any {
            return any
                .iter()
                .enumerate()
                .map(|(i, c)| c.build_at(&at(&format!("any[{i}]"))))
                .collect::<Result<_>>()
                .map(|c| Condition(Cond::Any(c)));
        }
        if let Some(not) = &self.not {
            return Ok(Condition(Cond::Not(Box::new(not.build_at(&at("not"))?))));
        }
        let field = self.field.as_deref().unwrap_or_default();
        let source = Source::parse(field).ok_or_else(|| {
            Error::invalid(
                at("field"),
                format!("`{field}` is not a field; write `profile.<field>` or `traits.<trait>`"),
            )
        })?;
        let op = self
            .op
            .ok_or_else(|| Error::invalid(at("op"), "a field condition needs an `op`"))?;
        let value = self.value.as_ref().map(from_json).unwrap_or(Value::Null);
        let needs_value = !matches!(op, Op::Exists | Op::Missing);
        if needs_value && value.is_null() {
            return Err(Error::invalid(
                at("value"),
                format!("`{op:?}` needs a `value`").to_lowercase(),
            ));
        }
        let bad = |m: &str| Err(Error::invalid(at("value"), m.to_string()));
        match op {
            Op::In if value.as_list().is_none() => return bad("`in` needs a list"),
            Op::Before | Op::After if parse_instant(&value).is_none() => {
                return bad("needs an iso 8601 date (2025-06-01) or an rfc 3339 instant");
            }
            Op::WithinDays if value.as_int().is_none_or(|d| d < 0) => {
                return bad("`within_days` needs a whole number of days");
            }
            _ => {}
        }
        Ok(Condition(Cond::Test { source, op, value }))
    }
}

/// A built condition; see [`ConditionConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Cond);

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test {
        source: Source,
        op: Op,
        value: Value,
    },
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (parse_instant(a), parse_instant(b), a, b) {
            (Some(x), Some(y), Value::Date(_) | Value::DateTime(_), _) => x == y,
            _ => cmp_values(a, b).is_eq(),
        },
    }
}

fn loose_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
        return x.partial_cmp(&y);
    }
    if matches!(a, Value::Date(_) | Value::DateTime(_)) {
        return Some(parse_instant(a)?.cmp(&parse_instant(b)?));
    }
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Condition {
    /// Whether `r` satisfies the condition at `now`.
    pub fn eval(&self, r: &Recipient<'_>, now: DateTime<Utc>) -> bool {
        match &self.0 {
            Cond::All(c) => c.iter().all(|c| c.eval(r, now)),
            Cond::Any(c) => c.iter().any(|c| c.eval(r, now)),
            Cond::Not(c) => !c.eval(r, now),
            Cond::Test { source, op, value } => {
                let (got, _) = source.resolve(r);
                let got = got.as_deref().filter(|v| !v.is_missing());
                let Some(got) = got else {
                    return matches!(op, Op::Missing | Op::Ne);
                };
                match op {
                    Op::Exists => true,
                    Op::Missing => false,
                    Op::Eq => loose_eq(got, value),
                    Op::Ne => !loose_eq(got, value),
                    Op::In => value
                        .as_list()
                        .is_some_and(|l| l.iter().any(|v| loose_eq(got, v))),
                    Op::Contains => match got {
                        Value::List(items) => items.iter().any(|i| loose_eq(i, value)),
                        Value::Text(s) => value.as_str().is_some_and(|needle| {
                            s.to_lowercase().contains(&needle.to_lowercase())
                        }),
                        _ => false,
                    },
                    Op::Gt => loose_cmp(got, value) == Some(Ordering::Greater),
                    Op::Gte => matches!(
                        loose_cmp(got, value),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                    Op::Lt => loose_cmp(got, value) == Some(Ordering::Less),
                    Op::Lte => matches!(
                        loose_cmp(got, value),
                        Some(Ordering::Less | Ordering::Equal)
                    ),
                    Op::Before => {
                        matches!((parse_instant(got), parse_instant(value)), (Some(a), Some(b)) if a < b)
                    }
                    Op::After => {
                        matches!((parse_instant(got), parse_instant(value)), (Some(a), Some(b)) if a > b)
                    }
                    Op::WithinDays => match (parse_instant(got), value.as_int()) {
                        (Some(t), Some(d)) => {
                            t <= now
                                && Duration::try_days(d)
                                    .and_then(|w| now.checked_sub_signed(w))
                                    .is_none_or(|start| t >= start)
                        }
                        _ => false,
                    },
                }
            }
        }
    }
}

/// The serde form of one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// The segment's name.
    pub name: String,
    /// Who belongs.
    pub rule: ConditionConfig,
}

/// The serde form of a set of segments: `[[segments]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSetConfig {
    /// The segments.
    #[serde(default)]
    pub segments: Vec<SegmentConfig>,
}

impl SegmentSetConfig {
    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<SegmentSetConfig> {
        load_str(text, Format::Toml)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_json_str(text: &str) -> Result<SegmentSetConfig> {
        load_str(text, Format::Json)
    }

    /// Reads a `.toml` or `.json` file (by its extension, in any case); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else
    /// [`Error::Parse`] as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<SegmentSetConfig> {
        load_path(path.as_ref())
    }

    /// Validates and builds the runtime [`SegmentSet`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a duplicate name or a malformed condition.
    pub fn build(&self) -> Result<SegmentSet> {
        let mut segments: Vec<(String, Condition)> = Vec::new();
        for (i, s) in self.segments.iter().enumerate() {
            if segments.iter().any(|(n, _)| *n == s.name) {
                return Err(Error::invalid(
                    format!("segments[{i}].name"),
                    format!("duplicate segment name `{}`", s.name),
                ));
            }
            segments.push((
                s.name.clone(),
                s.rule.build_at(&format!("segments[{i}].rule"))?,
            ));
        }
        Ok(SegmentSet { segments })
    }
}

/// Named segments.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use chrono::Utc;
/// use mergetag_mapping::{Recipient, SegmentSetConfig};
/// use mergetag_mapping::model::{Profile, ProfileId, Value};
///
/// let set = SegmentSetConfig::from_toml_str(r#"
///     [[segments]]
///     name = "engaged_buyers"
///     rule = { all = [
///         { field = "traits.engagement_level", op = "in", value = ["High", "Medium"] },
///         { field = "traits.orders", op = "gte", value = 2 },
///     ] }
/// "#).unwrap().build().unwrap();
/// let p = Profile::new(ProfileId(1), vec![]);
/// let traits = BTreeMap::from([
///     ("engagement_level".to_string(), Value::from("High")),
///     ("orders".to_string(), Value::Int(3)),
/// ]);
/// assert_eq!(set.segments_of(&Recipient { profile: &p, traits: &traits }, Utc::now()), ["engaged_buyers"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentSet {
    segments: Vec<(String, Condition)>,
}

impl SegmentSet {
    /// The names of the segments `r` belongs to, in declaration order.
    pub fn segments_of(&self, r: &Recipient<'_>, now: DateTime<Utc>) -> Vec<&str> {
        self.segments
            .iter()
            .filter(|(_, c)| c.eval(r, now))
            .map(|(n, _)| n.as_str())
            .collect()
    }

    /// The members of every segment, by segment name, in recipient order.
    pub fn members(
        &self,
        recipients: &[Recipient<'_>],
        now: DateTime<Utc>,
    ) -> BTreeMap<String, Vec<ProfileId>> {
        self.segments
            .iter()
            .map(|(n, c)| {
                let ids = recipients
                    .iter()
                    .filter(|r| c.eval(r, now))
                    .map(|r| r.profile.id)
                    .collect();
                (n.clone(), ids)
            })
            .collect()
    }
}

/// The purchase history RFM scoring needs for one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmInput {
    /// The profile.
    pub profile: ProfileId,
    /// Days since the last order; `None` when there was none.
    pub recency_days: Option<i64>,
    /// How many orders.
    pub frequency: u64,
    /// The total spent.
    pub monetary: f64,
}

impl RfmInput {
    /// The history from a profile's events: orders are track events named `order_event`,
    /// their amount the numeric property `amount` (0 when absent).
    pub fn from_events(
        profile: ProfileId,
        events: &[&Event],
        order_event: &str,
        amount: &str,
        now: DateTime<Utc>,
    ) -> RfmInput {
        let orders: Vec<&&Event> = events
            .iter()
            .filter(|e| e.name.as_deref() == Some(order_event))
            .collect();
        let mut amounts: Vec<f64> = orders
            .iter()
            .filter_map(|e| e.property(amount).and_then(Value::as_f64))
            .collect();
        amounts.sort_by(f64::total_cmp);
        RfmInput {
            profile,
            recency_days: orders
                .iter()
                .map(|e| e.timestamp)
                .max()
                .map(|t| (now - t).num_days().max(0)),
            frequency: orders.len() as u64,
            monetary: amounts.iter().sum(),
        }
    }
}

/// A named RFM segment, from the recency score and the mean of the frequency and monetary
/// scores (FM, rounded up):
///
/// | R \ FM | 1 | 2 | 3 | 4 | 5 |
/// |---|---|---|---|---|---|
/// | 5 | New Customers | Potential Loyalist | Potential Loyalist | Champions | Champions |
/// | 4 | Promising | Potential Loyalist | Potential Loyalist | Loyal | Loyal |
/// | 3 | About To Sleep | About To Sleep | Need Attention | Loyal | Loyal |
/// | 1–2 | Hibernating | Hibernating | At Risk | At Risk | Can't Lose |
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum RfmSegment {
    Champions,
    Loyal,
    PotentialLoyalist,
    NewCustomers,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLose,
    Hibernating,
}

impl RfmSegment {
    /// The segment for these scores (each 1 to 5).
    pub fn of(r: u8, f: u8, m: u8) -> RfmSegment {
        let fm = (f + m).div_ceil(2);
        match (r, fm) {
            (5, 4..) => RfmSegment::Champions,
            (3..=4, 4..) => RfmSegment::Loyal,
            (4..=5, 2..=3) => RfmSegment::PotentialLoyalist,
            (5, _) => RfmSegment::NewCustomers,
            (4, _) => RfmSegment::Promising,
            (3, 3) => RfmSegment::NeedAttention,
            (3, _) => RfmSegment::AboutToSleep,
            (_, 5..) => RfmSegment::CantLose,
            (_, 3 | 4) => RfmSegment::AtRisk,
            _ => RfmSegment::Hibernating,
        }
    }

    /// The display name (`"Can't Lose"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RfmSegment::Champions => "Champions",
            RfmSegment::Loyal => "Loyal",
            RfmSegment::PotentialLoyalist => "Potential Loyalist",
            RfmSegment::NewCustomers => "New Customers",
            RfmSegment::Promising => "Promising",
            RfmSegment::NeedAttention => "Need Attention",
            RfmSegment::AboutToSleep => "About To Sleep",
            RfmSegment::AtRisk => "At Risk",
            RfmSegment::CantLose => "Can't Lose",
            RfmSegment::Hibernating => "Hibernating",
        }
    }
}

/// One profile's RFM scores (1 to 5, 5 best) and segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmScore {
    /// The profile.
    pub profile: ProfileId,
    /// Recency: recent buyers score high; those who never bought score 1.
    pub r: u8,
    /// Frequency.
    pub f: u8,
    /// Monetary.
    pub m: u8,
    /// The named segment.
    pub segment: RfmSegment,
}

/// Quintile scores: the values ranked ascending, each value scoring `1 + 5 * rank / n` where
/// `rank` is the rank of its first occurrence, so equal values always share a score and the
/// result does not depend on input order.
fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![1; n];
    let mut first = 0;
    for (rank, &i) in idx.iter().enumerate() {
        if rank > 0 && values[idx[rank - 1]].total_cmp(&values[i]).is_ne() {
            first = rank;
        }
        out[i] = (1 + 5 * first / n) as u8;
    }
    out
}

/// Scores every profile's recency, frequency and monetary value in quintiles and names its
/// segment. The result is sorted by profile id.
///
/// # Examples
///
/// ```
/// use mergetag_mapping::{RfmInput, RfmSegment, rfm};
/// use mergetag_mapping::model::ProfileId;
///
/// let input: Vec<RfmInput> = (0..10).map(|i| RfmInput {
///     profile: ProfileId(i),
///     recency_days: Some(100 - 10 * i as i64),
///     frequency: i,
///     monetary: 10.0 * i as f64,
/// }).collect();
/// let scores = rfm(&input);
/// assert_eq!(scores[9].segment, RfmSegment::Champions);
/// assert_eq!(scores[0].segment, RfmSegment::Hibernating);
/// ```
pub fn rfm(inputs: &[RfmInput]) -> Vec<RfmScore> {
    let mut inputs: Vec<&RfmInput> = inputs.iter().collect();
    inputs.sort_by_key(|i| i.profile);
    // Recency: fewer days is better; never is worst of all.
    let rec: Vec<f64> = inputs
        .iter()
        .map(|i| i.recency_days.map_or(f64::NEG_INFINITY, |d| -(d as f64)))
        .collect();
    let freq: Vec<f64> = inputs.iter().map(|i| i.frequency as f64).collect();
    let mon: Vec<f64> = inputs
        .iter()
        .map(|i| {
            if i.monetary.is_finite() {
                i.monetary
            } else {
                0.0
            }
        })
        .collect();
    let (r, f, m) = (quintiles(&rec), quintiles(&freq), quintiles(&mon));
    inputs
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let r = if i.recency_days.is_none() { 1 } else { r[k] };
            RfmScore {
                profile: i.profile,
                r,
                f: f[k],
                m: m[k],
                segment: RfmSegment::of(r, f[k], m[k]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_share_ties() {
        assert_eq!(quintiles(&[1.0, 2.0, 3.0, 4.0, 5.0]), [1, 2, 3, 4, 5]);
        assert_eq!(quintiles(&[1.0, 1.0, 1.0, 9.0, 9.0]), [1, 1, 1, 4, 4]);
        assert_eq!(quintiles(&[]), Vec::<u8>::new());
    }

    #[test]
    fn every_score_has_a_segment() {
        assert_eq!(RfmSegment::of(1, 5, 5), RfmSegment::CantLose);
        assert_eq!(RfmSegment::of(2, 3, 4), RfmSegment::AtRisk);
        assert_eq!(RfmSegment::of(3, 3, 3), RfmSegment::NeedAttention);
        assert_eq!(RfmSegment::of(5, 1, 1), RfmSegment::NewCustomers);
    }

    #[test]
    fn bad_rules_are_rejected() {
        let bad = |t: &str| {
            SegmentSetConfig::from_toml_str(t)
                .and_then(|c| c.build())
                .is_err()
        };
        assert!(bad(
            "[[segments]]\nname = \"a\"\nrule = { field = \"profile.x\" }"
        ));
        assert!(bad(
            "[[segments]]\nname = \"a\"\nrule = { field = \"profile.x\", op = \"in\", value = 1 }"
        ));
        assert!(bad(
            "[[segments]]\nname = \"a\"\nrule = { field = \"x\", op = \"exists\" }"
        ));
        assert!(bad(
            "[[segments]]\nname = \"a\"\nrule = { field = \"profile.x\", op = \"before\", value = \"soon\" }"
        ));
        assert!(bad("[[segments]]\nname = \"a\"\nrule = {}"));
    }
}
