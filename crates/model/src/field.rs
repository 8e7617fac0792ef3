//! Field names: canonical names with the normalized form each expects, and free-form attributes.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of a record field: one of the [canonical names](crate::fields) or a free-form
/// attribute such as `favorite_store`.
///
/// Cheap to clone: a canonical name is a `&'static str`, any other name a shared `Arc<str>`.
/// Equality, ordering and hashing follow the text, so `FieldName::new("email") == "email"`.
///
/// ```
/// use mergetag_model::{fields, FieldName};
///
/// let a = FieldName::new("email");
/// assert_eq!(a, fields::EMAIL);
/// assert!(a.is_canonical());
/// assert!(!FieldName::new("favorite_store").is_canonical());
/// ```
#[derive(Clone)]
pub struct FieldName(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl FieldName {
    /// A field name. Canonical names are recognised and stored without allocating.
    pub fn new(name: &str) -> FieldName {
        match crate::fields::spec(name) {
            Some(spec) => FieldName(Repr::Static(spec.name)),
            None => FieldName(Repr::Shared(Arc::from(name))),
        }
    }

    /// A field name from a `'static` string, without allocating.
    pub const fn from_static(name: &'static str) -> FieldName {
        FieldName(Repr::Static(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }

    /// Whether this is one of the canonical names in [`fields`](crate::fields).
    pub fn is_canonical(&self) -> bool {
        crate::fields::spec(self.as_str()).is_some()
    }

    /// Cheap equality test: pointer comparison first, then the text.
    #[inline]
    pub(crate) fn eq_str(&self, other: &str) -> bool {
        let s = self.as_str();
        // Lengths and first bytes settle most misses of a record's field scan without a call
        // to `memcmp` (names like `first_name` and `birth_date` share a length).
        std::ptr::eq(s, other)
            || (s.len() == other.len()
                && s.as_bytes().first() == other.as_bytes().first()
                && s == other)
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for FieldName {
    fn eq(&self, other: &Self) -> bool {
        self.eq_str(other.as_str())
    }
}

impl Eq for FieldName {}

impl PartialEq<str> for FieldName {
    fn eq(&self, other: &str) -> bool {
        self.eq_str(other)
    }
}

impl PartialEq<&str> for FieldName {
    fn eq(&self, other: &&str) -> bool {
        self.eq_str(other)
    }
}

impl PartialOrd for FieldName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FieldName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for FieldName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Borrow<str> for FieldName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FieldName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for FieldName {
    fn from(s: &str) -> Self {
        FieldName::new(s)
    }
}

impl From<String> for FieldName {
    fn from(s: String) -> Self {
        match crate::fields::spec(&s) {
            Some(spec) => FieldName(Repr::Static(spec.name)),
            None => FieldName(Repr::Shared(Arc::from(s))),
        }
    }
}

impl From<&FieldName> for FieldName {
    fn from(s: &FieldName) -> Self {
        s.clone()
    }
}

impl Serialize for FieldName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(FieldName::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn canonical_and_free_form_compare_by_text() {
        let a = FieldName::new("email");
        let b = FieldName::from(String::from("email"));
        assert_eq!(a, b);
        assert!(matches!(a.0, Repr::Static(_)));
        let c = FieldName::new("favorite_store");
        assert_eq!(c, "favorite_store");
        assert!(a < c);
        let set: HashSet<FieldName> = [a, b, c].into_iter().collect();
        assert_eq!(set.len(), 2);
        assert!(set.contains("email"));
    }

    #[test]
    fn serde_is_a_plain_string() {
        let a = FieldName::new("first_name");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"first_name\"");
        let back: FieldName = serde_json::from_str("\"first_name\"").unwrap();
        assert!(back.is_canonical());
    }
}
