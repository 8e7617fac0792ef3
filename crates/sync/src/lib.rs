//! API sync for mergetag: [`PagedSource`] reads any paged JSON API as a
//! [`Source`](mergetag_model::Source), pacing its requests ([`FetchPolicy`]: a request rate,
//! a budget), retrying `429` and 5xx answers and failures below HTTP with exponential backoff
//! and jitter while honouring `Retry-After` and rate-limit headers, and counting every retry
//! and wait in a [`SyncReport`]; [`HubspotSource`] is a HubSpot-style contacts source on it,
//! with cursor paging and incremental sync by modification time (strictly after a
//! watermark that only passes a time once all its contacts are read; queries restarted at
//! HubSpot's 10,000-result search cap). Used as a pipeline source, its report is in the run
//! report's `sources[].counters` ([`SyncReport::counters`]).
//!
//! Syncing the contacts modified since the last run (this needs a server, hence `no_run`;
//! the crate's tests and the `custom_source` example start one on 127.0.0.1):
//!
//! ```no_run
//! use mergetag_model::{OnBadRow, Source};
//! use mergetag_sources::ColumnMap;
//! use mergetag_sync::{FetchPolicy, Fetcher, HubspotContacts, PagedSource};
//! use reqwest::header::HeaderMap;
//!
//! let pager = HubspotContacts::new("https://api.hubapi.com")
//!     .since("2026-01-01T00:00:00Z".parse()?);
//! let mut policy = FetchPolicy::default();
//! policy.max_requests = Some(500); // a request budget for the run
//! let fetcher = Fetcher::new("hubspot", &policy, HeaderMap::new())?;
//! let mut source = PagedSource::new("hubspot", pager, fetcher, ColumnMap::hubspot_contacts(), OnBadRow::Quarantine);
//! let contacts = source.records().collect::<Result<Vec<_>, _>>()?;
//! let report = source.report();
//! println!("{} contacts, {} requests, {} retries", contacts.len(), report.requests, report.retries);
//! let next_since = source.pager().watermark(); // keep it for the next run
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a pipeline file, a source with `kind = "hubspot"` and a `[sources.settings]` table
//! ([`HubspotSettings`]) is opened by [`open`].

mod error;
mod fetch;
mod hubspot;
mod paged;
mod report;

pub use crate::error::{Error, Result};
pub use crate::fetch::{FetchError, FetchPolicy, Fetcher, MAX_BODY_BYTES, Method, PageRequest};
pub use crate::hubspot::{
    DEFAULT_PROPERTIES, HUBSPOT_API, HubspotContacts, HubspotSettings, HubspotSource, SEARCH_CAP,
    open,
};
pub use crate::paged::{Page, PagedSource, Pager};
pub use crate::report::{ReportHandle, SyncReport};
