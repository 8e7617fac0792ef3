//! Nickname-aware given names: `Bob`, `Rob` and `Bobby` all stand for `Robert`.
//!
//! The table (../data/nicknames.csv, Apache-2.0) is many-to-many: a nickname can stand for
//! several names (`Al` for Albert, Alfred, Alan...). So a name maps to a set of groups, one group
//! per canonical name, and two names are nickname-equivalent when their sets intersect.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Folded name -> sorted group ids.
fn table() -> &'static HashMap<String, Vec<u32>> {
    static TABLE: OnceLock<HashMap<String, Vec<u32>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut groups: HashMap<String, u32> = HashMap::new();
        let mut map: HashMap<String, Vec<u32>> = HashMap::new();
        let mut folded = String::new();
        for line in include_str!("../data/nicknames.csv").lines().skip(1) {
            let mut parts = line.split(',');
            let (Some(name), Some(_), Some(nick)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            crate::fold::name(name, &mut folded);
            let next = groups.len() as u32;
            let g = *groups.entry(folded.clone()).or_insert(next);
            map.entry(folded.clone()).or_default().push(g);
            crate::fold::name(nick, &mut folded);
            map.entry(folded.clone()).or_default().push(g);
        }
        for v in map.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        map
    })
}

/// The nickname groups of a folded given name (empty when the name is not in the table).
pub fn groups(folded: &str) -> &'static [u32] {
    table().get(folded).map_or(&[], Vec::as_slice)
}

/// Whether two given names can stand for the same name (`bob` and `robert`).
///
/// ```
/// use mergetag_dedup::nicknames::equivalent;
/// assert!(equivalent("bob", "robert"));
/// assert!(equivalent("bobby", "rob"));
/// assert!(!equivalent("bob", "william"));
/// ```
pub fn equivalent(a: &str, b: &str) -> bool {
    intersects(groups(a), groups(b))
}

/// Whether two sorted slices share an element.
pub(crate) fn intersects(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}
