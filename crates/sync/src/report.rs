//! [`SyncReport`]: what a sync run did, for the run report and monitoring.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// The counts and waits of one sync run. The retry counts add up: `retries` is the sum of
/// `rate_limited`, `server_errors`, `transport_errors` and `bad_bodies`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncReport {
    /// Requests sent (every attempt counts).
    pub requests: u64,
    /// Pages read whole.
    pub pages: u64,
    /// Items the pages held (records and rejects).
    pub items: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Of those, answered `429 Too Many Requests`.
    pub rate_limited: u64,
    /// Of those, answered with a 5xx status.
    pub server_errors: u64,
    /// Of those, failed below HTTP: timeouts, refused or reset connections, bodies cut short.
    pub transport_errors: u64,
    /// Of those, answered 2xx with a body that is not a page (malformed JSON).
    pub bad_bodies: u64,
    /// Time slept before retries: exponential backoff with jitter, or what `Retry-After`
    /// asked when longer.
    pub backoff_wait: Duration,
    /// Time slept to keep to the request rate and to rate-limit headers that said no
    /// request was left.
    pub throttle_wait: Duration,
    /// Whether the run stopped because its request budget was spent.
    pub budget_spent: bool,
}

impl SyncReport {
    /// The report as named counters, the form a pipeline's run report keeps for each source
    /// (`Source::counters`): every count by its field name, the waits as `backoff_wait_ms`
    /// and `throttle_wait_ms`, and `budget_spent` as 0 or 1.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        [
            ("requests", self.requests),
            ("pages", self.pages),
            ("items", self.items),
            ("retries", self.retries),
            ("rate_limited", self.rate_limited),
            ("server_errors", self.server_errors),
            ("transport_errors", self.transport_errors),
            ("bad_bodies", self.bad_bodies),
            ("backoff_wait_ms", ms(self.backoff_wait)),
            ("throttle_wait_ms", ms(self.throttle_wait)),
            ("budget_spent", u64::from(self.budget_spent)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// A [`SyncReport`] shared between a source and whoever reads it after the source has been
/// handed to a pipeline.
#[derive(Debug, Clone, Default)]
pub struct ReportHandle(pub(crate) Arc<Mutex<SyncReport>>);

impl ReportHandle {
    /// The report as it is now.
    pub fn get(&self) -> SyncReport {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut SyncReport)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
