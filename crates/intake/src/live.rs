//! What accepted events do: identify calls go through the incremental match index, track and
//! page calls update per-person engagement traits.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mergetag_dedup::index::{LogEntry, MatchIndex};
use mergetag_model::{ProfileId, Record, RecordId, Value};
use mergetag_sources::{ColumnMap, ValueMapper};
use serde_json::Value as Json;

use crate::webhook::SuppressionKind;

/// The name identify records carry in their ids (`intake:<userId>`).
pub const SOURCE_NAME: &str = "intake";

/// Engagement of one person (by `userId`, else `anonymousId`) from track and page calls.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Engagement {
    /// Track calls.
    pub tracks: u64,
    /// Page calls.
    pub pages: u64,
    /// The latest event's name (a track's `event`, a page's `name`).
    pub last_event: Option<String>,
    /// The latest event's time.
    pub last_seen: Option<DateTime<Utc>>,
}

/// The live state: the match index (with its merge log) and engagement by person.
#[derive(Debug)]
pub struct Live {
    index: MatchIndex,
    mapper: ValueMapper,
    engagement: HashMap<String, Engagement>,
    suppressions: HashMap<String, SuppressionKind>,
    applied: u64,
    cells: Vec<(String, Value)>,
}

impl Live {
    pub(crate) fn new(index: MatchIndex) -> Live {
        Live {
            index,
            mapper: ValueMapper::new(ColumnMap::segment_identify()),
            engagement: HashMap::new(),
            suppressions: HashMap::new(),
            applied: 0,
            cells: Vec::new(),
        }
    }

    /// The match index.
    pub fn index(&self) -> &MatchIndex {
        &self.index
    }

    /// The merge log, oldest first.
    pub fn merge_log(&self) -> &[LogEntry] {
        self.index.log()
    }

    /// The profile of the person identified as `user` (`userId`, else `anonymousId`).
    pub fn profile_of(&self, user: &str) -> Option<ProfileId> {
        self.index.profile_of(&RecordId::id(SOURCE_NAME, user))
    }

    /// The engagement of `user`.
    pub fn engagement(&self, user: &str) -> Option<&Engagement> {
        self.engagement.get(user)
    }

    /// Why `email` must not be emailed, when an ESP's webhook said so (unsubscribed,
    /// bounced, complained); matched case-insensitively.
    pub fn suppression(&self, email: &str) -> Option<SuppressionKind> {
        self.suppressions.get(&email.trim().to_lowercase()).copied()
    }

    /// Events applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Applies one accepted event (already checked: an object with a type and a user).
    pub(crate) fn apply(&mut self, event: &Json) {
        self.applied += 1;
        if event.get("type").and_then(Json::as_str) == Some("suppression") {
            let kind = match event.get("reason").and_then(Json::as_str) {
                Some("unsubscribed") => SuppressionKind::Unsubscribed,
                Some("bounced") => SuppressionKind::Bounced,
                Some("complained") => SuppressionKind::Complained,
                _ => return,
            };
            if let Some(email) = event.get("email").and_then(Json::as_str) {
                self.suppressions.insert(email.trim().to_lowercase(), kind);
            }
            return;
        }
        let Some(user) = user_of(event) else { return };
        let at = event
            .get("timestamp")
            .and_then(Json::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        match event.get("type").and_then(Json::as_str) {
            Some("identify") => {
                let mut record = Record::default();
                self.cells.clear();
                if let Some(Json::Object(traits)) = event.get("traits") {
                    for (k, v) in traits {
                        self.cells.push((k.clone(), json_value(v.clone())));
                    }
                }
                let cells = std::mem::take(&mut self.cells);
                // Traits that do not map are dropped from the record, not the event: the spool
                // keeps it whole.
                if self
                    .mapper
                    .fill(cells.iter().cloned(), &mut record)
                    .is_err()
                {
                    record.clear();
                }
                self.cells = cells;
                record.id = RecordId::id(SOURCE_NAME, user);
                record.observed_at = at;
                self.index.add(record);
            }
            Some(kind @ ("track" | "page" | "screen")) => {
                let e = self.engagement.entry(user.to_owned()).or_default();
                if kind == "track" {
                    e.tracks += 1;
                } else {
                    e.pages += 1;
                }
                let name = event
                    .get(if kind == "track" { "event" } else { "name" })
                    .and_then(Json::as_str);
                if at >= e.last_seen || e.last_seen.is_none() {
                    e.last_seen = at.or(e.last_seen);
                    e.last_event = name.map(str::to_owned).or(e.last_event.take());
                }
            }
            _ => {}
        }
    }
}

/// The person an event is about: `userId`, else `anonymousId` (strings or numbers).
pub(crate) fn user_of(event: &Json) -> Option<&str> {
    ["userId", "anonymousId"]
        .iter()
        .find_map(|k| match event.get(*k) {
            Some(Json::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        })
}

fn json_value(v: Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n
                .as_f64()
                .map_or_else(|| Value::Text(n.to_string()), Value::float),
        },
        Json::String(s) => Value::Text(s),
        Json::Array(a) => Value::List(a.into_iter().map(json_value).collect()),
        Json::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, json_value(v))).collect()),
    }
}
