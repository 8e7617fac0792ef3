//! "Did you mean" suggestions for mistyped popular mailbox domains (`gmial.com` → `gmail.com`).
//!
//! The rule is deliberately conservative, because a suggestion for a real domain would push a
//! marketer to "fix" a correct address:
//!
//! 1. a domain that is itself popular, or a known real domain near a popular one (`mail.com` is
//!    one edit from `gmail.com`), never gets a suggestion;
//! 2. a mistyped `.com`, `.net` or `.org` (`.con`, `.cmo`, `.nte`) is corrected first; these
//!    misspellings are not delegated top-level domains, so no real domain ends in them;
//! 3. the first label is compared with the popular domains that have the same (corrected)
//!    suffix: one edit (insertion, deletion, substitution or transposition of neighbours) for
//!    names of four to six letters, two for longer names, against popular names of five letters or
//!    more; shorter popular names (`aol`, `live`, `mail`), too close to many real domains, are
//!    matched only when nothing but their suffix was mistyped;
//! 4. domains of more than one label before the suffix (`mail.gmial.com`) are left alone.
//!
//! Ties go to the more popular domain, in the order of [`POPULAR`].

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Popular mailbox domains, most used first (the order breaks ties).
const POPULAR: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "comcast.net",
    "me.com",
    "mac.com",
    "googlemail.com",
    "ymail.com",
    "rocketmail.com",
    "protonmail.com",
    "proton.me",
    "att.net",
    "sbcglobal.net",
    "verizon.net",
    "bellsouth.net",
    "charter.net",
    "cox.net",
    "earthlink.net",
    "juno.com",
    "mail.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "t-online.de",
    "yahoo.co.uk",
    "yahoo.co.in",
    "yahoo.ca",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.es",
    "yahoo.it",
    "yahoo.com.br",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.es",
    "hotmail.it",
    "live.co.uk",
    "live.ca",
    "outlook.fr",
    "outlook.de",
    "btinternet.com",
    "virginmedia.com",
    "sky.com",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "wanadoo.fr",
    "libero.it",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "naver.com",
    "bigpond.com",
    "optusnet.com.au",
    "zoho.com",
    "fastmail.com",
    "hey.com",
];

/// Real domains one or two edits from a popular one, which must never be "corrected".
const KNOWN_REAL: &[&str] = &[
    "email.com",
    "mail.de",
    "mail.co.uk",
    "gmx.at",
    "gmx.ch",
    "gmx.fr",
    "gmx.us",
    "hotmail.ca",
    "hotmail.be",
    "hotmail.nl",
    "hotmail.se",
    "hotmail.co.jp",
    "live.fr",
    "live.de",
    "live.nl",
    "live.it",
    "live.be",
    "live.se",
    "live.dk",
    "live.no",
    "live.com.au",
    "outlook.es",
    "outlook.it",
    "outlook.be",
    "outlook.jp",
    "outlook.com.au",
    "outlook.co.uk",
    "yahoo.co.jp",
    "yahoo.com.au",
    "yahoo.com.mx",
    "yahoo.com.ar",
    "yahoo.com.sg",
    "yahoo.gr",
    "yahoo.ie",
    "yahoo.se",
    "yahoo.dk",
    "yahoo.no",
    "yahoo.pl",
    "yahoo.in",
    "icloud.net",
    "aim.com",
    "love.com",
    "lycos.com",
    "inbox.com",
    "hushmail.com",
    "tutanota.com",
    "tuta.io",
    "pm.me",
    "msn.co.uk",
    "att.com",
    "cox.com",
    "cs.com",
    "nc.rr.com",
    "mindspring.com",
    "netzero.net",
    "frontier.com",
    "windstream.net",
    "optonline.net",
    "centurylink.net",
    "q.com",
    "ntlworld.com",
    "talktalk.net",
    "tiscali.co.uk",
    "blueyonder.co.uk",
    "o2.pl",
    "wp.pl",
    "seznam.cz",
    "yandex.com",
    "ya.ru",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "126.com",
    "sina.com",
    "daum.net",
    "hanmail.net",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "telus.net",
    "videotron.ca",
    "xtra.co.nz",
    "iinet.net.au",
];

/// Misspellings of `.com`, `.net` and `.org` that are not delegated TLDs.
const TLD_TYPOS: &[(&str, &str)] = &[
    ("con", "com"),
    ("cmo", "com"),
    ("ocm", "com"),
    ("vom", "com"),
    ("xom", "com"),
    ("cpm", "com"),
    ("cim", "com"),
    ("clm", "com"),
    ("coom", "com"),
    ("comm", "com"),
    ("comn", "com"),
    ("copm", "com"),
    ("c0m", "com"),
    ("ccom", "com"),
    ("nte", "net"),
    ("nett", "net"),
    ("ner", "net"),
    ("bet", "net"),
    ("ogr", "org"),
    ("orgg", "org"),
    ("prg", "org"),
];

/// Domains that never get a suggestion.
static NEVER: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| POPULAR.iter().chain(KNOWN_REAL).copied().collect());

/// The popular domains whose first label has five letters or more, by suffix, in popularity
/// order: the candidates of fuzzy matching.
static BY_SUFFIX: LazyLock<HashMap<&'static str, Vec<Candidate>>> = LazyLock::new(|| {
    let mut map: HashMap<&str, Vec<Candidate>> = HashMap::new();
    for &domain in POPULAR {
        if let Some((name, suffix)) = domain.split_once('.')
            && name.len() >= 5
        {
            map.entry(suffix).or_default().push(Candidate {
                name,
                domain,
                letters: Letters::of(name),
            });
        }
    }
    map
});

/// A popular domain as a fuzzy-matching candidate.
struct Candidate {
    name: &'static str,
    domain: &'static str,
    letters: Letters,
}

/// How many times each byte class occurs in a name: a lower bound on the edit distance
/// between two names that costs far less than the distance itself.
#[derive(Clone, Copy)]
struct Letters([u8; 38]);

impl Letters {
    fn of(name: &str) -> Letters {
        let mut counts = [0u8; 38];
        for b in name.bytes() {
            let i = match b {
                b'a'..=b'z' => usize::from(b - b'a'),
                b'0'..=b'9' => 26 + usize::from(b - b'0'),
                b'-' => 36,
                _ => 37,
            };
            counts[i] = counts[i].saturating_add(1);
        }
        Letters(counts)
    }

    /// Each substitution changes two counts by one, an insertion or deletion one count, a
    /// transposition none: half the summed difference, rounded up, is at most the distance.
    fn lower_bound(&self, other: &Letters) -> usize {
        let diff: usize = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| usize::from(a.abs_diff(*b)))
            .sum();
        diff.div_ceil(2)
    }
}

/// The popular domain that `domain` (lower-case ASCII, already valid) looks like a mistyping
/// of, if any.
pub(crate) fn suggest(domain: &str) -> Option<&'static str> {
    if NEVER.contains(domain) {
        return None;
    }
    let (name, suffix) = domain.split_once('.')?;
    let fixed_suffix = fix_suffix(suffix);
    let suffix_fixed = fixed_suffix.as_deref().unwrap_or(suffix);

    // Only the suffix was mistyped: `aol.con` → `aol.com`.
    if fixed_suffix.is_some()
        && let Some(hit) = POPULAR
            .iter()
            .find(|p| p.split_once('.') == Some((name, suffix_fixed)))
    {
        return Some(hit);
    }
    let name_len = name.chars().count();
    if name_len < 4 {
        return None;
    }
    let max = if name_len >= 7 { 2 } else { 1 };
    let letters = Letters::of(name);
    let mut best: Option<(usize, &'static str)> = None;
    for c in BY_SUFFIX.get(suffix_fixed)? {
        // Cheap filters before the edit distance.
        if c.name == name
            || c.name.len().abs_diff(name.len()) > max
            || c.letters.lower_bound(&letters) > max
        {
            continue;
        }
        let d = strsim::osa_distance(name, c.name);
        if d <= max && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c.domain));
        }
    }
    best.map(|(_, p)| p)
}

/// The corrected suffix when the last label of `suffix` is a known misspelling.
fn fix_suffix(suffix: &str) -> Option<String> {
    let (head, tld) = match suffix.rsplit_once('.') {
        Some((h, t)) => (Some(h), t),
        None => (None, suffix),
    };
    let fixed = TLD_TYPOS.iter().find(|(typo, _)| *typo == tld)?.1;
    Some(match head {
        Some(h) => format!("{h}.{fixed}"),
        None => fixed.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_examples() {
        assert_eq!(suggest("gmial.com"), Some("gmail.com"));
        assert_eq!(suggest("hotmial.con"), Some("hotmail.com"));
        assert_eq!(suggest("yaho.com"), Some("yahoo.com"));
        assert_eq!(suggest("aol.con"), Some("aol.com"));
        assert_eq!(suggest("yahoo.co.uk"), None);
        assert_eq!(suggest("yahooo.co.uk"), Some("yahoo.co.uk"));
    }

    #[test]
    fn never_for_listed_real_domains() {
        for d in POPULAR.iter().chain(KNOWN_REAL) {
            assert_eq!(suggest(d), None, "{d}");
        }
        for (typo, _) in TLD_TYPOS {
            assert!(!POPULAR.iter().any(|p| p.ends_with(&format!(".{typo}"))));
        }
    }

    #[test]
    fn lists_are_lower_case_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for d in POPULAR.iter().chain(KNOWN_REAL) {
            assert_eq!(*d, d.to_ascii_lowercase());
            assert!(seen.insert(d), "duplicate {d}");
        }
    }
}
