//! A source of your own: implementing [`Source`] for an in-house HTTP-style API that pages its
//! results, answers `429 Too Many Requests` with a `Retry-After`, and fails now and then with a
//! `503`. The reader retries with exponential backoff and jitter and counts its retries; rows
//! it cannot use are set aside for quarantine, like the built-in readers do.
//!
//! ```sh
//! cargo run --release --example custom_source
//! ```
//!
//! The API is simulated in-process, and so is time: waiting advances a fake clock instead of
//! sleeping, and the jitter comes from a seeded generator, so every run prints the same thing
//! in a few milliseconds. A real client would put its HTTP call in `CrmApi::get` and
//! `std::thread::sleep` in `Clock::sleep`.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::model::{Position, SourceErrorKind};
use mergetag::normalize::NormalizeConfig;
use mergetag::pipeline::Pipeline;
use mergetag::validate::QuarantineEntry;
use mergetag::{Record, RecordId, Reject, Source, SourceError, SourceName, fields};
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------- the "server"

/// One HTTP response: a status, a `Retry-After` header, a JSON body.
struct Response {
    status: u16,
    retry_after: Option<Duration>,
    body: Json,
}

/// The in-house CRM's contact API, simulated: `GET /contacts?cursor=...` returns a page of 10
/// contacts and the cursor of the next page. It allows 3 requests per simulated second (more
/// get a 429 with `Retry-After: 1`) and fails every 7th request with a 503.
struct CrmApi {
    contacts: Vec<Json>,
    page_size: usize,
    requests: u64,
    /// Request times in the current window, for the rate limit.
    window: VecDeque<Duration>,
}

impl CrmApi {
    fn new() -> CrmApi {
        let first = [
            "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances",
        ];
        let last = [
            "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen",
        ];
        let mut contacts = Vec::new();
        for i in 0..120usize {
            let (f, l) = (first[i % 7], last[(i / 7) % 7]);
            let mut c = json!({
                "id": format!("C-{i:04}"),
                "given_name": f,
                "family_name": l.to_uppercase(),
                "email": format!("{}.{}{}@example.com", f.to_lowercase(), l.to_lowercase(), i / 49),
                "updated": "2026-10-01T12:00:00Z",
            });
            // Every 30th contact is entered twice, with a nickname and a differently
            // formatted email: dedup should merge them.
            if i % 30 == 0 {
                let mut dup = c.clone();
                dup["id"] = json!(format!("C-{i:04}-B"));
                dup["email"] = json!(format!(" {}.{}{}@EXAMPLE.com", f, l, i / 49));
                contacts.push(dup);
            }
            // And one in 40 is broken: no id at all.
            if i % 40 == 39 {
                c.as_object_mut().unwrap().remove("id");
            }
            contacts.push(c);
        }
        CrmApi {
            contacts,
            page_size: 10,
            requests: 0,
            window: VecDeque::new(),
        }
    }

    /// `GET /contacts?cursor=<cursor>` at time `now`.
    fn get(&mut self, cursor: usize, now: Duration) -> Response {
        self.requests += 1;
        while self
            .window
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= Duration::from_secs(1))
        {
            self.window.pop_front();
        }
        if self.window.len() >= 3 {
            return Response {
                status: 429,
                retry_after: Some(Duration::from_secs(1)),
                body: json!({"error": "rate limited"}),
            };
        }
        self.window.push_back(now);
        if self.requests.is_multiple_of(7) {
            return Response {
                status: 503,
                retry_after: None,
                body: json!({"error": "service unavailable"}),
            };
        }
        let end = (cursor + self.page_size).min(self.contacts.len());
        Response {
            status: 200,
            retry_after: None,
            body: json!({
                "data": self.contacts[cursor..end],
                "next_cursor": (end < self.contacts.len()).then_some(end),
            }),
        }
    }
}

// ---------------------------------------------------------------------------- time and chance

/// A clock that only moves when told to: waiting is instant and reproducible.
#[derive(Default)]
struct Clock {
    now: Duration,
}

impl Clock {
    fn sleep(&mut self, d: Duration) {
        self.now += d;
    }
}

/// A small seeded generator (xorshift64*) for the jitter: the same seed, the same waits.
struct Rng(u64);

impl Rng {
    /// A float in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------- the source

/// How the reader retries.
struct Backoff {
    /// The first wait.
    base: Duration,
    /// No wait is longer.
    max: Duration,
    /// Attempts per page before giving up.
    max_attempts: u32,
}

impl Backoff {
    /// "Full jitter": a random wait between 0 and `base * 2^attempt` (capped), so that many
    /// clients retrying at once spread out instead of hammering the server in step.
    fn wait(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let ceiling = self.base.saturating_mul(1 << attempt.min(16)).min(self.max);
        ceiling.mul_f64(rng.next_f64())
    }
}

/// What the reader did, shared with whoever wants to know after the run.
#[derive(Debug, Default)]
struct FetchStats {
    requests: u64,
    pages: u64,
    /// Requests that had to be retried.
    retries: u64,
    /// Time spent waiting (simulated).
    waited: Duration,
}

/// The API as a mergetag [`Source`]: pages are fetched as records are read.
struct ApiSource {
    name: SourceName,
    api: CrmApi,
    clock: Clock,
    rng: Rng,
    backoff: Backoff,
    /// The page being read.
    page: VecDeque<Json>,
    /// The cursor of the next page; `None` after the last.
    cursor: Option<usize>,
    /// Records handed out or set aside, for positions.
    rows: u64,
    rejects: Vec<Reject>,
    stats: Rc<RefCell<FetchStats>>,
}

impl ApiSource {
    fn new(api: CrmApi, seed: u64, stats: Rc<RefCell<FetchStats>>) -> ApiSource {
        ApiSource {
            name: SourceName::new("crm_api"),
            api,
            clock: Clock::default(),
            rng: Rng(seed),
            backoff: Backoff {
                base: Duration::from_millis(200),
                max: Duration::from_secs(10),
                max_attempts: 8,
            },
            page: VecDeque::new(),
            cursor: Some(0),
            rows: 0,
            rejects: Vec::new(),
            stats,
        }
    }

    fn wait(&mut self, d: Duration) {
        self.clock.sleep(d);
        self.stats.borrow_mut().waited += d;
    }

    /// Fetches the next page, retrying rate limits and server errors.
    fn fetch(&mut self, cursor: usize) -> Result<(), SourceError> {
        for attempt in 0..self.backoff.max_attempts {
            let response = self.api.get(cursor, self.clock.now);
            self.clock.sleep(Duration::from_millis(40)); // the round trip
            self.stats.borrow_mut().requests += 1;
            match response.status {
                200 => {
                    self.stats.borrow_mut().pages += 1;
                    let data = response.body["data"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    self.page.extend(data);
                    self.cursor = response.body["next_cursor"].as_u64().map(|c| c as usize);
                    return Ok(());
                }
                // Rate limited: wait at least as long as the server asks, plus jitter.
                429 => {
                    self.stats.borrow_mut().retries += 1;
                    let asked = response.retry_after.unwrap_or(Duration::ZERO);
                    let jitter = self.backoff.wait(attempt, &mut self.rng);
                    self.wait(asked + jitter);
                }
                // A server error: back off exponentially.
                500..=599 => {
                    self.stats.borrow_mut().retries += 1;
                    let d = self.backoff.wait(attempt, &mut self.rng);
                    self.wait(d);
                }
                status => {
                    return Err(self.fatal(format!("the API answered {status}")));
                }
            }
        }
        Err(self.fatal(format!(
            "gave up on the page at cursor {cursor} after {} attempts",
            self.backoff.max_attempts
        )))
    }

    /// An error after which the source cannot go on.
    fn fatal(&self, message: String) -> SourceError {
        SourceError::new(
            self.name.clone(),
            Position::record(self.rows + 1),
            SourceErrorKind::Io { message },
        )
    }
}

impl Source for ApiSource {
    fn name(&self) -> &SourceName {
        &self.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            let Some(contact) = self.page.pop_front() else {
                match self.cursor {
                    Some(cursor) => {
                        self.fetch(cursor)?;
                        continue;
                    }
                    None => return Ok(false),
                }
            };
            self.rows += 1;
            // A contact without an id cannot be tracked back to the CRM: set it aside for
            // quarantine, with its raw JSON for repair, and go on.
            let Some(id) = contact["id"].as_str() else {
                self.rejects.push(Reject {
                    id: RecordId::row(self.name.clone(), self.rows),
                    position: Position::record(self.rows),
                    field: Some("id".into()),
                    error: SourceErrorKind::Missing,
                    raw: contact.to_string(),
                });
                continue;
            };
            // Reuse the caller's record: clear it, then fill it in.
            record.clear();
            record.id = RecordId::id(self.name.clone(), id);
            record.observed_at = contact["updated"].as_str().and_then(|t| t.parse().ok());
            for (from, to) in [
                ("given_name", fields::FIRST_NAME),
                ("family_name", fields::LAST_NAME),
                ("email", fields::EMAIL),
            ] {
                if let Some(v) = contact[from].as_str() {
                    record.set(to, v);
                }
            }
            return Ok(true);
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }
}

// ---------------------------------------------------------------------------- the run

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stats = Rc::new(RefCell::new(FetchStats::default()));
    let source = ApiSource::new(CrmApi::new(), 0x5EED, stats.clone());

    // The source goes into a pipeline like any other: its rows are normalized and
    // deduplicated, and the rows it set aside are quarantined with their reasons.
    let output = Pipeline::builder()
        .source(source)
        .normalizer(NormalizeConfig::standard().build()?)
        .dedup(Deduper::new(DedupConfig::contacts())?)
        .build()?
        .run(|_| {})?;

    let stats = stats.borrow();
    let report = &output.report;
    println!(
        "{} requests for {} pages: {} retried after a 429 or a 503, {:.1} s waited (simulated clock)",
        stats.requests,
        stats.pages,
        stats.retries,
        stats.waited.as_secs_f64()
    );
    println!(
        "{} contacts read: {} accepted, {} quarantined",
        report.records_in, report.accepted, report.quarantined
    );
    for entry in &output.quarantine {
        if let QuarantineEntry::Reject { reject, .. } = entry {
            // Source, position and field; never the row's data.
            println!("  quarantined: {}", reject.to_error());
        }
    }
    println!(
        "{} golden profiles ({} merged from duplicates)",
        output.profiles.len(),
        report.profiles.merged
    );
    assert!(report.adds_up());
    Ok(())
}
