//! The embedded reference tables: disposable email domains and role-account local parts.
//!
//! Both are copies of the project's shared data (see `data/README.md`), parsed once into hash
//! sets on first use.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

const DISPOSABLE: &str =
    include_str!("../../data/disposable-email-domains/disposable_email_blocklist.conf");
const ROLES: &str = include_str!("../../data/role-email-prefixes/roles.tsv");

static DISPOSABLE_SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    DISPOSABLE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

static ROLE_MAP: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    ROLES
        .lines()
        .skip(1) // header: local_part<TAB>category
        .filter_map(|l| l.split_once('\t'))
        .map(|(local, category)| (local.trim(), category.trim()))
        .filter(|(local, _)| !local.is_empty())
        .collect()
});

/// The listed disposable domain that `domain` (lower-case ASCII) is or lies under, if any:
/// `a.mailinator.com` matches `mailinator.com`.
pub(crate) fn disposable_match(domain: &str) -> Option<&'static str> {
    let set = &*DISPOSABLE_SET;
    let mut rest = domain;
    loop {
        if let Some(hit) = set.get(rest) {
            return Some(hit);
        }
        // Every listed entry has a dot, so a bare TLD never matches; stop before it.
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return None,
        }
    }
}

/// The category (`"NOTIFICATION"`, `"MARKETING"`, ...) when `local` (lower-case ASCII, without
/// a `+tag`) is a role account such as `info` or `sales`.
pub(crate) fn role_category(local: &str) -> Option<&'static str> {
    ROLE_MAP.get(local).copied()
}

/// Forces both tables to be parsed now rather than on first use.
pub(crate) fn warm() {
    LazyLock::force(&DISPOSABLE_SET);
    LazyLock::force(&ROLE_MAP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_expected_shape() {
        let set = &*DISPOSABLE_SET;
        assert!(set.len() > 8_000, "{}", set.len());
        for d in set {
            assert!(
                d.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'-'),
                "{d}"
            );
            assert!(d.contains('.'), "{d}");
        }
        let lines = DISPOSABLE.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(lines, set.len(), "duplicate disposable domains");

        let roles = &*ROLE_MAP;
        assert!(roles.len() > 1_000, "{}", roles.len());
        for (local, cat) in roles {
            assert!(
                ["MARKETING", "MEETING", "NOTIFICATION", "OTHER"].contains(cat),
                "{local}: {cat}"
            );
            assert_eq!(*local, local.to_ascii_lowercase());
        }
    }

    #[test]
    fn parents_match() {
        assert_eq!(disposable_match("mailinator.com"), Some("mailinator.com"));
        assert_eq!(
            disposable_match("x.y.mailinator.com"),
            Some("mailinator.com")
        );
        assert_eq!(disposable_match("gmail.com"), None);
        assert_eq!(disposable_match("com"), None);
        assert_eq!(role_category("info"), Some("NOTIFICATION"));
        assert_eq!(role_category("ada"), None);
    }
}
