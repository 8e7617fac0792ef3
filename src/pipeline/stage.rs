//! Stages of your own: [`RecordStage`]s see each record on its way in; [`ProfileStage`]s see
//! every golden profile, with its events and traits, once traits are computed, and add traits
//! (segments, predictive scores) that mapping variables then use like any other.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

use chrono::{DateTime, Utc};
use mergetag_model::{Event, Profile, Record, Value};

use super::report::StageReport;

/// What a [`RecordStage`] decides about a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The record goes on (as the stage left it).
    Keep,
    /// The record goes to quarantine with this reason (a short sentence, without personal
    /// values: it is printed in summaries).
    Quarantine(String),
}

/// A stage of your own, run on every record: change it, keep it, or quarantine it with a
/// reason. Closures become stages through [`stage_fn`].
///
/// ```
/// use mergetag::pipeline::{Decision, RecordStage};
/// use mergetag::{Record, RecordId, fields};
///
/// /// Test accounts never reach a campaign.
/// struct DropTestAccounts;
///
/// impl RecordStage for DropTestAccounts {
///     fn name(&self) -> &str {
///         "drop_test_accounts"
///     }
///     fn process(&mut self, record: &mut Record) -> Decision {
///         match record.text(fields::EMAIL) {
///             Some(e) if e.ends_with("@test.example.com") => {
///                 Decision::Quarantine("test account".into())
///             }
///             _ => Decision::Keep,
///         }
///     }
/// }
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set(fields::EMAIL, "qa@test.example.com");
/// assert_eq!(DropTestAccounts.process(&mut r), Decision::Quarantine("test account".into()));
/// ```
pub trait RecordStage {
    /// The stage's name, used in the report, the progress callback and quarantine codes
    /// (`stage.<name>`).
    fn name(&self) -> &str;

    /// Processes one record.
    fn process(&mut self, record: &mut Record) -> Decision;
}

impl<S: RecordStage + ?Sized> RecordStage for &mut S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (**self).process(record)
    }
}

impl<S: RecordStage + ?Sized> RecordStage for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (**self).process(record)
    }
}

/// A [`RecordStage`] made from a closure; see [`stage_fn`].
pub struct FnStage<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnStage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStage").field("name", &self.name).finish()
    }
}

impl<F: FnMut(&mut Record) -> Decision> RecordStage for FnStage<F> {
    fn name(&self) -> &str {
        &self.name
    }
    fn process(&mut self, record: &mut Record) -> Decision {
        (self.f)(record)
    }
}

/// A stage named `name` that runs `f` on every record.
///
/// ```
/// use mergetag::pipeline::{Decision, RecordStage, stage_fn};
/// use mergetag::{Record, RecordId};
///
/// let mut tag = stage_fn("tag_region", |r: &mut Record| {
///     r.set("campaign_region", "midwest");
///     Decision::Keep
/// });
/// let mut r = Record::new(RecordId::row("crm", 1));
/// assert_eq!(tag.process(&mut r), Decision::Keep);
/// assert_eq!(r.text("campaign_region"), Some("midwest"));
/// ```
pub fn stage_fn<F: FnMut(&mut Record) -> Decision>(name: &str, f: F) -> FnStage<F> {
    FnStage {
        name: name.to_owned(),
        f,
    }
}

/// Where a [`RecordStage`] runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StageAt {
    /// Right after reading, before normalization.
    BeforeNormalize,
    /// After normalization, before validation.
    AfterNormalize,
    /// After validation, before dedup (the default): only accepted records reach it.
    #[default]
    AfterValidate,
}

/// What a [`ProfileStage`] may return when it cannot do its work; the run stops with
/// [`Error::Stage`](crate::Error::Stage) naming the stage.
pub type StageError = Box<dyn StdError + Send + Sync>;

/// A stage of your own that sees every golden profile at once, after traits and engagement
/// are computed, and adds traits: the place where segmentation and predictive scores plug
/// in, since a model is fitted on the whole population before each profile is scored.
/// Stages run in the order added; each sees the traits the ones before it added. Closures
/// become stages through [`profile_stage_fn`].
///
/// ```
/// use mergetag::pipeline::{ProfileBatch, ProfileStage, StageError};
///
/// /// `orders_rank`: 1 for the profile with the most orders, 2 for the next...
/// struct RankByOrders;
///
/// impl ProfileStage for RankByOrders {
///     fn name(&self) -> &str {
///         "rank_by_orders"
///     }
///     fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
///         let mut order: Vec<usize> = (0..batch.len()).collect();
///         // Most orders first; ties by profile id, so that the result is deterministic.
///         let orders = |i: usize| batch.traits(i).get("orders").and_then(|v| v.as_f64()).unwrap_or(0.0);
///         order.sort_by(|&a, &b| orders(b).total_cmp(&orders(a)).then(batch.profile(a).id.cmp(&batch.profile(b).id)));
///         for (rank, i) in order.into_iter().enumerate() {
///             batch.set_trait(i, "orders_rank", rank as i64 + 1);
///         }
///         Ok(())
///     }
/// }
/// # let _ = RankByOrders;
/// ```
pub trait ProfileStage {
    /// The stage's name, in the report's timings (`profile_stage.<name>`) and errors.
    fn name(&self) -> &str;

    /// Sees every profile and adds traits with [`ProfileBatch::set_trait`].
    ///
    /// # Errors
    ///
    /// Whatever stops the stage; the run stops with it.
    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError>;

    /// What the last [`ProfileStage::process`] has to say in the run report
    /// ([`RunReport::stages`](super::RunReport::stages); its warnings go to
    /// [`RunReport::warnings`](super::RunReport::warnings)); nothing by default.
    fn report(&self) -> StageReport {
        StageReport::default()
    }
}

impl<S: ProfileStage + ?Sized> ProfileStage for &mut S {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        (**self).process(batch)
    }
    fn report(&self) -> StageReport {
        (**self).report()
    }
}

impl<S: ProfileStage + ?Sized> ProfileStage for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        (**self).process(batch)
    }
    fn report(&self) -> StageReport {
        (**self).report()
    }
}

/// The golden profiles of a run as a [`ProfileStage`] sees them: each profile (in profile-id
/// order) with its events and traits, and "now".
pub struct ProfileBatch<'a> {
    profiles: &'a [Profile],
    events: &'a [Vec<&'a Event>],
    traits: &'a mut [BTreeMap<String, Value>],
    now: DateTime<Utc>,
}

impl fmt::Debug for ProfileBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileBatch")
            .field("profiles", &self.profiles.len())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> ProfileBatch<'a> {
    /// A batch over `profiles`, with `events[i]` and `traits[i]` for `profiles[i]`.
    ///
    /// # Panics
    ///
    /// When the three slices differ in length.
    pub fn new(
        profiles: &'a [Profile],
        events: &'a [Vec<&'a Event>],
        traits: &'a mut [BTreeMap<String, Value>],
        now: DateTime<Utc>,
    ) -> ProfileBatch<'a> {
        assert!(
            profiles.len() == events.len() && profiles.len() == traits.len(),
            "a profile batch needs one event list and one trait map per profile"
        );
        ProfileBatch {
            profiles,
            events,
            traits,
            now,
        }
    }

    /// The number of profiles.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Every profile of the batch, in order (`profiles()[i]` is [`ProfileBatch::profile`]`(i)`).
    pub fn profiles(&self) -> &[Profile] {
        self.profiles
    }

    /// Whether there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// "Now" for the run: the configured time, or the latest event's.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Profile `i`.
    ///
    /// # Panics
    ///
    /// When `i >= self.len()`.
    pub fn profile(&self, i: usize) -> &Profile {
        &self.profiles[i]
    }

    /// The events attributed to profile `i`, in the order read.
    ///
    /// # Panics
    ///
    /// When `i >= self.len()`.
    pub fn events(&self, i: usize) -> &[&'a Event] {
        &self.events[i]
    }

    /// The traits of profile `i` so far.
    ///
    /// # Panics
    ///
    /// When `i >= self.len()`.
    pub fn traits(&self, i: usize) -> &BTreeMap<String, Value> {
        &self.traits[i]
    }

    /// Sets trait `name` of profile `i` (replacing a value it had).
    ///
    /// # Panics
    ///
    /// When `i >= self.len()`.
    pub fn set_trait(&mut self, i: usize, name: impl Into<String>, value: impl Into<Value>) {
        self.traits[i].insert(name.into(), value.into());
    }
}

/// A [`ProfileStage`] made from a closure; see [`profile_stage_fn`].
pub struct FnProfileStage<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnProfileStage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnProfileStage")
            .field("name", &self.name)
            .finish()
    }
}

impl<F> ProfileStage for FnProfileStage<F>
where
    F: FnMut(&mut ProfileBatch<'_>) -> Result<(), StageError>,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn process(&mut self, batch: &mut ProfileBatch<'_>) -> Result<(), StageError> {
        (self.f)(batch)
    }
}

/// A profile stage named `name` that runs `f` on the batch of profiles.
///
/// ```
/// use mergetag::pipeline::{ProfileBatch, profile_stage_fn};
///
/// let stage = profile_stage_fn("vip", |batch: &mut ProfileBatch<'_>| {
///     for i in 0..batch.len() {
///         let vip = batch.events(i).len() >= 10;
///         batch.set_trait(i, "vip", vip);
///     }
///     Ok(())
/// });
/// # let _ = stage;
/// ```
pub fn profile_stage_fn<F>(name: &str, f: F) -> FnProfileStage<F>
where
    F: FnMut(&mut ProfileBatch<'_>) -> Result<(), StageError>,
{
    FnProfileStage {
        name: name.to_owned(),
        f,
    }
}
