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
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mergetag_dedup::index::MatchIndex;
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};

use crate::config::IntakeConfig;
use crate::error::{Error, Result};
use crate::esp::{
    Esp, KLAVIYO_SIGNATURE, KLAVIYO_TIMESTAMP, KLAVIYO_WEBHOOK_ID, MANDRILL_SIGNATURE,
    klaviyo_signature, mandrill_signature, read_webhook, same_secret,
};
use crate::live::{Live, user_of};
use crate::webhook::{SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP};

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
    /// ESP webhook events acknowledged but not recorded: they say nothing about suppression
    /// (deliveries, opens, profile updates) or name no address.
    pub ignored: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    unauthorized: AtomicU64,
    throttled: AtomicU64,
    recovered: AtomicU64,
    ignored: AtomicU64,
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
    rules: mergetag_mapping::SuppressionRules,
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
            .map(|k| {
                format!(
                    "Basic {}",
                    crate::webhook::base64_encode(format!("{k}:").as_bytes())
                )
            })
            .collect();
        let sendgrid_key = config
            .sendgrid_public_key
            .as_deref()
            .and_then(crate::webhook::verifying_key);
        let shared = Arc::new(Shared {
            config: config.clone(),
            sendgrid: sendgrid_key,
            rules: mergetag_mapping::SuppressionRules::default(),
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
        // The body-limit layer: no body is read past this, whatever its Content-Length says
        // (a body over it gets `413`); calls under it are checked against the exact limits
        // (a batch over max_batch_bytes: `400`).
        let limit =
            (config.max_batch_bytes.max(config.max_event_bytes) * 2).max(config.max_webhook_bytes);
        let app = Router::new()
            .route("/v1/{kind}", post(handle))
            .route(
                "/webhooks/{platform}",
                post(webhook).get(webhook_check).head(webhook_check),
            )
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
            ignored: c.ignored.load(Ordering::Relaxed),
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
    body: Result<Bytes, BytesRejection>,
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
    let body = match body {
        Ok(body) => body,
        Err(e) => return too_large(&shared, &e),
    };
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

/// A body the server would not read to its end: over the body-limit layer's limit (twice
/// `max_batch_bytes`, or `max_webhook_bytes` if larger), whatever its `Content-Length` says;
/// reading stops at the limit, so a huge body costs no more memory than that. `413` with a
/// JSON message (or the status of another failure to read the body).
fn too_large(shared: &Shared, e: &BytesRejection) -> Response {
    shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        reply(
            status,
            &format!(
                "the call is far larger than the limits ({} bytes per event, {} per batch); it was not read",
                shared.config.max_event_bytes, shared.config.max_batch_bytes
            ),
        )
    } else {
        reply(status, "the body could not be read")
    }
}

/// Answers the `GET` or `HEAD` an ESP sends to check that a webhook URL exists (Mailchimp,
/// Mandrill) with `200`; nothing is recorded.
async fn webhook_check(UrlPath(platform): UrlPath<String>) -> Response {
    match esp_named(&platform) {
        Some(_) => reply(StatusCode::OK, ""),
        None => reply(
            StatusCode::NOT_FOUND,
            &format!("no webhook /webhooks/{platform}"),
        ),
    }
}

fn esp_named(name: &str) -> Option<Esp> {
    [
        Esp::SendGrid,
        Esp::Mailchimp,
        Esp::Mandrill,
        Esp::Braze,
        Esp::Klaviyo,
    ]
    .into_iter()
    .find(|e| e.name() == name)
}

/// Whether the request is the platform's: its signature checks out (SendGrid, Mandrill,
/// Klaviyo) or it carries the configured secret as the `secret` query parameter (Mailchimp,
/// Braze, which sign nothing). `None` when the platform is not configured.
fn authentic(
    shared: &Shared,
    platform: Esp,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Option<bool> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let config = &shared.config;
    let query_secret = || {
        query.and_then(|q| {
            crate::esp::form_pairs(q.as_bytes())
                .into_iter()
                .find(|(k, _)| k == "secret")
                .map(|(_, v)| v)
        })
    };
    Some(match platform {
        Esp::SendGrid => {
            let key = shared.sendgrid.as_ref()?;
            match (header(SENDGRID_SIGNATURE), header(SENDGRID_TIMESTAMP)) {
                (Some(sig), Some(ts)) => crate::webhook::verify(key, sig, ts, body),
                _ => false,
            }
        }
        Esp::Mailchimp | Esp::Braze => {
            let secret = if platform == Esp::Mailchimp {
                config.mailchimp_secret.as_deref()?
            } else {
                config.braze_secret.as_deref()?
            };
            query_secret().is_some_and(|q| same_secret(&q, secret))
        }
        Esp::Mandrill => {
            let key = config.mandrill_webhook_key.as_deref()?;
            let url = config.mandrill_url.as_deref()?;
            let params = crate::esp::form_pairs(body);
            header(MANDRILL_SIGNATURE)
                .is_some_and(|sig| same_secret(sig.trim(), &mandrill_signature(key, url, &params)))
        }
        Esp::Klaviyo => {
            let secret = config.klaviyo_secret.as_deref()?;
            match (header(KLAVIYO_SIGNATURE), header(KLAVIYO_TIMESTAMP)) {
                (Some(sig), Some(ts)) => same_secret(
                    &sig.trim().to_ascii_lowercase(),
                    &klaviyo_signature(secret, body, ts),
                ),
                _ => false,
            }
        }
    })
}

/// An ESP's webhook (`POST /webhooks/{sendgrid,mailchimp,mandrill,braze,klaviyo}`): the
/// request is authenticated (a failure is `401` and records nothing), its events read into
/// Segment-shaped track events, and those the suppression rules classify (bounces,
/// complaints, unsubscribes) are spooled and applied like any event; the others are counted
/// as ignored.
async fn webhook(
    State(shared): State<Arc<Shared>>,
    UrlPath(platform): UrlPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let c = &shared.counters;
    let body = match body {
        Ok(body) => body,
        Err(e) => return too_large(&shared, &e),
    };
    let Some(esp) = esp_named(&platform) else {
        return reply(
            StatusCode::NOT_FOUND,
            &format!("no webhook /webhooks/{platform}"),
        );
    };
    match authentic(&shared, esp, &headers, query.as_deref(), &body) {
        None => {
            return reply(
                StatusCode::NOT_FOUND,
                &format!("the {} webhook is not configured", esp.name()),
            );
        }
        Some(false) => {
            c.unauthorized.fetch_add(1, Ordering::Relaxed);
            return reply(StatusCode::UNAUTHORIZED, "the signature does not check out");
        }
        Some(true) => {}
    }
    if body.len() > shared.config.max_webhook_bytes {
        c.rejected.fetch_add(1, Ordering::Relaxed);
        return reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the call is larger than {} bytes",
                shared.config.max_webhook_bytes
            ),
        );
    }
    if esp == Esp::Klaviyo {
        // The body names the webhook too; a mismatch with the header is refused.
        let named = serde_json::from_slice::<Json>(&body).ok().and_then(|b| {
            b.get("meta")?
                .get("klaviyo_webhook_id")?
                .as_str()
                .map(str::to_owned)
        });
        let header = headers
            .get(KLAVIYO_WEBHOOK_ID)
            .and_then(|v| v.to_str().ok());
        if let (Some(named), Some(header)) = (named, header)
            && named != header.trim()
        {
            c.unauthorized.fetch_add(1, Ordering::Relaxed);
            return reply(
                StatusCode::UNAUTHORIZED,
                "Klaviyo-Webhook-Id does not match meta.klaviyo_webhook_id",
            );
        }
    }
    let events = match read_webhook(esp, &body) {
        Ok(events) => events,
        Err(e) => {
            c.rejected.fetch_add(1, Ordering::Relaxed);
            return reply(StatusCode::BAD_REQUEST, &e.to_string());
        }
    };
    let (kept, ignored): (Vec<Json>, Vec<Json>) = events
        .into_iter()
        .partition(|e| crate::live::classify(&shared.rules, e).is_some());
    c.ignored.fetch_add(ignored.len() as u64, Ordering::Relaxed);
    let shared2 = shared.clone();
    tokio::task::block_in_place(move || accept(&shared2, kept))
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
        match e.get("type").and_then(Json::as_str) {
            Some("track") if !e.get("event").is_some_and(Json::is_string) => {
                return bad(&format!(
                    "event {i} is a track call without an `event` name"
                ));
            }
            Some("group") if e.get("groupId").and_then(crate::live::id_of).is_none() => {
                return bad(&format!("event {i} is a group call without a `groupId`"));
            }
            Some("alias")
                if ["previousId", "userId"].iter().any(|k| {
                    e.get(*k)
                        .and_then(Json::as_str)
                        .is_none_or(|v| v.trim().is_empty())
                }) =>
            {
                return bad(&format!(
                    "event {i} is an alias call without both `previousId` and `userId`"
                ));
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use crate::webhook::base64_encode as base64;

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b"wk:"), "d2s6");
        assert_eq!(base64(b"abcd:"), "YWJjZDo=");
        assert_eq!(base64(b"ab:"), "YWI6");
        assert_eq!(base64(b"a:"), "YTo=");
    }
}
