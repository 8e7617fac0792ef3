//! [`Fetcher`]: one page request, sent at a bounded rate and retried with backoff.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::ReportHandle;

/// How requests are paced and retried. Serde form, all keys optional, unknown keys refused:
///
/// ```toml
/// requests_per_second = 10    # the request rate (0: no limit); default 10
/// burst = 1                   # requests allowed at once above the rate; default 1
/// max_attempts = 8            # attempts per page before the run fails; default 8
/// min_delay_ms = 200          # the first backoff; default 200
/// max_delay_ms = 30000        # no backoff is longer; default 30 s
/// max_wait_secs = 120         # the longest Retry-After or rate-limit reset honoured; default 120
/// timeout_secs = 30           # per request, connecting and reading included; default 30
/// max_requests = 10000        # the run's request budget (every attempt counts); default none
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FetchPolicy {
    /// Requests per second (0: no limit).
    pub requests_per_second: u32,
    /// Requests allowed at once above the rate.
    pub burst: u32,
    /// Attempts per page before giving up.
    pub max_attempts: u32,
    /// The first backoff, in milliseconds; each next one doubles, with jitter.
    pub min_delay_ms: u64,
    /// The longest backoff, in milliseconds.
    pub max_delay_ms: u64,
    /// The longest wait a server may ask for (`Retry-After`, a rate-limit reset), in
    /// seconds; asking more fails the run instead of stalling it.
    pub max_wait_secs: u64,
    /// The time limit of one request, in seconds.
    pub timeout_secs: u64,
    /// The request budget of a run; `None` for no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            requests_per_second: 10,
            burst: 1,
            max_attempts: 8,
            min_delay_ms: 200,
            max_delay_ms: 30_000,
            max_wait_secs: 120,
            timeout_secs: 30,
            max_requests: None,
        }
    }
}

impl FetchPolicy {
    /// Checks the values.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key.
    pub fn check(&self) -> Result<()> {
        let bad = |key: &str, message: &str| Err(Error::invalid(key, message));
        if self.max_attempts == 0 {
            return bad("max_attempts", "make at least 1 attempt per page");
        }
        if self.burst == 0 {
            return bad("burst", "allow at least 1 request at once");
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs", "give requests at least 1 second");
        }
        if self.max_requests == Some(0) {
            return bad("max_requests", "allow at least 1 request");
        }
        if self.min_delay_ms > self.max_delay_ms {
            return bad(
                "min_delay_ms",
                "the first backoff is longer than max_delay_ms",
            );
        }
        if self.max_delay_ms > 3_600_000
            || self.max_wait_secs > 86_400
            || self.timeout_secs > 86_400
        {
            return bad(
                "max_delay_ms",
                "waits are capped at an hour (max_wait_secs and timeout_secs at a day)",
            );
        }
        Ok(())
    }
}

/// The HTTP method of a page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`, with a JSON body.
    Post,
}

/// One page request: a method, a URL and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// The JSON body of a `POST`.
    pub body: Option<serde_json::Value>,
}

impl PageRequest {
    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> PageRequest {
        PageRequest {
            method: Method::Get,
            url: url.into(),
            body: None,
        }
    }

    /// A `POST` of `body` to `url`.
    pub fn post(url: impl Into<String>, body: serde_json::Value) -> PageRequest {
        PageRequest {
            method: Method::Post,
            url: url.into(),
            body: Some(body),
        }
    }
}

/// Why fetching a page failed for good. Never holds a response body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A status that is not retried (4xx other than 429).
    #[error("the server answered {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// Every attempt failed.
    #[error("gave up after {attempts} attempts; the last: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure, in words.
        last: String,
        /// The last transport error, if that was it.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The run's request budget is spent.
    #[error(
        "the request budget of {max} requests is spent; raise max_requests or sync again later"
    )]
    Budget {
        /// The budget.
        max: u64,
    },
    /// The server asked to wait longer than the policy allows.
    #[error("the server asked to wait {asked:?}, more than max_wait_secs allows")]
    WaitTooLong {
        /// What it asked.
        asked: Duration,
    },
    /// The request could not be built (a URL that is not valid).
    #[error("the request is not valid")]
    Request(#[source] reqwest::Error),
    /// The body is larger than the limit.
    #[error("the answer is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
}

/// The largest page body read: 64 MiB.
pub const MAX_BODY_BYTES: u64 = 64 << 20;

/// Sends page requests at a bounded rate, retrying `429` and 5xx answers (and failures below
/// HTTP: timeouts, resets, bodies cut short, 2xx bodies that do not parse) with exponential
/// backoff and jitter, honouring `Retry-After` and rate-limit headers, within a request
/// budget. Other statuses fail at once. Every attempt, retry and wait is counted in the
/// shared [`SyncReport`](crate::SyncReport).
#[derive(Debug)]
pub struct Fetcher {
    client: Client,
    limiter: Option<DefaultDirectRateLimiter>,
    policy: FetchPolicy,
    report: ReportHandle,
    /// No request before this instant (a rate-limit header said none was left).
    paused_until: Option<Instant>,
}

enum Attempt<T> {
    Done(T),
    Retry {
        why: String,
        wait: Option<Duration>,
        source: Option<reqwest::Error>,
    },
}

impl Fetcher {
    /// A fetcher with `policy`, sending `headers` (authorization, ...) with every request.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a bad policy, [`Error::Client`] when the client cannot be set
    /// up.
    pub fn new(name: &str, policy: &FetchPolicy, headers: HeaderMap) -> Result<Fetcher> {
        policy.check()?;
        let client = Client::builder()
            .timeout(Duration::from_secs(policy.timeout_secs))
            .default_headers(headers)
            .user_agent(concat!("mergetag-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Client {
                name: name.to_owned(),
                source,
            })?;
        let limiter = NonZeroU32::new(policy.requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(policy.burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        Ok(Fetcher {
            client,
            limiter,
            policy: policy.clone(),
            report: ReportHandle::default(),
            paused_until: None,
        })
    }

    /// The report this fetcher counts into.
    pub fn report(&self) -> &ReportHandle {
        &self.report
    }

    /// Sends `request` until an attempt succeeds and `parse` accepts its body, or the policy
    /// says to stop. `parse` returns the page or a message (without data) saying why the body
    /// is not one.
    ///
    /// # Errors
    ///
    /// A [`FetchError`].
    pub fn fetch<T>(
        &mut self,
        request: &PageRequest,
        mut parse: impl FnMut(&[u8]) -> Result<T, String>,
    ) -> Result<T, FetchError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.policy.min_delay_ms))
            .with_max_delay(Duration::from_millis(self.policy.max_delay_ms))
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build();
        let mut last = (String::new(), None);
        for attempt in 1..=self.policy.max_attempts {
            self.pace()?;
            match self.attempt(request, &mut parse)? {
                Attempt::Done(page) => return Ok(page),
                Attempt::Retry { why, wait, source } => {
                    last = (why, source);
                    if attempt == self.policy.max_attempts {
                        break;
                    }
                    let backoff = backoff
                        .next()
                        .unwrap_or(Duration::from_millis(self.policy.max_delay_ms));
                    let wait = wait.map_or(backoff, |asked| asked.max(backoff));
                    self.report.update(|r| {
                        r.retries += 1;
                        r.backoff_wait += wait;
                    });
                    std::thread::sleep(wait);
                }
            }
        }
        Err(FetchError::GaveUp {
            attempts: self.policy.max_attempts,
            last: last.0,
            source: last.1,
        })
    }

    /// Waits for the rate limiter and any pause a rate-limit header asked for; counts the
    /// request against the budget.
    fn pace(&mut self) -> Result<(), FetchError> {
        let sent = self.report.get().requests;
        if let Some(max) = self.policy.max_requests
            && sent >= max
        {
            self.report.update(|r| r.budget_spent = true);
            return Err(FetchError::Budget { max });
        }
        let mut waited = Duration::ZERO;
        if let Some(until) = self.paused_until.take() {
            let now = Instant::now();
            if until > now {
                std::thread::sleep(until - now);
                waited += until - now;
            }
        }
        if let Some(limiter) = &self.limiter {
            let clock = DefaultClock::default();
            while let Err(not_until) = limiter.check() {
                let d = not_until.wait_time_from(clock.now());
                std::thread::sleep(d);
                waited += d;
            }
        }
        self.report.update(|r| {
            r.requests += 1;
            r.throttle_wait += waited;
        });
        Ok(())
    }

    fn attempt<T>(
        &mut self,
        request: &PageRequest,
        parse: &mut impl FnMut(&[u8]) -> Result<T, String>,
    ) -> Result<Attempt<T>, FetchError> {
        let builder = match request.method {
            Method::Get => self.client.get(&request.url),
            Method::Post => {
                let b = self.client.post(&request.url);
                match &request.body {
                    Some(body) => b
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.to_string()),
                    None => b,
                }
            }
        };
        let response = match builder.send() {
            Ok(r) => r,
            Err(e) if e.is_builder() => return Err(FetchError::Request(e)),
            Err(e) => return Ok(self.transport(e)),
        };
        let status = response.status().as_u16();
        self.note_rate_limit(response.headers())?;
        if status == 429 || (500..600).contains(&status) {
            let wait = retry_after(response.headers());
            if let Some(asked) = wait
                && asked > Duration::from_secs(self.policy.max_wait_secs)
            {
                return Err(FetchError::WaitTooLong { asked });
            }
            self.report.update(|r| {
                if status == 429 {
                    r.rate_limited += 1;
                } else {
                    r.server_errors += 1;
                }
            });
            return Ok(Attempt::Retry {
                why: format!("the server answered {status}"),
                wait,
                source: None,
            });
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Status { status });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES)
        {
            return Err(FetchError::TooLarge {
                max: MAX_BODY_BYTES,
            });
        }
        let body = match read_body(response) {
            Ok(b) => b,
            Err(e) => return Ok(self.transport(e)),
        };
        match parse(&body) {
            Ok(page) => Ok(Attempt::Done(page)),
            Err(why) => {
                self.report.update(|r| r.bad_bodies += 1);
                Ok(Attempt::Retry {
                    why: format!("the body is not a page: {why}"),
                    wait: None,
                    source: None,
                })
            }
        }
    }

    fn transport<T>(&self, e: reqwest::Error) -> Attempt<T> {
        self.report.update(|r| r.transport_errors += 1);
        let why = if e.is_timeout() {
            "the request timed out"
        } else if e.is_connect() {
            "the connection failed"
        } else if e.is_body() || e.is_decode() {
            "the body was cut short"
        } else {
            "the request failed"
        };
        Attempt::Retry {
            why: why.to_owned(),
            wait: None,
            source: Some(e.without_url()),
        }
    }

    /// A rate-limit header saying no request is left pauses the next request until the
    /// window resets.
    fn note_rate_limit(&mut self, headers: &HeaderMap) -> Result<(), FetchError> {
        let number = |name: &str| -> Option<u64> {
            headers
                .get(HeaderName::from_bytes(name.as_bytes()).ok()?)?
                .to_str()
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        let remaining = [
            "ratelimit-remaining",
            "x-ratelimit-remaining",
            "x-hubspot-ratelimit-remaining",
        ]
        .iter()
        .find_map(|h| number(h));
        if remaining != Some(0) {
            return Ok(());
        }
        let reset = if let Some(ms) = number("x-hubspot-ratelimit-interval-milliseconds") {
            Some(Duration::from_millis(ms))
        } else {
            ["ratelimit-reset", "x-ratelimit-reset"]
                .iter()
                .find_map(|h| number(h))
                .map(|n| {
                    // Large values are epoch seconds (as GitHub sends), small ones a delay.
                    if n > 1_000_000_000 {
                        let now = chrono::Utc::now().timestamp().max(0) as u64;
                        Duration::from_secs(n.saturating_sub(now))
                    } else {
                        Duration::from_secs(n)
                    }
                })
        };
        if let Some(d) = reset {
            if d > Duration::from_secs(self.policy.max_wait_secs) {
                return Err(FetchError::WaitTooLong { asked: d });
            }
            self.paused_until = Some(Instant::now() + d);
        }
        Ok(())
    }
}

/// Reads the body, up to [`MAX_BODY_BYTES`].
fn read_body(response: Response) -> Result<Vec<u8>, reqwest::Error> {
    Ok(response.bytes()?.to_vec())
}

/// `Retry-After` as a delay: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v: &HeaderValue = headers.get(RETRY_AFTER)?;
    let s = v.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(s).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn policies_are_checked() {
        assert!(FetchPolicy::default().check().is_ok());
        let p = FetchPolicy {
            max_attempts: 0,
            ..FetchPolicy::default()
        };
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .starts_with("max_attempts: ")
        );
    }
}
