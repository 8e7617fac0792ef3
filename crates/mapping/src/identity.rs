//! Attribution of events to profiles through their identifiers.

use std::collections::BTreeMap;

use mergetag_model::{Event, Profile, ProfileId, Value, fields};

/// Which profile an event belongs to, from the identifiers events carry: a user id, an email
/// address (compared case-insensitively) or an anonymous id that an identify call (or any event
/// carrying both) linked to a known user id or email.
///
/// Resolution order is user id, then email, then anonymous id. When an anonymous id is linked
/// to several profiles, the smallest [`ProfileId`] wins, so the result does not depend on event
/// order.
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mergetag_mapping::IdentityGraph;
/// use mergetag_mapping::model::{Event, EventKind, ProfileId};
///
/// let at = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
/// let mut graph = IdentityGraph::new();
/// graph.add_user_id("u1", ProfileId(1));
/// let identify = Event::new(EventKind::Identify, at).with_user_id("u1").with_anonymous_id("a9");
/// let anonymous = Event::track("Product Viewed", at).with_anonymous_id("a9");
/// graph.link(&[identify, anonymous.clone()]);
/// assert_eq!(graph.resolve(&anonymous), Some(ProfileId(1)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct IdentityGraph {
    users: BTreeMap<String, ProfileId>,
    emails: BTreeMap<String, ProfileId>,
    anonymous: BTreeMap<String, ProfileId>,
}

impl IdentityGraph {
    /// An empty graph.
    pub fn new() -> IdentityGraph {
        IdentityGraph::default()
    }

    /// A graph of the `user_id`, `email` and `anonymous_id` fields of `profiles`.
    pub fn from_profiles<'a>(profiles: impl IntoIterator<Item = &'a Profile>) -> IdentityGraph {
        let mut graph = IdentityGraph::new();
        for p in profiles {
            let each = |name: &str, f: &mut dyn FnMut(&str)| {
                if let Some(field) = p.field(name) {
                    for v in std::iter::once(&field.chosen).chain(&field.conflicts) {
                        if let Some(s) = v.value.as_str() {
                            f(s);
                        }
                    }
                }
            };
            each(fields::USER_ID, &mut |s| {
                graph.add_user_id(s, p.id);
            });
            each(fields::EMAIL, &mut |s| {
                graph.add_email(s, p.id);
            });
            each(fields::ANONYMOUS_ID, &mut |s| {
                graph.add_anonymous_id(s, p.id);
            });
        }
        graph
    }

    fn insert(map: &mut BTreeMap<String, ProfileId>, key: String, profile: ProfileId) {
        if key.is_empty() {
            return;
        }
        map.entry(key)
            .and_modify(|p| *p = (*p).min(profile))
            .or_insert(profile);
    }

    /// Attributes events with user id `id` to `profile`.
    pub fn add_user_id(&mut self, id: &str, profile: ProfileId) -> &mut Self {
        Self::insert(&mut self.users, id.trim().to_string(), profile);
        self
    }

    /// Attributes events with this email address (case-insensitively) to `profile`.
    pub fn add_email(&mut self, email: &str, profile: ProfileId) -> &mut Self {
        Self::insert(&mut self.emails, email.trim().to_lowercase(), profile);
        self
    }

    /// Attributes events with anonymous id `id` to `profile`.
    pub fn add_anonymous_id(&mut self, id: &str, profile: ProfileId) -> &mut Self {
        Self::insert(&mut self.anonymous, id.trim().to_string(), profile);
        self
    }

    /// Links the anonymous ids of `events` to the profiles their user id or email resolves to.
    /// Every event carrying both kinds of identifier links (identify calls above all).
    pub fn link(&mut self, events: &[Event]) -> &mut Self {
        for e in events {
            if let Some(anon) = e.anonymous_id.as_deref()
                && let Some(p) = self.resolve_known(e)
            {
                Self::insert(&mut self.anonymous, anon.trim().to_string(), p);
            }
        }
        self
    }

    fn event_email(e: &Event) -> Option<&str> {
        e.email
            .as_deref()
            .or_else(|| e.traits.get("email").and_then(Value::as_str))
    }

    fn resolve_known(&self, e: &Event) -> Option<ProfileId> {
        if let Some(p) = e.user_id.as_deref().and_then(|u| self.users.get(u.trim())) {
            return Some(*p);
        }
        Self::event_email(e).and_then(|m| self.emails.get(&m.trim().to_lowercase()).copied())
    }

    /// The profile `event` belongs to, if any identifier resolves.
    pub fn resolve(&self, event: &Event) -> Option<ProfileId> {
        self.resolve_known(event).or_else(|| {
            event
                .anonymous_id
                .as_deref()
                .and_then(|a| self.anonymous.get(a.trim()).copied())
        })
    }

    /// The events of each profile; events that resolve to no profile are left out.
    pub fn group<'a>(&self, events: &'a [Event]) -> BTreeMap<ProfileId, Vec<&'a Event>> {
        let mut out: BTreeMap<ProfileId, Vec<&Event>> = BTreeMap::new();
        for e in events {
            if let Some(p) = self.resolve(e) {
                out.entry(p).or_default().push(e);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use mergetag_model::{EventKind, RecordId};

    #[test]
    fn email_and_anonymous_links_resolve() {
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let mut p = Profile::new(ProfileId(3), vec![RecordId::id("crm", "1")]);
        p.set(
            fields::EMAIL,
            Value::from("Ann@Example.com"),
            RecordId::id("crm", "1"),
            None,
        );
        let mut g = IdentityGraph::from_profiles([&p]);
        let identify = Event::new(EventKind::Identify, at)
            .with_anonymous_id("x")
            .with_trait("email", "ann@example.com");
        let view = Event::track("Product Viewed", at).with_anonymous_id("x");
        let stranger = Event::track("Product Viewed", at).with_anonymous_id("y");
        // Linking works whatever the order of the events.
        g.link(&[view.clone(), identify]);
        assert_eq!(g.resolve(&view), Some(ProfileId(3)));
        assert_eq!(g.resolve(&stranger), None);
        let events = [view, stranger];
        assert_eq!(g.group(&events).len(), 1);
    }
}
