//! What accepted events do: identify calls go through the incremental match index, track and
//! page calls update per-person engagement traits.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use mergetag_dedup::index::{LogEntry, MatchIndex};
use mergetag_mapping::{Scope, Signal, SuppressionRules, SuppressionRulesConfig, from_json};
use mergetag_model::{Event, ProfileId, Record, RecordId, Value, mailbox};
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

/// An address an ESP's webhook suppressed, and how far.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Suppressed {
    /// Why.
    pub kind: SuppressionKind,
    /// What it attaches to: the mailbox (a hard bounce, or soft bounces up to the
    /// threshold) or the person (a complaint or an unsubscribe), as
    /// [`SuppressionRules`](mergetag_mapping::SuppressionRules) decides.
    pub scope: Scope,
    /// The platform's event name that decided it (`cleaned`, `hard_bounce`, ...).
    pub event: String,
}

/// The live state: the match index (with its merge log), engagement by person, and the
/// addresses ESP webhooks suppressed.
#[derive(Debug)]
pub struct Live {
    index: MatchIndex,
    mapper: ValueMapper,
    engagement: HashMap<String, Engagement>,
    rules: SuppressionRules,
    soft_threshold: u32,
    suppressions: HashMap<String, Suppressed>,
    /// Soft bounces by mailbox: the message ids counted (deliveries of one message count
    /// once) and the count.
    soft: HashMap<String, (BTreeSet<String>, u32)>,
    /// Group traits by person, then by `groupId`.
    groups: HashMap<String, BTreeMap<String, BTreeMap<String, Value>>>,
    /// The people each person was aliased with, so a later identify (which replaces the
    /// person's record in the index) links them again.
    aliases: HashMap<String, BTreeSet<String>>,
    applied: u64,
    cells: Vec<(String, Value)>,
}

impl Live {
    pub(crate) fn new(index: MatchIndex) -> Live {
        let config = SuppressionRulesConfig::default();
        Live {
            index,
            mapper: ValueMapper::new(ColumnMap::segment_identify()),
            engagement: HashMap::new(),
            rules: config.build().unwrap_or_default(),
            soft_threshold: config.soft_bounce_threshold,
            suppressions: HashMap::new(),
            soft: HashMap::new(),
            groups: HashMap::new(),
            aliases: HashMap::new(),
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
    /// bounced, complained); matched as a mailbox (case, Gmail dots and `+tags` do not
    /// matter).
    pub fn suppression(&self, email: &str) -> Option<SuppressionKind> {
        self.suppressed(email).map(|s| s.kind)
    }

    /// The suppression of `email` with its scope and the event that decided it.
    pub fn suppressed(&self, email: &str) -> Option<&Suppressed> {
        self.suppressions.get(&mailbox::key(email)?)
    }

    /// The soft bounces counted for `email` (distinct messages), whether or not they reached
    /// the threshold (3) that suppresses the mailbox.
    pub fn soft_bounces(&self, email: &str) -> u32 {
        mailbox::key(email)
            .and_then(|k| self.soft.get(&k))
            .map_or(0, |(_, n)| *n)
    }

    fn suppress(&mut self, event: &Json) {
        let Some((signal, e)) = classify(&self.rules, event) else {
            return;
        };
        let Some(key) = self.rules.address(&e).and_then(mailbox::key) else {
            return;
        };
        let (kind, scope) = match signal {
            Signal::HardBounce => (SuppressionKind::Bounced, Scope::Mailbox),
            Signal::SoftBounce => {
                let (ids, n) = self.soft.entry(key.clone()).or_default();
                // The same message soft-bouncing again (a retried delivery) counts once.
                let counted = match &e.message_id {
                    Some(id) => {
                        let message = e.property("msg._id").and_then(Value::as_str).unwrap_or(id);
                        ids.insert(message.to_owned())
                    }
                    None => true,
                };
                if counted {
                    *n += 1;
                }
                if self.soft_threshold == 0 || *n < self.soft_threshold {
                    return;
                }
                (SuppressionKind::Bounced, Scope::Mailbox)
            }
            Signal::Complaint => (SuppressionKind::Complained, Scope::Person),
            Signal::Unsubscribe => (SuppressionKind::Unsubscribed, Scope::Person),
            _ => return,
        };
        let new = Suppressed {
            kind,
            scope,
            event: e.name.clone().unwrap_or_default(),
        };
        match self.suppressions.get(&key) {
            // The first reason stays, unless a person-wide one follows a mailbox one.
            Some(old) if !(old.scope == Scope::Mailbox && scope == Scope::Person) => {}
            _ => {
                self.suppressions.insert(key, new);
            }
        }
    }

    /// The groups `user` belongs to (`group` calls), each with its traits, by `groupId`.
    pub fn groups(&self, user: &str) -> Option<&BTreeMap<String, BTreeMap<String, Value>>> {
        self.groups.get(user)
    }

    /// The group traits of a profile: those of every person (an intake record) in it, by
    /// `groupId`; for a group named by several members, the member with the larger record
    /// id wins a trait they disagree on (deterministic).
    pub fn profile_groups(&self, profile: ProfileId) -> BTreeMap<String, BTreeMap<String, Value>> {
        let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        let mut users: Vec<String> = self
            .index
            .profiles()
            .filter(|(p, _)| *p == profile)
            .flat_map(|(_, ids)| ids.into_iter().cloned().collect::<Vec<_>>())
            .filter(|id| id.source.as_str() == SOURCE_NAME)
            .filter_map(|id| match id.key {
                mergetag_model::RecordKey::Id(k) => Some(k),
                mergetag_model::RecordKey::Row(_) => None,
            })
            .collect();
        users.sort();
        for user in users {
            for (group, traits) in self.groups.get(&user).into_iter().flatten() {
                let g = out.entry(group.clone()).or_default();
                for (k, v) in traits {
                    g.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    /// Makes sure `user` has a record in the index (an alias may name a person never
    /// identified: an empty record stands for them).
    fn ensure_person(&mut self, user: &str, at: Option<DateTime<Utc>>) -> RecordId {
        let id = RecordId::id(SOURCE_NAME, user);
        if self.index.profile_of(&id).is_none() {
            let mut record = Record::new(id.clone());
            record.observed_at = at;
            self.index.add(record);
        }
        id
    }

    fn link(&mut self, previous: &str, user: &str, at: Option<DateTime<Utc>>) {
        let a = self.ensure_person(previous, at);
        let b = self.ensure_person(user, at);
        let _ = self
            .index
            .link(&a, &b, &format!("alias: {previous} -> {user}"));
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
            // A line spooled before webhooks were spooled as track events.
            let scope = match kind {
                SuppressionKind::Bounced => Scope::Mailbox,
                _ => Scope::Person,
            };
            if let Some(key) = event
                .get("email")
                .and_then(Json::as_str)
                .and_then(mailbox::key)
            {
                self.suppressions.entry(key).or_insert(Suppressed {
                    kind,
                    scope,
                    event: "suppression".to_owned(),
                });
            }
            return;
        }
        self.suppress(event);
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
                        self.cells.push((k.clone(), Value::from(v.clone())));
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
                // A new version of the record left its alias links behind: link again.
                let others: Vec<String> = self
                    .aliases
                    .get(user)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                for other in others {
                    self.link(&other, user, at);
                }
            }
            Some("alias") => {
                let Some(previous) = event
                    .get("previousId")
                    .and_then(Json::as_str)
                    .filter(|p| !p.trim().is_empty())
                else {
                    return;
                };
                if previous == user {
                    return;
                }
                self.aliases
                    .entry(user.to_owned())
                    .or_default()
                    .insert(previous.to_owned());
                self.aliases
                    .entry(previous.to_owned())
                    .or_default()
                    .insert(user.to_owned());
                self.link(previous, user, at);
            }
            Some("group") => {
                let Some(group) = event.get("groupId").and_then(id_of) else {
                    return;
                };
                let traits = self
                    .groups
                    .entry(user.to_owned())
                    .or_default()
                    .entry(group)
                    .or_default();
                if let Some(Json::Object(t)) = event.get("traits") {
                    for (k, v) in t {
                        traits.insert(k.clone(), Value::from(v.clone()));
                    }
                }
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

/// What `event` (a spooled event, Segment-shaped) says about suppression, by the
/// built-in rules of `mergetag_mapping`; `None` for anything else.
pub(crate) fn classify(rules: &SuppressionRules, event: &Json) -> Option<(Signal, Event)> {
    if event.get("type").and_then(Json::as_str) != Some("track") {
        return None;
    }
    let name = event.get("event")?.as_str()?;
    let at = event
        .get("timestamp")
        .or_else(|| event.get("receivedAt"))
        .and_then(Json::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.with_timezone(&Utc));
    let mut e = Event::track(name, at);
    if let Some(Json::Object(props)) = event.get("properties") {
        for (k, v) in props {
            e.properties.insert(k.clone(), from_json(v));
        }
    }
    e.email = event
        .get("context")
        .and_then(|c| c.get("traits"))
        .and_then(|t| t.get("email"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    e.message_id = event
        .get("messageId")
        .and_then(Json::as_str)
        .map(str::to_owned);
    let signal = rules.signal(&e)?;
    Some((signal, e))
}

/// An id given as a string or a number, trimmed; `None` when empty or of another type.
pub(crate) fn id_of(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
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
