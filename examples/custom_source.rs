//! A source of your own over HTTP: an in-house CRM's contact API that pages its results,
//! answers `429 Too Many Requests` with a `Retry-After` now and then, and fails with a `503`.
//! Describing its paging is all it takes ([`Pager`]: how to ask for the page after a cursor,
//! how to read a page); [`PagedSource`] from `mergetag::sync` paces the requests, retries
//! with exponential backoff and jitter, honours `Retry-After`, keeps to a request budget,
//! maps each contact through a column map and quarantines the contacts it cannot use, like
//! the built-in readers do.
//!
//! ```sh
//! cargo run --release --features http-sync --example custom_source
//! ```
//!
//! The API is served for real, over HTTP on 127.0.0.1, by a small server this example starts
//! (so it runs without a network); point the pager at your CRM's URL instead.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::normalize::NormalizeConfig;
use mergetag::pipeline::Pipeline;
use mergetag::sources::{ColumnMap, ColumnType};
use mergetag::sync::{FetchPolicy, Fetcher, Page, PageRequest, PagedSource, Pager};
use mergetag::validate::QuarantineEntry;
use mergetag::{OnBadRow, fields};
use mergetag_testkit::http::{Request, Response, TestServer};
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------- the "CRM"

/// The in-house CRM's contacts: 120 people, every 30th entered twice (with a differently
/// formatted email: dedup should merge them), one in 40 with an opt-out flag that is not a
/// boolean (it will be quarantined).
fn contacts() -> Vec<Json> {
    let first = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances",
    ];
    let last = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen",
    ];
    let mut out = Vec::new();
    for i in 0..120usize {
        let (f, l) = (first[i % 7], last[(i / 7) % 7]);
        let mut c = json!({
            "id": format!("C-{i:04}"),
            "given_name": f,
            "family_name": l.to_uppercase(),
            "email": format!("{}.{}{}@example.com", f.to_lowercase(), l.to_lowercase(), i / 49),
            "opted_out": false,
            "updated": "2026-10-01T12:00:00Z",
        });
        if i % 30 == 0 {
            let mut dup = c.clone();
            dup["id"] = json!(format!("C-{i:04}-B"));
            dup["email"] = json!(format!(" {}.{}{}@EXAMPLE.com", f, l, i / 49));
            out.push(dup);
        }
        if i % 40 == 39 {
            c["opted_out"] = json!("not sure");
        }
        out.push(c);
    }
    out
}

/// `GET /contacts?cursor=N` answers 10 contacts and the next cursor. Every 5th request is
/// refused with a 429 and `Retry-After: 1`, every 7th fails with a 503.
fn crm_api(contacts: Vec<Json>) -> TestServer {
    let requests = Arc::new(AtomicU64::new(0));
    TestServer::start(move |req: &Request| {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        if n.is_multiple_of(5) {
            return Response::status(429).header("retry-after", "1");
        }
        if n.is_multiple_of(7) {
            return Response::status(503);
        }
        let start: usize = req
            .query("cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let start = start.min(contacts.len());
        let end = (start + 10).min(contacts.len());
        let body = json!({
            "data": contacts[start..end],
            "next_cursor": (end < contacts.len()).then(|| end.to_string()),
        });
        Response::json(body.to_string())
    })
}

// ---------------------------------------------------------------------------- the pager

/// How the CRM pages: the only code a new API needs.
struct CrmContacts {
    base_url: String,
}

impl Pager for CrmContacts {
    fn request(&self, cursor: Option<&str>) -> PageRequest {
        PageRequest::get(format!(
            "{}/contacts?cursor={}",
            self.base_url,
            cursor.unwrap_or("0")
        ))
    }

    fn parse(&self, body: &[u8]) -> Result<Page, String> {
        #[derive(serde::Deserialize)]
        struct Body {
            data: Vec<Json>,
            next_cursor: Option<String>,
        }
        // Say what is wrong, never what the body holds.
        let b: Body = serde_json::from_slice(body)
            .map_err(|e| format!("not a page (line {}, column {})", e.line(), e.column()))?;
        Ok(Page {
            items: b.data,
            next: b.next_cursor,
        })
    }
}

// ---------------------------------------------------------------------------- the run

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = crm_api(contacts());

    // The CRM's field names, mapped to canonical fields like a CSV export's columns.
    let map = ColumnMap::new()
        .with_key("id")
        .with_column("given_name", fields::FIRST_NAME)
        .with_column("family_name", fields::LAST_NAME)
        .with_column("email", fields::EMAIL)
        .with_typed_column("opted_out", fields::EMAIL_OPT_OUT, ColumnType::Bool)
        .with_typed_column("updated", "updated_at", ColumnType::Timestamp)
        .with_observed_at("updated_at");

    // At most 20 requests a second, retries from 50 ms doubling with jitter, 6 attempts a
    // page, and a budget of 100 requests for the run.
    let mut policy = FetchPolicy::default();
    policy.requests_per_second = 20;
    policy.min_delay_ms = 50;
    policy.max_attempts = 6;
    policy.max_requests = Some(100);
    let fetcher = Fetcher::new("crm_api", &policy, Default::default())?;
    let pager = CrmContacts {
        base_url: server.url(),
    };
    let source = PagedSource::new("crm_api", pager, fetcher, map, OnBadRow::Quarantine);
    let stats = source.report_handle();

    // The source goes into a pipeline like any other: its rows are normalized and
    // deduplicated, and the rows it set aside are quarantined with their reasons.
    let output = Pipeline::builder()
        .source(source)
        .normalizer(NormalizeConfig::standard().build()?)
        .dedup(Deduper::new(DedupConfig::contacts())?)
        .build()?
        .run(|_| {})?;

    let sync = stats.get();
    let report = &output.report;
    println!(
        "{} requests for {} pages: {} retried ({} after a 429, {} after a 5xx), {:.1} s backing off, {:.1} s pacing",
        sync.requests,
        sync.pages,
        sync.retries,
        sync.rate_limited,
        sync.server_errors,
        sync.backoff_wait.as_secs_f64(),
        sync.throttle_wait.as_secs_f64()
    );
    println!(
        "{} contacts read: {} accepted, {} quarantined",
        report.records_in, report.accepted, report.quarantined
    );
    // The run report carries the source's own counters too: the same retries and waits,
    // per source, in whatever the pipeline writes (report.json).
    let counters = &report.sources[0].counters;
    println!(
        "run report, source {}: {} requests, {} retries, {} ms backing off, {} ms pacing",
        report.sources[0].name,
        counters["requests"],
        counters["retries"],
        counters["backoff_wait_ms"],
        counters["throttle_wait_ms"]
    );
    assert_eq!(counters["retries"], sync.retries);
    assert_eq!(counters["requests"], sync.requests);
    for entry in &output.quarantine {
        if let QuarantineEntry::Reject { reject, .. } = entry {
            // Source, position and field; never the row's data.
            println!("  quarantined: {} ({})", reject.to_error(), reject.id);
        }
    }
    println!(
        "{} golden profiles ({} merged from duplicates)",
        output.profiles.len(),
        report.profiles.merged
    );
    assert_eq!(sync.items, 124, "every contact read exactly once");
    assert!(report.adds_up());
    Ok(())
}
