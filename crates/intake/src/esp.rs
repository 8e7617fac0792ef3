//! ESP webhook bodies turned into Segment-shaped track events, and the signatures that
//! authenticate them.
//!
//! Every platform's events become one shape, spooled like any other event and read back by a
//! pipeline as an `events` source: `{"type": "track", "event": <the platform's event name>,
//! "properties": <the platform's event, as it came>, "context": {"traits": {"email": ...},
//! "library": {"name": <platform>}}, "timestamp": ..., "messageId": <platform>-<event id>}`.
//! The event name is what `mergetag_mapping::builtin_rules` classifies (a Mailchimp
//! `cleaned`, a Mandrill `hard_bounce`, a Braze `users.messages.email.Bounce`, a Klaviyo
//! `Bounced Email`), so the intake and a later pipeline run read the same signal from it.

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value as Json, json};

/// The header holding Mailchimp Transactional's (Mandrill's) signature: base64
/// HMAC-SHA1 over the webhook URL followed by each POST parameter's name and value, sorted
/// by name.
pub const MANDRILL_SIGNATURE: &str = "x-mandrill-signature";
/// The header holding Klaviyo's signature: hex HMAC-SHA256 over the raw body followed by
/// the `Klaviyo-Timestamp` header's value.
pub const KLAVIYO_SIGNATURE: &str = "klaviyo-signature";
/// The header holding the timestamp Klaviyo signed.
pub const KLAVIYO_TIMESTAMP: &str = "klaviyo-timestamp";
/// The header naming the Klaviyo webhook; it must match the body's `meta.klaviyo_webhook_id`.
pub const KLAVIYO_WEBHOOK_ID: &str = "klaviyo-webhook-id";

/// An email platform whose webhooks the intake reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Esp {
    /// SendGrid's event webhook: a JSON array of events (`event`, `email`, `sg_event_id`,
    /// `timestamp`), signed with ECDSA.
    SendGrid,
    /// Mailchimp (Marketing) audience webhooks: one form-encoded event (`type`, `fired_at`,
    /// `data[email]`, `data[reason]`, ...), authenticated by a secret in the URL.
    Mailchimp,
    /// Mailchimp Transactional (Mandrill): a form-encoded `mandrill_events` parameter holding
    /// a JSON array of events (`event`, `_id`, `ts`, `msg.email`), signed with HMAC-SHA1.
    Mandrill,
    /// Braze Currents message engagement events: a JSON array (or one object) of events
    /// (`event_type`, `id`, `time`, `email_address`, `external_user_id`), authenticated by a
    /// secret in the URL.
    Braze,
    /// Klaviyo system webhooks: `{"data": [{"topic", "external_id", "payload"}], "meta"}`,
    /// signed with HMAC-SHA256.
    Klaviyo,
}

impl Esp {
    /// The platform's name, as in the intake's URLs (`/webhooks/<name>`) and `messageId`s.
    pub fn name(self) -> &'static str {
        match self {
            Esp::SendGrid => "sendgrid",
            Esp::Mailchimp => "mailchimp",
            Esp::Mandrill => "mandrill",
            Esp::Braze => "braze",
            Esp::Klaviyo => "klaviyo",
        }
    }
}

/// Why a webhook body could not be read: the platform, where in the body, and what was
/// expected. Never holds a value from the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} webhook: {position}: {expected}", platform.name())]
#[non_exhaustive]
pub struct WebhookError {
    /// The platform.
    pub platform: Esp,
    /// Where in the body (`body`, `mandrill_events`, `data[3]`).
    pub position: String,
    /// What was expected there.
    pub expected: &'static str,
}

fn error(platform: Esp, position: impl Into<String>, expected: &'static str) -> WebhookError {
    WebhookError {
        platform,
        position: position.into(),
        expected,
    }
}

/// Reads a webhook body of `platform` into Segment-shaped track events (see the module
/// docs), one per platform event that names an address; events without one (Mandrill's sync
/// events, a Klaviyo event without its profile) are left out. Whether an event says
/// anything about suppression is for the rules to decide.
///
/// # Errors
///
/// [`WebhookError`] when the body is not the platform's shape (not JSON, not form-encoded,
/// no `mandrill_events`, no `data` array).
pub fn read_webhook(platform: Esp, body: &[u8]) -> Result<Vec<Json>, WebhookError> {
    match platform {
        Esp::SendGrid => json_events(platform, body, |e| {
            Some(Spooled {
                name: e.get("event")?.as_str()?,
                email: e.get("email")?.as_str()?,
                id: e.get("sg_event_id").and_then(id_text),
                at: e.get("timestamp").and_then(unix_time),
                user: None,
            })
        }),
        Esp::Braze => json_events(platform, body, |e| {
            Some(Spooled {
                name: e.get("event_type")?.as_str()?,
                email: e.get("email_address")?.as_str()?,
                id: e.get("id").and_then(id_text),
                at: e.get("time").and_then(unix_time),
                user: e.get("external_user_id").and_then(Json::as_str),
            })
        }),
        Esp::Mandrill => {
            let events = form_pairs(body)
                .into_iter()
                .find(|(k, _)| k == "mandrill_events")
                .ok_or_else(|| error(platform, "body", "a form parameter `mandrill_events`"))?
                .1;
            json_events(platform, events.as_bytes(), |e| {
                Some(Spooled {
                    name: e.get("event")?.as_str()?,
                    email: e.get("msg")?.get("email")?.as_str()?,
                    id: e.get("_id").and_then(id_text),
                    at: e.get("ts").and_then(unix_time),
                    user: None,
                })
            })
        }
        Esp::Mailchimp => mailchimp(body).map(|e| e.into_iter().collect()),
        Esp::Klaviyo => klaviyo(body),
    }
}

/// What one platform event gives.
struct Spooled<'a> {
    name: &'a str,
    email: &'a str,
    id: Option<String>,
    at: Option<DateTime<Utc>>,
    user: Option<&'a str>,
}

impl Spooled<'_> {
    fn into_json(self, platform: Esp, properties: Json) -> Option<Json> {
        let (name, email) = (self.name.trim(), self.email.trim());
        if name.is_empty() || email.is_empty() {
            return None;
        }
        let mut e = json!({
            "type": "track",
            "event": name,
            "properties": properties,
            "context": {"traits": {"email": email}, "library": {"name": platform.name()}},
        });
        if let Some(id) = self.id.filter(|i| !i.trim().is_empty()) {
            e["messageId"] = Json::String(format!("{}-{}", platform.name(), id.trim()));
        }
        if let Some(at) = self.at {
            e["timestamp"] = Json::String(at.to_rfc3339());
        }
        if let Some(user) = self.user.map(str::trim).filter(|u| !u.is_empty()) {
            e["userId"] = Json::String(user.to_owned());
        }
        Some(e)
    }
}

/// A JSON array of event objects (or one object) read with `read`.
fn json_events(
    platform: Esp,
    body: &[u8],
    read: impl for<'a> Fn(&'a Map<String, Json>) -> Option<Spooled<'a>>,
) -> Result<Vec<Json>, WebhookError> {
    let parsed: Json = serde_json::from_slice(body)
        .map_err(|_| error(platform, "body", "a JSON array of events"))?;
    let items = match parsed {
        Json::Array(items) => items,
        o @ Json::Object(_) => vec![o],
        _ => return Err(error(platform, "body", "a JSON array of events")),
    };
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let Json::Object(o) = item else { return None };
            let spooled = read(&o)?;
            let (name, email, id, at, user) = (
                spooled.name.to_owned(),
                spooled.email.to_owned(),
                spooled.id,
                spooled.at,
                spooled.user.map(str::to_owned),
            );
            Spooled {
                name: &name,
                email: &email,
                id,
                at,
                user: user.as_deref(),
            }
            .into_json(platform, Json::Object(o))
        })
        .collect())
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Mailchimp: one form-encoded event; `data[merges][EMAIL]` nests as
/// `{"data": {"merges": {"EMAIL": ...}}}`. The address is `data[email]`, or `data[new_email]`
/// for an address change (`upemail`). Mailchimp sends no event id: the `messageId` is made of
/// the type, the list, a hash of the address and `fired_at`, so a repeated delivery is
/// deduplicated.
fn mailchimp(body: &[u8]) -> Result<Option<Json>, WebhookError> {
    let platform = Esp::Mailchimp;
    let pairs = form_pairs(body);
    if pairs.is_empty() {
        return Err(error(platform, "body", "a form-encoded Mailchimp event"));
    }
    let mut root = Map::new();
    for (key, value) in &pairs {
        insert_nested(&mut root, key, value);
    }
    let text = |o: &Map<String, Json>, k: &str| o.get(k).and_then(Json::as_str).map(str::to_owned);
    let Some(name) = text(&root, "type").filter(|t| !t.trim().is_empty()) else {
        return Err(error(platform, "type", "the event type"));
    };
    let data = root.get("data").and_then(Json::as_object);
    let email = data.and_then(|d| text(d, "email").or_else(|| text(d, "new_email")));
    let Some(email) = email else { return Ok(None) };
    let fired_at = text(&root, "fired_at");
    let at = fired_at
        .as_deref()
        .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%d %H:%M:%S").ok())
        .map(|t| t.and_utc());
    let list = data.and_then(|d| text(d, "list_id")).unwrap_or_default();
    // The address enters the id only as a hash: ids show up in logs.
    let id = format!(
        "{name}-{list}-{:016x}-{}",
        fnv1a(email.trim().to_lowercase().as_bytes()),
        fired_at.unwrap_or_default()
    );
    Ok(Spooled {
        name: &name,
        email: &email,
        id: Some(id),
        at,
        user: None,
    }
    .into_json(platform, Json::Object(root)))
}

/// Klaviyo: `data[]` items with a `topic` (`event:klaviyo.bounced_email`), an
/// `external_id` and a `payload` shaped like the Get Event API's answer. The event name is
/// the topic's metric (`bounced_email` read as `bounced email`, which the rules compare
/// case-insensitively with `Bounced Email`); the address is the included profile's
/// `attributes.email`; the time is the event's `attributes.datetime`.
fn klaviyo(body: &[u8]) -> Result<Vec<Json>, WebhookError> {
    let platform = Esp::Klaviyo;
    let parsed: Json = serde_json::from_slice(body)
        .map_err(|_| error(platform, "body", "a JSON object with a `data` array"))?;
    let Some(items) = parsed.get("data").and_then(Json::as_array) else {
        return Err(error(platform, "data", "an array of webhook events"));
    };
    Ok(items
        .iter()
        .filter_map(|item| {
            let topic = item.get("topic")?.as_str()?;
            let metric = topic.rsplit_once('.').map_or(topic, |(_, m)| m);
            let name = metric.replace('_', " ");
            let payload = item.get("payload")?;
            let email = payload
                .get("included")
                .and_then(Json::as_array)?
                .iter()
                .filter(|i| i.get("type").and_then(Json::as_str) == Some("profile"))
                .find_map(|i| i.get("attributes")?.get("email")?.as_str())?;
            let attributes = payload.get("data").and_then(|d| d.get("attributes"));
            let at = attributes
                .and_then(|a| a.get("datetime"))
                .and_then(Json::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .map(|t| t.with_timezone(&Utc));
            let properties = attributes
                .and_then(|a| a.get("event_properties"))
                .cloned()
                .filter(Json::is_object)
                .unwrap_or_else(|| json!({}));
            Spooled {
                name: &name,
                email,
                id: item.get("external_id").and_then(id_text),
                at,
                user: None,
            }
            .into_json(platform, properties)
        })
        .collect())
}

/// `a[b][c]=v` into `{"a": {"b": {"c": "v"}}}`; a key that is not of that form is taken
/// whole. At most 8 levels; a later value replaces an earlier one.
fn insert_nested(root: &mut Map<String, Json>, key: &str, value: &str) {
    let mut path: Vec<&str> = Vec::new();
    match key.split_once('[') {
        Some((head, rest)) if !head.is_empty() && rest.ends_with(']') => {
            path.push(head);
            let inner = &rest[..rest.len() - 1];
            path.extend(inner.split("]["));
        }
        _ => path.push(key),
    }
    if path.len() > 8 || path.iter().any(|p| p.contains(['[', ']'])) {
        path = vec![key];
    }
    let mut node = root;
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    for p in parents {
        let entry = node
            .entry((*p).to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        let Json::Object(next) = entry else {
            return;
        };
        node = next;
    }
    node.insert((*last).to_owned(), Json::String(value.to_owned()));
}

/// The form's parameters, in order.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn id_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn unix_time(v: &Json) -> Option<DateTime<Utc>> {
    let secs = match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Json::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    DateTime::from_timestamp(secs, 0)
}

/// Mandrill's signature of a request to `url` with these POST parameters: base64
/// HMAC-SHA1, keyed by the webhook key, over the URL followed by each parameter's name and
/// value, sorted by name.
pub fn mandrill_signature(key: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    crate::webhook::base64_encode(&mac.finalize().into_bytes())
}

/// Klaviyo's signature: hex HMAC-SHA256, keyed by the webhook's secret, over the raw body
/// followed by the `Klaviyo-Timestamp` header's value.
pub fn klaviyo_signature(secret: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keys_nest() {
        let mut root = Map::new();
        insert_nested(&mut root, "data[merges][EMAIL]", "a@b.c");
        insert_nested(&mut root, "data[email]", "a@b.c");
        insert_nested(&mut root, "type", "cleaned");
        insert_nested(&mut root, "x[", "1");
        insert_nested(&mut root, "data", "flat");
        insert_nested(&mut root, "data[reason]", "hard");
        assert_eq!(
            Json::Object(root),
            json!({"data": {"reason": "hard"}, "type": "cleaned", "x[": "1"})
        );
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn klaviyo_signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            klaviyo_signature("Jefe", b"what do ya want ", "for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn mandrill_signature_is_base64_hmac_sha1() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let params = vec![("for".to_owned(), " nothing?".to_owned())];
        assert_eq!(
            mandrill_signature("Jefe", "what do ya want ", &params),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }
}
