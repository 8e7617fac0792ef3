//! Features of a profile, declared in configuration ([`FeatureConfig`]), extracted from the
//! profile, its events and its traits ([`ProfileInput`]), and turned into numbers by a
//! [`FeatureTransform`] learnt on the training profiles and kept with the model: imputation
//! values, one-hot vocabularies, category lists and scaling, so that a profile scored later
//! is transformed exactly as the training profiles were.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use mergetag_model::{Event, EventKind, Profile, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::scale::{Scaler, Scaling, quantile};

/// One profile as the segmentation sees it: the golden profile, the events attributed to it,
/// and the traits computed so far.
#[derive(Debug, Clone, Copy)]
pub struct ProfileInput<'a> {
    /// The golden profile.
    pub profile: &'a Profile,
    /// Its events, in the order read.
    pub events: &'a [&'a Event],
    /// Its traits (computed traits, engagement, earlier profile stages).
    pub traits: &'a BTreeMap<String, Value>,
}

/// What a feature measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Days since the last order (missing without orders).
    Recency,
    /// The number of orders.
    Frequency,
    /// The sum of the orders' amounts.
    MonetaryTotal,
    /// The mean order amount (missing without orders).
    MonetaryAverage,
    /// Days since the first event of any kind (missing without events).
    Tenure,
    /// Whole years since the profile's `birth_date` (or the date field `field`).
    Age,
    /// The trait `engagement_score` (or the trait `field`).
    Engagement,
    /// A numeric profile field (`field`, required).
    Field,
    /// A numeric trait (`field` names it, required).
    Trait,
    /// The profile's `region` (or the text field `field`), one-hot over the `top` most frequent
    /// values plus `other`.
    Region,
    /// A text profile field (`field`, required), one-hot like `region`.
    Category,
    /// Shares of the ordered items per category (the property `property` of each order,
    /// default `products.category`, a list walked item by item), over the `top` categories.
    PurchaseCategories,
    /// Shares of browsing events per category: page calls and the track events named `event`
    /// (default `Product Viewed`), by the property `property` (default `category`).
    BrowsingCategories,
}

impl FeatureKind {
    fn as_str(self) -> &'static str {
        match self {
            FeatureKind::Recency => "recency",
            FeatureKind::Frequency => "frequency",
            FeatureKind::MonetaryTotal => "monetary_total",
            FeatureKind::MonetaryAverage => "monetary_average",
            FeatureKind::Tenure => "tenure",
            FeatureKind::Age => "age",
            FeatureKind::Engagement => "engagement",
            FeatureKind::Field => "field",
            FeatureKind::Trait => "trait",
            FeatureKind::Region => "region",
            FeatureKind::Category => "category",
            FeatureKind::PurchaseCategories => "purchase_categories",
            FeatureKind::BrowsingCategories => "browsing_categories",
        }
    }

    fn is_numeric(self) -> bool {
        !matches!(
            self,
            FeatureKind::Region
                | FeatureKind::Category
                | FeatureKind::PurchaseCategories
                | FeatureKind::BrowsingCategories
        )
    }

    /// The unit descriptions print after a value.
    fn unit(self) -> &'static str {
        match self {
            FeatureKind::Recency | FeatureKind::Tenure => " days",
            FeatureKind::Age => " years",
            _ => "",
        }
    }
}

/// How a missing numeric value is filled in, from the training profiles that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    /// The median (the default).
    Median,
    /// The mean.
    Mean,
    /// Zero.
    Zero,
    /// The largest value seen: "never ordered" counts as the most lapsed (the default for
    /// `recency`).
    Max,
    /// The smallest value seen.
    Min,
}

/// One feature of the segmentation (`[[clusters.features]]`).
///
/// ```toml
/// [[clusters.features]]
/// kind = "recency"            # days since the last order; missing: the most lapsed
/// [[clusters.features]]
/// kind = "purchase_categories"
/// top = 4                     # shares of the 4 most bought categories
/// [[clusters.features]]
/// kind = "trait"
/// field = "rfm_m"
/// name = "spend_score"        # the name in descriptions (default: the kind or field)
/// impute = "zero"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// What the feature measures.
    pub kind: FeatureKind,
    /// The name in descriptions and column names (default: the kind, or the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The profile field or trait it reads (`field`, `trait`, `category`; optional for `age`,
    /// `engagement`, `region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The event property holding a category (category shares only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The track event counted as browsing (`browsing_categories` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// How many categories get a column (one-hot and shares; default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<usize>,
    /// How a missing numeric value is filled in (default `median`, `max` for `recency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impute: Option<Impute>,
}

impl FeatureConfig {
    /// A feature of `kind` with its defaults.
    pub fn new(kind: FeatureKind) -> FeatureConfig {
        FeatureConfig {
            kind,
            name: None,
            field: None,
            property: None,
            event: None,
            top: None,
            impute: None,
        }
    }

    /// Sets `field`.
    pub fn field(mut self, field: impl Into<String>) -> FeatureConfig {
        self.field = Some(field.into());
        self
    }

    /// The name in descriptions.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match (self.kind, &self.field) {
            (FeatureKind::Field | FeatureKind::Trait | FeatureKind::Category, Some(f)) => f.clone(),
            _ => self.kind.as_str().to_owned(),
        }
    }

    /// Checks the feature; `path` is its key path (`features[2]`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a missing `field` where one is required, a key that does not
    /// apply to the kind, or `top` of 0.
    pub fn validate(&self, path: &str) -> Result<()> {
        let k = self.kind;
        let needs_field = matches!(
            k,
            FeatureKind::Field | FeatureKind::Trait | FeatureKind::Category
        );
        if needs_field && self.field.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid(
                format!("{path}.field"),
                format!(
                    "a `{}` feature needs `field`: the name it reads",
                    k.as_str()
                ),
            ));
        }
        let field_ok = needs_field
            || matches!(
                k,
                FeatureKind::Age | FeatureKind::Engagement | FeatureKind::Region
            );
        if self.field.is_some() && !field_ok {
            return Err(Error::invalid(
                format!("{path}.field"),
                format!("a `{}` feature reads no field; remove `field`", k.as_str()),
            ));
        }
        let shares = matches!(
            k,
            FeatureKind::PurchaseCategories | FeatureKind::BrowsingCategories
        );
        if self.property.is_some() && !shares {
            return Err(Error::invalid(
                format!("{path}.property"),
                "only category shares read an event property; remove `property`",
            ));
        }
        if self.event.is_some() && k != FeatureKind::BrowsingCategories {
            return Err(Error::invalid(
                format!("{path}.event"),
                "only `browsing_categories` names an event; orders are `order_event`",
            ));
        }
        if self.top.is_some() && k.is_numeric() {
            return Err(Error::invalid(
                format!("{path}.top"),
                "`top` applies to categories only; remove it",
            ));
        }
        if self.top == Some(0) {
            return Err(Error::invalid(format!("{path}.top"), "must be at least 1"));
        }
        if self.impute.is_some() && !k.is_numeric() {
            return Err(Error::invalid(
                format!("{path}.impute"),
                "categories are never imputed (a missing value is no category); remove `impute`",
            ));
        }
        Ok(())
    }

    fn top(&self) -> usize {
        self.top.unwrap_or(5)
    }

    fn impute_rule(&self) -> Impute {
        self.impute.unwrap_or(if self.kind == FeatureKind::Recency {
            Impute::Max
        } else {
            Impute::Median
        })
    }
}

/// Which events are orders and where their amount is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orders {
    /// The track event name of an order.
    pub event: String,
    /// The numeric property holding the amount.
    pub amount: String,
}

impl Default for Orders {
    fn default() -> Orders {
        Orders {
            event: "Order Completed".to_owned(),
            amount: "total".to_owned(),
        }
    }
}

/// A feature's raw value for one profile.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Number(Option<f64>),
    Category(Option<String>),
    /// Counts per category (shares are counts over their sum).
    Counts(BTreeMap<String, f64>),
}

fn is_order(e: &Event, orders: &Orders) -> bool {
    e.kind == EventKind::Track && e.name.as_deref() == Some(orders.event.as_str())
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

/// Every value at a dotted path, walking lists item by item (`products.category`).
fn collect_at<'v>(map: &'v BTreeMap<String, Value>, path: &str, out: &mut Vec<&'v Value>) {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    if let Some(v) = map.get(head) {
        collect_value(v, rest, out);
    }
}

fn collect_value<'v>(v: &'v Value, path: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::List(items) => {
            for item in items {
                collect_value(item, path, out);
            }
        }
        Value::Object(m) if !path.is_empty() => collect_at(m, path, out),
        _ if path.is_empty() => out.push(v),
        _ => {}
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Text(t) => t.trim().parse::<f64>().ok(),
        other => other.as_f64(),
    }
    .filter(|f| f.is_finite())
}

fn age(birth: NaiveDate, now: DateTime<Utc>) -> Option<f64> {
    let today = now.date_naive();
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    (0..=150).contains(&years).then_some(f64::from(years))
}

fn extract(
    f: &FeatureConfig,
    input: &ProfileInput<'_>,
    orders: &Orders,
    now: DateTime<Utc>,
) -> Raw {
    let order_events = || input.events.iter().filter(|e| is_order(e, orders));
    let amounts = || {
        order_events()
            .filter_map(|e| e.property(&orders.amount).and_then(number_of))
            .collect::<Vec<f64>>()
    };
    match f.kind {
        FeatureKind::Recency => Raw::Number(
            order_events()
                .map(|e| e.timestamp)
                .max()
                .map(|t| days(t, now).max(0.0)),
        ),
        FeatureKind::Frequency => Raw::Number(Some(order_events().count() as f64)),
        FeatureKind::MonetaryTotal => Raw::Number(Some(amounts().iter().sum())),
        FeatureKind::MonetaryAverage => {
            let a = amounts();
            Raw::Number((!a.is_empty()).then(|| a.iter().sum::<f64>() / a.len() as f64))
        }
        FeatureKind::Tenure => Raw::Number(
            input
                .events
                .iter()
                .map(|e| e.timestamp)
                .min()
                .map(|t| days(t, now).max(0.0)),
        ),
        FeatureKind::Age => {
            let field = f
                .field
                .as_deref()
                .unwrap_or(mergetag_model::fields::BIRTH_DATE);
            let birth = input.profile.value(field).and_then(|v| match v {
                Value::Date(d) => Some(*d),
                Value::DateTime(t) => Some(t.date_naive()),
                Value::Text(t) => NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok(),
                _ => None,
            });
            Raw::Number(birth.and_then(|b| age(b, now)))
        }
        FeatureKind::Engagement => {
            let name = f.field.as_deref().unwrap_or("engagement_score");
            Raw::Number(input.traits.get(name).and_then(number_of))
        }
        FeatureKind::Field => Raw::Number(
            f.field
                .as_deref()
                .and_then(|n| input.profile.value(n))
                .and_then(number_of),
        ),
        FeatureKind::Trait => Raw::Number(
            f.field
                .as_deref()
                .and_then(|n| input.traits.get(n))
                .and_then(number_of),
        ),
        FeatureKind::Region | FeatureKind::Category => {
            let field = f.field.as_deref().unwrap_or(mergetag_model::fields::REGION);
            Raw::Category(input.profile.value(field).and_then(text_of))
        }
        FeatureKind::PurchaseCategories => {
            let path = f.property.as_deref().unwrap_or("products.category");
            let mut counts = BTreeMap::new();
            let mut found = Vec::new();
            for e in order_events() {
                found.clear();
                collect_at(&e.properties, path, &mut found);
                for v in &found {
                    if let Some(c) = text_of(v) {
                        *counts.entry(c).or_insert(0.0) += 1.0;
                    }
                }
            }
            Raw::Counts(counts)
        }
        FeatureKind::BrowsingCategories => {
            let path = f.property.as_deref().unwrap_or("category");
            let event = f.event.as_deref().unwrap_or("Product Viewed");
            let mut counts = BTreeMap::new();
            let mut found = Vec::new();
            for e in input.events.iter().filter(|e| {
                e.kind == EventKind::Page
                    || (e.kind == EventKind::Track && e.name.as_deref() == Some(event))
            }) {
                found.clear();
                collect_at(&e.properties, path, &mut found);
                for v in &found {
                    if let Some(c) = text_of(v) {
                        *counts.entry(c).or_insert(0.0) += 1.0;
                    }
                }
            }
            Raw::Counts(counts)
        }
    }
}

/// What one column of the transformed features holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnKind {
    /// A number, missing values replaced by `fill`.
    Number {
        /// The value a missing one becomes (learnt by the feature's [`Impute`] rule).
        fill: f64,
    },
    /// 1 when the category is `value`, else 0.
    OneHot {
        /// The category.
        value: String,
    },
    /// 1 for a category outside the learnt ones.
    Other,
    /// The share (0 to 1) of the profile's events or items in category `value`.
    Share {
        /// The category.
        value: String,
    },
    /// The share of the profile's events or items outside the learnt categories.
    OtherShare,
}

/// One column of the transformed features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name (`recency`, `region=CA`, `purchase_categories:Footwear`).
    pub name: String,
    /// The index of its feature in the configuration.
    pub feature: usize,
    /// What it holds.
    pub kind: ColumnKind,
}

/// The learnt feature transform: the features as configured, the columns they became (with
/// imputation values and category lists) and the scaling of numeric columns (one-hot and
/// share columns keep their 0 to 1 range). Serialized with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureTransform {
    /// The features, as configured.
    pub features: Vec<FeatureConfig>,
    /// Which events are orders.
    pub orders: Orders,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The scaling of every column (identity for one-hot and share columns).
    pub scaler: Scaler,
}

impl FeatureTransform {
    /// Learns the transform from the training profiles and returns it with their raw
    /// (imputed, unscaled) feature rows.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a feature that does not validate or when no column results.
    pub fn fit(
        features: &[FeatureConfig],
        orders: &Orders,
        scaling: Scaling,
        inputs: &[ProfileInput<'_>],
        now: DateTime<Utc>,
    ) -> Result<(FeatureTransform, Matrix)> {
        if features.is_empty() {
            return Err(Error::invalid(
                "features",
                "no features: declare at least one [[clusters.features]] (recency, frequency, ...)",
            ));
        }
        for (i, f) in features.iter().enumerate() {
            f.validate(&format!("features[{i}]"))?;
        }
        let raws: Vec<Vec<Raw>> = inputs
            .iter()
            .map(|inp| {
                features
                    .iter()
                    .map(|f| extract(f, inp, orders, now))
                    .collect()
            })
            .collect();
        let mut columns = Vec::new();
        for (fi, f) in features.iter().enumerate() {
            let name = f.display_name();
            if f.kind.is_numeric() {
                let mut seen: Vec<f64> = raws
                    .iter()
                    .filter_map(|r| match &r[fi] {
                        Raw::Number(v) => *v,
                        _ => None,
                    })
                    .collect();
                seen.sort_by(f64::total_cmp);
                let fill = match f.impute_rule() {
                    _ if seen.is_empty() => 0.0,
                    Impute::Median => quantile(&seen, 0.5),
                    Impute::Mean => seen.iter().sum::<f64>() / seen.len() as f64,
                    Impute::Zero => 0.0,
                    Impute::Max => seen[seen.len() - 1],
                    Impute::Min => seen[0],
                };
                columns.push(Column {
                    name,
                    feature: fi,
                    kind: ColumnKind::Number { fill },
                });
                continue;
            }
            // The `top` most frequent categories (ties by name), for one-hot or shares.
            let mut freq: BTreeMap<&str, f64> = BTreeMap::new();
            for r in &raws {
                match &r[fi] {
                    Raw::Category(Some(c)) => *freq.entry(c.as_str()).or_insert(0.0) += 1.0,
                    Raw::Counts(m) => {
                        for (c, n) in m {
                            *freq.entry(c.as_str()).or_insert(0.0) += n;
                        }
                    }
                    _ => {}
                }
            }
            let mut ranked: Vec<(&str, f64)> = freq.into_iter().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let more = ranked.len() > f.top();
            ranked.truncate(f.top());
            let share = matches!(
                f.kind,
                FeatureKind::PurchaseCategories | FeatureKind::BrowsingCategories
            );
            for (c, _) in &ranked {
                columns.push(Column {
                    name: format!("{name}={c}"),
                    feature: fi,
                    kind: if share {
                        ColumnKind::Share {
                            value: (*c).to_owned(),
                        }
                    } else {
                        ColumnKind::OneHot {
                            value: (*c).to_owned(),
                        }
                    },
                });
            }
            if more {
                columns.push(Column {
                    name: format!("{name}=other"),
                    feature: fi,
                    kind: if share {
                        ColumnKind::OtherShare
                    } else {
                        ColumnKind::Other
                    },
                });
            }
        }
        if columns.is_empty() {
            return Err(Error::invalid(
                "features",
                "the features gave no column (no profile has a category); add a numeric feature",
            ));
        }
        let mut t = FeatureTransform {
            features: features.to_vec(),
            orders: orders.clone(),
            columns,
            scaler: Scaler::identity(0),
        };
        let mut raw = Matrix::empty(t.columns.len());
        let mut row = Vec::with_capacity(t.columns.len());
        for r in &raws {
            t.raw_row(r, &mut row);
            raw.push_row(&row)?;
        }
        let mut scaler = Scaler::fit(scaling, &raw);
        for (j, c) in t.columns.iter().enumerate() {
            if !matches!(c.kind, ColumnKind::Number { .. }) {
                scaler.center[j] = 0.0;
                scaler.scale[j] = 1.0;
            }
        }
        t.scaler = scaler;
        Ok((t, raw))
    }

    fn raw_row(&self, raws: &[Raw], out: &mut Vec<f64>) {
        out.clear();
        for c in &self.columns {
            let raw = raws.get(c.feature);
            let v = match (&c.kind, raw) {
                (ColumnKind::Number { fill }, Some(Raw::Number(v))) => v.unwrap_or(*fill),
                (ColumnKind::Number { fill }, _) => *fill,
                (ColumnKind::OneHot { value }, Some(Raw::Category(Some(v)))) => {
                    f64::from(u8::from(v == value))
                }
                (ColumnKind::Other, Some(Raw::Category(Some(v)))) => {
                    let known = self.columns.iter().any(|o| {
                        o.feature == c.feature
                            && matches!(&o.kind, ColumnKind::OneHot { value } if value == v)
                    });
                    f64::from(u8::from(!known))
                }
                (ColumnKind::Share { value }, Some(Raw::Counts(m))) => {
                    let total: f64 = m.values().sum();
                    if total > 0.0 {
                        m.get(value).copied().unwrap_or(0.0) / total
                    } else {
                        0.0
                    }
                }
                (ColumnKind::OtherShare, Some(Raw::Counts(m))) => {
                    let total: f64 = m.values().sum();
                    let known: f64 = self
                        .columns
                        .iter()
                        .filter(|o| o.feature == c.feature)
                        .filter_map(|o| match &o.kind {
                            ColumnKind::Share { value } => m.get(value),
                            _ => None,
                        })
                        .sum();
                    if total > 0.0 {
                        (total - known) / total
                    } else {
                        0.0
                    }
                }
                _ => 0.0,
            };
            out.push(if v.is_finite() { v } else { 0.0 });
        }
    }

    /// The raw (imputed, unscaled) feature row of one profile.
    pub fn raw(&self, input: &ProfileInput<'_>, now: DateTime<Utc>) -> Vec<f64> {
        let raws: Vec<Raw> = self
            .features
            .iter()
            .map(|f| extract(f, input, &self.orders, now))
            .collect();
        let mut row = Vec::with_capacity(self.columns.len());
        self.raw_row(&raws, &mut row);
        row
    }

    /// The scaled feature row of one profile: what the model's distances are measured on.
    pub fn transform(&self, input: &ProfileInput<'_>, now: DateTime<Utc>) -> Vec<f64> {
        let mut row = self.raw(input, now);
        self.scaler.transform_row(&mut row);
        row
    }

    /// The unit of column `j` in descriptions (` days`, ` years` or nothing).
    pub(crate) fn unit(&self, j: usize) -> &'static str {
        self.columns
            .get(j)
            .and_then(|c| self.features.get(c.feature))
            .map_or("", |f| f.kind.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::{ProfileId, RecordId};

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn extracts_rfm_shares_and_age() {
        let mut p = Profile::new(ProfileId(1), vec![RecordId::row("crm", 1)]);
        p.set(
            mergetag_model::fields::BIRTH_DATE,
            Value::Date(NaiveDate::from_ymd_opt(1990, 6, 15).unwrap()),
            RecordId::row("crm", 1),
            None,
        );
        let product = |c: &str| {
            let mut m = BTreeMap::new();
            m.insert("category".to_owned(), Value::from(c));
            Value::Object(m)
        };
        let e1 = Event::track("Order Completed", ts("2026-01-01T00:00:00Z"))
            .with_property("total", 100.0)
            .with_property(
                "products",
                Value::List(vec![product("Footwear"), product("Apparel")]),
            );
        let e2 = Event::track("Order Completed", ts("2026-01-11T00:00:00Z"))
            .with_property("total", 50.0)
            .with_property("products", Value::List(vec![product("Footwear")]));
        let events = vec![&e1, &e2];
        let traits = BTreeMap::new();
        let input = ProfileInput {
            profile: &p,
            events: &events,
            traits: &traits,
        };
        let now = ts("2026-01-21T00:00:00Z");
        let features = vec![
            FeatureConfig::new(FeatureKind::Recency),
            FeatureConfig::new(FeatureKind::Frequency),
            FeatureConfig::new(FeatureKind::MonetaryTotal),
            FeatureConfig::new(FeatureKind::MonetaryAverage),
            FeatureConfig::new(FeatureKind::Tenure),
            FeatureConfig::new(FeatureKind::Age),
            FeatureConfig::new(FeatureKind::PurchaseCategories),
            FeatureConfig::new(FeatureKind::Engagement),
        ];
        let (t, raw) =
            FeatureTransform::fit(&features, &Orders::default(), Scaling::None, &[input], now)
                .unwrap();
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "recency",
                "frequency",
                "monetary_total",
                "monetary_average",
                "tenure",
                "age",
                "purchase_categories=Footwear",
                "purchase_categories=Apparel",
                "engagement"
            ]
        );
        let row = raw.row(0);
        assert_eq!(&row[..6], &[10.0, 2.0, 150.0, 75.0, 20.0, 35.0]);
        assert!((row[6] - 2.0 / 3.0).abs() < 1e-12);
        // No engagement trait anywhere: imputed to 0.
        assert_eq!(row[8], 0.0);
    }

    #[test]
    fn validation_names_the_key() {
        let err = FeatureConfig::new(FeatureKind::Field)
            .validate("features[0]")
            .unwrap_err();
        assert!(err.to_string().starts_with("features[0].field:"));
        let mut f = FeatureConfig::new(FeatureKind::Recency);
        f.top = Some(3);
        assert!(f.validate("f").is_err());
        let mut f = FeatureConfig::new(FeatureKind::Region);
        f.impute = Some(Impute::Zero);
        assert!(f.validate("f").is_err());
    }
}
