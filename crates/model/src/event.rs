//! Behavioural events in the shape of the Segment spec (identify, track, page).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{RecordId, Value};

/// The kind of an [`Event`], as in the Segment spec's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Who the user is: ties an anonymous id to a user id and carries traits.
    Identify,
    /// Something the user did, such as `Order Completed`.
    Track,
    /// A web page the user viewed.
    Page,
    /// A mobile app screen the user viewed.
    Screen,
    /// The user's membership of a group, such as a company account.
    Group,
    /// Merges a previous identity into a user id.
    Alias,
}

impl EventKind {
    /// The kind's name in the Segment spec (`"identify"`, `"track"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Identify => "identify",
            EventKind::Track => "track",
            EventKind::Page => "page",
            EventKind::Screen => "screen",
            EventKind::Group => "group",
            EventKind::Alias => "alias",
        }
    }

    /// The kind named `s` in the Segment spec, case-insensitively.
    pub fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Identify,
            EventKind::Track,
            EventKind::Page,
            EventKind::Screen,
            EventKind::Group,
            EventKind::Alias,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// One behavioural event: who, what, when, and its properties.
///
/// Follows the Segment spec: who is known by any of `user_id`, `anonymous_id` and `email`
/// (events are attributed to profiles through them); `name` is the event of a track call
/// (`"Order Completed"`) or the page's name; `properties` holds the event's data, nested objects
/// and lists included (an order's `products`); `traits` holds an identify call's traits.
///
/// ```
/// use mergetag_model::{Event, EventKind, Value};
///
/// let e = Event::track("Order Completed", "2026-05-01T10:00:00Z".parse().unwrap())
///     .with_user_id("901")
///     .with_property("total", 89.9);
/// assert_eq!(e.kind, EventKind::Track);
/// assert_eq!(e.property("total"), Some(&Value::Float(89.9)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Where this event was read: its source and line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<RecordId>,
    /// The kind of call.
    pub kind: EventKind,
    /// The unique message id, used to drop duplicate deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The user's id in the customer's own systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A device or cookie id, for users not yet identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// The user's email address, when the event carries one (in traits or context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The event name of a track call, or the page or screen name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When the event happened, in UTC.
    pub timestamp: DateTime<Utc>,
    /// The event's properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
    /// The traits of an identify call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub traits: BTreeMap<String, Value>,
}

impl Event {
    /// An event of this kind at this time, with nothing else set.
    pub fn new(kind: EventKind, timestamp: DateTime<Utc>) -> Event {
        Event {
            origin: None,
            kind,
            message_id: None,
            user_id: None,
            anonymous_id: None,
            email: None,
            name: None,
            timestamp,
            properties: BTreeMap::new(),
            traits: BTreeMap::new(),
        }
    }

    /// A track event named `name`.
    pub fn track(name: impl Into<String>, timestamp: DateTime<Utc>) -> Event {
        Event {
            name: Some(name.into()),
            ..Event::new(EventKind::Track, timestamp)
        }
    }

    /// Sets the user id.
    pub fn with_user_id(mut self, id: impl Into<String>) -> Event {
        self.user_id = Some(id.into());
        self
    }

    /// Sets the anonymous id.
    pub fn with_anonymous_id(mut self, id: impl Into<String>) -> Event {
        self.anonymous_id = Some(id.into());
        self
    }

    /// Sets the email.
    pub fn with_email(mut self, email: impl Into<String>) -> Event {
        self.email = Some(email.into());
        self
    }

    /// Sets one property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Event {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Sets one trait.
    pub fn with_trait(mut self, key: impl Into<String>, value: impl Into<Value>) -> Event {
        self.traits.insert(key.into(), value.into());
        self
    }

    /// The property at a dotted path (`"products.0.name"`); see [`Value::pointer`].
    pub fn property(&self, path: &str) -> Option<&Value> {
        lookup(&self.properties, path)
    }

    /// The trait at a dotted path (`"address.city"`); see [`Value::pointer`].
    pub fn trait_value(&self, path: &str) -> Option<&Value> {
        lookup(&self.traits, path)
    }
}

fn lookup<'a>(map: &'a BTreeMap<String, Value>, path: &str) -> Option<&'a Value> {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    map.get(head).and_then(|v| v.pointer(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in [
            EventKind::Identify,
            EventKind::Track,
            EventKind::Page,
            EventKind::Screen,
            EventKind::Group,
            EventKind::Alias,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(EventKind::parse("TRACK"), Some(EventKind::Track));
        assert_eq!(EventKind::parse("nope"), None);
    }

    #[test]
    fn nested_properties_are_reachable() {
        let product = Value::Object(BTreeMap::from([
            ("name".to_string(), Value::from("Running Shoes")),
            ("price".to_string(), Value::from(89.5)),
        ]));
        let e = Event::track("Order Completed", DateTime::from_timestamp(0, 0).unwrap())
            .with_property("products", Value::List(vec![product]))
            .with_trait(
                "address",
                Value::Object(BTreeMap::from([("city".into(), Value::from("Oslo"))])),
            );
        assert_eq!(
            e.property("products.0.name"),
            Some(&Value::from("Running Shoes"))
        );
        assert_eq!(e.trait_value("address.city"), Some(&Value::from("Oslo")));
        assert_eq!(e.property("products.0.nope"), None);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }
}
