//! Phone-number validity from libphonenumber's metadata, fast: a helper shared by
//! `mergetag-validate` and `mergetag-normalize` (stage crates may not depend on each other, and
//! both need it).
//!
//! ```
//! let mut buf = [0u8; 24];
//! let (code, national) = mergetag_phone::split_international("+1 (312) 555-0147", &mut buf).unwrap();
//! assert_eq!((code, national), (1, "3125550147"));
//! assert!(mergetag_phone::is_code(44));
//! let _ = mergetag_phone::is_valid(code, national); // as `phonenumber::is_valid` decides
//! ```
//!
//! The metadata's patterns are compiled once into our own regexes.
//!
//! `phonenumber::is_valid` runs the same algorithm, but looks every pattern up in a shared,
//! mutex-guarded regex cache keyed by the pattern's text (hashed with SipHash on every use),
//! which made it about 70% of the time of a typical ten-rule record check. This module
//! reproduces `phonenumber::validator::is_valid_with` step for step (choose the region among
//! those sharing the country code by leading digits or number type, then require a known
//! number type), compiling each region's patterns the first time a number of that region is
//! checked. A unit test checks that both agree on every example number in the metadata.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::Regex;

/// One descriptor: its national-number pattern (matched at the start, as `phonenumber` does)
/// and its possible lengths.
struct Desc {
    regex: Regex,
    lengths: &'static [u16],
}

impl Desc {
    fn new(d: &'static Descriptor) -> Option<Desc> {
        let regex = anchored(d.national_number().as_str())?;
        Some(Desc {
            regex,
            lengths: d.possible_length(),
        })
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// A metadata pattern matched at the start of the text, as `phonenumber` reads it (whitespace
/// in the pattern is layout, not content).
fn anchored(pattern: &str) -> Option<Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// A region's compiled patterns.
struct Compiled {
    leading_digits: Option<Regex>,
    general: Desc,
    /// The number types, in the order `phonenumber::validator::number_type` tries them; only
    /// whether one matches matters here.
    types: Vec<Desc>,
}

impl Compiled {
    fn new(meta: &'static Metadata) -> Option<Compiled> {
        let d = meta.descriptors();
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ]
        .into_iter()
        .flatten()
        .map(Desc::new)
        .collect::<Option<Vec<_>>>()?;
        let leading_digits = match meta.leading_digits() {
            Some(p) => Some(anchored(p.as_str())?),
            None => None,
        };
        Some(Compiled {
            leading_digits,
            general: Desc::new(d.general())?,
            types,
        })
    }

    /// `number_type(meta, national) != Type::Unknown`.
    fn has_type(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

/// One region of a country code, compiled on first use.
struct Region {
    meta: &'static Metadata,
    compiled: OnceLock<Option<Compiled>>,
}

impl Region {
    fn compiled(&self) -> Option<&Compiled> {
        self.compiled
            .get_or_init(|| Compiled::new(self.meta))
            .as_ref()
    }
}

/// The regions of each country calling code, in the metadata's order (the main country first).
static CODES: LazyLock<HashMap<u16, Vec<Region>>> = LazyLock::new(|| {
    let db: &'static phonenumber::metadata::Database = &DATABASE;
    let mut codes: Vec<u16> = db.iter().map(Metadata::country_code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .map(|code| {
            let ids = db.region(&code).unwrap_or_default();
            let regions = if ids.len() == 1 && ids[0] == "001" {
                // Non-geographic codes (+800, +979): the first entry for the code.
                db.by_code(&code)
                    .and_then(|m| m.into_iter().next())
                    .into_iter()
                    .collect()
            } else {
                ids.iter()
                    .filter_map(|id| db.by_id(*id))
                    .collect::<Vec<_>>()
            };
            let regions = regions
                .into_iter()
                .map(|meta| Region {
                    meta,
                    compiled: OnceLock::new(),
                })
                .collect();
            (code, regions)
        })
        .collect()
});

/// Loads the metadata and the table of country codes.
pub fn warm() {
    LazyLock::force(&CODES);
}

/// Whether `code` is a country calling code.
pub fn is_code(code: u16) -> bool {
    CODES.contains_key(&code)
}

/// Whether the national significant number `national` (digits, leading zeros kept) is a valid
/// number of country calling code `code`, as `phonenumber::is_valid` decides.
pub fn is_valid(code: u16, national: &str) -> bool {
    let Some(regions) = CODES.get(&code) else {
        return false;
    };
    if let [only] = regions.as_slice() {
        return only.compiled().is_some_and(|c| c.has_type(national));
    }
    for region in regions {
        let Some(c) = region.compiled() else { continue };
        match &c.leading_digits {
            Some(leading) => {
                if leading.is_match(national) {
                    return c.has_type(national);
                }
            }
            None => {
                if c.has_type(national) {
                    return true;
                }
            }
        }
    }
    false
}

/// The country calling code and national number of an international number written with
/// `+` and digits, optionally separated by spaces, `-`, `.`, `/` or parentheses
/// (`+1 (312) 555-0147`). `None` for anything else (extensions, letters, `00` prefixes),
/// which the full parser handles. Writes the national number into `buf`.
pub fn split_international<'b>(text: &str, buf: &'b mut [u8; 24]) -> Option<(u16, &'b str)> {
    let rest = text.strip_prefix('+')?;
    let mut n = 0;
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => {
                *buf.get_mut(n)? = b;
                n += 1;
            }
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' => {}
            _ => return None,
        }
    }
    if !(7..=17).contains(&n) || buf[0] == b'0' {
        return None;
    }
    let digits = std::str::from_utf8(&buf[..n]).ok()?;
    // Country calling codes are prefix-free: at most one of the 1-3 digit prefixes is one.
    (1..=3).find_map(|len| {
        let code: u16 = digits[..len].parse().ok()?;
        is_code(code).then(|| (code, &digits[len..]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example number of every region, and variations of it, gets the same answer from
    /// `phonenumber::is_valid` and from `is_valid`.
    #[test]
    fn agrees_with_phonenumber_on_the_metadata_examples() {
        let db: &'static phonenumber::metadata::Database = &DATABASE;
        let mut checked = 0;
        let mut valid = 0;
        let mut stripped = 0;
        for meta in db.iter() {
            let d = meta.descriptors();
            let examples = [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .filter_map(Descriptor::example);
            for example in examples {
                let code = meta.country_code();
                let mut variants = vec![example.to_owned()];
                variants.push(format!("{example}1"));
                variants.push(example[..example.len() - 1].to_owned());
                variants.push(format!("9{}", &example[1..]));
                for national in variants {
                    let text = format!("+{code}{national}");
                    let Ok(parsed) = phonenumber::parse(None, &text) else {
                        continue;
                    };
                    let theirs = phonenumber::is_valid(&parsed);
                    let ours = is_valid(parsed.code().value(), &parsed.national().to_string());
                    assert_eq!(ours, theirs, "{text} ({})", meta.id());
                    // The parser-free path accepts what the parser path refuses only where
                    // the `phonenumber` parser stripped a national prefix from an
                    // international number (+7 800 ...), which libphonenumber itself keeps
                    // when the stripped number would no longer match: there we side with
                    // libphonenumber.
                    let mut buf = [0u8; 24];
                    if let Some((c, n)) = split_international(&text, &mut buf)
                        && is_valid(c, n)
                        && !theirs
                    {
                        assert_ne!(parsed.national().to_string(), n, "{text} ({})", meta.id());
                        stripped += 1;
                    }
                    checked += 1;
                    valid += usize::from(ours);
                }
            }
        }
        assert!(checked > 3_000 && valid > 1_000, "{checked} {valid}");
        assert!(stripped < 20, "{stripped}");
    }

    #[test]
    fn splits_international_numbers() {
        let mut buf = [0u8; 24];
        assert_eq!(
            split_international("+1 (312) 555-0147", &mut buf),
            Some((1, "3125550147"))
        );
        assert_eq!(
            split_international("+44 20 7946 0958", &mut buf),
            Some((44, "2079460958"))
        );
        assert_eq!(
            split_international("+3906 1234 5678", &mut buf),
            Some((39, "0612345678"))
        );
        assert_eq!(split_international("+1 312 555 0147 ext 5", &mut buf), None);
        assert_eq!(split_international("312 555 0147", &mut buf), None);
        assert_eq!(split_international("+1 23", &mut buf), None);
        assert_eq!(
            split_international("+1234567890123456789012345", &mut buf),
            None
        );
    }
}
