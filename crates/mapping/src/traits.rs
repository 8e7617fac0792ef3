//! Computed traits: per-profile aggregates over behavioural events.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use mergetag_model::config::Format;
use mergetag_model::{Event, EventKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, load_path, load_str};
use crate::order::cmp_values;

/// How a computed trait aggregates the matching events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Aggregate {
    /// The property of the latest matching event (ties: the greatest value).
    Last,
    /// The property of the earliest matching event (ties: the smallest value).
    First,
    /// How many matching events (an int, 0 when none).
    Count,
    /// The sum of a numeric property (an int when every value is an int).
    Sum,
    /// The mean of a numeric property (a float).
    Average,
    /// The smallest value of the property.
    Min,
    /// The largest value of the property.
    Max,
    /// The most frequent value of the property (ties: the smallest value), absent when it
    /// occurs fewer than `min_count` times.
    MostFrequent,
    /// The distinct values of the property, sorted.
    UniqueList,
    /// How many distinct values the property takes.
    UniqueCount,
    /// Whether any matching event occurred (in the window).
    Exists,
    /// Whether no matching event occurred (in the window).
    NotOccurred,
    /// Whole days from the latest matching event to now; absent when none.
    DaysSince,
}

impl Aggregate {
    fn needs_property(self) -> bool {
        !matches!(
            self,
            Aggregate::Count | Aggregate::Exists | Aggregate::NotOccurred | Aggregate::DaysSince
        )
    }
}

/// The serde form of one computed trait, as written in TOML or JSON.
///
/// ```toml
/// [[traits]]
/// name = "last_purchase_product"
/// event = "Order Completed"
/// property = "products.*.name"
/// aggregate = "last"
/// ```
///
/// `property` is a dotted path into the event's properties; a `*` segment takes every item
/// of a list (so `products.*.name` is every product name of an order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraitConfig {
    /// The trait's name, as mapping sources refer to it (`traits.<name>`).
    pub name: String,
    /// The track event name to match (`"Order Completed"`); any name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The event kind to match (`track`, `page`, `identify`, ...); `track` when `event` is set,
    /// any kind otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The property path; required by every aggregate but count, exists, not_occurred and
    /// days_since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The aggregate.
    pub aggregate: Aggregate,
    /// Only events in the last `within_days` days before "now" count; all events when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
    /// The minimum number of occurrences for `most_frequent` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
}

impl TraitConfig {
    /// Validates and builds the runtime [`Trait`]. That its name is unique is checked by
    /// [`TraitSetConfig::build`], which knows the other traits.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (with paths relative to the trait: `kind`, `property`) for an empty
    /// name, an unknown kind, or a missing property.
    pub fn build(&self) -> Result<Trait> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("", "a trait needs a non-empty name"));
        }
        let kind = match (&self.kind, &self.event) {
            (Some(k), _) => Some(EventKind::parse(k).ok_or_else(|| {
                Error::invalid(
                    "kind",
                    format!(
                        "unknown event kind `{k}`; use track, page, identify, screen, group or alias"
                    ),
                )
            })?),
            (None, Some(_)) => Some(EventKind::Track),
            (None, None) => None,
        };
        if self.aggregate.needs_property() && self.property.is_none() {
            return Err(Error::invalid(
                "property",
                format!("aggregate `{:?}` needs a `property`", self.aggregate).to_lowercase(),
            ));
        }
        Ok(Trait {
            name: self.name.clone(),
            event: self.event.clone(),
            kind,
            property: self
                .property
                .as_deref()
                .map(|p| p.split('.').map(String::from).collect()),
            aggregate: self.aggregate,
            within: self.within_days.map(|d| Duration::days(i64::from(d))),
            min_count: self.min_count.unwrap_or(1).max(1),
        })
    }
}

/// The serde form of a set of computed traits: `[[traits]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraitSetConfig {
    /// The traits.
    #[serde(default)]
    pub traits: Vec<TraitConfig>,
}

impl TraitSetConfig {
    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<TraitSetConfig> {
        load_str(text, Format::Toml)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_json_str(text: &str) -> Result<TraitSetConfig> {
        load_str(text, Format::Json)
    }

    /// Reads a `.toml` or `.json` file (by its extension, in any case); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else
    /// [`Error::Parse`] as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<TraitSetConfig> {
        load_path(path.as_ref())
    }

    /// Validates and builds the runtime [`TraitSet`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a duplicate or empty name, an unknown kind, or a missing property.
    pub fn build(&self) -> Result<TraitSet> {
        let mut set = TraitSet::default();
        for (i, c) in self.traits.iter().enumerate() {
            let path = format!("traits[{i}]");
            if !c.name.trim().is_empty() && set.traits.iter().any(|t| t.name == c.name) {
                return Err(Error::invalid(
                    format!("{path}.name"),
                    format!(
                        "duplicate trait name `{}`; give each trait its own name",
                        c.name
                    ),
                ));
            }
            set.traits.push(c.build().map_err(|e| e.under(&path))?);
        }
        Ok(set)
    }
}

/// One computed trait, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Trait {
    name: String,
    event: Option<String>,
    kind: Option<EventKind>,
    property: Option<Vec<String>>,
    aggregate: Aggregate,
    within: Option<Duration>,
    min_count: u32,
}

impl Trait {
    /// The trait's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn matches(&self, e: &Event, now: DateTime<Utc>) -> bool {
        if let Some(k) = self.kind
            && e.kind != k
        {
            return false;
        }
        if let Some(name) = &self.event
            && e.name.as_deref() != Some(name.as_str())
        {
            return false;
        }
        match self.within {
            Some(w) => {
                e.timestamp <= now
                    && now
                        .checked_sub_signed(w)
                        .is_none_or(|start| e.timestamp >= start)
            }
            None => true,
        }
    }

    /// Computes the trait over the events of one profile; `None` when it has no value (no
    /// matching event, or fewer occurrences than required). The result does not depend on the
    /// order of `events`.
    pub fn compute(&self, events: &[&Event], now: DateTime<Utc>) -> Option<Value> {
        // (timestamp, value) pairs of matching events; one pair per value a `*` path yields.
        let mut hits: Vec<(DateTime<Utc>, Value)> = Vec::new();
        let mut count = 0_i64;
        let mut latest: Option<DateTime<Utc>> = None;
        for e in events.iter().filter(|e| self.matches(e, now)) {
            count += 1;
            latest = latest.max(Some(e.timestamp));
            if let Some(path) = &self.property {
                let mut values = Vec::new();
                collect(&e.properties, path, &mut values);
                hits.extend(
                    values
                        .into_iter()
                        .filter(|v| !v.is_null())
                        .map(|v| (e.timestamp, v.clone())),
                );
            }
        }
        let by_time = |a: &(DateTime<Utc>, Value), b: &(DateTime<Utc>, Value)| {
            a.0.cmp(&b.0).then_with(|| cmp_values(&a.1, &b.1))
        };
        match self.aggregate {
            Aggregate::Count => Some(Value::Int(count)),
            Aggregate::Exists => Some(Value::Bool(count > 0)),
            Aggregate::NotOccurred => Some(Value::Bool(count == 0)),
            Aggregate::DaysSince => latest.map(|t| Value::Int((now - t).num_days())),
            Aggregate::Last => hits.into_iter().max_by(by_time).map(|h| h.1),
            Aggregate::First => hits.into_iter().min_by(|a, b| by_time(a, b)).map(|h| h.1),
            Aggregate::Min => hits.into_iter().map(|h| h.1).min_by(cmp_values),
            Aggregate::Max => hits.into_iter().map(|h| h.1).max_by(cmp_values),
            Aggregate::Sum | Aggregate::Average => {
                let mut nums: Vec<&Value> = hits
                    .iter()
                    .map(|h| &h.1)
                    .filter(|v| v.as_f64().is_some())
                    .collect();
                if nums.is_empty() {
                    return None;
                }
                // Sorted first: floating-point addition is not associative.
                nums.sort_by(|a, b| cmp_values(a, b));
                let all_int = nums.iter().all(|v| matches!(v, Value::Int(_)));
                if self.aggregate == Aggregate::Sum && all_int {
                    let sum = nums
                        .iter()
                        .try_fold(0_i64, |s, v| s.checked_add(v.as_int()?));
                    if let Some(s) = sum {
                        return Some(Value::Int(s));
                    }
                }
                let sum: f64 = nums.iter().filter_map(|v| v.as_f64()).sum();
                let out = if self.aggregate == Aggregate::Sum {
                    sum
                } else {
                    sum / nums.len() as f64
                };
                Some(Value::float(out))
            }
            Aggregate::MostFrequent => {
                let mut values: Vec<Value> = hits.into_iter().map(|h| h.1).collect();
                values.sort_by(cmp_values);
                let mut best: Option<(usize, &Value)> = None;
                let mut i = 0;
                while i < values.len() {
                    let mut j = i + 1;
                    while j < values.len() && cmp_values(&values[i], &values[j]).is_eq() {
                        j += 1;
                    }
                    // Strictly greater: among equal counts the smallest value (seen first) wins.
                    if best.is_none_or(|(n, _)| j - i > n) {
                        best = Some((j - i, &values[i]));
                    }
                    i = j;
                }
                best.filter(|(n, _)| *n >= self.min_count as usize)
                    .map(|(_, v)| v.clone())
            }
            Aggregate::UniqueList | Aggregate::UniqueCount => {
                let mut values: Vec<Value> = hits.into_iter().map(|h| h.1).collect();
                values.sort_by(cmp_values);
                values.dedup_by(|a, b| cmp_values(a, b).is_eq());
                Some(if self.aggregate == Aggregate::UniqueCount {
                    Value::Int(values.len() as i64)
                } else {
                    Value::List(values)
                })
            }
        }
    }
}

fn collect<'a>(map: &'a BTreeMap<String, Value>, path: &[String], out: &mut Vec<&'a Value>) {
    if let Some((head, rest)) = path.split_first()
        && let Some(v) = map.get(head)
    {
        collect_value(v, rest, out);
    }
}

fn collect_value<'a>(v: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match v {
        Value::List(items) if head == "*" => {
            for item in items {
                collect_value(item, rest, out);
            }
        }
        Value::List(items) => {
            if let Some(item) = head.parse::<usize>().ok().and_then(|i| items.get(i)) {
                collect_value(item, rest, out);
            }
        }
        Value::Object(o) => collect(o, path, out),
        _ => {}
    }
}

/// A set of computed traits, run together over each profile's events.
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mergetag_mapping::TraitSetConfig;
/// use mergetag_mapping::model::{Event, Value};
///
/// let set = TraitSetConfig::from_toml_str(r#"
///     [[traits]]
///     name = "orders_90d"
///     event = "Order Completed"
///     aggregate = "count"
///     within_days = 90
/// "#).unwrap().build().unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
/// let order = Event::track("Order Completed", Utc.with_ymd_and_hms(2025, 8, 1, 0, 0, 0).unwrap());
/// let traits = set.compute(&[&order], now);
/// assert_eq!(traits["orders_90d"], Value::Int(1));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraitSet {
    traits: Vec<Trait>,
}

impl TraitSet {
    /// The traits, in declaration order.
    pub fn traits(&self) -> &[Trait] {
        &self.traits
    }

    /// Computes every trait over one profile's events; traits without a value are absent from
    /// the map.
    pub fn compute(&self, events: &[&Event], now: DateTime<Utc>) -> BTreeMap<String, Value> {
        self.traits
            .iter()
            .filter_map(|t| t.compute(events, now).map(|v| (t.name.clone(), v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 7, day, 12, 0, 0).unwrap()
    }

    fn one(toml_body: &str) -> Trait {
        let text = format!("[[traits]]\nname = \"t\"\n{toml_body}");
        TraitSetConfig::from_toml_str(&text)
            .unwrap()
            .build()
            .unwrap()
            .traits[0]
            .clone()
    }

    fn order(day: u32, product: &str, total: f64) -> Event {
        let item = Value::Object(BTreeMap::from([("name".to_string(), Value::from(product))]));
        Event::track("Order Completed", at(day))
            .with_property("total", Value::Float(total))
            .with_property("products", Value::List(vec![item]))
    }

    #[test]
    fn aggregates() {
        let events = [
            order(1, "Tent", 10.0),
            order(5, "Socks", 2.5),
            order(3, "Socks", 4.0),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let now = at(10);
        let run = |body: &str| one(body).compute(&refs, now);
        let e = "event = \"Order Completed\"\n";
        assert_eq!(
            run(&format!(
                "{e}property = \"products.*.name\"\naggregate = \"last\""
            )),
            Some("Socks".into())
        );
        assert_eq!(
            run(&format!(
                "{e}property = \"products.0.name\"\naggregate = \"first\""
            )),
            Some("Tent".into())
        );
        assert_eq!(
            run(&format!("{e}aggregate = \"count\"\nwithin_days = 7")),
            Some(Value::Int(2))
        );
        assert_eq!(
            run(&format!("{e}property = \"total\"\naggregate = \"sum\"")),
            Some(Value::Float(16.5))
        );
        assert_eq!(
            run(&format!("{e}property = \"total\"\naggregate = \"average\"")),
            Some(Value::Float(5.5))
        );
        assert_eq!(
            run(&format!("{e}property = \"total\"\naggregate = \"min\"")),
            Some(Value::Float(2.5))
        );
        assert_eq!(
            run(&format!("{e}property = \"total\"\naggregate = \"max\"")),
            Some(Value::Float(10.0))
        );
        assert_eq!(
            run(&format!(
                "{e}property = \"products.*.name\"\naggregate = \"most_frequent\""
            )),
            Some("Socks".into())
        );
        assert_eq!(
            run(&format!(
                "{e}property = \"products.*.name\"\naggregate = \"most_frequent\"\nmin_count = 3"
            )),
            None
        );
        assert_eq!(
            run(&format!(
                "{e}property = \"products.*.name\"\naggregate = \"unique_count\""
            )),
            Some(Value::Int(2))
        );
        assert_eq!(
            run(&format!("{e}aggregate = \"days_since\"")),
            Some(Value::Int(5))
        );
        assert_eq!(
            run(&format!("{e}aggregate = \"exists\"\nwithin_days = 3")),
            Some(Value::Bool(false))
        );
        assert_eq!(
            run(&format!("{e}aggregate = \"not_occurred\"\nwithin_days = 3")),
            Some(Value::Bool(true))
        );
        assert_eq!(run("event = \"Nope\"\naggregate = \"days_since\""), None);
    }

    #[test]
    fn json_form() {
        let set = TraitSetConfig::from_json_str(
            r#"{"traits": [{"name": "views", "kind": "page", "aggregate": "count"}]}"#,
        )
        .unwrap()
        .build()
        .unwrap();
        let page = Event::new(EventKind::Page, at(2));
        let track = Event::track("Product Viewed", at(2));
        assert_eq!(set.compute(&[&page, &track], at(3))["views"], Value::Int(1));
        let bad = TraitSetConfig::from_json_str(
            r#"{"traits": [{"name": "v", "kind": "pgae", "aggregate": "count"}]}"#,
        );
        assert!(
            bad.unwrap()
                .build()
                .unwrap_err()
                .to_string()
                .contains("unknown event kind")
        );
    }

    #[test]
    fn invalid_configs_say_how_to_fix() {
        let err = TraitSetConfig::from_toml_str("[[traits]]\nname = \"t\"\naggregate = \"sum\"")
            .unwrap()
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("needs a `property`"), "{err}");
        assert!(
            TraitSetConfig::from_toml_str(
                "[[traits]]\nname = \"t\"\naggregate = \"count\"\nbogus = 1"
            )
            .is_err()
        );
    }
}
