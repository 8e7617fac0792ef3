//! Mailbox equivalence: when two email addresses reach the same inbox.
//!
//! Dedup keys email addresses with [`fold_into`], and suppression compares addresses the same
//! way, so that suppressing `bob.smith@gmail.com` also suppresses `BobSmith+news@GoogleMail.com`.
//!
//! ```
//! use mergetag_model::mailbox;
//!
//! assert_eq!(mailbox::fold(" Jane.Doe+news@GoogleMail.com"), "janedoe@gmail.com");
//! assert!(mailbox::same("bob.smith@gmail.com", "BobSmith+news@gmail.com"));
//! assert!(!mailbox::same("bob.smith@example.com", "bobsmith@example.com"));
//! assert_eq!(mailbox::fold("not an address"), "");
//! ```

/// Folds an email address into its mailbox key in `out`: trimmed and lower-cased; the `+tag`
/// of the local part dropped; for Gmail (and `googlemail.com`, which is the same mailbox) the
/// dots of the local part dropped too. Text without one `@` between non-empty parts gives an
/// empty key.
///
/// Folding is idempotent: `fold(fold(x)) == fold(x)`.
pub fn fold_into(input: &str, out: &mut String) {
    out.clear();
    let lower = input.trim().to_lowercase();
    let Some((local, domain)) = lower.rsplit_once('@') else {
        return;
    };
    let local = local.split('+').next().unwrap_or("");
    if local.is_empty() || domain.is_empty() {
        return;
    }
    let (local, domain) = match domain {
        "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
        d => (local.to_owned(), d),
    };
    out.push_str(&local);
    out.push('@');
    out.push_str(domain);
}

/// The mailbox key of an address, as [`fold_into`] makes it; empty for text that is not an
/// address.
pub fn fold(input: &str) -> String {
    let mut out = String::new();
    fold_into(input, &mut out);
    out
}

/// The key to compare an address by: its mailbox key, or, for text that is not an address,
/// the text trimmed and lower-cased (so that such values still compare equal to themselves);
/// `None` for blank text.
pub fn key(input: &str) -> Option<String> {
    let folded = fold(input);
    if !folded.is_empty() {
        return Some(folded);
    }
    let lower = input.trim().to_lowercase();
    (!lower.is_empty()).then_some(lower)
}

/// Whether `a` and `b` are addresses of the same mailbox (both must be addresses).
pub fn same(a: &str, b: &str) -> bool {
    let a = fold(a);
    !a.is_empty() && a == fold(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes() {
        assert_eq!(fold(" Jane.Doe+news@GoogleMail.com"), "janedoe@gmail.com");
        assert_eq!(fold("j.doe+x@example.com"), "j.doe@example.com");
        assert_eq!(fold("nope"), "");
        assert_eq!(fold("@x.com"), "");
        assert_eq!(fold("+tag@x.com"), "");
        assert_eq!(key(" Nope "), Some("nope".to_owned()));
        assert_eq!(key("  "), None);
        assert!(same("bob.smith@gmail.com", "BobSmith+news@gmail.com"));
        assert!(!same("nope", "nope"));
        for s in ["A.B+c@GMAIL.com", "x@Example.ORG", "weird+@googlemail.com"] {
            let once = fold(s);
            assert_eq!(fold(&once), once, "{s}");
        }
    }
}
