//! Who may be emailed at all: [`ConsentRule`], applied to every output before a profile
//! becomes a recipient (suppression, opt-outs and bounces are applied after it, by the
//! exporters).

use std::collections::HashSet;

use mergetag_model::{Profile, SourceName, Value};
use serde::{Deserialize, Serialize};

/// The consent every recipient needs, on top of not being suppressed.
///
/// By default a recipient needs a *first-party* record: a record from a source that is not a
/// join source. Join sources (enrichment files, bought lists) add attributes to people you
/// already know; a profile made only of their rows exists (nothing is lost) but is never
/// emailed. A consent `field` may be required too: the profile's value must be `true` (or
/// the text `true`, `yes`, `y` or `1`).
///
/// In a pipeline file:
///
/// ```toml
/// [outputs.consent]
/// first_party = true          # the default
/// field = "email_consent"     # optional
/// ```
///
/// ```
/// use std::collections::HashSet;
/// use mergetag::pipeline::ConsentRule;
/// use mergetag::{Profile, ProfileId, RecordId, SourceName, Value};
///
/// let enrichment: HashSet<SourceName> = [SourceName::new("enrichment")].into();
/// let bought = Profile::new(ProfileId(1), vec![RecordId::id("enrichment", "x@example.com")]);
/// let rule = ConsentRule::default();
/// assert_eq!(rule.refusal(&bought, &enrichment), Some("third_party_only"));
///
/// let mut known = Profile::new(ProfileId(2), vec![RecordId::id("crm", "7")]);
/// assert_eq!(rule.refusal(&known, &enrichment), None);
/// let rule = ConsentRule { field: Some("email_consent".into()), ..ConsentRule::default() };
/// assert_eq!(rule.refusal(&known, &enrichment), Some("no_consent_field"));
/// known.set("email_consent", Value::Bool(true), RecordId::id("crm", "7"), None);
/// assert_eq!(rule.refusal(&known, &enrichment), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRule {
    /// A recipient needs a record from a source that is not a join source (default true).
    #[serde(default = "yes")]
    pub first_party: bool,
    /// A field the profile must hold as true (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for ConsentRule {
    fn default() -> ConsentRule {
        ConsentRule {
            first_party: true,
            field: None,
        }
    }
}

impl ConsentRule {
    /// No consent required beyond not being suppressed: every profile may be a recipient.
    pub fn none() -> ConsentRule {
        ConsentRule {
            first_party: false,
            field: None,
        }
    }

    /// Why `profile` may not be a recipient (`third_party_only`, `no_consent_field`), or
    /// `None` when it may; `third_party` names the join sources.
    pub fn refusal(
        &self,
        profile: &Profile,
        third_party: &HashSet<SourceName>,
    ) -> Option<&'static str> {
        if self.first_party
            && profile
                .members
                .iter()
                .all(|m| third_party.contains(&m.source))
        {
            return Some("third_party_only");
        }
        if let Some(field) = &self.field {
            let consented = match profile.value(field) {
                Some(Value::Bool(b)) => *b,
                Some(Value::Int(i)) => *i == 1,
                Some(Value::Text(t)) => matches!(
                    t.trim().to_ascii_lowercase().as_str(),
                    "true" | "yes" | "y" | "1"
                ),
                _ => false,
            };
            if !consented {
                return Some("no_consent_field");
            }
        }
        None
    }
}
