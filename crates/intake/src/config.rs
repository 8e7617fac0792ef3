//! [`IntakeConfig`]: where the intake listens, who may write, its limits and its spool.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Segment's limit on one call (and on each event of a batch): 32 KB.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Segment's limit on one batch call: 500 KB.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// The intake's configuration. TOML or JSON; unknown keys are errors.
///
/// ```
/// use mergetag_intake::IntakeConfig;
///
/// let config = IntakeConfig::from_toml_str(r#"
///     listen = "127.0.0.1:8088"
///     write_keys = ["wk_live_1"]
///     spool = "spool/events.jsonl"
///     queue = 10000
/// "#)?;
/// assert_eq!(config.max_event_bytes, 32 * 1024);
/// # Ok::<(), mergetag_intake::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IntakeConfig {
    /// The address to listen on (default `127.0.0.1:8088`; port 0 picks a free one).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The write keys accepted as the HTTP Basic user name (the password is empty).
    #[serde(default)]
    pub write_keys: Vec<String>,
    /// The append-only spool of accepted events (JSON Lines, Segment's format), written and
    /// synced before an event is acknowledged.
    pub spool: PathBuf,
    /// Events waiting to be applied before calls are refused with `429` (default 10000).
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// The largest call or batched event, in bytes (default 32 KB).
    #[serde(default = "default_event")]
    pub max_event_bytes: usize,
    /// The largest batch call, in bytes (default 500 KB).
    #[serde(default = "default_batch")]
    pub max_batch_bytes: usize,
    /// `messageId`s remembered for deduplication (default 1000000; the oldest are forgotten).
    #[serde(default = "default_dedup")]
    pub dedup_window: usize,
    /// SendGrid's event-webhook verification key (base64 DER, as SendGrid shows it): with
    /// it, `POST /webhooks/sendgrid` accepts events whose ECDSA signature checks out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sendgrid_public_key: Option<String>,
    /// The secret Mailchimp's webhook URL carries as its `secret` query parameter
    /// (`https://.../webhooks/mailchimp?secret=...`): Mailchimp signs nothing, so an
    /// unguessable URL is its authentication. With it, `POST /webhooks/mailchimp` is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailchimp_secret: Option<String>,
    /// Mailchimp Transactional's (Mandrill's) webhook key: with it and `mandrill_url`,
    /// `POST /webhooks/mandrill` accepts events whose `X-Mandrill-Signature` checks out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandrill_webhook_key: Option<String>,
    /// The webhook URL exactly as entered in Mandrill (it is part of what Mandrill signs, and
    /// behind a proxy the intake cannot know it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandrill_url: Option<String>,
    /// The secret Braze Currents' endpoint URL carries as its `secret` query parameter; with
    /// it, `POST /webhooks/braze` is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braze_secret: Option<String>,
    /// Klaviyo's webhook secret: with it, `POST /webhooks/klaviyo` accepts events whose
    /// `Klaviyo-Signature` checks out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klaviyo_secret: Option<String>,
    /// The largest ESP webhook call, in bytes (default 1 MiB): larger calls get `413`.
    #[serde(default = "default_webhook")]
    pub max_webhook_bytes: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8088))
}
fn default_queue() -> usize {
    10_000
}
fn default_event() -> usize {
    MAX_EVENT_BYTES
}
fn default_batch() -> usize {
    MAX_BATCH_BYTES
}
fn default_webhook() -> usize {
    1 << 20
}
fn default_dedup() -> usize {
    1_000_000
}

impl IntakeConfig {
    /// A configuration listening on `listen`, accepting `write_keys`, spooling to `spool`,
    /// everything else at its default.
    pub fn new(listen: SocketAddr, write_keys: Vec<String>, spool: impl Into<PathBuf>) -> Self {
        IntakeConfig {
            listen,
            write_keys,
            spool: spool.into(),
            queue: default_queue(),
            max_event_bytes: default_event(),
            max_batch_bytes: default_batch(),
            dedup_window: default_dedup(),
            sendgrid_public_key: None,
            mailchimp_secret: None,
            mandrill_webhook_key: None,
            mandrill_url: None,
            braze_secret: None,
            klaviyo_secret: None,
            max_webhook_bytes: default_webhook(),
        }
    }

    /// Parses and checks a TOML configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key.
    pub fn from_toml_str(text: &str) -> Result<IntakeConfig> {
        let c: IntakeConfig = toml::from_str(text).map_err(|e| Error::invalid("", e.message()))?;
        c.check()?;
        Ok(c)
    }

    /// Parses and checks a JSON configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key.
    pub fn from_json_str(text: &str) -> Result<IntakeConfig> {
        let c: IntakeConfig =
            serde_json::from_str(text).map_err(|e| Error::invalid("", e.to_string()))?;
        c.check()?;
        Ok(c)
    }

    /// Checks the values.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key and how to fix it.
    pub fn check(&self) -> Result<()> {
        if self.write_keys.is_empty()
            || self
                .write_keys
                .iter()
                .any(|k| k.trim().is_empty() || k.contains(':'))
        {
            return Err(Error::invalid(
                "write_keys",
                "list at least one write key, none empty or with a colon",
            ));
        }
        if self.spool.as_os_str().is_empty() {
            return Err(Error::invalid("spool", "name the spool file"));
        }
        if self.queue == 0 || self.dedup_window == 0 {
            return Err(Error::invalid(
                "queue",
                "the queue and dedup_window hold at least 1",
            ));
        }
        if self.max_event_bytes == 0 || self.max_batch_bytes < self.max_event_bytes {
            return Err(Error::invalid(
                "max_batch_bytes",
                "a batch must be able to hold at least one event of max_event_bytes",
            ));
        }
        if let Some(key) = &self.sendgrid_public_key
            && crate::webhook::verifying_key(key).is_none()
        {
            return Err(Error::invalid(
                "sendgrid_public_key",
                "not a base64 DER P-256 public key; copy the verification key from SendGrid's event webhook settings",
            ));
        }
        for (key, value) in [
            ("mailchimp_secret", &self.mailchimp_secret),
            ("mandrill_webhook_key", &self.mandrill_webhook_key),
            ("braze_secret", &self.braze_secret),
            ("klaviyo_secret", &self.klaviyo_secret),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().len() < 16) {
                return Err(Error::invalid(
                    key,
                    "a webhook secret has at least 16 characters; generate a long random one",
                ));
            }
        }
        if self.mandrill_webhook_key.is_some() != self.mandrill_url.is_some() {
            return Err(Error::invalid(
                "mandrill_url",
                "set mandrill_webhook_key and mandrill_url together: Mandrill signs the URL as entered in its settings",
            ));
        }
        if self.max_webhook_bytes == 0 || self.max_webhook_bytes > 64 << 20 {
            return Err(Error::invalid(
                "max_webhook_bytes",
                "between 1 byte and 64 MiB",
            ));
        }
        if self.max_batch_bytes > 64 << 20 {
            return Err(Error::invalid("max_batch_bytes", "at most 64 MiB"));
        }
        Ok(())
    }
}
