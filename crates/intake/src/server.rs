//! [`IntakeServer`]: the HTTP endpoints, the spool, deduplication and the queue.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mergetag_dedup::index::MatchIndex;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};

use crate::config::IntakeConfig;
use crate::error::{Error, Result};
use crate::live::{Live, user_of};

/// Counts of what the intake did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntakeStats {
    /// Events accepted (spooled and queued), not counting duplicates.
    pub accepted: u64,
    /// Events acknowledged as duplicates of an earlier `messageId` (not applied again).
    pub duplicates: u64,
    /// Calls refused with 400 (too large, malformed, no user).
    pub rejected: u64,
    /// Calls refused with 401.
    pub unauthorized: u64,
    /// Calls refused with 429 because the queue was full.
    pub throttled: u64,
    /// Events read back from the spool at start.
    pub recovered: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    unauthorized: AtomicU64,
    throttled: AtomicU64,
    recovered: AtomicU64,
}

/// `messageId`s seen, the oldest forgotten first.
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    fn insert(&mut self, id: &str) {
        if self.set.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The spool and the ids in it, under one lock: a check for a duplicate and the write of
/// the event are one step.
struct Journal {
    file: File,
    path: PathBuf,
    seen: Seen,
    generated: u64,
}

struct Shared {
    config: IntakeConfig,
    sendgrid: Option<p256::ecdsa::VerifyingKey>,
    /// `Basic base64(key:)` for each write key.
    auth: Vec<String>,
    journal: Mutex<Journal>,
    queue: mpsc::Sender<Json>,
    live: Arc<Mutex<Live>>,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running intake: Segment-compatible endpoints (`POST /v1/identify`, `/v1/track`,
/// `/v1/page`, `/v1/screen`, `/v1/batch`) with HTTP Basic auth by write key, Segment's size
/// limits (a call or batched event over 32 KB, a batch over 500 KB: `400`), `messageId`
/// deduplication, and an append-only spool written and synced to disk before the `200`, so
/// that an acknowledged event survives a crash. Accepted events are applied in order by a
/// worker: identify calls go through the [`MatchIndex`] (the merge log records them), track
/// and page calls update engagement. When the queue is full, calls get `429` with
/// `Retry-After: 1`. On start, the spool is read back (a line cut short by a crash is
/// dropped) and replayed. Stops when dropped.
pub struct IntakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for IntakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl IntakeServer {
    /// Replays the spool into `index`, then listens.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a bad configuration, [`Error::Spool`] when the spool cannot be
    /// opened or read, [`Error::Listen`] when the address cannot be bound.
    pub fn start(config: IntakeConfig, index: MatchIndex) -> Result<IntakeServer> {
        config.check()?;
        let mut live = Live::new(index);
        let (journal, recovered) = open_spool(&config, &mut live)?;
        let (tx, mut rx) = mpsc::channel::<Json>(config.queue);
        let live = Arc::new(Mutex::new(live));
        let auth = config
            .write_keys
            .iter()
            .map(|k| format!("Basic {}", base64(format!("{k}:").as_bytes())))
            .collect();
        let sendgrid_key = config
            .sendgrid_public_key
            .as_deref()
            .and_then(crate::webhook::verifying_key);
        let shared = Arc::new(Shared {
            config: config.clone(),
            sendgrid: sendgrid_key,
            auth,
            journal: Mutex::new(journal),
            queue: tx,
            live: live.clone(),
            counters: Counters::default(),
        });
        shared
            .counters
            .recovered
            .store(recovered, Ordering::Relaxed);
        let worker = std::thread::spawn(move || {
            while let Some(event) = rx.blocking_recv() {
                lock(&live).apply(&event);
            }
        });
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| Error::Listen {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| Error::Listen { addr, source })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|source| Error::Listen { addr, source })?;
        let limit = config.max_batch_bytes.max(config.max_event_bytes) * 2;
        let app = Router::new()
            .route("/v1/{kind}", post(handle))
            .route("/webhooks/sendgrid", post(sendgrid))
            .layer(DefaultBodyLimit::max(limit))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(IntakeServer {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
            worker: Some(worker),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counts so far.
    pub fn stats(&self) -> IntakeStats {
        let c = &self.shared.counters;
        IntakeStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            unauthorized: c.unauthorized.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            recovered: c.recovered.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on the live state (the match index, its merge log, engagement).
    pub fn with_live<T>(&self, f: impl FnOnce(&Live) -> T) -> T {
        f(&lock(&self.shared.live))
    }
}

impl Drop for IntakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // The worker ends by itself once the queue's sender (in `shared`) is gone and the
        // queue is drained; it is not waited for.
        drop(self.worker.take());
    }
}

/// Opens the spool, drops a last line cut short, and replays the rest into `live`.
fn open_spool(config: &IntakeConfig, live: &mut Live) -> Result<(Journal, u64)> {
    let path = config.spool.clone();
    let err = |doing: &'static str| {
        let path = path.clone();
        move |source| Error::Spool {
            path,
            doing,
            source,
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err("create its directory"))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(err("open"))?;
    let mut seen = Seen {
        set: HashSet::new(),
        order: VecDeque::new(),
        cap: config.dedup_window,
    };
    let mut good_len = 0u64;
    let mut recovered = 0;
    {
        let mut reader = BufReader::new(&mut file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(err("read"))?;
            if n == 0 || line.last() != Some(&b'\n') {
                break;
            }
            good_len += n as u64;
            if let Ok(event) = serde_json::from_slice::<Json>(&line) {
                if let Some(id) = event.get("messageId").and_then(Json::as_str) {
                    seen.insert(id);
                }
                live.apply(&event);
                recovered += 1;
            }
        }
    }
    let len = file.seek(SeekFrom::End(0)).map_err(err("read"))?;
    if len != good_len {
        file.set_len(good_len)
            .map_err(err("truncate a line cut short"))?;
        file.sync_all().map_err(err("sync"))?;
    }
    Ok((
        Journal {
            file,
            path,
            seen,
            generated: 0,
        },
        recovered,
    ))
}

fn reply(status: StatusCode, message: &str) -> Response {
    let body = if status == StatusCode::OK {
        json!({"success": true})
    } else {
        json!({"success": false, "message": message})
    };
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    UrlPath(kind): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = &shared.counters;
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| shared.auth.iter().any(|a| a == v.trim()));
    if !authorized {
        c.unauthorized.fetch_add(1, Ordering::Relaxed);
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            "a write key is needed as the basic auth user",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"mergetag\""),
        );
        return r;
    }
    let events = match parse(&shared.config, &kind, &body) {
        Ok(events) => events,
        Err((status, message)) => {
            c.rejected.fetch_add(1, Ordering::Relaxed);
            return reply(status, &message);
        }
    };
    let shared2 = shared.clone();
    // Spooling syncs to disk: off the async threads.
    tokio::task::block_in_place(move || accept(&shared2, events))
}

/// SendGrid's event webhook: a signed array of events; unsubscribes, bounces and spam
/// reports become suppressions, spooled and applied like events.
async fn sendgrid(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    use crate::webhook::{SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, SuppressionKind, verify};
    let c = &shared.counters;
    let Some(key) = &shared.sendgrid else {
        return reply(
            StatusCode::NOT_FOUND,
            "no sendgrid_public_key is configured",
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = match (header(SENDGRID_SIGNATURE), header(SENDGRID_TIMESTAMP)) {
        (Some(sig), Some(ts)) => verify(key, sig, ts, &body),
        _ => false,
    };
    if !signed {
        c.unauthorized.fetch_add(1, Ordering::Relaxed);
        return reply(StatusCode::UNAUTHORIZED, "the signature does not check out");
    }
    if body.len() > shared.config.max_batch_bytes * 4 {
        c.rejected.fetch_add(1, Ordering::Relaxed);
        return reply(StatusCode::BAD_REQUEST, "the call is too large");
    }
    let parsed = serde_json::from_slice::<Json>(&body).ok();
    let Some(items) = parsed
        .as_ref()
        .and_then(crate::webhook::sendgrid_suppressions)
    else {
        c.rejected.fetch_add(1, Ordering::Relaxed);
        return reply(
            StatusCode::BAD_REQUEST,
            "the body is not an array of events",
        );
    };
    let ids: Vec<Option<String>> = parsed
        .as_ref()
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter(|e| {
                    matches!(
                        e.get("event").and_then(Json::as_str),
                        Some("unsubscribe" | "group_unsubscribe" | "bounce" | "spamreport")
                    ) && e
                        .get("email")
                        .and_then(Json::as_str)
                        .is_some_and(|m| !m.trim().is_empty())
                })
                .map(|e| {
                    e.get("sg_event_id")
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let events: Vec<Json> = items
        .into_iter()
        .zip(ids)
        .map(|((email, kind), id)| {
            let reason = match kind {
                SuppressionKind::Unsubscribed => "unsubscribed",
                SuppressionKind::Bounced => "bounced",
                SuppressionKind::Complained => "complained",
            };
            let mut e = json!({"type": "suppression", "source": "sendgrid", "email": email, "reason": reason});
            if let Some(id) = id {
                e["messageId"] = Json::String(format!("sendgrid-{id}"));
            }
            e
        })
        .collect();
    let shared2 = shared.clone();
    tokio::task::block_in_place(move || accept(&shared2, events))
}

/// Checks the call's size and shape; its events, each an object with a type and a user.
fn parse(
    config: &IntakeConfig,
    kind: &str,
    body: &[u8],
) -> Result<Vec<Json>, (StatusCode, String)> {
    let bad = |m: &str| Err((StatusCode::BAD_REQUEST, m.to_owned()));
    let batch = kind == "batch";
    if !batch
        && !matches!(
            kind,
            "identify" | "track" | "page" | "screen" | "group" | "alias"
        )
    {
        return Err((StatusCode::NOT_FOUND, format!("no endpoint /v1/{kind}")));
    }
    let limit = if batch {
        config.max_batch_bytes
    } else {
        config.max_event_bytes
    };
    if body.len() > limit {
        return bad(&format!("the call is larger than {limit} bytes"));
    }
    let Ok(Json::Object(mut call)) = serde_json::from_slice::<Json>(body) else {
        return bad("the body is not a JSON object");
    };
    let mut events = Vec::new();
    if batch {
        let Some(Json::Array(items)) = call.remove("batch") else {
            return bad("a batch call holds its events in `batch`, an array");
        };
        for (i, item) in items.into_iter().enumerate() {
            if serde_json::to_vec(&item).map_or(0, |v| v.len()) > config.max_event_bytes {
                return bad(&format!(
                    "batch[{i}] is larger than {} bytes",
                    config.max_event_bytes
                ));
            }
            let Json::Object(mut e) = item else {
                return bad(&format!("batch[{i}] is not an object"));
            };
            if !matches!(
                e.get("type").and_then(Json::as_str),
                Some("identify" | "track" | "page" | "screen" | "group" | "alias")
            ) {
                return bad(&format!("batch[{i}].type is missing or not an event type"));
            }
            // Context given once for the batch applies to each event.
            if let Some(ctx) = call.get("context")
                && !e.contains_key("context")
            {
                e.insert("context".to_owned(), ctx.clone());
            }
            events.push(Json::Object(e));
        }
    } else {
        call.insert("type".to_owned(), Json::String(kind.to_owned()));
        events.push(Json::Object(call));
    }
    for (i, e) in events.iter().enumerate() {
        if user_of(e).is_none() {
            return bad(&format!("event {i} has neither userId nor anonymousId"));
        }
        if e.get("type").and_then(Json::as_str) == Some("track")
            && !e.get("event").is_some_and(Json::is_string)
        {
            return bad(&format!(
                "event {i} is a track call without an `event` name"
            ));
        }
    }
    Ok(events)
}

/// Spools and queues the events that are new; 429 when the queue has no room for them.
fn accept(shared: &Shared, mut events: Vec<Json>) -> Response {
    let c = &shared.counters;
    let mut journal = lock(&shared.journal);
    let mut fresh = Vec::with_capacity(events.len());
    let mut in_call = HashSet::new();
    for mut e in events.drain(..) {
        let id = match e.get("messageId").and_then(Json::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                journal.generated += 1;
                let id = format!("mergetag-{}-{}", std::process::id(), journal.generated);
                e["messageId"] = Json::String(id.clone());
                id
            }
        };
        if journal.seen.set.contains(&id) || !in_call.insert(id) {
            c.duplicates.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if e.get("receivedAt").is_none() {
            e["receivedAt"] = Json::String(chrono::Utc::now().to_rfc3339());
        }
        fresh.push(e);
    }
    if fresh.is_empty() {
        return reply(StatusCode::OK, "");
    }
    let Ok(permits) = shared.queue.try_reserve_many(fresh.len()) else {
        c.throttled.fetch_add(1, Ordering::Relaxed);
        let mut r = reply(
            StatusCode::TOO_MANY_REQUESTS,
            "the intake is busy; retry later",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return r;
    };
    let mut lines = Vec::new();
    for e in &fresh {
        if serde_json::to_writer(&mut lines, e).is_err() {
            return reply(StatusCode::INTERNAL_SERVER_ERROR, "cannot write the event");
        }
        lines.push(b'\n');
    }
    if journal.file.write_all(&lines).is_err() || journal.file.sync_data().is_err() {
        // Nothing is acknowledged that is not on disk.
        let _ = &journal.path;
        return reply(StatusCode::SERVICE_UNAVAILABLE, "cannot write the spool");
    }
    for (e, permit) in fresh.into_iter().zip(permits) {
        if let Some(id) = e.get("messageId").and_then(Json::as_str) {
            journal.seen.insert(id);
        }
        permit.send(e);
        c.accepted.fetch_add(1, Ordering::Relaxed);
    }
    reply(StatusCode::OK, "")
}

/// Standard base64 with padding.
fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b"wk:"), "d2s6");
        assert_eq!(base64(b"abcd:"), "YWJjZDo=");
        assert_eq!(base64(b"ab:"), "YWI6");
        assert_eq!(base64(b"a:"), "YTo=");
    }
}
