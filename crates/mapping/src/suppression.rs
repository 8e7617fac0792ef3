//! Suppression from email events: bounces, spam complaints and unsubscribes reported by an
//! email platform's webhooks (SendGrid, Mailchimp, Braze Currents, Klaviyo) or as
//! Segment-shaped track events, turned into [`Suppression`]s on profiles and into suppressed
//! mailboxes for the [`Exporter`](crate::Exporter).
//!
//! An event is classified by a table of [`SignalRule`]s (by event name and, optionally, one
//! property) into a [`Signal`]:
//!
//! | signal | attaches to | effect |
//! |---|---|---|
//! | [`Signal::HardBounce`] | the bounced mailbox ([`Scope::Mailbox`]); the person when the event names no address | no profile is emailed *at* that mailbox, whichever profile holds it |
//! | [`Signal::SoftBounce`] | the mailbox, once it has soft-bounced `soft_bounce_threshold` times | as a hard bounce |
//! | [`Signal::Complaint`], [`Signal::Unsubscribe`] | the person ([`Scope::Person`]): the profile the event is attributed to, and every profile that ever held the address | the person is not emailed at any address |
//!
//! Addresses are compared as mailboxes ([`mergetag_model::mailbox`]): case, Gmail dots,
//! `+tags` and `googlemail.com` do not matter. Every suppression names the event's record
//! ([`Event::origin`]) and time, and the [`EventSuppression`] around it names the event.
//!
//! # Examples
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mergetag_mapping::{Scope, SuppressionRulesConfig};
//! use mergetag_mapping::model::{Event, Profile, ProfileId, RecordId, Value};
//!
//! let rules = SuppressionRulesConfig::default().build().unwrap();
//! let at = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
//! // A SendGrid hard bounce and a Klaviyo spam complaint.
//! let events = vec![
//!     Event::track("bounce", at).with_email("Bob.Smith@gmail.com").with_property("type", "bounce"),
//!     Event::track("Marked Email as Spam", at).with_user_id("u2"),
//! ];
//! let mut profiles = vec![Profile::new(ProfileId(1), vec![]), Profile::new(ProfileId(2), vec![])];
//! profiles[0].set("email", Value::from("bobsmith+news@gmail.com"), RecordId::id("crm", "1"), None);
//! profiles[1].set("user_id", Value::from("u2"), RecordId::id("crm", "2"), None);
//!
//! let addresses = rules.apply(&mut profiles, &events);
//! assert!(addresses.blocks("bobsmith@googlemail.com", Scope::Mailbox));
//! assert!(profiles[1].is_suppressed(mergetag_mapping::model::Channel::Email));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use mergetag_model::config::Format;
use mergetag_model::{
    Channel, Event, Profile, RecordId, Suppression, SuppressionReason, Value, mailbox,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, load_path, load_str};
use crate::identity::IdentityGraph;

/// What an event says about a mailbox or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signal {
    /// A permanent delivery failure: the mailbox does not exist or refuses mail for good.
    HardBounce,
    /// A temporary delivery failure (mailbox full, blocked, deferred too long).
    SoftBounce,
    /// The recipient marked a message as spam.
    Complaint,
    /// The recipient unsubscribed.
    Unsubscribe,
    /// The event says nothing about suppression (a rule that overrides a built-in one).
    Ignore,
}

impl Signal {
    fn reason(self) -> Option<SuppressionReason> {
        match self {
            Signal::HardBounce | Signal::SoftBounce => Some(SuppressionReason::Bounced),
            Signal::Complaint => Some(SuppressionReason::Complaint),
            Signal::Unsubscribe => Some(SuppressionReason::OptOut),
            Signal::Ignore => None,
        }
    }
}

/// What a suppression attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// One mailbox: a profile is not emailed at it, but may be at another address.
    Mailbox,
    /// The person: a profile that holds (or ever held) the address, or that the event is
    /// attributed to, is not emailed at all.
    Person,
}

/// One line of the classification table: events named `event` (compared trimmed and
/// case-insensitively), optionally only when the property at `property` holds one of
/// `values`, give `signal`. The first matching rule decides.
///
/// ```toml
/// [[rules]]
/// event = "group_unsubscribe"   # SendGrid: one unsubscribe group only
/// signal = "ignore"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalRule {
    /// The event name (a track event's `event`, a webhook's event type, a Klaviyo metric).
    pub event: String,
    /// A dotted property path (`type`, `data.reason`); without `values`, the rule applies
    /// when the property is present and not null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The values of `property` the rule applies to, compared trimmed and case-insensitively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// What the event says.
    pub signal: Signal,
}

impl SignalRule {
    fn new(event: &str, property: Option<&str>, values: &[&str], signal: Signal) -> SignalRule {
        SignalRule {
            event: event.to_owned(),
            property: property.map(str::to_owned),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            signal,
        }
    }

    fn matches(&self, name: &str, e: &Event) -> bool {
        if !self.event.trim().eq_ignore_ascii_case(name) {
            return false;
        }
        let Some(path) = &self.property else {
            return true;
        };
        let Some(v) = e.property(path).filter(|v| !v.is_null()) else {
            return false;
        };
        if self.values.is_empty() {
            return true;
        }
        let text = match v {
            Value::Text(s) => s.trim().to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            _ => return false,
        };
        self.values
            .iter()
            .any(|w| w.trim().eq_ignore_ascii_case(&text))
    }
}

/// The built-in classification table, checked after a configuration's own `rules`.
///
/// - SendGrid event webhook: `bounce` is a hard bounce, or a soft one with `type = "blocked"`;
///   `dropped` with `reason` `Bounced Address` or `Invalid` is a hard bounce, `Unsubscribed
///   Address` an unsubscribe, `Spam Reporting Address` a complaint (other drops say nothing
///   about the address); `spamreport` is a complaint; `unsubscribe` and `group_unsubscribe`
///   are unsubscribes.
/// - Mailchimp webhooks (`type` as the name, `data` as the properties, or nested under
///   `data`): `cleaned` is a complaint with `reason = "abuse"`, a hard bounce otherwise;
///   `unsubscribe` is an unsubscribe.
/// - Mailchimp Transactional (Mandrill) message events: `hard_bounce`, `soft_bounce`, `spam`
///   (a complaint), `unsub`, and `reject` (Mandrill refused to send to an address on its
///   rejection list: the mailbox is suppressed like a hard bounce).
/// - Braze Currents: `users.messages.email.Bounce` (hard), `users.messages.email.SoftBounce`,
///   `users.messages.email.MarkAsSpam`, `users.messages.email.Unsubscribe`.
/// - Klaviyo metrics: `Bounced Email` (soft when `Bounce Type` or `bounce_type` says soft,
///   hard otherwise), `Marked Email as Spam`, `Unsubscribed`, `Unsubscribed from Email
///   Marketing`.
/// - Segment-shaped track events: `Email Bounced` (soft when `bounce_type` says soft),
///   `Email Marked as Spam`, `Unsubscribed`.
pub fn builtin_rules() -> Vec<SignalRule> {
    use Signal::*;
    let soft = &[
        "soft",
        "soft bounce",
        "softbounce",
        "soft_bounce",
        "transient",
    ];
    vec![
        // SendGrid
        SignalRule::new("bounce", Some("type"), &["blocked"], SoftBounce),
        SignalRule::new("bounce", None, &[], HardBounce),
        SignalRule::new(
            "dropped",
            Some("reason"),
            &["Bounced Address", "Invalid"],
            HardBounce,
        ),
        SignalRule::new(
            "dropped",
            Some("reason"),
            &["Unsubscribed Address"],
            Unsubscribe,
        ),
        SignalRule::new(
            "dropped",
            Some("reason"),
            &["Spam Reporting Address"],
            Complaint,
        ),
        SignalRule::new("spamreport", None, &[], Complaint),
        SignalRule::new("unsubscribe", None, &[], Unsubscribe),
        SignalRule::new("group_unsubscribe", None, &[], Unsubscribe),
        // Mailchimp
        SignalRule::new("cleaned", Some("reason"), &["abuse"], Complaint),
        SignalRule::new("cleaned", Some("data.reason"), &["abuse"], Complaint),
        SignalRule::new("cleaned", None, &[], HardBounce),
        // Mailchimp Transactional (Mandrill)
        SignalRule::new("hard_bounce", None, &[], HardBounce),
        SignalRule::new("soft_bounce", None, &[], SoftBounce),
        SignalRule::new("spam", None, &[], Complaint),
        SignalRule::new("unsub", None, &[], Unsubscribe),
        SignalRule::new("reject", None, &[], HardBounce),
        // Braze Currents
        SignalRule::new("users.messages.email.Bounce", None, &[], HardBounce),
        SignalRule::new("users.messages.email.SoftBounce", None, &[], SoftBounce),
        SignalRule::new("users.messages.email.MarkAsSpam", None, &[], Complaint),
        SignalRule::new("users.messages.email.Unsubscribe", None, &[], Unsubscribe),
        // Klaviyo
        SignalRule::new("Bounced Email", Some("Bounce Type"), soft, SoftBounce),
        SignalRule::new("Bounced Email", Some("bounce_type"), soft, SoftBounce),
        SignalRule::new("Bounced Email", None, &[], HardBounce),
        SignalRule::new("Marked Email as Spam", None, &[], Complaint),
        SignalRule::new("Unsubscribed from Email Marketing", None, &[], Unsubscribe),
        // Segment-shaped (and Klaviyo's `Unsubscribed`)
        SignalRule::new("Email Bounced", Some("bounce_type"), soft, SoftBounce),
        SignalRule::new("Email Bounced", None, &[], HardBounce),
        SignalRule::new("Email Marked as Spam", None, &[], Complaint),
        SignalRule::new("Unsubscribed", None, &[], Unsubscribe),
    ]
}

fn default_threshold() -> u32 {
    3
}

fn yes() -> bool {
    true
}

fn default_email_properties() -> Vec<String> {
    ["email", "email_address", "data.email", "recipient"]
        .map(str::to_owned)
        .to_vec()
}

/// How events suppress: the serde form of [`SuppressionRules`].
///
/// ```toml
/// soft_bounce_threshold = 3                          # default 3; 0: soft bounces never suppress
/// builtin_rules = true                               # default true: see builtin_rules()
/// email_properties = ["email", "email_address", "data.email", "recipient"]   # the default
///
/// [[rules]]                                          # checked before the built-in ones
/// event = "group_unsubscribe"
/// signal = "ignore"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRulesConfig {
    /// How many soft bounces of one mailbox suppress it, like a hard bounce (default 3; 0
    /// means soft bounces never suppress). Events with the same message id count once.
    #[serde(default = "default_threshold")]
    pub soft_bounce_threshold: u32,
    /// Whether the built-in table ([`builtin_rules`]) applies after `rules` (default true).
    #[serde(default = "yes")]
    pub builtin_rules: bool,
    /// Rules of your own, checked first (default none).
    #[serde(default)]
    pub rules: Vec<SignalRule>,
    /// The property paths an event's address is read from when neither its `email` nor an
    /// `email` trait holds one, in order (default `email`, `email_address` (Braze),
    /// `data.email` (Mailchimp), `recipient`).
    #[serde(default = "default_email_properties")]
    pub email_properties: Vec<String>,
}

impl Default for SuppressionRulesConfig {
    fn default() -> SuppressionRulesConfig {
        SuppressionRulesConfig {
            soft_bounce_threshold: default_threshold(),
            builtin_rules: true,
            rules: Vec::new(),
            email_properties: default_email_properties(),
        }
    }
}

impl SuppressionRulesConfig {
    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<SuppressionRulesConfig> {
        load_str(text, Format::Toml)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// As [`SuppressionRulesConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<SuppressionRulesConfig> {
        load_str(text, Format::Json)
    }

    /// Reads a `.toml` or `.json` file (by its extension); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else as
    /// [`SuppressionRulesConfig::from_toml_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<SuppressionRulesConfig> {
        load_path(path.as_ref())
    }

    /// Validates and builds the runtime [`SuppressionRules`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a rule with an empty event name or property, `values` without
    /// a `property`, or an empty email property path.
    pub fn build(&self) -> Result<SuppressionRules> {
        for (i, r) in self.rules.iter().enumerate() {
            let at = |k: &str| format!("rules[{i}].{k}");
            if r.event.trim().is_empty() {
                return Err(Error::invalid(
                    at("event"),
                    "name the event (`bounce`, `Unsubscribed`, ...)",
                ));
            }
            match &r.property {
                Some(p) if p.trim().is_empty() => {
                    return Err(Error::invalid(
                        at("property"),
                        "give a property path (`type`, `data.reason`) or leave it out",
                    ));
                }
                None if !r.values.is_empty() => {
                    return Err(Error::invalid(
                        at("values"),
                        "values need a `property` to compare with; add one or remove values",
                    ));
                }
                _ => {}
            }
        }
        if let Some(i) = self
            .email_properties
            .iter()
            .position(|p| p.trim().is_empty())
        {
            return Err(Error::invalid(
                format!("email_properties[{i}]"),
                "give a property path (`email_address`) or remove the entry",
            ));
        }
        let mut rules = self.rules.clone();
        if self.builtin_rules {
            rules.extend(builtin_rules());
        }
        Ok(SuppressionRules {
            soft_bounce_threshold: self.soft_bounce_threshold,
            rules,
            email_properties: self.email_properties.clone(),
        })
    }
}

/// A suppression that an event caused, with the event's name and the mailbox it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSuppression {
    /// What the event said.
    pub signal: Signal,
    /// What the suppression attaches to.
    pub scope: Scope,
    /// The mailbox key ([`mailbox::fold`]) of the event's address, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox: Option<String>,
    /// The event's name (`bounce`, `users.messages.email.MarkAsSpam`, ...).
    pub event: String,
    /// The suppression: channel email, the reason, the event's record ([`Event::origin`], or
    /// `events:<message id>` without one) and its time.
    pub suppression: Suppression,
}

/// The mailboxes events suppressed, each with the event that did; give them to
/// [`Exporter::export_with`](crate::Exporter::export_with).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SuppressedAddresses {
    entries: Vec<EventSuppression>,
}

impl SuppressedAddresses {
    /// No suppressed addresses.
    pub fn new() -> SuppressedAddresses {
        SuppressedAddresses::default()
    }

    /// Adds an address (any form: it is folded to its mailbox) with the scope of its
    /// suppression; blank text is ignored.
    pub fn insert(&mut self, address: &str, scope: Scope, suppression: Suppression, event: &str) {
        let Some(key) = mailbox::key(address) else {
            return;
        };
        self.push(EventSuppression {
            signal: match suppression.reason {
                SuppressionReason::Complaint => Signal::Complaint,
                SuppressionReason::OptOut => Signal::Unsubscribe,
                _ => Signal::HardBounce,
            },
            scope,
            mailbox: Some(key),
            event: event.to_owned(),
            suppression,
        });
    }

    /// Keeps the earliest entry per mailbox, scope and reason, in a stable order.
    fn push(&mut self, s: EventSuppression) {
        let same = |o: &EventSuppression| {
            o.mailbox == s.mailbox
                && o.scope == s.scope
                && o.suppression.reason == s.suppression.reason
        };
        match self.entries.iter_mut().find(|o| same(o)) {
            Some(o) if order_key(&s) < order_key(o) => *o = s,
            Some(_) => {}
            None => self.entries.push(s),
        }
    }

    fn finish(&mut self) {
        self.entries.sort_by(|a, b| {
            (&a.mailbox, a.scope, a.suppression.reason).cmp(&(
                &b.mailbox,
                b.scope,
                b.suppression.reason,
            ))
        });
    }

    /// Whether `address` is suppressed with this scope (a [`Scope::Person`] entry blocks a
    /// [`Scope::Mailbox`] question too).
    pub fn blocks(&self, address: &str, scope: Scope) -> bool {
        let Some(key) = mailbox::key(address) else {
            return false;
        };
        self.entries.iter().any(|e| {
            e.mailbox.as_deref() == Some(&key) && (e.scope == scope || e.scope == Scope::Person)
        })
    }

    /// The entries, sorted by mailbox, scope and reason.
    pub fn iter(&self) -> impl Iterator<Item = &EventSuppression> {
        self.entries.iter()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The mailbox keys with this scope.
    pub(crate) fn keys(&self, scope: Scope) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |e| e.scope == scope)
            .filter_map(|e| e.mailbox.as_deref())
    }
}

fn order_key(s: &EventSuppression) -> (Option<DateTime<Utc>>, &RecordId) {
    (s.suppression.at, &s.suppression.record)
}

/// Turns email events into suppressions; built from a [`SuppressionRulesConfig`].
///
/// Results never depend on event order: events are taken in time order (then by record),
/// and of several events with the same effect the earliest is the one named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionRules {
    soft_bounce_threshold: u32,
    rules: Vec<SignalRule>,
    email_properties: Vec<String>,
}

impl Default for SuppressionRules {
    /// The defaults of [`SuppressionRulesConfig`].
    fn default() -> SuppressionRules {
        SuppressionRules {
            soft_bounce_threshold: default_threshold(),
            rules: builtin_rules(),
            email_properties: default_email_properties(),
        }
    }
}

/// An event with what it says, ready to be sorted.
struct Classified<'e> {
    event: &'e Event,
    signal: Signal,
    name: &'e str,
    mailbox: Option<String>,
    record: RecordId,
}

impl SuppressionRules {
    /// What `event` says, if anything (`None` for events no rule matches and for
    /// [`Signal::Ignore`]). Only track events (and other kinds with a name) are classified.
    pub fn signal(&self, event: &Event) -> Option<Signal> {
        let name = event.name.as_deref()?.trim();
        self.rules
            .iter()
            .find(|r| r.matches(name, event))
            .map(|r| r.signal)
            .filter(|s| *s != Signal::Ignore)
    }

    /// The address an event concerns: its `email`, an `email` trait, or the first of the
    /// `email_properties` that holds text.
    pub fn address<'e>(&self, event: &'e Event) -> Option<&'e str> {
        let nonblank = |s: &&str| !s.trim().is_empty();
        event
            .email
            .as_deref()
            .filter(nonblank)
            .or_else(|| {
                event
                    .trait_value("email")
                    .and_then(Value::as_str)
                    .filter(nonblank)
            })
            .or_else(|| {
                self.email_properties
                    .iter()
                    .find_map(|p| event.property(p).and_then(Value::as_str).filter(nonblank))
            })
    }

    fn classify<'e>(&self, events: impl IntoIterator<Item = &'e Event>) -> Vec<Classified<'e>> {
        let mut out: Vec<Classified<'e>> = events
            .into_iter()
            .filter_map(|e| {
                let signal = self.signal(e)?;
                Some(Classified {
                    event: e,
                    signal,
                    name: e.name.as_deref().unwrap_or_default().trim(),
                    mailbox: self.address(e).and_then(mailbox::key),
                    record: record_of(e),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (a.event.timestamp, &a.record, a.signal, a.name).cmp(&(
                b.event.timestamp,
                &b.record,
                b.signal,
                b.name,
            ))
        });
        out
    }

    fn suppression(&self, c: &Classified<'_>, scope: Scope) -> EventSuppression {
        EventSuppression {
            signal: c.signal,
            scope,
            mailbox: c.mailbox.clone(),
            event: c.name.to_owned(),
            suppression: Suppression {
                channel: Channel::Email,
                reason: c.signal.reason().unwrap_or(SuppressionReason::Bounced),
                record: c.record.clone(),
                at: Some(c.event.timestamp),
            },
        }
    }

    /// The person-level suppressions one profile's events give (the events attributed to it,
    /// as [`IdentityGraph::group`] attributes them): a complaint or an unsubscribe; a hard
    /// bounce of an event that names no address; soft bounces without an address, once they
    /// reach the threshold. One per reason, the earliest event named. Bounces that name an
    /// address are the mailbox's ([`SuppressionRules::addresses`]), not the person's.
    pub fn profile_events(&self, events: &[&Event]) -> Vec<EventSuppression> {
        let mut out: Vec<EventSuppression> = Vec::new();
        let mut soft: BTreeSet<&str> = BTreeSet::new();
        let mut soft_count = 0u32;
        for c in self.classify(events.iter().copied()) {
            let person = match c.signal {
                Signal::Complaint | Signal::Unsubscribe => true,
                Signal::HardBounce => c.mailbox.is_none(),
                Signal::SoftBounce if c.mailbox.is_none() && self.soft_bounce_threshold > 0 => {
                    // Deliveries of the same message count once.
                    if c.event
                        .message_id
                        .as_deref()
                        .is_none_or(|id| soft.insert(id))
                    {
                        soft_count += 1;
                    }
                    soft_count == self.soft_bounce_threshold
                }
                _ => false,
            };
            if person {
                let s = self.suppression(&c, Scope::Person);
                if !out
                    .iter()
                    .any(|o| o.suppression.reason == s.suppression.reason)
                {
                    out.push(s);
                }
            }
        }
        out.sort_by_key(|s| s.suppression.reason);
        out
    }

    /// The [`Suppression`]s of [`SuppressionRules::profile_events`], to add to the profile's
    /// `suppressions`.
    pub fn profile_suppressions(&self, events: &[&Event]) -> Vec<Suppression> {
        self.profile_events(events)
            .into_iter()
            .map(|s| s.suppression)
            .collect()
    }

    /// The mailboxes all `events` suppress, whichever profile holds them: a hard bounce, or
    /// `soft_bounce_threshold` soft bounces, suppress the mailbox ([`Scope::Mailbox`]); a
    /// complaint or an unsubscribe that names an address suppresses every profile that ever
    /// held it ([`Scope::Person`]), so that it holds even when the event was not attributed
    /// to a profile.
    pub fn addresses<'e>(
        &self,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> SuppressedAddresses {
        let mut out = SuppressedAddresses::new();
        // Mailbox -> the message ids (or the count of events without one) of its soft bounces.
        let mut soft: BTreeMap<String, (BTreeSet<&str>, u32)> = BTreeMap::new();
        for c in self.classify(events) {
            let Some(key) = c.mailbox.clone() else {
                continue;
            };
            let scope = match c.signal {
                Signal::HardBounce => Scope::Mailbox,
                Signal::Complaint | Signal::Unsubscribe => Scope::Person,
                Signal::SoftBounce if self.soft_bounce_threshold > 0 => {
                    let (ids, n) = soft.entry(key).or_default();
                    let counted = match c.event.message_id.as_deref() {
                        Some(id) => ids.insert(id),
                        None => true,
                    };
                    if !counted {
                        continue;
                    }
                    *n += 1;
                    if *n != self.soft_bounce_threshold {
                        continue;
                    }
                    Scope::Mailbox
                }
                _ => continue,
            };
            out.push(self.suppression(&c, scope));
        }
        out.finish();
        out
    }

    /// Applies events to `profiles` in one call: attributes `events` to profiles as the
    /// pipeline does ([`IdentityGraph::from_profiles`], then [`IdentityGraph::link`]), adds
    /// each profile's [`SuppressionRules::profile_suppressions`] to its `suppressions` (a
    /// reason it already has is not added twice), and returns the
    /// [`SuppressionRules::addresses`] for [`Exporter::export_with`](crate::Exporter::export_with).
    pub fn apply(&self, profiles: &mut [Profile], events: &[Event]) -> SuppressedAddresses {
        let mut graph = IdentityGraph::from_profiles(profiles.iter());
        graph.link(events);
        let mut groups = graph.group(events);
        for p in profiles.iter_mut() {
            if let Some(evs) = groups.remove(&p.id) {
                add_suppressions(p, self.profile_suppressions(&evs));
            }
        }
        self.addresses(events)
    }
}

/// Adds `new` to the profile's suppressions, skipping a channel and reason it already has,
/// and keeps them in survivorship's order (channel, reason, record).
pub fn add_suppressions(profile: &mut Profile, new: impl IntoIterator<Item = Suppression>) {
    for s in new {
        if !profile
            .suppressions
            .iter()
            .any(|o| o.channel == s.channel && o.reason == s.reason)
        {
            profile.suppressions.push(s);
        }
    }
    profile
        .suppressions
        .sort_by(|a, b| (a.channel, a.reason, &a.record).cmp(&(b.channel, b.reason, &b.record)));
}

/// The record an event suppression names: the event's origin, or `events:<message id>`,
/// or `events:<name>@<time>`.
fn record_of(e: &Event) -> RecordId {
    if let Some(o) = &e.origin {
        return o.clone();
    }
    match &e.message_id {
        Some(id) => RecordId::id("events", id.clone()),
        None => RecordId::id(
            "events",
            format!(
                "{}@{}",
                e.name.as_deref().unwrap_or_default(),
                e.timestamp.to_rfc3339()
            ),
        ),
    }
}
