//! Engagement score: weighted, recency-decayed activity, bucketed into levels.

use std::path::Path;

use chrono::{DateTime, Utc};
use mergetag_model::config::Format;
use mergetag_model::{Event, EventKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, load_path, load_str};

/// What to do with machine opens: opens a mail client fetched on its own, such as Apple Mail
/// Privacy Protection prefetches, flagged by SendGrid's `sg_machine_open` property.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MachineOpens {
    /// Machine opens count for nothing (the default).
    Ignore,
    /// Machine opens count with this factor (0 to 1) times the open weight.
    Discount(f64),
    /// Machine opens count as human opens.
    Count,
}

/// The weight of each kind of activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// An email open (default 1).
    pub open: f64,
    /// An email click (default 3): clicks weigh more than opens.
    pub click: f64,
    /// A page or product view (default 0.5).
    pub page_view: f64,
    /// A completed order (default 5).
    pub order: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            open: 1.0,
            click: 3.0,
            page_view: 0.5,
            order: 5.0,
        }
    }
}

/// The cut points between levels: a score at or above `high` is High, at or above `medium` is
/// Medium, at or above `low` is Low, anything less (including no activity) is Dormant.
///
/// The defaults (10, 3, 0.5) read as: High is about two fresh orders or three fresh clicks and a
/// few opens; Medium is one fresh click; Low is one human open a half-life ago; Dormant is
/// nothing worth a fresh open for several half-lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CutPoints {
    /// The least score that is High (default 10).
    pub high: f64,
    /// The least score that is Medium (default 3).
    pub medium: f64,
    /// The least score that is Low (default 0.5).
    pub low: f64,
}

impl Default for CutPoints {
    fn default() -> CutPoints {
        CutPoints {
            high: 10.0,
            medium: 3.0,
            low: 0.5,
        }
    }
}

/// The serde form of the engagement model; every key is optional.
///
/// ```toml
/// half_life_days = 30
/// machine_opens = { discount = 0.2 }
/// weights = { open = 1, click = 3, page_view = 0.5, order = 5 }
/// cut_points = { high = 10, medium = 3, low = 0.5 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngagementConfig {
    /// Days after which an event counts half (default 30).
    pub half_life_days: f64,
    /// Machine opens (default: ignored).
    pub machine_opens: MachineOpens,
    /// Weights per activity.
    pub weights: Weights,
    /// Cut points between levels.
    pub cut_points: CutPoints,
    /// Track event names that are opens (default `["Email Opened"]`).
    pub open_events: Vec<String>,
    /// Track event names that are clicks (default `["Email Link Clicked", "Email Clicked"]`).
    pub click_events: Vec<String>,
    /// Track event names that are views, besides page calls (default `["Product Viewed"]`).
    pub view_events: Vec<String>,
    /// Track event names that are orders (default `["Order Completed"]`).
    pub order_events: Vec<String>,
}

impl Default for EngagementConfig {
    fn default() -> EngagementConfig {
        EngagementConfig {
            half_life_days: 30.0,
            machine_opens: MachineOpens::Ignore,
            weights: Weights::default(),
            cut_points: CutPoints::default(),
            open_events: vec!["Email Opened".into()],
            click_events: vec!["Email Link Clicked".into(), "Email Clicked".into()],
            view_events: vec!["Product Viewed".into()],
            order_events: vec!["Order Completed".into()],
        }
    }
}

impl EngagementConfig {
    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<EngagementConfig> {
        load_str(text, Format::Toml)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_json_str(text: &str) -> Result<EngagementConfig> {
        load_str(text, Format::Json)
    }

    /// Reads a `.toml` or `.json` file (by its extension, in any case); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else
    /// [`Error::Parse`] as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<EngagementConfig> {
        load_path(path.as_ref())
    }

    /// Validates and builds the runtime [`Engagement`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a non-positive half-life, a negative weight, a discount outside
    /// 0 to 1, or cut points not in decreasing order.
    pub fn build(&self) -> Result<Engagement> {
        if !(self.half_life_days > 0.0 && self.half_life_days.is_finite()) {
            return Err(Error::invalid(
                "half_life_days",
                "must be a positive number of days",
            ));
        }
        let w = &self.weights;
        for (name, v) in [
            ("open", w.open),
            ("click", w.click),
            ("page_view", w.page_view),
            ("order", w.order),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::invalid(
                    format!("weights.{name}"),
                    "must be a finite number at least 0",
                ));
            }
        }
        if let MachineOpens::Discount(d) = self.machine_opens
            && !(0.0..=1.0).contains(&d)
        {
            return Err(Error::invalid(
                "machine_opens.discount",
                "must be between 0 and 1",
            ));
        }
        let c = &self.cut_points;
        if !(c.high >= c.medium && c.medium >= c.low && c.low > 0.0) {
            return Err(Error::invalid(
                "cut_points",
                "must satisfy high >= medium >= low > 0",
            ));
        }
        Ok(Engagement {
            config: self.clone(),
        })
    }
}

/// An engagement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// No recent activity worth counting.
    Dormant,
    /// Some activity.
    Low,
    /// Regular activity.
    Medium,
    /// Strong, recent activity.
    High,
}

impl Level {
    /// The label: `"High"`, `"Medium"`, `"Low"` or `"Dormant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Dormant => "Dormant",
            Level::Low => "Low",
            Level::Medium => "Medium",
            Level::High => "High",
        }
    }
}

/// A profile's engagement: its score and level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The decayed weighted sum.
    pub score: f64,
    /// The bucket.
    pub level: Level,
}

impl Score {
    /// Adds the score as the traits `engagement_score` (a float) and `engagement_level` (the
    /// label), so that mapping documents and segments can use them.
    pub fn insert_into(&self, traits: &mut std::collections::BTreeMap<String, Value>) {
        traits.insert("engagement_score".into(), Value::float(self.score));
        traits.insert("engagement_level".into(), Value::from(self.level.as_str()));
    }
}

/// The engagement model, built from an [`EngagementConfig`].
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mergetag_mapping::{EngagementConfig, Level};
/// use mergetag_mapping::model::Event;
///
/// let model = EngagementConfig::default().build().unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
/// let machine = Event::track("Email Opened", now).with_property("sg_machine_open", true);
/// assert_eq!(model.score(&[&machine], now).level, Level::Dormant);
/// let click = Event::track("Email Link Clicked", now);
/// assert_eq!(model.score(&[&click], now).level, Level::Medium);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    config: EngagementConfig,
}

fn is_machine_open(e: &Event) -> bool {
    ["sg_machine_open", "machine_open", "apple_mpp"]
        .iter()
        .any(|k| matches!(e.properties.get(*k), Some(Value::Bool(true))))
}

impl Engagement {
    /// The weight of one event before decay.
    pub fn weight(&self, e: &Event) -> f64 {
        let c = &self.config;
        let is = |names: &[String]| {
            e.kind == EventKind::Track
                && e.name
                    .as_deref()
                    .is_some_and(|n| names.iter().any(|x| x == n))
        };
        if is(&c.open_events) {
            if is_machine_open(e) {
                match c.machine_opens {
                    MachineOpens::Ignore => 0.0,
                    MachineOpens::Discount(d) => d * c.weights.open,
                    MachineOpens::Count => c.weights.open,
                }
            } else {
                c.weights.open
            }
        } else if is(&c.click_events) {
            c.weights.click
        } else if is(&c.order_events) {
            c.weights.order
        } else if e.kind == EventKind::Page || e.kind == EventKind::Screen || is(&c.view_events) {
            c.weights.page_view
        } else {
            0.0
        }
    }

    /// The level of a score.
    pub fn level(&self, score: f64) -> Level {
        let c = &self.config.cut_points;
        if score >= c.high {
            Level::High
        } else if score >= c.medium {
            Level::Medium
        } else if score >= c.low {
            Level::Low
        } else {
            Level::Dormant
        }
    }

    /// The score of one profile's events at `now`. Events after `now` count as if at `now`.
    /// The result does not depend on event order.
    pub fn score(&self, events: &[&Event], now: DateTime<Utc>) -> Score {
        let mut parts: Vec<f64> = events
            .iter()
            .map(|e| {
                let age_days = ((now - e.timestamp).num_seconds().max(0)) as f64 / 86_400.0;
                self.weight(e) * 0.5_f64.powf(age_days / self.config.half_life_days)
            })
            .filter(|p| *p > 0.0)
            .collect();
        parts.sort_by(f64::total_cmp);
        let score: f64 = parts.iter().sum();
        Score {
            score,
            level: self.level(score),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn decay_weights_and_machine_opens() {
        let now = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
        let m = EngagementConfig::default().build().unwrap();
        let old_click = Event::track("Email Link Clicked", now - Duration::days(30));
        assert!((m.score(&[&old_click], now).score - 1.5).abs() < 1e-9);
        let open = Event::track("Email Opened", now);
        let click = Event::track("Email Link Clicked", now);
        assert!(m.weight(&click) > m.weight(&open));
        let machine = Event::track("Email Opened", now).with_property("sg_machine_open", true);
        assert_eq!(m.weight(&machine), 0.0);
        let d = EngagementConfig::from_toml_str("machine_opens = { discount = 0.25 }")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(d.weight(&machine), 0.25);
        let orders = [
            Event::track("Order Completed", now),
            Event::track("Order Completed", now),
        ];
        let refs: Vec<&Event> = orders.iter().collect();
        assert_eq!(m.score(&refs, now).level, Level::High);
        assert_eq!(m.score(&[], now).level, Level::Dormant);
        let j =
            EngagementConfig::from_json_str(r#"{"half_life_days": 7, "machine_opens": "count"}"#)
                .unwrap()
                .build()
                .unwrap();
        assert_eq!(j.weight(&machine), 1.0);
        assert!(EngagementConfig::from_json_str(r#"{"half_life": 7}"#).is_err());
        assert!(
            EngagementConfig::from_toml_str("half_life_days = 0")
                .unwrap()
                .build()
                .is_err()
        );
        assert!(
            EngagementConfig::from_toml_str("cut_points = { high = 1, medium = 2 }")
                .unwrap()
                .build()
                .is_err()
        );
    }
}
