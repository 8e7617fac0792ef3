//! mergetag-sync against a real HTTP server on 127.0.0.1 (mergetag-testkit's `TestServer`)
//! that answers like HubSpot's contacts API, and misbehaves: 429s with and without
//! `Retry-After`, 5xx, slow answers, bodies cut short, malformed JSON, rate-limit headers.

mod fuzz;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mergetag_model::{OnBadRow, Record, RecordId, Source, SourceError, Value, fields};
use mergetag_sources::{ColumnMap, SourceConfig};
use mergetag_sync::{FetchPolicy, Fetcher, HubspotContacts, HubspotSource, PagedSource};
use mergetag_testkit::http::{Request, Response, TestServer};
use reqwest::header::HeaderMap;
use serde_json::{Value as Json, json};

/// A HubSpot-style contact.
fn contact(i: u64) -> Json {
    let updated = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        + chrono::Duration::minutes(i as i64);
    let at = updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "id": i.to_string(),
        "properties": {
            "hs_object_id": i.to_string(),
            "firstname": format!("Name{i}"),
            "lastname": "Example",
            "email": format!("user{i}@example.com"),
            "hs_email_optout": if i.is_multiple_of(10) { "true" } else { "false" },
            "lastmodifieddate": at,
        },
        "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": at,
        "archived": false,
    })
}

/// What the fake API does on the first attempt at a page (by its cursor).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    TooMany { retry_after: Option<u64> },
    Status(u16),
    Slow,
    Truncated,
    Malformed,
    NoneLeft { reset: u64 },
}

#[derive(Default)]
struct Api {
    contacts: Vec<Json>,
    /// Faults by cursor ("0" for the first page), applied in order, one per attempt.
    faults: Mutex<BTreeMap<String, Vec<Fault>>>,
    requests: AtomicU64,
    /// Always answer this status (a broken API).
    always: Option<u16>,
    /// HubSpot's search cap: a search page past this many results is a 400.
    cap: Option<usize>,
    /// Searches asked for, as (operator, value).
    searches: Mutex<Vec<(String, i64)>>,
}

impl Api {
    fn new(n: u64) -> Api {
        Api {
            contacts: (1..=n).map(contact).collect(),
            ..Api::default()
        }
    }

    fn fault(self, cursor: &str, faults: &[Fault]) -> Api {
        self.faults
            .lock()
            .unwrap()
            .insert(cursor.to_owned(), faults.to_vec());
        self
    }

    fn answer(&self, req: &Request) -> Response {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(status) = self.always {
            return Response::status(status);
        }
        let mut inclusive = false;
        let (after, limit, since, search) = if req.method == "POST" {
            let body: Json = serde_json::from_slice(&req.body).unwrap_or_default();
            let filter = &body["filterGroups"][0]["filters"][0];
            let since: i64 = filter["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            inclusive = filter["operator"] == "GTE";
            if body["after"].is_null() {
                self.searches.lock().unwrap().push((
                    filter["operator"].as_str().unwrap_or_default().to_owned(),
                    since,
                ));
            }
            (
                body["after"].as_str().map(str::to_owned),
                body["limit"].as_u64().unwrap_or(100),
                Some(since),
                true,
            )
        } else {
            (
                req.query("after").map(str::to_owned),
                req.query("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(100),
                None,
                false,
            )
        };
        assert_eq!(search, req.path().ends_with("/search"));
        let cursor = after.clone().unwrap_or_else(|| "0".to_owned());
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            faults
                .get_mut(&cursor)
                .and_then(|f| (!f.is_empty()).then(|| f.remove(0)))
        };
        let start: usize = cursor.parse().unwrap();
        let matching: Vec<&Json> = self
            .contacts
            .iter()
            .filter(|c| {
                // Items that are not contacts (a broken record) always match.
                since.is_none_or(|s| {
                    let at = c["updatedAt"]
                        .as_str()
                        .and_then(|t| t.parse::<DateTime<Utc>>().ok());
                    at.is_none_or(|at| {
                        at.timestamp_millis() > s || (inclusive && at.timestamp_millis() == s)
                    })
                })
            })
            .collect();
        if search
            && let Some(cap) = self.cap
            && start + limit as usize > cap
        {
            return Response::status(400).body(
                format!("{{\"status\":\"error\",\"message\":\"paging past {cap} results\"}}")
                    .into_bytes(),
            );
        }
        let end = (start + limit as usize).min(matching.len());
        let mut body = json!({"results": matching[start.min(end)..end]});
        if end < matching.len() {
            body["paging"] = json!({"next": {"after": end.to_string(), "link": "ignored"}});
        }
        let ok = Response::json(body.to_string());
        match fault {
            None => ok,
            Some(Fault::TooMany { retry_after }) => {
                let r = Response::status(429).body(b"{\"status\":\"error\"}".to_vec());
                match retry_after {
                    Some(s) => r.header("retry-after", &s.to_string()),
                    None => r,
                }
            }
            Some(Fault::Status(s)) => Response::status(s),
            Some(Fault::Slow) => ok.delayed(Duration::from_millis(1500)),
            Some(Fault::Truncated) => {
                let n = ok.body.len() / 2;
                ok.truncated(n)
            }
            Some(Fault::Malformed) => {
                let text = body.to_string();
                Response::json(text[..text.len() / 2].to_owned())
            }
            Some(Fault::NoneLeft { reset }) => ok
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", &reset.to_string()),
        }
    }
}

fn serve(api: Api) -> (TestServer, Arc<Api>) {
    let api = Arc::new(api);
    let handler = api.clone();
    (TestServer::start(move |req| handler.answer(req)), api)
}

fn quick_policy() -> FetchPolicy {
    let mut p = FetchPolicy::default();
    p.requests_per_second = 0;
    p.min_delay_ms = 10;
    p.max_delay_ms = 100;
    p.timeout_secs = 1;
    p.max_attempts = 5;
    p
}

fn source(_server: &TestServer, pager: HubspotContacts, policy: &FetchPolicy) -> HubspotSource {
    let fetcher = Fetcher::new("hubspot", policy, HeaderMap::new()).unwrap();
    PagedSource::new(
        "hubspot",
        pager,
        fetcher,
        ColumnMap::hubspot_contacts(),
        OnBadRow::Quarantine,
    )
}

fn ids(records: &[Record]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r.id.key.to_string().parse().unwrap())
        .collect()
}

#[test]
fn every_record_arrives_exactly_once_through_429s_5xx_timeouts_and_cut_bodies() {
    let api = Api::new(1000)
        .fault(
            "100",
            &[Fault::TooMany {
                retry_after: Some(1),
            }],
        )
        .fault("200", &[Fault::Status(503)])
        .fault("300", &[Fault::Slow])
        .fault("400", &[Fault::Truncated])
        .fault("500", &[Fault::Malformed])
        .fault(
            "600",
            &[Fault::Status(500), Fault::TooMany { retry_after: None }],
        )
        .fault("700", &[Fault::Status(502)]);
    let (server, api) = serve(api);
    let start = Instant::now();
    let pager = HubspotContacts::new(&server.url()).page_size(100);
    let mut s = source(&server, pager, &quick_policy());
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    let elapsed = start.elapsed();

    let got = ids(&records);
    let unique: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(got.len(), 1000, "no record twice");
    assert_eq!(unique, (1..=1000).collect(), "no record lost");
    assert_eq!(
        records[9].get(fields::EMAIL_OPT_OUT),
        Some(&Value::Bool(true))
    );
    assert_eq!(records[0].text(fields::FIRST_NAME), Some("Name1"));
    assert!(records[0].observed_at.is_some());

    let r = s.report();
    assert_eq!(r.pages, 10);
    assert_eq!(r.items, 1000);
    assert_eq!(r.rate_limited, 2);
    assert_eq!(r.server_errors, 3);
    assert_eq!(r.transport_errors, 2, "the slow answer and the cut body");
    assert_eq!(r.bad_bodies, 1);
    assert_eq!(r.retries, 8);
    assert_eq!(r.requests, 18);
    assert_eq!(api.requests.load(Ordering::SeqCst), 18);
    assert!(
        r.backoff_wait >= Duration::from_secs(1),
        "Retry-After honoured: {r:?}"
    );
    assert!(!r.budget_spent);
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
}

#[test]
fn the_request_rate_and_rate_limit_headers_pace_requests() {
    let api = Api::new(300).fault("0", &[Fault::NoneLeft { reset: 1 }]);
    let (server, _api) = serve(api);
    let mut policy = quick_policy();
    policy.requests_per_second = 5;
    let pager = HubspotContacts::new(&server.url()).page_size(50);
    let mut s = source(&server, pager, &policy);
    let start = Instant::now();
    assert_eq!(s.records().filter(Result::is_ok).count(), 300);
    let r = s.report();
    assert_eq!((r.requests, r.retries), (6, 0));
    // 6 requests at 5 a second take a second; the header asked for a one-second pause.
    assert!(r.throttle_wait >= Duration::from_millis(1500), "{r:?}");
    assert!(start.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn a_spent_budget_stops_the_run_and_it_resumes_from_the_cursor() {
    let (server, _api) = serve(Api::new(500).fault("100", &[Fault::Status(503)]));
    let mut policy = quick_policy();
    policy.max_requests = Some(3);
    let pager = HubspotContacts::new(&server.url()).page_size(100);
    let mut s = source(&server, pager, &policy);
    let mut first = Vec::new();
    let err: SourceError = loop {
        match s.records().next() {
            Some(Ok(r)) => first.push(r),
            Some(Err(e)) => break e,
            None => panic!("the budget should end the run"),
        }
    };
    assert_eq!(first.len(), 200, "the 503 cost one request of the three");
    assert!(!err.is_recoverable());
    assert_eq!(
        err.to_string(),
        "hubspot: record 201: i/o error: fetching page 3 (cursor `200`) failed: the request budget \
         of 3 requests is spent; raise max_requests or sync again later"
    );
    assert!(s.report().budget_spent);
    let cursor = s.cursor().unwrap().to_owned();

    let pager = HubspotContacts::new(&server.url()).page_size(100);
    let mut rest = source(&server, pager, &quick_policy()).resume_from(cursor);
    let second: Vec<Record> = rest.records().collect::<Result<_, _>>().unwrap();
    let all: Vec<u64> = ids(&first).into_iter().chain(ids(&second)).collect();
    assert_eq!(all, (1..=500).collect::<Vec<_>>());
}

#[test]
fn other_statuses_fail_at_once_and_retries_end() {
    let api = Api {
        always: Some(401),
        ..Api::new(10)
    };
    let (server, api) = serve(api);
    let pager = HubspotContacts::new(&server.url());
    let mut s = source(&server, pager, &quick_policy());
    let err = s.records().next().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "hubspot: record 1: i/o error: fetching page 1 (the first) failed: the server answered 401"
    );
    assert_eq!(
        api.requests.load(Ordering::SeqCst),
        1,
        "a 401 is not retried"
    );
    assert!(s.records().next().is_none(), "nothing after a fatal error");

    let api = Api {
        always: Some(503),
        ..Api::new(10)
    };
    let (server, api) = serve(api);
    let pager = HubspotContacts::new(&server.url());
    let mut policy = quick_policy();
    policy.max_attempts = 3;
    let mut s = source(&server, pager, &policy);
    let err = s.records().next().unwrap().unwrap_err();
    assert!(
        err.to_string()
            .ends_with("failed: gave up after 3 attempts; the last: the server answered 503"),
        "{err}"
    );
    assert_eq!(api.requests.load(Ordering::SeqCst), 3);
    assert_eq!(s.report().retries, 2);
}

#[test]
fn incremental_sync_by_modification_time_and_bad_items_quarantined() {
    let mut api = Api::new(300);
    api.contacts[250]["properties"]["hs_email_optout"] = json!("maybe");
    api.contacts.push(json!("not an object"));
    let (server, _api) = serve(api);
    let since: DateTime<Utc> = "2026-01-01T04:00:00Z".parse().unwrap(); // after contact 240
    let pager = HubspotContacts::new(&server.url())
        .page_size(25)
        .since(since);
    let mut s = source(&server, pager, &quick_policy());
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        ids(&records),
        (241..=300).filter(|&i| i != 251).collect::<Vec<_>>()
    );
    let mut rejects = Vec::new();
    s.drain_rejects(&mut rejects);
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].id, RecordId::id("hubspot", "251"));
    assert_eq!(
        rejects[0].field.as_ref().unwrap().as_str(),
        "hs_email_optout"
    );
    let message = rejects[0].to_error().to_string();
    assert!(
        !message.contains("maybe") && !message.contains("user251"),
        "{message}"
    );
    assert_eq!(rejects[1].error.code(), "syntax");
    assert_eq!(
        s.pager().watermark(),
        Some("2026-01-01T05:00:00Z".parse().unwrap())
    );
}

/// Contacts modified in groups of 7 sharing a time (ties), one second apart.
fn tied_contacts(n: u64) -> Vec<Json> {
    (1..=n)
        .map(|i| {
            let mut c = contact(i);
            let at = ("2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
                + chrono::Duration::seconds((i / 7) as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            c["updatedAt"] = json!(at);
            c["properties"]["lastmodifieddate"] = json!(at);
            c
        })
        .collect()
}

#[test]
fn a_search_past_hubspots_10000_cap_restarts_from_the_last_time_read() {
    let n = 23_456;
    let api = Api {
        contacts: tied_contacts(n),
        cap: Some(mergetag_sync::SEARCH_CAP as usize),
        ..Api::default()
    };
    let (server, api) = serve(api);
    let since: DateTime<Utc> = "2025-12-31T00:00:00Z".parse().unwrap();
    let pager = HubspotContacts::new(&server.url()).since(since);
    let mut s = source(&server, pager, &quick_policy());
    let records: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    // Every contact exactly once, in order, though three queries were needed.
    assert_eq!(ids(&records), (1..=n).collect::<Vec<_>>());
    let searches = api.searches.lock().unwrap().clone();
    assert_eq!(searches.len(), 3, "{searches:?}");
    assert_eq!(searches[0], ("GT".to_owned(), since.timestamp_millis()));
    assert!(searches[1..].iter().all(|(op, _)| op == "GTE"));
    // Each restart starts at the time of the last contact read (10000 is 1428 s in, a tie).
    let t = |i: u64| {
        tied_contacts(i).last().unwrap()["updatedAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(searches[1].1, t(10_000));
    assert_eq!(s.report().retries, 0, "no page past the cap was asked for");
    assert_eq!(
        s.pager().watermark(),
        Some(t(n) / 1000).map(|secs| DateTime::from_timestamp(secs, 0).unwrap())
    );
}

#[test]
fn the_watermark_is_strict_and_never_skips_contacts_sharing_a_time() {
    let api = Api {
        contacts: tied_contacts(100),
        ..Api::default()
    };
    let (server, _api) = serve(api);
    let since: DateTime<Utc> = "2025-12-31T00:00:00Z".parse().unwrap();
    // A run cut short by its budget after two pages of 10: 20 contacts read; the 20th's
    // time (2 s) is shared by contacts 14 to 20 and 21 unread, so the watermark stays at 1 s.
    let mut policy = quick_policy();
    policy.max_requests = Some(2);
    let pager = HubspotContacts::new(&server.url())
        .page_size(10)
        .since(since);
    let mut s = source(&server, pager, &policy);
    let first: Vec<Record> = s.records().filter_map(Result::ok).collect();
    assert_eq!(ids(&first), (1..=20).collect::<Vec<_>>());
    assert!(s.report().budget_spent);
    let mark = s.pager().watermark().unwrap();
    assert_eq!(
        mark,
        "2026-01-01T00:00:01Z".parse::<DateTime<Utc>>().unwrap()
    );
    // The next run asks for `> mark`: it reads the contacts at 2 s again (14 to 20, the only
    // ones read twice) and everything after; none is skipped.
    let pager = HubspotContacts::new(&server.url())
        .page_size(10)
        .since(mark);
    let mut s = source(&server, pager, &quick_policy());
    let second: Vec<Record> = s.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(ids(&second), (14..=100).collect::<Vec<_>>());
    // Complete: the watermark is the last time read, and a contact exactly at it is not read
    // again (strict `>`).
    let mark = s.pager().watermark().unwrap();
    assert_eq!(
        mark,
        "2026-01-01T00:00:14Z".parse::<DateTime<Utc>>().unwrap()
    );
    let pager = HubspotContacts::new(&server.url())
        .page_size(10)
        .since(mark);
    let mut s = source(&server, pager, &quick_policy());
    assert_eq!(s.records().count(), 0);
    assert_eq!(s.pager().watermark(), Some(mark));
}

#[test]
fn a_hubspot_source_from_a_configuration() {
    let (server, _api) = serve(Api::new(120));
    let config = SourceConfig::from_toml_str(&format!(
        "name = \"hubspot\"\nkind = \"hubspot\"\n[settings]\nbase_url = \"{}\"\n\
         requests_per_second = 0\nmin_delay_ms = 10\n",
        server.url()
    ))
    .unwrap();
    let mut s = mergetag_sync::open(&config, ".").unwrap();
    assert_eq!(s.records().filter(Result::is_ok).count(), 120);
    assert_eq!(s.report().pages, 2);

    let bad = SourceConfig::from_toml_str(
        "name = \"hubspot\"\nkind = \"hubspot\"\n[settings]\npage_size = 1000\n",
    )
    .unwrap();
    let err = mergetag_sync::open(&bad, ".").unwrap_err().to_string();
    assert_eq!(err, "settings.page_size: ask for 1 to 100 contacts a page");
}

#[test]
#[allow(clippy::print_stderr)] // the measured figures are for the person running the tests
fn sync_throughput() {
    let (server, _api) = serve(Api::new(20_000));
    let pager = HubspotContacts::new(&server.url()).page_size(100);
    let mut s = source(&server, pager, &quick_policy());
    let start = Instant::now();
    let n = s.records().filter(Result::is_ok).count();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(n, 20_000);
    let r = s.report();
    eprintln!(
        "sync: {n} contacts in {} pages in {secs:.2} s = {:.0} records/s, {:.0} requests/s",
        r.pages,
        n as f64 / secs,
        r.requests as f64 / secs
    );
}

/// The contract every source keeps (`mergetag_sources::conformance`), with quarantined
/// items and retried pages.
#[test]
fn the_source_conforms() {
    let mut api = Api::new(230);
    api.contacts[5]["properties"]["hs_email_optout"] = json!("maybe");
    let (server, _api) = serve(api.fault("100", &[Fault::Status(503), Fault::Status(503)]));
    let open = || {
        source(
            &server,
            HubspotContacts::new(&server.url()),
            &quick_policy(),
        )
    };
    let summary = mergetag_sources::conformance::check(open).unwrap();
    assert_eq!((summary.records, summary.rejects.len()), (229, 1));
    assert!(summary.errors.is_empty());
}

/// Replays the inputs kept in `tests/fuzz/sync_settings/` through the fuzz target's checks.
#[test]
fn fuzz_sync_settings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/sync_settings");
    mergetag_testkit::replay_fuzz_inputs(dir, fuzz::sync_settings);
}
