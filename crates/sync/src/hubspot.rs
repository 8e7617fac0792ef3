//! A HubSpot-style contacts source: the CRM v3 objects API, cursor paging, and incremental
//! sync by `lastmodifieddate` through the search API.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use mergetag_model::Value;
use mergetag_sources::{ColumnMap, SourceConfig, SourceKind};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};
use crate::fetch::{FetchPolicy, Fetcher, PageRequest};
use crate::paged::{Page, PagedSource, Pager};

/// HubSpot's API.
pub const HUBSPOT_API: &str = "https://api.hubapi.com";

/// The contact properties asked for by default: those the `hubspot_contacts` preset maps.
pub const DEFAULT_PROPERTIES: &[&str] = &[
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "company",
    "date_of_birth",
    "hs_email_optout",
    "lifecyclestage",
    "createdate",
    "lastmodifieddate",
];

/// The most results HubSpot's search API pages through for one query.
pub const SEARCH_CAP: u64 = 10_000;

/// The paging of HubSpot's contacts: `GET /crm/v3/objects/contacts?limit=&properties=&after=`
/// for a full sync, `POST /crm/v3/objects/contacts/search` filtered on `lastmodifieddate`
/// (ascending) for an incremental one; both answer `{"results": [...], "paging": {"next":
/// {"after": "..."}}}`. Each contact becomes the columns `hs_object_id` (its `id`), its
/// properties by name, `updatedAt` and `archived`, which the `hubspot_contacts` preset maps.
///
/// # Incremental sync: the watermark
///
/// The search asks for `lastmodifieddate > since` (strictly: a contact modified exactly at
/// the watermark is not read again). So that no contact is skipped when several share a
/// modification time, the [watermark](HubspotContacts::watermark) only moves past a time once
/// every contact modified then has been read: after a complete run it is the latest
/// `updatedAt` read; after a run cut short (a spent budget, an error) it is the latest time
/// *before* the last one read, so the next run reads the contacts of that last time again (at
/// most those; a pipeline deduplicates them by id).
///
/// # The search cap
///
/// HubSpot's search pages through at most 10,000 results per query ([`SEARCH_CAP`]). When
/// the next page would pass it, the pager starts a new query from the last modification time
/// read (`lastmodifieddate >= t`, ascending), leaving out the contacts already read at `t`
/// (by id), so a sync of any size reads each contact once. More than 10,000 contacts modified
/// in the same millisecond cannot be paged through and end the run with an error.
#[derive(Debug, Clone)]
pub struct HubspotContacts {
    base: String,
    properties: Vec<String>,
    page_size: u32,
    since: Option<DateTime<Utc>>,
    search_cap: u64,
    /// The latest `updatedAt` read.
    max_seen: Option<DateTime<Utc>>,
    /// Search (ascending): the time of the last contact read, the ids read at that time, and
    /// the latest time before it (every contact up to it has been read).
    last_seen: Option<DateTime<Utc>>,
    at_last: BTreeSet<String>,
    complete: Option<DateTime<Utc>>,
    /// The current query's lower bound when it was restarted at the cap (`>=`, millis).
    window: Cell<Option<i64>>,
    /// Results the current query has given.
    window_read: Cell<u64>,
    /// Whether the last page has been fetched.
    finished: Cell<bool>,
}

/// A cursor that starts (`restart:<millis>:`) or goes on with (`restart:<millis>:<after>`) a
/// query restarted at the search cap.
const RESTART: &str = "restart:";

fn parse_cursor(cursor: Option<&str>) -> (Option<i64>, Option<&str>) {
    match cursor.and_then(|c| c.strip_prefix(RESTART)) {
        Some(rest) => {
            let (millis, after) = rest.split_once(':').unwrap_or((rest, ""));
            (millis.parse().ok(), Some(after).filter(|a| !a.is_empty()))
        }
        None => (None, cursor),
    }
}

impl HubspotContacts {
    /// Contacts at `base_url` (such as [`HUBSPOT_API`]), full sync, 100 a page, the
    /// [`DEFAULT_PROPERTIES`].
    pub fn new(base_url: &str) -> HubspotContacts {
        HubspotContacts {
            base: base_url.trim_end_matches('/').to_owned(),
            properties: DEFAULT_PROPERTIES.iter().map(|p| (*p).to_owned()).collect(),
            page_size: 100,
            since: None,
            search_cap: SEARCH_CAP,
            max_seen: None,
            last_seen: None,
            at_last: BTreeSet::new(),
            complete: None,
            window: Cell::new(None),
            window_read: Cell::new(0),
            finished: Cell::new(false),
        }
    }

    /// The most results one search query pages through (default [`SEARCH_CAP`], HubSpot's;
    /// at least one page).
    pub fn search_cap(mut self, n: u64) -> HubspotContacts {
        self.search_cap = n.max(u64::from(self.page_size));
        self
    }

    /// The properties to ask for.
    pub fn properties(mut self, properties: Vec<String>) -> HubspotContacts {
        self.properties = properties;
        self
    }

    /// Contacts per page (HubSpot allows up to 100; at least 1).
    pub fn page_size(mut self, n: u32) -> HubspotContacts {
        self.page_size = n.max(1);
        self
    }

    /// Syncs incrementally: only contacts modified after `since`.
    pub fn since(mut self, since: DateTime<Utc>) -> HubspotContacts {
        self.since = Some(since);
        self
    }

    /// Where the next incremental run starts: pass it to [`HubspotContacts::since`]. After a
    /// complete run, the latest `updatedAt` read; after a run cut short, the latest time all
    /// of whose contacts were read (see [the type's docs](HubspotContacts)); the `since`
    /// given when nothing more is known.
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        if self.finished.get() {
            self.max_seen.or(self.since)
        } else if self.since.is_some() {
            self.complete.or(self.since)
        } else {
            // A full sync reads in id order: only a complete run says anything.
            None
        }
    }
}

#[derive(Deserialize)]
struct Body {
    results: Vec<Json>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<Next>,
}

#[derive(Deserialize)]
struct Next {
    after: Json,
}

impl Pager for HubspotContacts {
    fn request(&self, cursor: Option<&str>) -> PageRequest {
        let (restart, cursor) = parse_cursor(cursor);
        self.window.set(restart);
        if cursor.is_none() {
            self.window_read.set(0);
        }
        match self.since {
            None => {
                let mut url = format!(
                    "{}/crm/v3/objects/contacts?limit={}&archived=false&properties={}",
                    self.base,
                    self.page_size,
                    encode(&self.properties.join(","))
                );
                if let Some(c) = cursor {
                    url.push_str("&after=");
                    url.push_str(&encode(c));
                }
                PageRequest::get(url)
            }
            Some(since) => {
                let (operator, from) = match restart {
                    Some(millis) => ("GTE", millis),
                    None => ("GT", since.timestamp_millis()),
                };
                let mut body = json!({
                    "filterGroups": [{"filters": [{
                        "propertyName": "lastmodifieddate",
                        "operator": operator,
                        "value": from.to_string(),
                    }]}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": self.properties,
                    "limit": self.page_size,
                });
                if let Some(c) = cursor {
                    body["after"] = Json::String(c.to_owned());
                }
                PageRequest::post(
                    format!("{}/crm/v3/objects/contacts/search", self.base),
                    body,
                )
            }
        }
    }

    fn parse(&self, body: &[u8]) -> Result<Page, String> {
        let b: Body = serde_json::from_slice(body).map_err(|e| {
            format!(
                "invalid JSON at line {} column {} ({})",
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Eof => "cut short",
                    serde_json::error::Category::Data => "not a page of results",
                    _ => "syntax error",
                }
            )
        })?;
        let next = b.paging.and_then(|p| p.next).and_then(|n| match n.after {
            Json::String(s) if !s.is_empty() => Some(s),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let mut items = b.results;
        if self.since.is_none() {
            self.finished.set(next.is_none());
            return Ok(Page { items, next });
        }
        self.window_read
            .set(self.window_read.get() + items.len() as u64);
        // A restarted query repeats the contacts already read at its first time: leave
        // them out.
        let window = self.window.get();
        if let Some(from) = window {
            items.retain(|item| {
                !(updated_at(item).is_some_and(|t| t.timestamp_millis() == from)
                    && item
                        .get("id")
                        .and_then(id_text)
                        .is_some_and(|id| self.at_last.contains(&id)))
            });
        }
        let next = match next {
            Some(after) if self.window_read.get() + u64::from(self.page_size) > self.search_cap => {
                // The next page would pass the cap: a new query from the last time read.
                let last = items
                    .iter()
                    .filter_map(updated_at)
                    .max()
                    .into_iter()
                    .chain(self.last_seen)
                    .max();
                let Some(last) = last else {
                    return Err("a search page at the cap holds no updatedAt".to_owned());
                };
                let from = last.timestamp_millis();
                if window == Some(from) {
                    let _ = after;
                    return Err(format!(
                        "more than {} contacts were modified at {}: the search cannot page past them",
                        self.search_cap,
                        last.to_rfc3339()
                    ));
                }
                Some(format!("{RESTART}{from}:"))
            }
            Some(after) => Some(match window {
                Some(from) => format!("{RESTART}{from}:{after}"),
                None => after,
            }),
            None => None,
        };
        self.finished.set(next.is_none());
        Ok(Page { items, next })
    }

    fn row(&mut self, item: serde_json::Map<String, Json>, out: &mut Vec<(String, Value)>) {
        let id = item.get("id").and_then(id_text);
        for (k, v) in item {
            match (k.as_str(), v) {
                ("id", v) => out.push(("hs_object_id".to_owned(), Value::from(v))),
                ("properties", Json::Object(props)) => {
                    for (p, v) in props {
                        // The id is also a property; the item's own id wins.
                        if p != "hs_object_id" {
                            out.push((p, Value::from(v)));
                        }
                    }
                }
                ("updatedAt", Json::String(s)) => {
                    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
                        let t = t.with_timezone(&Utc);
                        if self.max_seen.is_none_or(|w| t > w) {
                            self.max_seen = Some(t);
                        }
                        // Ascending (search): a later time completes the one before it.
                        if self.last_seen.is_none_or(|l| t > l) {
                            self.complete = self.last_seen.or(self.complete);
                            self.last_seen = Some(t);
                            self.at_last.clear();
                        }
                        if self.last_seen == Some(t)
                            && let Some(id) = &id
                        {
                            self.at_last.insert(id.clone());
                        }
                    }
                    out.push((k, Value::Text(s)));
                }
                (_, v) => out.push((k, Value::from(v))),
            }
        }
    }
}

fn updated_at(item: &Json) -> Option<DateTime<Utc>> {
    item.get("updatedAt")
        .and_then(Json::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn id_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Percent-encodes a query value (everything but unreserved characters and commas).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A HubSpot-style contacts source.
pub type HubspotSource = PagedSource<HubspotContacts>;

/// The `[sources.settings]` table of a `kind = "hubspot"` source. Unknown keys are errors.
///
/// ```toml
/// [[sources]]
/// name = "hubspot"
/// kind = "hubspot"
/// preset = "hubspot_contacts"          # the default column map for this kind
/// [sources.settings]
/// base_url = "https://api.hubapi.com"  # the default
/// token_env = "HUBSPOT_TOKEN"          # a private app's token, sent as a bearer token
/// properties = ["email", "firstname"]  # default: the properties the preset maps
/// page_size = 100                      # default 100
/// since = "2026-01-01T00:00:00Z"       # incremental: contacts modified after this
/// requests_per_second = 10             # and the other keys of FetchPolicy
/// max_requests = 10000
/// ```
///
/// ```
/// use mergetag_sources::SourceConfig;
/// use mergetag_sync::HubspotSettings;
///
/// let config = SourceConfig::from_toml_str(r#"
///     name = "hubspot"
///     kind = "hubspot"
///     [settings]
///     base_url = "http://127.0.0.1:9"
///     page_size = 50
///     max_attempts = 4
/// "#)?;
/// let settings = HubspotSettings::from_source_config(&config)?;
/// assert_eq!(settings.page_size, 50);
/// assert_eq!(settings.fetch.max_attempts, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HubspotSettings {
    /// The API's base URL (default [`HUBSPOT_API`]).
    #[serde(default = "default_base")]
    pub base_url: String,
    /// The environment variable holding the bearer token (none: no authorization header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// The properties to ask for (default [`DEFAULT_PROPERTIES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// Contacts per page (default 100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Only contacts modified after this instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Pacing, retries and budget.
    #[serde(flatten)]
    pub fetch: FetchPolicy,
}

fn default_base() -> String {
    HUBSPOT_API.to_owned()
}

fn default_page_size() -> u32 {
    100
}

impl Default for HubspotSettings {
    fn default() -> Self {
        HubspotSettings {
            base_url: default_base(),
            token_env: None,
            properties: Vec::new(),
            page_size: default_page_size(),
            since: None,
            fetch: FetchPolicy::default(),
        }
    }
}

impl HubspotSettings {
    /// The settings of a `kind = "hubspot"` source, checked.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `kind` for another kind, at `settings` for an unknown key or a
    /// value of the wrong type, and as [`HubspotSettings::check`].
    pub fn from_source_config(config: &SourceConfig) -> Result<HubspotSettings> {
        if config.kind != SourceKind::Hubspot {
            return Err(Error::invalid("kind", "this is not a hubspot source"));
        }
        let table = Json::Object(config.settings.clone().into_iter().collect());
        let settings: HubspotSettings =
            serde_json::from_value(table).map_err(|e| Error::invalid("settings", e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks the values.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key (`settings.page_size`).
    pub fn check(&self) -> Result<()> {
        let at = |key: &str| format!("settings.{key}");
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://"))
            || reqwest::Url::parse(&self.base_url).is_err()
        {
            return Err(Error::invalid(
                at("base_url"),
                "give an http:// or https:// URL, such as \"https://api.hubapi.com\"",
            ));
        }
        if self.page_size == 0 || self.page_size > 100 {
            return Err(Error::invalid(
                at("page_size"),
                "ask for 1 to 100 contacts a page",
            ));
        }
        if let Some(s) = &self.since
            && DateTime::parse_from_rfc3339(s).is_err()
        {
            return Err(Error::invalid(
                at("since"),
                "write an RFC 3339 instant, such as \"2026-01-01T00:00:00Z\"",
            ));
        }
        if self.properties.iter().any(|p| p.trim().is_empty()) {
            return Err(Error::invalid(at("properties"), "a property name is empty"));
        }
        self.fetch.check().map_err(|e| match e {
            Error::Invalid { path, message } => Error::invalid(at(&path), message),
            e => e,
        })
    }

    /// The pager these settings describe.
    pub fn pager(&self) -> HubspotContacts {
        let mut p = HubspotContacts::new(&self.base_url).page_size(self.page_size);
        if !self.properties.is_empty() {
            p = p.properties(self.properties.clone());
        }
        if let Some(since) = self
            .since
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        {
            p = p.since(since.with_timezone(&Utc));
        }
        p
    }

    /// The authorization header, from the variable `token_env` names.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `settings.token_env` when the variable is not set or is not a
    /// valid header value.
    pub fn headers(&self) -> Result<HeaderMap> {
        let mut headers = HeaderMap::new();
        if let Some(var) = &self.token_env {
            let token = std::env::var(var).map_err(|_| {
                Error::invalid(
                    "settings.token_env",
                    format!("the environment variable `{var}` is not set (or not UTF-8)"),
                )
            })?;
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
                    Error::invalid(
                        "settings.token_env",
                        format!("the token in `{var}` has characters a header cannot hold"),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(headers)
    }
}

/// Opens the `kind = "hubspot"` source `config` describes: its settings, its column map (the
/// `hubspot_contacts` preset when it names none; a file resolved against `base_dir`) and its
/// `on_bad_row`.
///
/// # Errors
///
/// Those of [`HubspotSettings::from_source_config`], [`SourceConfig::check`] and
/// [`Fetcher::new`].
pub fn open(config: &SourceConfig, base_dir: impl AsRef<Path>) -> Result<HubspotSource> {
    config.check()?;
    let settings = HubspotSettings::from_source_config(config)?;
    let map = config
        .column_map(base_dir)?
        .unwrap_or_else(ColumnMap::hubspot_contacts);
    let fetcher = Fetcher::new(&config.name, &settings.fetch, settings.headers()?)?;
    Ok(PagedSource::new(
        &config.name,
        settings.pager(),
        fetcher,
        map,
        config.on_bad_row,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_pages() {
        let p =
            HubspotContacts::new("http://h/").properties(vec!["email".into(), "first name".into()]);
        let r = p.request(Some("a b"));
        assert_eq!(
            r.url,
            "http://h/crm/v3/objects/contacts?limit=100&archived=false&properties=email,first%20name&after=a%20b"
        );
        let since: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let r = p.clone().since(since).request(None);
        assert!(r.url.ends_with("/search"));
        assert_eq!(
            r.body.unwrap()["filterGroups"][0]["filters"][0]["value"],
            "1767225600000"
        );
        let page = p
            .parse(
                br#"{"results": [{"id": "1"}], "paging": {"next": {"after": "2", "link": "x"}}}"#,
            )
            .unwrap();
        assert_eq!((page.items.len(), page.next.as_deref()), (1, Some("2")));
        let last = p.parse(br#"{"results": []}"#).unwrap();
        assert_eq!(last.next, None);
        let cut = p.parse(br#"{"results": [{"id": "1"}"#).unwrap_err();
        assert!(cut.contains("cut short"), "{cut}");
    }
}
