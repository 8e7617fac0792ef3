//! Golden profiles: one person's merged record, with the provenance of every value.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{FieldName, RecordId, Value};

/// A profile's stable id. Ids are handed out by the dedup stage and never reused.
///
/// Printed the same way everywhere, with `{}` and `{:?}` alike (inside other types' debug
/// output too), so that logs and messages can be searched for one id:
///
/// ```
/// use mergetag_model::ProfileId;
///
/// assert_eq!(ProfileId(199).to_string(), "p00000199");
/// assert_eq!(format!("{:?}", Some(ProfileId(199))), "Some(p00000199)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileId(pub u64);

impl fmt::Debug for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{:08}", self.0)
    }
}

/// A value from one member record, with the record it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sourced {
    /// The value.
    pub value: Value,
    /// The record that holds it.
    pub record: RecordId,
    /// When that record was observed, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
}

/// One field of a golden profile: the surviving value, where it came from, and the values it
/// won over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileField {
    /// The field's name.
    pub name: FieldName,
    /// The surviving value and its record.
    pub chosen: Sourced,
    /// The survivorship rule that chose it (`"most_recent"`, `"source_priority"`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Other, different values the members hold for this field, in record-id order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Sourced>,
}

/// A channel a person can be contacted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// Email.
    Email,
    /// SMS and other text messages.
    Sms,
    /// Mobile push notifications.
    Push,
}

/// Why a person must not be contacted on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SuppressionReason {
    /// The person opted out or unsubscribed.
    OptOut,
    /// A message hard-bounced.
    Bounced,
    /// The person marked a message as spam.
    Complaint,
    /// There is no record of consent where consent is required.
    NoConsent,
    /// Suppressed by an operator or a list upload.
    Manual,
}

/// A suppression on a profile: the channel, the reason and the record that said so.
///
/// Suppression wins: a profile with a suppression for a channel never appears in an audience
/// for that channel, whatever its other members say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The suppressed channel.
    pub channel: Channel,
    /// Why.
    pub reason: SuppressionReason,
    /// The member record that said so.
    pub record: RecordId,
    /// When that record said so, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// A golden record: one person, merged from the member records that describe them.
///
/// ```
/// use mergetag_model::{Profile, ProfileId, RecordId, Value, fields};
///
/// let a = RecordId::id("salesforce", "0031");
/// let b = RecordId::id("hubspot", "901");
/// let mut p = Profile::new(ProfileId(7), vec![a.clone(), b.clone()]);
/// p.set(fields::FIRST_NAME, Value::from("Robert"), a.clone(), None);
/// assert_eq!(p.value(fields::FIRST_NAME), Some(&Value::from("Robert")));
/// assert_eq!(p.field(fields::FIRST_NAME).unwrap().chosen.record, a);
/// assert!(!p.is_suppressed(mergetag_model::Channel::Email));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The stable id.
    pub id: ProfileId,
    /// The member records, sorted by id.
    pub members: Vec<RecordId>,
    /// The surviving fields, in a stable order.
    #[serde(default)]
    pub fields: Vec<ProfileField>,
    /// Channels this person must not be contacted on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
}

impl Profile {
    /// A profile with these members (sorted and deduplicated here) and no fields yet.
    pub fn new(id: ProfileId, mut members: Vec<RecordId>) -> Profile {
        members.sort();
        members.dedup();
        Profile {
            id,
            members,
            fields: Vec::new(),
            suppressions: Vec::new(),
        }
    }

    /// The field `name`, if the profile has it.
    pub fn field(&self, name: &str) -> Option<&ProfileField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The surviving value of the field `name`.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.field(name).map(|f| &f.chosen.value)
    }

    /// Sets the surviving value of `name` with its record, replacing any earlier choice (and
    /// its conflicts).
    pub fn set(
        &mut self,
        name: impl Into<FieldName>,
        value: Value,
        record: RecordId,
        observed_at: Option<DateTime<Utc>>,
    ) {
        let name = name.into();
        let field = ProfileField {
            name,
            chosen: Sourced {
                value,
                record,
                observed_at,
            },
            rule: None,
            conflicts: Vec::new(),
        };
        match self.fields.iter_mut().find(|f| f.name == field.name) {
            Some(f) => *f = field,
            None => self.fields.push(field),
        }
    }

    /// Whether the profile is suppressed for `channel`.
    pub fn is_suppressed(&self, channel: Channel) -> bool {
        self.suppressions.iter().any(|s| s.channel == channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_sorted_and_unique_and_serde_round_trips() {
        let a = RecordId::id("b", "1");
        let b = RecordId::id("a", "2");
        let mut p = Profile::new(ProfileId(1), vec![a.clone(), b.clone(), a.clone()]);
        assert_eq!(p.members, [b.clone(), a.clone()]);
        p.set("email", Value::from("x@example.com"), a.clone(), None);
        p.set("email", Value::from("y@example.com"), b.clone(), None);
        assert_eq!(p.fields.len(), 1);
        assert_eq!(p.field("email").unwrap().chosen.record, b);
        p.suppressions.push(Suppression {
            channel: Channel::Email,
            reason: SuppressionReason::OptOut,
            record: a,
            at: None,
        });
        assert!(p.is_suppressed(Channel::Email));
        assert!(!p.is_suppressed(Channel::Sms));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), p);
        assert_eq!(ProfileId(42).to_string(), "p00000042");
    }
}
