//! From golden profiles and events to what an email platform consumes: computed traits, an
//! engagement score, template variables with fallbacks, template checks, segments, suppression,
//! and output for SendGrid, Mailchimp, Braze, Klaviyo and JSON Lines.
//!
//! The crate depends on [`mergetag-model`](mergetag_model) alone, re-exported as [`model`].
//!
//! | step | types |
//! |---|---|
//! | attribute events to profiles (user id, email, anonymous id linked by identify) | [`IdentityGraph`] |
//! | computed traits (last, first, count in window, sum/avg/min/max, most frequent, unique, exists, days since) | [`TraitSetConfig`] → [`TraitSet`] |
//! | engagement: weighted, decayed by a half-life, machine opens discounted, bucketed | [`EngagementConfig`] → [`Engagement`] → [`Score`] |
//! | the mapping document: variables with source, transforms, fallback, type; JSON Schema | [`MappingConfig`] → [`Mapping`] |
//! | template checks: variables used, unknown, per-recipient coverage | [`scan`], [`check_template`], [`coverage`] |
//! | segments from rules; RFM quintiles and named segments | [`SegmentSetConfig`] → [`SegmentSet`], [`rfm`] |
//! | suppression from bounce, complaint and unsubscribe events (SendGrid, Mailchimp, Braze, Klaviyo, Segment) | [`SuppressionRulesConfig`] → [`SuppressionRules`] → [`SuppressedAddresses`] |
//! | platform output with limits checked and suppression enforced | [`ExporterBuilder`] → [`Exporter`] → [`Audience`] |
//!
//! Everything that depends on time takes an explicit `now`, and every result is independent of
//! event and recipient order (ties are broken by value, then by profile id).
//!
//! ```
//! use std::collections::BTreeMap;
//! use chrono::{TimeZone, Utc};
//! use mergetag_mapping::{IdentityGraph, MappingConfig, Recipient, TraitSetConfig};
//! use mergetag_mapping::model::{Event, Profile, ProfileId, RecordId, Value};
//!
//! // A profile and its events, attributed by user id.
//! let crm = RecordId::id("crm", "1");
//! let mut profile = Profile::new(ProfileId(1), vec![crm.clone()]);
//! profile.set("user_id", Value::from("u1"), crm.clone(), None);
//! profile.set("city", Value::from("new york"), crm, None);
//! let at = Utc.with_ymd_and_hms(2025, 8, 1, 0, 0, 0).unwrap();
//! let events = vec![Event::track("Order Completed", at)
//!     .with_user_id("u1")
//!     .with_property("product", "Running Shoes")];
//! let graph = IdentityGraph::from_profiles([&profile]);
//! let by_profile = graph.group(&events);
//!
//! // Computed traits.
//! let traits = TraitSetConfig::from_toml_str(r#"
//!     [[traits]]
//!     name = "last_purchase_product"
//!     event = "Order Completed"
//!     property = "product"
//!     aggregate = "last"
//! "#).unwrap().build().unwrap();
//! let now = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).unwrap();
//! let computed = traits.compute(&by_profile[&ProfileId(1)], now);
//!
//! // The mapping document.
//! let mapping = MappingConfig::from_toml_str(r#"
//!     platform = "sendgrid"
//!     [[variables]]
//!     name = "last_purchase_product"
//!     source = "traits.last_purchase_product"
//!     fallback = "something new"
//!     [[variables]]
//!     name = "user_location"
//!     source = "profile.city"
//!     transforms = [{ op = "title" }]
//!     fallback = "your area"
//! "#).unwrap().build().unwrap();
//! let vars = mapping.to_object(&Recipient { profile: &profile, traits: &computed });
//! assert_eq!(vars["last_purchase_product"], "Running Shoes");
//! assert_eq!(vars["user_location"], "New York");
//! ```

mod document;
mod engagement;
mod error;
mod identity;
mod order;
mod output;
mod platform;
mod segment;
mod suppression;
mod template;
mod traits;
mod transform;

pub use mergetag_model as model;

pub use document::{
    EmptyPolicy, Mapping, MappingConfig, Missing, Outcome, Recipient, Rendered, VarType, Variable,
    VariableConfig, from_json, to_json,
};
pub use engagement::{
    CutPoints, Engagement, EngagementConfig, Level, MachineOpens, Score, Weights,
};
pub use error::{Error, Result};
pub use identity::IdentityGraph;
pub use output::{
    Audience, AudienceMember, Exclusion, ExportReport, Exporter, ExporterBuilder, Rejection,
    is_e164,
};
pub use platform::Platform;
pub use segment::{
    Condition, ConditionConfig, Op, RfmInput, RfmScore, RfmSegment, SegmentConfig, SegmentSet,
    SegmentSetConfig, rfm,
};
pub use suppression::{
    EventSuppression, Scope, Signal, SignalRule, SuppressedAddresses, SuppressionRules,
    SuppressionRulesConfig, add_suppressions, builtin_rules,
};
pub use template::{
    Scan, ScanProblem, Syntax, TemplateCheck, VariableCoverage, check_template, coverage, scan,
};
pub use traits::{Aggregate, Trait, TraitConfig, TraitSet, TraitSetConfig};
pub use transform::Transform;
