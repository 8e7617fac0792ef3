//! A Segment-compatible HTTP event intake for mergetag: [`IntakeServer`] accepts
//! `identify`, `track`, `page` and `batch` calls as Segment's HTTP tracking API does (HTTP
//! Basic auth with a write key, 32 KB per event, 500 KB per batch, `messageId`
//! deduplication), writes each accepted event to an append-only spool and syncs it before
//! answering `200`, and applies events live: an identify call goes through the incremental
//! [`MatchIndex`](mergetag_dedup::index::MatchIndex), so a sign-up resolves to a profile
//! within milliseconds and the merge log records it; track and page calls update engagement.
//! A full queue answers `429` with `Retry-After`. ESP webhooks turn bounces, complaints and
//! unsubscribes into suppressions (`POST /webhooks/<platform>`): SendGrid (ECDSA signature),
//! Mailchimp (form-encoded, a secret in the URL), Mailchimp Transactional / Mandrill
//! (`mandrill_events`, HMAC-SHA1 signature), Braze Currents (a secret in the URL) and Klaviyo
//! system webhooks (HMAC-SHA256 signature); a request that fails its check gets `401` and
//! records nothing. Each platform event is classified by `mergetag_mapping`'s suppression
//! rules: a hard bounce suppresses the mailbox, a complaint or an unsubscribe the person, and
//! soft bounces are counted until the threshold ([`Live::suppressed`], [`Live::soft_bounces`]).
//!
//! Limits, exactly: a call (or an event of a batch) of 32 KB (32768 bytes) is accepted and one
//! byte more is `400`; a batch of 500 KB (512000 bytes) is accepted and one byte more is
//! `400`; each with a JSON body `{"success": false, "message": "the call is larger than 32768
//! bytes"}`. A body far over the limits (over twice `max_batch_bytes`, 1000 KB by default, or
//! `max_webhook_bytes` if larger) is not read past that point, whatever its `Content-Length`
//! says: `413` with a JSON message, so a huge body costs at most that much memory.
//!
//! The spool is JSON Lines in Segment's format, so a pipeline reads it back as an `events`
//! source.
//!
//! ```no_run
//! use mergetag_dedup::DedupConfig;
//! use mergetag_dedup::index::MatchIndex;
//! use mergetag_intake::{IntakeConfig, IntakeServer};
//!
//! # let (deduper, model) = { let d = DedupConfig::contacts().build()?; let m = d.run(&[]).model; (d, m) };
//! let index = MatchIndex::new(&deduper, &model)?; // or one built from existing profiles
//! let config = IntakeConfig::new("127.0.0.1:8088".parse()?, vec!["wk_live_1".into()], "spool/events.jsonl");
//! let server = IntakeServer::start(config, index)?;
//! // curl -u wk_live_1: -d '{"userId":"u1","traits":{"email":"ada@example.com"}}' http://127.0.0.1:8088/v1/identify
//! let profile = server.with_live(|live| live.profile_of("u1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod esp;
mod live;
mod server;
mod webhook;

pub use crate::config::{IntakeConfig, MAX_BATCH_BYTES, MAX_EVENT_BYTES};
pub use crate::error::{Error, Result};
pub use crate::esp::{
    Esp, KLAVIYO_SIGNATURE, KLAVIYO_TIMESTAMP, KLAVIYO_WEBHOOK_ID, MANDRILL_SIGNATURE,
    WebhookError, klaviyo_signature, mandrill_signature, read_webhook,
};
pub use crate::live::{Engagement, Live, SOURCE_NAME, Suppressed};
pub use crate::server::{IntakeServer, IntakeStats};
pub use crate::webhook::{SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, SuppressionKind};
pub use mergetag_mapping::Scope;
