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
//! The metadata's patterns are compiled once into our own regexes, region by region, the
//! first time a number of that region is checked; the metadata itself is read from a compact
//! copy made at build time (`build.rs`, from the XML that phonenumber bundles, read by
//! phonenumber's own loader) in a few milliseconds. Nothing here touches phonenumber's
//! `DATABASE`, whose first use compiles every pattern of every region (about a quarter of a
//! second).
//!
//! `phonenumber::is_valid` runs the same algorithm, but looks every pattern up in a shared,
//! mutex-guarded regex cache keyed by the pattern's text (hashed with SipHash on every use),
//! which made it about 70% of the time of a typical ten-rule record check. This module
//! reproduces `phonenumber::validator::is_valid_with` step for step (choose the region among
//! those sharing the country code by leading digits or number type, then require a known
//! number type). A unit test checks that both agree on every example number in the metadata.
//!
//! [`read_in_region`] reads a number written without `+` the way libphonenumber does in a
//! region: its international dialling prefix (`011` in the US, `00` in most of Europe, `810`
//! in Belarus) then a country code, or else a national number with its trunk prefix removed
//! by the region's national-prefix-for-parsing rule (`8 0152 ...` in Belarus).

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::loader::{Descriptor, Metadata};
use regex::Regex;

/// libphonenumber's metadata, as `build.rs` wrote it.
static METADATA: LazyLock<Vec<Metadata>> = LazyLock::new(|| {
    postcard::from_bytes(include_bytes!(concat!(env!("OUT_DIR"), "/metadata.bin")))
        .unwrap_or_default()
});

/// One descriptor: its national-number pattern (matched at the start, as `phonenumber` does)
/// and its possible lengths.
struct Desc {
    regex: Regex,
    lengths: &'static [u16],
}

impl Desc {
    fn new(d: &'static Descriptor) -> Option<Desc> {
        let regex = anchored(d.national_number.as_deref()?)?;
        Some(Desc {
            regex,
            lengths: &d.possible_length,
        })
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// A metadata pattern matched at the start of the text, as `phonenumber` reads it (whitespace
/// in the pattern is layout, not content). Without Unicode classes: the patterns match ASCII
/// digits, and `\d` as every Unicode digit made compiling a region several times slower.
fn anchored(pattern: &str) -> Option<Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .unicode(false)
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
    /// The international dialling prefix (`011`, `00`), matched at the start.
    international_prefix: Option<Regex>,
    /// The national (trunk) prefix rule for parsing, matched at the start.
    national_prefix_for_parsing: Option<Regex>,
}

impl Compiled {
    fn new(meta: &'static Metadata) -> Option<Compiled> {
        let types = [
            &meta.premium_rate,
            &meta.toll_free,
            &meta.shared_cost,
            &meta.voip,
            &meta.personal_number,
            &meta.pager,
            &meta.uan,
            &meta.voicemail,
            &meta.fixed_line,
            &meta.mobile,
        ]
        .into_iter()
        .flatten()
        .map(Desc::new)
        .collect::<Option<Vec<_>>>()?;
        let leading_digits = match &meta.leading_digits {
            Some(p) => Some(anchored(p)?),
            None => None,
        };
        // Without a rule for parsing, the national prefix itself (as libphonenumber reads it).
        let national_prefix = if meta.national_prefix_for_parsing.is_some() {
            &meta.national_prefix_for_parsing
        } else {
            &meta.national_prefix
        };
        let optional = |p: &Option<String>| match p {
            Some(p) => anchored(p).map(Some),
            None => Some(None),
        };
        Some(Compiled {
            leading_digits,
            general: Desc::new(meta.general.as_ref()?)?,
            types,
            international_prefix: optional(&meta.international_prefix)?,
            national_prefix_for_parsing: optional(national_prefix)?,
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

/// The regions of each country calling code, the main country first, then in the metadata's
/// order; and the region ids (`US`, `AC`, `XK`) with their code and place in that list.
struct Codes {
    by_code: HashMap<u16, Vec<Region>>,
    by_id: HashMap<&'static str, (u16, usize)>,
}

static CODES: LazyLock<Codes> = LazyLock::new(|| {
    let mut by_code: HashMap<u16, Vec<Region>> = HashMap::new();
    for meta in METADATA.iter() {
        let Some(code) = meta.country_code else {
            continue;
        };
        let regions = by_code.entry(code).or_default();
        let region = Region {
            meta,
            compiled: OnceLock::new(),
        };
        if meta.main_country_for_code {
            regions.insert(0, region);
        } else {
            regions.push(region);
        }
    }
    let mut by_id = HashMap::new();
    for (&code, regions) in &by_code {
        for (i, r) in regions.iter().enumerate() {
            if let Some(id) = r.meta.id.as_deref()
                && id != "001"
            {
                by_id.insert(id, (code, i));
            }
        }
    }
    Codes { by_code, by_id }
});

/// Loads the metadata and the table of country codes.
pub fn warm() {
    LazyLock::force(&CODES);
}

/// Whether `code` is a country calling code.
pub fn is_code(code: u16) -> bool {
    CODES.by_code.contains_key(&code)
}

/// Whether libphonenumber knows the region `id` (`US`, `GB`, and the regions that are no
/// ISO 3166-1 country: `AC` Ascension, `TA` Tristan da Cunha, `XK` Kosovo), in capitals.
pub fn is_region(id: &str) -> bool {
    CODES.by_id.contains_key(id)
}

/// The country calling code of region `id`.
pub fn region_code(id: &str) -> Option<u16> {
    CODES.by_id.get(id).map(|&(code, _)| code)
}

fn region(id: &str) -> Option<&'static Region> {
    let &(code, i) = CODES.by_id.get(id)?;
    CODES.by_code.get(&code)?.get(i)
}

/// Reads `digits` (a number written without `+`, digits only) in region `id` as
/// libphonenumber does, and returns its country calling code and national significant
/// number when the metadata says it is valid:
///
/// 1. after the region's international dialling prefix (`011` in the US, `00` in Germany), a
///    country code and a national number (`011 44 20 7946 0958` in the US);
/// 2. else a national number, after removing the region's trunk prefix by its
///    national-prefix-for-parsing rule (`0` in Germany, `8` in Belarus) where the rest is
///    valid;
/// 3. else the country code of the region written without `+` (`44 20 7946 0958` in GB).
///
/// ```
/// assert_eq!(mergetag_phone::read_in_region("US", "01144 2079460958"), None); // not digits only
/// assert_eq!(mergetag_phone::read_in_region("US", "011442079460958"), Some((44, "2079460958".into())));
/// assert_eq!(mergetag_phone::read_in_region("US", "00442079460958"), None);
/// assert_eq!(mergetag_phone::read_in_region("BY", "80152450911"), Some((375, "152450911".into())));
/// ```
pub fn read_in_region(id: &str, digits: &str) -> Option<(u16, String)> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let r = region(id)?;
    let c = r.compiled()?;
    let code = r.meta.country_code?;
    if let Some(idd) = &c.international_prefix
        && let Some(m) = idd.find(digits)
        && m.end() > 0
    {
        let rest = &digits[m.end()..];
        return (1..=3.min(rest.len())).find_map(|len| {
            let cc: u16 = rest[..len].parse().ok()?;
            if !is_code(cc) || rest.starts_with('0') {
                return None;
            }
            let national = &rest[len..];
            is_valid(cc, national).then(|| (cc, national.to_owned()))
        });
    }
    if let Some(national) = national_in(r, c, code, digits) {
        return Some((code, national));
    }
    let rest = digits.strip_prefix(code.to_string().as_str())?;
    national_in(r, c, code, rest).map(|n| (code, n))
}

/// A transform rule's group references in the form `regex` reads unambiguously (`$1` ->
/// `${1}`, so that `$15` is group 1 then `5`... as libphonenumber means it).
fn braced_groups(rule: &str) -> String {
    let mut out = String::with_capacity(rule.len() + 4);
    let mut chars = rule.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '$'
            && let Some(&d) = chars.peek()
            && d.is_ascii_digit()
        {
            chars.next();
            out.push_str("${");
            out.push(d);
            out.push('}');
        } else {
            out.push(ch);
        }
    }
    out
}

/// A valid national number of `code` from `digits`: with the trunk prefix removed (and the
/// transform rule applied) where that leaves a valid number, else as written.
fn national_in(r: &Region, c: &Compiled, code: u16, digits: &str) -> Option<String> {
    if let Some(np) = &c.national_prefix_for_parsing
        && let Some(caps) = np.captures(digits)
        && let Some(whole) = caps.get(0)
        && whole.end() > 0
    {
        let rest = &digits[whole.end()..];
        let stripped = match &r.meta.national_prefix_transform_rule {
            Some(rule) if caps.len() > 1 && caps.get(1).is_some() => {
                let mut t = String::new();
                caps.expand(&braced_groups(rule), &mut t);
                t.push_str(rest);
                t
            }
            _ => rest.to_owned(),
        };
        if is_valid(code, &stripped) {
            return Some(stripped);
        }
    }
    is_valid(code, digits).then(|| digits.to_owned())
}

/// Whether the national significant number `national` (digits, leading zeros kept) is a valid
/// number of country calling code `code`, as `phonenumber::is_valid` decides.
pub fn is_valid(code: u16, national: &str) -> bool {
    let Some(regions) = CODES.by_code.get(&code) else {
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
    use phonenumber::metadata::{DATABASE, Descriptor};

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
