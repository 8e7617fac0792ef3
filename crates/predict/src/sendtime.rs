//! When and what is hot: the best hour of the week to send to each person (from their own
//! opens and clicks, machine opens left out, shrunk toward the population's pattern) and
//! trending products (recent velocity against each product's own baseline).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Hours in a week.
pub const WEEK_HOURS: usize = 168;

/// The hour of the week of `t` in UTC: 0 is Monday 00:00-00:59, 167 Sunday 23:00-23:59.
pub fn hour_of_week(t: DateTime<Utc>) -> usize {
    t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize
}

/// A 168-hour histogram smoothed over the neighbouring hours (weights ¼, ½, ¼, wrapping
/// around the week).
fn smooth(h: &[f64; WEEK_HOURS]) -> [f64; WEEK_HOURS] {
    let mut out = [0.0; WEEK_HOURS];
    for (i, o) in out.iter_mut().enumerate() {
        *o = 0.25 * h[(i + WEEK_HOURS - 1) % WEEK_HOURS]
            + 0.5 * h[i]
            + 0.25 * h[(i + 1) % WEEK_HOURS];
    }
    out
}

/// The population's engagement pattern over the hours of the week, and each person's hour
/// from their own events shrunk toward it: `score(h) = own(h) + prior × population_share(h)`,
/// both smoothed, so that a person with one open gets close to the population's best hour and
/// one with fifty gets their own.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mergetag_predict::SendTimes;
///
/// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
/// // Most people open on Tuesday at 09:00; one person opens on Saturdays at 20:00.
/// let everyone: Vec<Vec<DateTime<Utc>>> = (0..50)
///     .map(|_| vec![t("2026-11-03T09:10:00Z"), t("2026-11-10T09:40:00Z")])
///     .chain(std::iter::once(vec![t("2026-11-07T20:05:00Z"); 6]))
///     .collect();
/// let s = SendTimes::fit(&everyone, 5.0);
/// assert_eq!(s.population_best(), 24 + 9);
/// assert_eq!(s.best(&everyone[50]), 5 * 24 + 20);
/// assert_eq!(s.best(&[]), 24 + 9);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendTimes {
    /// The population's smoothed share of engagement per hour of the week.
    pub population: Vec<f64>,
    /// The weight of the population's pattern, in events (default 5).
    pub prior: f64,
}

impl SendTimes {
    /// Learns the population's pattern from everyone's engagement times.
    pub fn fit(people: &[Vec<DateTime<Utc>>], prior: f64) -> SendTimes {
        let mut h = [0.0; WEEK_HOURS];
        for t in people.iter().flatten() {
            h[hour_of_week(*t)] += 1.0;
        }
        let s = smooth(&h);
        let total: f64 = s.iter().sum();
        let population = if total > 0.0 {
            s.iter().map(|v| v / total).collect()
        } else {
            vec![1.0 / WEEK_HOURS as f64; WEEK_HOURS]
        };
        SendTimes { population, prior }
    }

    fn argmax(scores: impl Iterator<Item = f64>) -> usize {
        let mut best = (0usize, f64::NEG_INFINITY);
        for (i, v) in scores.enumerate() {
            if v > best.1 + 1e-12 {
                best = (i, v);
            }
        }
        best.0
    }

    /// The population's best hour (the fixed hour a sender without this would use).
    pub fn population_best(&self) -> usize {
        SendTimes::argmax(self.population.iter().copied())
    }

    /// A person's best hour of the week from their own engagement times.
    pub fn best(&self, own: &[DateTime<Utc>]) -> usize {
        let mut h = [0.0; WEEK_HOURS];
        for t in own {
            h[hour_of_week(*t)] += 1.0;
        }
        let s = smooth(&h);
        SendTimes::argmax(
            s.iter()
                .zip(&self.population)
                .map(|(o, p)| o + self.prior * p),
        )
    }
}

/// How a send-time choice did on held-out engagement: the share of held-out opens and clicks
/// within an hour of the chosen hour, for each person's hour and for the population's fixed
/// best hour, measured in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SendTimeCheck {
    /// Held-out events counted.
    pub events: usize,
    /// Share within an hour of each person's chosen hour.
    pub personal: f64,
    /// Share within an hour of the population's best hour.
    pub fixed: f64,
}

/// Chooses hours from `before` and checks them against `after` (per person).
pub fn check_send_times(
    before: &[Vec<DateTime<Utc>>],
    after: &[Vec<DateTime<Utc>>],
    prior: f64,
) -> SendTimeCheck {
    let s = SendTimes::fit(before, prior);
    let fixed = s.population_best();
    let near = |a: usize, b: usize| {
        let d = a.abs_diff(b);
        d.min(WEEK_HOURS - d) <= 1
    };
    let (mut n, mut own, mut base) = (0usize, 0usize, 0usize);
    for (b, a) in before.iter().zip(after) {
        let chosen = s.best(b);
        for t in a {
            let h = hour_of_week(*t);
            n += 1;
            own += usize::from(near(h, chosen));
            base += usize::from(near(h, fixed));
        }
    }
    let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    SendTimeCheck {
        events: n,
        personal: share(own),
        fixed: share(base),
    }
}

/// Products whose recent activity (views and purchases in the last `recent_days`) runs
/// furthest above their own baseline (the `baseline_days` before), as the ratio
/// `(recent + 1) / (baseline × recent_days / baseline_days + 1)`; only products with at
/// least `min_recent` recent events, best first (ties by name).
///
/// ```
/// use chrono::{DateTime, Duration, Utc};
/// use mergetag_predict::trending;
///
/// let now: DateTime<Utc> = "2026-11-21T00:00:00Z".parse().unwrap();
/// let mut events = Vec::new();
/// for d in 0..90 {
///     events.push(("steady".to_string(), now - Duration::days(d)));
/// }
/// for d in 0..6 {
///     events.push(("hot".to_string(), now - Duration::days(d)));
/// }
/// let t = trending(&events, now, 14, 90, 3);
/// assert_eq!(t[0].0, "hot");
/// ```
pub fn trending(
    events: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
    recent_days: u32,
    baseline_days: u32,
    min_recent: u32,
) -> Vec<(String, f64)> {
    let recent_start = now - chrono::Duration::days(i64::from(recent_days));
    let base_start = recent_start - chrono::Duration::days(i64::from(baseline_days));
    let mut counts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for (p, t) in events {
        if *t > now || *t <= base_start {
            continue;
        }
        let c = counts.entry(p.as_str()).or_default();
        if *t > recent_start {
            c.0 += 1;
        } else {
            c.1 += 1;
        }
    }
    let scale = f64::from(recent_days) / f64::from(baseline_days.max(1));
    let mut out: Vec<(String, f64)> = counts
        .into_iter()
        .filter(|(_, (r, _))| *r >= min_recent)
        .map(|(p, (r, b))| {
            (
                p.to_owned(),
                (f64::from(r) + 1.0) / (f64::from(b) * scale + 1.0),
            )
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}
