//! Positions in Kafka and the helpers that make applying them idempotent:
//! [`MessagePosition`], [`AppliedOffsets`] and [`RecentKeys`].

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a message is: its topic, partition and offset. Shown as `topic/partition@offset`
/// (`events/0@41`), which is also the key of a message's reject and, when a message has no
/// other key, of its record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessagePosition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The message's offset in its partition.
    pub offset: i64,
}

impl MessagePosition {
    /// The position of the message at `offset` of `topic`'s `partition`.
    pub fn new(topic: impl Into<String>, partition: i32, offset: i64) -> MessagePosition {
        MessagePosition {
            topic: topic.into(),
            partition,
            offset,
        }
    }
}

impl std::str::FromStr for MessagePosition {
    type Err = InvalidPosition;

    /// Parses `topic/partition@offset`, as [`MessagePosition`] shows itself (Kafka topic names
    /// hold neither `/` nor `@`), such as a reject's key.
    fn from_str(s: &str) -> Result<MessagePosition, InvalidPosition> {
        let (rest, offset) = s.rsplit_once('@').ok_or(InvalidPosition)?;
        let (topic, partition) = rest.rsplit_once('/').ok_or(InvalidPosition)?;
        if topic.is_empty() {
            return Err(InvalidPosition);
        }
        Ok(MessagePosition {
            topic: topic.to_owned(),
            partition: partition.parse().map_err(|_| InvalidPosition)?,
            offset: offset.parse().map_err(|_| InvalidPosition)?,
        })
    }
}

/// The error of parsing a [`MessagePosition`] from text that is not `topic/partition@offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPosition;

impl fmt::Display for InvalidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message position is written topic/partition@offset")
    }
}

impl std::error::Error for InvalidPosition {}

impl fmt::Display for MessagePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// The messages a downstream store has applied, as the next offset to apply per topic and
/// partition: what makes applying at-least-once deliveries idempotent across restarts.
///
/// Kafka redelivers the messages after the last committed offset when a consumer restarts
/// or a partition moves to another consumer; some of them may already have been applied.
/// Keep an `AppliedOffsets` with the applied data, written in the same transaction (it
/// serializes with serde), ask [`AppliedOffsets::is_applied`] before applying a message and
/// [`AppliedOffsets::mark`] it after: each message then changes the store once, however
/// often it is delivered. Within one partition Kafka delivers in offset order, so one number
/// per partition is enough.
///
/// ```
/// use mergetag_kafka::{AppliedOffsets, MessagePosition};
///
/// let mut applied = AppliedOffsets::default();
/// let m = MessagePosition::new("events", 0, 41);
/// assert!(!applied.is_applied(&m));
/// applied.mark(&m); // in the same transaction as the data
/// assert!(applied.is_applied(&m));
/// assert!(applied.is_applied(&MessagePosition::new("events", 0, 40)));
/// assert!(!applied.is_applied(&MessagePosition::new("events", 1, 0)));
/// assert_eq!(applied.next_offset("events", 0), Some(42));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppliedOffsets {
    next: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl AppliedOffsets {
    /// Whether the message at `position` (or one after it in its partition) was applied.
    pub fn is_applied(&self, position: &MessagePosition) -> bool {
        self.next_offset(&position.topic, position.partition)
            .is_some_and(|next| position.offset < next)
    }

    /// Records that the message at `position` was applied: every offset up to it in its
    /// partition counts as applied.
    pub fn mark(&mut self, position: &MessagePosition) {
        let next = self
            .next
            .entry(position.topic.clone())
            .or_default()
            .entry(position.partition)
            .or_insert(0);
        *next = (*next).max(position.offset + 1);
    }

    /// The next offset to apply in `topic`'s `partition`, when one was applied.
    pub fn next_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.next.get(topic)?.get(&partition).copied()
    }
}

/// A bounded set of the most recent keys: remembers at most `capacity` keys, forgetting the
/// oldest first. A [`KafkaSource`](crate::KafkaSource) with a dedup field uses one to drop
/// messages sent twice (a producer's retry writes the same event at two offsets).
///
/// ```
/// use mergetag_kafka::RecentKeys;
///
/// let mut seen = RecentKeys::new(2);
/// assert!(seen.insert("a"));
/// assert!(!seen.insert("a"));
/// assert!(seen.insert("b"));
/// assert!(seen.insert("c")); // forgets "a"
/// assert!(seen.insert("a"));
/// assert_eq!(seen.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecentKeys {
    set: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl RecentKeys {
    /// An empty set that keeps at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> RecentKeys {
        RecentKeys {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds `key`; `true` if it was not among the keys remembered.
    pub fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(key.to_owned());
        self.order.push_back(key.to_owned());
        true
    }

    /// Whether `key` is remembered.
    pub fn contains(&self, key: &str) -> bool {
        self.set.contains(key)
    }

    /// The number of keys remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_offsets_serialize_and_only_grow() {
        let mut a = AppliedOffsets::default();
        a.mark(&MessagePosition::new("t", 1, 9));
        a.mark(&MessagePosition::new("t", 1, 3));
        assert_eq!(a.next_offset("t", 1), Some(10));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"t":{"1":10}}"#);
        assert_eq!(serde_json::from_str::<AppliedOffsets>(&json).unwrap(), a);
        assert_eq!(MessagePosition::new("t", 1, 9).to_string(), "t/1@9");
        assert_eq!("t.x/1@9".parse(), Ok(MessagePosition::new("t.x", 1, 9)));
        for bad in ["", "t", "t/1", "/1@2", "t/x@2", "t/1@", "t@1/2"] {
            assert_eq!(
                bad.parse::<MessagePosition>(),
                Err(InvalidPosition),
                "{bad}"
            );
        }
    }
}
