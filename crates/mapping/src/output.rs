//! Audience output shaped per platform, checked against the platform's limits, with
//! suppression enforced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mergetag_model::{Channel, Profile, ProfileId, SuppressionReason, Value, fields, mailbox};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::document::{Mapping, Recipient, Rendered, VarType};
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::suppression::{Scope, SuppressedAddresses};

/// Why a recipient was left out of an audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Exclusion {
    /// The profile carries an email suppression with this reason.
    Suppressed(SuppressionReason),
    /// The profile's `email_opt_out` field is true.
    OptOutField,
    /// An address the profile holds is suppressed: any address it ever held (the `email`
    /// value of any member record) is on an external suppression list, was held by a
    /// suppressed profile, or was named by a complaint or unsubscribe event; or the address it
    /// would be sent to bounced. Addresses are compared as mailboxes
    /// ([`mergetag_model::mailbox`]).
    AddressSuppressed,
    /// The profile has no email address.
    NoAddress,
    /// Another profile with the same mailbox (compared as suppression compares them:
    /// [`mergetag_model::mailbox`], so case, Gmail dots and `+tags` do not matter) is emitted
    /// instead, so that a platform that updates contacts by
    /// address (Mailchimp's `update_existing`) does not overwrite one person with another.
    /// See [`Exporter::exclusions`] for which profile keeps the address.
    DuplicateAddress,
}

/// A value a platform would refuse, left out of the recipient's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The recipient.
    pub profile: ProfileId,
    /// The variable (or output field).
    pub variable: String,
    /// What limit it breaks.
    pub message: String,
}

/// The counts of one export; they add up: `recipients == exported + sum(excluded)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportReport {
    /// Recipients given.
    pub recipients: usize,
    /// Recipients written.
    pub exported: usize,
    /// Recipients left out, by reason.
    pub excluded: BTreeMap<Exclusion, usize>,
    /// Values left out because the platform would refuse them.
    pub rejections: Vec<Rejection>,
    /// Requests (or lines, for JSON Lines).
    pub payloads: usize,
}

impl ExportReport {
    /// How many recipients were left out as suppressed (any reason but a missing or
    /// duplicate address).
    pub fn suppressed(&self) -> usize {
        self.excluded
            .iter()
            .filter(|(k, _)| !matches!(k, Exclusion::NoAddress | Exclusion::DuplicateAddress))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The output of an export: request bodies (one per batch, or one per line for JSON Lines)
/// and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    /// The platform.
    pub platform: Platform,
    /// The request bodies; for JSON Lines, one object per recipient.
    pub payloads: Vec<Json>,
    /// The counts.
    pub report: ExportReport,
    /// Each recipient exported, in order, independent of the platform's request shape.
    recipients: Vec<AudienceMember>,
}

/// One recipient of an [`Audience`]: who, at which address, with which variables, however
/// the platform's request bodies nest them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AudienceMember {
    /// The profile.
    pub profile: ProfileId,
    /// The address the payload is sent to (trimmed, lower-case).
    pub email: String,
    /// Each variable that has a value (or fallback), by the mapping's name for it (before any
    /// platform renaming, such as Mailchimp's merge tags), as the JSON value sent.
    pub variables: BTreeMap<String, Json>,
}

impl Audience {
    /// The recipients exported, in order, with their address and variables: the same for every
    /// platform.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mergetag_mapping::{ExporterBuilder, MappingConfig, Platform, Recipient};
    /// use mergetag_mapping::model::{Profile, ProfileId, RecordId, Value};
    ///
    /// let mapping = MappingConfig::from_toml_str(
    ///     "[[variables]]\nname = \"fname\"\nsource = \"profile.first_name\"\nfallback = \"there\"",
    /// )?.build()?;
    /// let mut p = Profile::new(ProfileId(1), vec![]);
    /// p.set("email", Value::from("Ann@Example.com"), RecordId::id("crm", "1"), None);
    /// let traits = BTreeMap::new();
    /// let audience = ExporterBuilder::new(Platform::Mailchimp)
    ///     .build(&mapping)?
    ///     .export(&[Recipient { profile: &p, traits: &traits }]);
    /// let first = &audience.recipients()[0];
    /// assert_eq!((first.profile, first.email.as_str()), (ProfileId(1), "ann@example.com"));
    /// assert_eq!(first.variables["fname"], "there");
    /// # Ok::<(), mergetag_mapping::Error>(())
    /// ```
    pub fn recipients(&self) -> &[AudienceMember] {
        &self.recipients
    }

    /// The payloads as JSON Lines, one per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for p in &self.payloads {
            out.push_str(&p.to_string());
            out.push('\n');
        }
        out
    }
}

/// Builds an [`Exporter`].
#[derive(Debug, Clone)]
pub struct ExporterBuilder {
    platform: Platform,
    batch_size: Option<usize>,
    suppressed: BTreeSet<String>,
    bounced: BTreeSet<String>,
}

impl ExporterBuilder {
    /// A builder for `platform`, with batches as large as the platform allows.
    pub fn new(platform: Platform) -> ExporterBuilder {
        ExporterBuilder {
            platform,
            batch_size: None,
            suppressed: BTreeSet::new(),
            bounced: BTreeSet::new(),
        }
    }

    /// Recipients per request (default: the platform's limit).
    pub fn batch_size(&mut self, n: usize) -> &mut Self {
        self.batch_size = Some(n);
        self
    }

    /// Adds an address from an external suppression list: a profile that holds it, or ever
    /// held it (the `email` value of any of its member records), is left out. Addresses are
    /// compared as mailboxes ([`mergetag_model::mailbox`]): suppressing `bob.smith@gmail.com`
    /// leaves out `BobSmith+news@googlemail.com`.
    pub fn suppress_address(&mut self, email: &str) -> &mut Self {
        if let Some(key) = mailbox::key(email) {
            self.suppressed.insert(key);
        }
        self
    }

    /// Adds a mailbox that must not be sent to (a hard-bounced address): a profile whose
    /// address is that mailbox is left out, whichever profile it is; a profile that only
    /// held it in the past may still be emailed at its current address.
    pub fn suppress_mailbox(&mut self, email: &str) -> &mut Self {
        if let Some(key) = mailbox::key(email) {
            self.bounced.insert(key);
        }
        self
    }

    /// Builds the exporter for `mapping`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when a variable name breaks the platform's rules or the batch size is
    /// 0 or above the platform's limit.
    pub fn build<'m>(&self, mapping: &'m Mapping) -> Result<Exporter<'m>> {
        self.build_with(MappingRef::Borrowed(mapping))
    }

    /// Builds an exporter that shares ownership of `mapping`, so that it can be kept (in a
    /// pipeline, say) and used for many exports without being built again.
    ///
    /// # Errors
    ///
    /// As [`ExporterBuilder::build`].
    pub fn build_shared(&self, mapping: Arc<Mapping>) -> Result<Exporter<'static>> {
        self.build_with(MappingRef::Shared(mapping))
    }

    fn build_with<'m>(&self, mapping: MappingRef<'m>) -> Result<Exporter<'m>> {
        let limit = self.platform.batch_limit();
        let batch = self.batch_size.unwrap_or(limit);
        if batch == 0 || batch > limit {
            return Err(Error::invalid(
                "batch_size",
                format!(
                    "{} accepts 1 to {limit} recipients per request, not {batch}",
                    self.platform
                ),
            ));
        }
        if let Some((name, why)) = mapping.check_platform(self.platform).into_iter().next() {
            return Err(Error::invalid(format!("variables.{name}"), why));
        }
        Ok(Exporter {
            mapping,
            platform: self.platform,
            batch,
            suppressed: self.suppressed.clone(),
            bounced: self.bounced.clone(),
        })
    }
}

/// Renders an audience for one platform.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use mergetag_mapping::{ExporterBuilder, MappingConfig, Platform, Recipient};
/// use mergetag_mapping::model::{Profile, ProfileId, RecordId, Value};
///
/// let mapping = MappingConfig::from_toml_str(
///     "[[variables]]\nname = \"fname\"\nsource = \"profile.first_name\"\nfallback = \"there\"",
/// ).unwrap().build().unwrap();
/// let mut p = Profile::new(ProfileId(1), vec![]);
/// p.set("email", Value::from("ann@example.com"), RecordId::id("crm", "1"), None);
/// let traits = BTreeMap::new();
/// let exporter = ExporterBuilder::new(Platform::SendGrid).build(&mapping).unwrap();
/// let audience = exporter.export(&[Recipient { profile: &p, traits: &traits }]);
/// let first = &audience.payloads[0]["personalizations"][0];
/// assert_eq!(first["dynamic_template_data"]["fname"], "there");
/// assert_eq!(audience.report.exported, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Exporter<'m> {
    mapping: MappingRef<'m>,
    platform: Platform,
    batch: usize,
    suppressed: BTreeSet<String>,
    bounced: BTreeSet<String>,
}

/// The mapping an [`Exporter`] renders with: borrowed, or shared.
#[derive(Debug, Clone)]
enum MappingRef<'m> {
    Borrowed(&'m Mapping),
    Shared(Arc<Mapping>),
}

impl std::ops::Deref for MappingRef<'_> {
    type Target = Mapping;

    fn deref(&self) -> &Mapping {
        match self {
            MappingRef::Borrowed(m) => m,
            MappingRef::Shared(m) => m,
        }
    }
}

fn email_of(p: &Profile) -> Option<String> {
    p.value(fields::EMAIL)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

/// The mailbox keys of every address `p` holds or held: its `email` value and the different
/// values of its other members (the field's conflicts).
fn held_addresses(p: &Profile) -> impl Iterator<Item = String> + '_ {
    p.field(fields::EMAIL)
        .into_iter()
        .flat_map(|f| std::iter::once(&f.chosen).chain(&f.conflicts))
        .filter_map(|s| s.value.as_str())
        .filter_map(mailbox::key)
}

/// Whether `a` keeps an address it shares with `b`, given earlier: the more recently
/// observed `email` value, then more members, then the lower profile id; `false` on a full
/// tie, so that the recipient given first keeps it.
fn keeps_address(a: &Profile, b: &Profile) -> bool {
    let key = |p: &Profile| {
        (
            p.field(fields::EMAIL).and_then(|f| f.chosen.observed_at),
            p.members.len(),
            std::cmp::Reverse(p.id),
        )
    };
    key(a) > key(b)
}

/// Why `p` may not be emailed, regardless of addresses suppressed elsewhere.
fn own_exclusion(p: &Profile) -> Option<Exclusion> {
    if let Some(s) = p
        .suppressions
        .iter()
        .filter(|s| s.channel == Channel::Email)
        .min_by_key(|s| s.reason)
    {
        return Some(Exclusion::Suppressed(s.reason));
    }
    if matches!(p.value("email_opt_out"), Some(Value::Bool(true)))
        || p.value("email_opt_out")
            .and_then(Value::as_str)
            .is_some_and(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
    {
        return Some(Exclusion::OptOutField);
    }
    None
}

/// Whether `s` is an E.164 phone number: `+`, then 2 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

const BRAZE_STANDARD: &[&str] = &[
    "first_name",
    "last_name",
    "phone",
    "country",
    "home_city",
    "gender",
    "dob",
    "language",
    "time_zone",
];
const KLAVIYO_STANDARD: &[&str] = &[
    "first_name",
    "last_name",
    "organization",
    "title",
    "image",
    "phone_number",
    "location",
];

impl Exporter<'_> {
    /// The platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// Which recipients are excluded and why; `None` for those who may be emailed.
    ///
    /// As [`Exporter::exclusions_with`] without suppressions from events.
    pub fn exclusions(&self, recipients: &[Recipient<'_>]) -> Vec<Option<Exclusion>> {
        self.exclusions_with(recipients, &SuppressedAddresses::new())
    }

    /// Which recipients are excluded and why, with the addresses events suppressed
    /// ([`SuppressionRules::addresses`](crate::SuppressionRules::addresses)) on top of the
    /// builder's lists; `None` for those who may be emailed.
    ///
    /// In this order: the profile's own suppressions and opt-out field; no address; an
    /// address suppressed ([`Exclusion::AddressSuppressed`]): any address the profile holds or
    /// held (its `email` value and its members' other values) on the external list
    /// ([`ExporterBuilder::suppress_address`]), held by a suppressed recipient, or named by a
    /// [`Scope::Person`] event; or the address it would be sent to bounced
    /// ([`ExporterBuilder::suppress_mailbox`], [`Scope::Mailbox`] events); then, among the
    /// recipients left, a mailbox is emitted once ([`Exclusion::DuplicateAddress`] for the
    /// others). Addresses are compared as mailboxes ([`mergetag_model::mailbox`]: case, Gmail
    /// dots, `+tags` and `googlemail.com` do not matter).
    /// The profile that keeps a shared address is the one whose `email` value was observed
    /// most recently (an undated value counts as the oldest), then the one with the most
    /// member records, then the lowest profile id (then the first given, for equal ids); so
    /// the result does not depend on the order of `recipients`.
    pub fn exclusions_with(
        &self,
        recipients: &[Recipient<'_>],
        events: &SuppressedAddresses,
    ) -> Vec<Option<Exclusion>> {
        // Suppression wins: an address suppressed anywhere is suppressed everywhere.
        let mut blocked = self.suppressed.clone();
        blocked.extend(events.keys(Scope::Person).map(str::to_owned));
        let mut bounced = self.bounced.clone();
        bounced.extend(events.keys(Scope::Mailbox).map(str::to_owned));
        for r in recipients {
            if own_exclusion(r.profile).is_some() {
                blocked.extend(held_addresses(r.profile));
            }
        }
        let mut out: Vec<Option<Exclusion>> = Vec::with_capacity(recipients.len());
        // Mailbox -> the index of the recipient that keeps it so far.
        let mut keeper: BTreeMap<String, usize> = BTreeMap::new();
        for (i, r) in recipients.iter().enumerate() {
            let email = email_of(r.profile).and_then(|e| mailbox::key(&e));
            let excl = own_exclusion(r.profile).or_else(|| match &email {
                None => Some(Exclusion::NoAddress),
                Some(e)
                    if bounced.contains(e)
                        || held_addresses(r.profile).any(|h| blocked.contains(&h)) =>
                {
                    Some(Exclusion::AddressSuppressed)
                }
                Some(_) => None,
            });
            out.push(excl);
            if excl.is_some() {
                continue;
            }
            let Some(email) = email else { continue };
            match keeper.entry(email) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(i);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let held = *o.get();
                    let (winner, loser) =
                        if keeps_address(recipients[i].profile, recipients[held].profile) {
                            (i, held)
                        } else {
                            (held, i)
                        };
                    o.insert(winner);
                    out[loser] = Some(Exclusion::DuplicateAddress);
                }
            }
        }
        out
    }

    /// Renders the audience: suppressed recipients and those without an address are left out
    /// and counted; values over a platform limit are left out and reported.
    pub fn export(&self, recipients: &[Recipient<'_>]) -> Audience {
        self.export_with(recipients, &SuppressedAddresses::new())
    }

    /// As [`Exporter::export`], with the addresses events suppressed on top of the
    /// builder's lists (see [`Exporter::exclusions_with`]).
    pub fn export_with(
        &self,
        recipients: &[Recipient<'_>],
        events: &SuppressedAddresses,
    ) -> Audience {
        let mut report = ExportReport {
            recipients: recipients.len(),
            ..ExportReport::default()
        };
        let mut items = Vec::new();
        let mut members = Vec::new();
        let mut rendered = Vec::new();
        for (r, excl) in recipients
            .iter()
            .zip(self.exclusions_with(recipients, events))
        {
            if let Some(x) = excl {
                *report.excluded.entry(x).or_default() += 1;
                continue;
            }
            let email = email_of(r.profile).unwrap_or_default();
            self.mapping.render_into(r, &mut rendered);
            items.push(self.item(r.profile, &email, &rendered, &mut report.rejections));
            members.push(AudienceMember {
                profile: r.profile.id,
                variables: self
                    .mapping
                    .variables()
                    .iter()
                    .zip(&rendered)
                    .filter(|(_, v)| !v.value.is_null())
                    .map(|(v, r)| (v.name().to_owned(), r.value.clone().into_owned()))
                    .collect(),
                email,
            });
            report.exported += 1;
        }
        let payloads: Vec<Json> = if self.platform == Platform::JsonLines {
            items
        } else {
            let mut batches = Vec::with_capacity(items.len().div_ceil(self.batch));
            let mut items = items.into_iter().peekable();
            while items.peek().is_some() {
                batches.push(self.wrap(items.by_ref().take(self.batch).collect()));
            }
            batches
        };
        report.payloads = payloads.len();
        Audience {
            platform: self.platform,
            payloads,
            report,
            recipients: members,
        }
    }

    fn item(
        &self,
        p: &Profile,
        email: &str,
        vars: &[Rendered<'_>],
        rejections: &mut Vec<Rejection>,
    ) -> Json {
        let mut reject = |variable: &str, message: String| {
            rejections.push(Rejection {
                profile: p.id,
                variable: variable.to_string(),
                message,
            })
        };
        let named = self
            .mapping
            .variables()
            .iter()
            .zip(vars)
            .filter(|(_, r)| !r.value.is_null());
        match self.platform {
            Platform::SendGrid => {
                let data: Map<String, Json> = named
                    .map(|(v, r)| (v.name().to_string(), r.value.clone().into_owned()))
                    .collect();
                json!({ "to": [{ "email": email }], "dynamic_template_data": data })
            }
            Platform::Mailchimp => {
                let mut merge = Map::new();
                for (v, r) in named {
                    let tag = self.platform.key(v.name());
                    let value = match (&*r.value, v.var_type()) {
                        (Json::Object(o), VarType::Address) => json!({
                            "addr1": o.get("street").cloned().unwrap_or(Json::from("")),
                            "city": o.get("city").cloned().unwrap_or(Json::from("")),
                            "state": o.get("region").cloned().unwrap_or(Json::from("")),
                            "zip": o.get("postal_code").cloned().unwrap_or(Json::from("")),
                            "country": o.get("country").cloned().unwrap_or(Json::from("")),
                        }),
                        (Json::Array(_) | Json::Object(_), _) => {
                            reject(
                                v.name(),
                                format!("mailchimp merge field {tag} cannot hold a list or object"),
                            );
                            continue;
                        }
                        (Json::String(s), _) if s.chars().count() > 255 => {
                            reject(
                                v.name(),
                                format!("mailchimp merge field {tag} holds at most 255 characters"),
                            );
                            continue;
                        }
                        (other, _) => other.clone(),
                    };
                    merge.insert(tag, value);
                }
                json!({ "email_address": email, "status": "subscribed", "merge_fields": merge })
            }
            Platform::Braze => {
                let external = p
                    .value(fields::USER_ID)
                    .and_then(Value::as_str)
                    .map_or_else(|| p.id.to_string(), str::to_string);
                let mut attrs = Map::new();
                attrs.insert("external_id".into(), Json::String(external));
                attrs.insert("email".into(), Json::String(email.to_string()));
                for (v, r) in named {
                    if let Json::String(s) = &*r.value
                        && s.chars().count() > 255
                    {
                        reject(
                            v.name(),
                            "braze string attributes hold at most 255 characters".into(),
                        );
                        continue;
                    }
                    if BRAZE_STANDARD.contains(&v.name()) && !r.value.is_string() {
                        reject(
                            v.name(),
                            format!("braze standard attribute `{}` must be a string", v.name()),
                        );
                        continue;
                    }
                    if v.name() == "phone" && !r.value.as_str().is_some_and(is_e164) {
                        reject(
                            v.name(),
                            "braze phone should be in e.164 form (+15550100)".into(),
                        );
                        continue;
                    }
                    attrs.insert(v.name().to_string(), r.value.clone().into_owned());
                }
                Json::Object(attrs)
            }
            Platform::Klaviyo => {
                let mut attrs = Map::new();
                let mut props = Map::new();
                attrs.insert("email".into(), Json::String(email.to_string()));
                if let Some(u) = p.value(fields::USER_ID).and_then(Value::as_str) {
                    attrs.insert("external_id".into(), Json::String(u.to_string()));
                }
                for (v, r) in named {
                    let name = v.name();
                    if name == "phone_number" && !r.value.as_str().is_some_and(is_e164) {
                        reject(
                            name,
                            "klaviyo phone_number must be in e.164 form (+15550100)".into(),
                        );
                        continue;
                    }
                    if name == "location" {
                        let Json::Object(o) = &*r.value else {
                            reject(name, "klaviyo location must be an address object".into());
                            continue;
                        };
                        let mut loc = Map::new();
                        for (from, to) in [
                            ("street", "address1"),
                            ("city", "city"),
                            ("region", "region"),
                            ("postal_code", "zip"),
                            ("country", "country"),
                        ] {
                            if let Some(x) = o.get(from) {
                                loc.insert(to.into(), x.clone());
                            }
                        }
                        attrs.insert("location".into(), Json::Object(loc));
                    } else if KLAVIYO_STANDARD.contains(&name) {
                        attrs.insert(name.into(), r.value.clone().into_owned());
                    } else {
                        props.insert(name.into(), r.value.clone().into_owned());
                    }
                }
                if !props.is_empty() {
                    attrs.insert("properties".into(), Json::Object(props));
                }
                json!({ "type": "profile", "attributes": attrs })
            }
            Platform::JsonLines => {
                let all: Map<String, Json> = self
                    .mapping
                    .variables()
                    .iter()
                    .zip(vars)
                    .map(|(v, r)| (v.name().to_string(), r.value.clone().into_owned()))
                    .collect();
                json!({ "profile_id": p.id.to_string(), "email": email, "variables": all })
            }
        }
    }

    fn wrap(&self, items: Vec<Json>) -> Json {
        match self.platform {
            Platform::SendGrid => json!({ "personalizations": items }),
            Platform::Mailchimp => json!({ "members": items, "update_existing": true }),
            Platform::Braze => json!({ "attributes": items }),
            Platform::Klaviyo => json!({
                "data": {
                    "type": "profile-bulk-import-job",
                    "attributes": { "profiles": { "data": items } }
                }
            }),
            Platform::JsonLines => Json::Array(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164() {
        assert!(is_e164("+15550100123"));
        assert!(!is_e164("+0123"));
        assert!(!is_e164("5550100"));
        assert!(!is_e164("+1 555 0100"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn batch_limits_are_checked() {
        let m = crate::MappingConfig::default().build().unwrap();
        assert!(
            ExporterBuilder::new(Platform::SendGrid)
                .batch_size(1001)
                .build(&m)
                .is_err()
        );
        assert!(
            ExporterBuilder::new(Platform::Braze)
                .batch_size(0)
                .build(&m)
                .is_err()
        );
        assert!(
            ExporterBuilder::new(Platform::Braze)
                .batch_size(75)
                .build(&m)
                .is_ok()
        );
    }
}
