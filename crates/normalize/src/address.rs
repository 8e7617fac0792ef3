//! Postal addresses: US street lines in USPS Publication 28 form ([`UsStreet`]), a whole US
//! address from one free-text line ([`UsAddress::parse`]), and postcodes ([`PostalCode`]).
//!
//! The Pub 28 tables (street suffixes, secondary unit designators, directionals, states) are
//! embedded from `data/` (see its README for their source and licence).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::country::{country_code, region_code};
use crate::normalizer::{Context, Normalizer, Outcome, keep};
use crate::text::clean_text;

fn table(tsv: &'static str) -> HashMap<&'static str, &'static str> {
    tsv.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(v, s)| (v.trim(), s.trim()))
        .collect()
}

static SUFFIXES: LazyLock<HashMap<&str, &str>> =
    LazyLock::new(|| table(include_str!("../data/street_suffixes.tsv")));
static UNITS: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| {
    let mut t = table(include_str!("../data/unit_designators.tsv"));
    // Common spellings the publication's table lists only in full or abbreviated form.
    for (v, s) in [
        ("APT", "APT"),
        ("STE", "STE"),
        ("BLDG", "BLDG"),
        ("FL", "FL"),
        ("RM", "RM"),
        ("DEPT", "DEPT"),
        ("OFC", "OFC"),
        ("PH", "PH"),
        ("SPC", "SPC"),
        ("TRLR", "TRLR"),
        ("BSMT", "BSMT"),
        ("LBBY", "LBBY"),
        ("LOWR", "LOWR"),
        ("UPPR", "UPPR"),
        ("HNGR", "HNGR"),
        ("FRNT", "FRNT"),
        ("NO", "#"),
    ] {
        t.entry(v).or_insert(s);
    }
    t
});
static DIRECTIONALS: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| {
    let mut t = table(include_str!("../data/directionals.tsv"));
    for d in ["N", "S", "E", "W", "NE", "NW", "SE", "SW"] {
        t.insert(d, d);
    }
    t
});

/// Whether a unit designator needs no number after it (`BSMT`, `FRNT`, `LOBBY`...).
fn unit_needs_no_id(std: &str) -> bool {
    matches!(
        std,
        "BSMT" | "FRNT" | "LBBY" | "LOWR" | "OFC" | "PH" | "REAR" | "SIDE" | "UPPR" | "UPPER"
    )
}

/// Writes a US street line in Pub 28 form into `out` (cleared first): upper case, no
/// punctuation but `#`, `-` and `/`, suffixes, directionals and unit designators abbreviated.
/// Returns `false` when the line does not start like a street address (no house number, or a
/// PO box), in which case `out` holds the upper-cased cleanup only.
///
/// ```
/// use mergetag_normalize::us_street;
/// let mut s = String::new();
/// us_street("123 north main street apartment 4b", &mut s);
/// assert_eq!(s, "123 N MAIN ST APT 4B");
/// us_street("500 W. Madison St., Suite #1200", &mut s);
/// assert_eq!(s, "500 W MADISON ST STE 1200");
/// us_street("42 Elm Ave #3", &mut s);
/// assert_eq!(s, "42 ELM AVE # 3");
/// ```
pub fn us_street(input: &str, out: &mut String) -> bool {
    let mut cleaned = String::with_capacity(input.len());
    clean_text(input, &mut cleaned);
    let upper: String = cleaned
        .chars()
        .map(|c| match c {
            '.' | ',' | ';' | ':' | '"' | '(' | ')' => ' ',
            c => c,
        })
        .flat_map(char::to_uppercase)
        .collect();
    // "#4B" is a designator and its id.
    let spaced = upper.replace('#', " # ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    out.clear();
    let numbered = toks
        .first()
        .is_some_and(|t| t.as_bytes()[0].is_ascii_digit());
    if !numbered || toks.len() < 2 {
        out.push_str(&toks.join(" "));
        crate::text::nfc_in_place(out);
        return false;
    }
    // Secondary unit: the first designator after the street name.
    let unit_at = (2..toks.len()).find(|&i| {
        let t = toks[i];
        t == "#"
            || (UNITS.contains_key(t)
                && (i + 1 < toks.len() || UNITS.get(t).is_some_and(|s| unit_needs_no_id(s)))
                && !SUFFIXES.contains_key(t))
    });
    let (street, unit) = toks.split_at(unit_at.unwrap_or(toks.len()));
    let mut words: Vec<&str> = street.to_vec();
    let n = words.len();
    // Pre-directional: after the number, when a street name follows.
    if (n >= 4 || (n == 3 && !SUFFIXES.contains_key(words[2])))
        && let Some(d) = DIRECTIONALS.get(words[1])
    {
        words[1] = d;
    }
    // Post-directional: the last word, after a name.
    let mut last = words.len() - 1;
    if last >= 3
        && let Some(d) = DIRECTIONALS.get(words[last])
    {
        words[last] = d;
        last -= 1;
    }
    // Suffix: the last word of the name (not the only word of the name).
    if last >= 2
        && let Some(s) = SUFFIXES.get(words[last])
    {
        words[last] = s;
    }
    out.push_str(&words.join(" "));
    crate::text::nfc_in_place(out);
    if let Some((&designator, rest)) = unit.split_first() {
        let std = UNITS.get(designator).copied().unwrap_or("#");
        let rest: Vec<&str> = rest.iter().copied().filter(|&t| t != "#").collect();
        out.push(' ');
        out.push_str(std);
        for r in rest {
            out.push(' ');
            out.push_str(r);
        }
        crate::text::nfc_in_place(out);
    }
    true
}

/// Street lines: Pub 28 form for US addresses ([`us_street`]), the safe text cleanup for any
/// other country and for records whose country is unknown (a US rule is never applied abroad).
///
/// ```
/// use mergetag_normalize::{Context, Normalizer, UsStreet};
/// let mut out = String::new();
/// UsStreet::new().normalize_in("1600 Pennsylvania Avenue Northwest", Context::with_country(Some("US")), &mut out);
/// assert_eq!(out, "1600 PENNSYLVANIA AVE NW");
/// UsStreet::new().normalize_in("10  Downing Street", Context::with_country(Some("GB")), &mut out);
/// assert_eq!(out, "10 Downing Street");
/// ```
#[derive(Debug, Clone, Default)]
pub struct UsStreet {
    default_country: Option<&'static str>,
}

impl UsStreet {
    /// A street normalizer applying Pub 28 to records whose country is the US.
    pub fn new() -> UsStreet {
        UsStreet::default()
    }

    /// Sets the country of records that have none.
    ///
    /// # Errors
    ///
    /// When `country` is not a known country.
    pub fn default_country(mut self, country: &str) -> crate::Result<UsStreet> {
        self.default_country = Some(known_country(country)?);
        Ok(self)
    }
}

fn known_country(country: &str) -> crate::Result<&'static str> {
    country_code(country).ok_or_else(|| crate::Error::Invalid {
        path: "default_country".into(),
        message: format!("unknown country {country:?}; use an ISO 3166-1 code such as \"US\""),
    })
}

impl Normalizer for UsStreet {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let country = cx
            .country
            .and_then(country_code)
            .or(self.default_country)
            .or_else(|| cx.default_country.and_then(country_code));
        if country == Some("US") {
            us_street(input, out);
        } else {
            clean_text(input, out);
        }
        Outcome::compare(input, out)
    }
}

/// A US address read from one line of text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsAddress {
    /// The street line in Pub 28 form.
    pub street: String,
    /// The city, upper case.
    pub city: Option<String>,
    /// The state code (`IL`).
    pub region: Option<String>,
    /// ZIP or ZIP+4.
    pub postal_code: Option<String>,
}

impl UsAddress {
    /// Reads a whole US address from one line: `street, city, state zip`. The commas may be
    /// left out (`123 main st springfield il 62704`) when the street ends in a suffix (`ST`,
    /// `AVENUE`...), optionally followed by a directional and a unit. Returns `None` when the
    /// line does not end in a state or a ZIP code, or when it is unclear where the street ends
    /// ([`UsAddress::read`] says why).
    ///
    /// ```
    /// use mergetag_normalize::UsAddress;
    /// let a = UsAddress::parse("123 north main street apartment 4b, springfield, illinois 62704").unwrap();
    /// assert_eq!(a.street, "123 N MAIN ST APT 4B");
    /// assert_eq!(a.city.as_deref(), Some("SPRINGFIELD"));
    /// assert_eq!(a.region.as_deref(), Some("IL"));
    /// assert_eq!(a.postal_code.as_deref(), Some("62704"));
    /// let b = UsAddress::parse("123 north main street apartment 4b springfield illinois 62704").unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn parse(line: &str) -> Option<UsAddress> {
        UsAddress::read(line).ok()
    }

    /// As [`UsAddress::parse`], with the reason when the line cannot be read: an
    /// [`Outcome::Invalid`] (not a US address), or an [`Outcome::Ambiguous`] when, without
    /// commas, the street could end at more than one place (`12 forest park ave ...`: is the
    /// city `AVE ...`?). Never a guess.
    ///
    /// # Errors
    ///
    /// The outcome, with a reason for a person.
    ///
    /// ```
    /// use mergetag_normalize::{Outcome, UsAddress};
    /// assert!(matches!(UsAddress::read("12 forest park ave lake forest il 60045"), Err(Outcome::Ambiguous(_))));
    /// assert!(UsAddress::read("12 forest park ave, lake forest, il 60045").is_ok());
    /// ```
    pub fn read(line: &str) -> Result<UsAddress, Outcome> {
        let mut cleaned = String::new();
        clean_text(line, &mut cleaned);
        let parts: Vec<&str> = cleaned
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let (street, mut tail): (String, Vec<&str>) = if parts.len() >= 2 {
            (
                parts[0].to_owned(),
                parts[1..].iter().flat_map(|p| p.split(' ')).collect(),
            )
        } else {
            (String::new(), cleaned.split(' ').collect())
        };
        if tail
            .last()
            .is_some_and(|t| t.eq_ignore_ascii_case("usa") || t.eq_ignore_ascii_case("us"))
            && tail.len() > 2
        {
            tail.pop();
        }
        let mut addr = UsAddress::default();
        if let Some(z) = tail.last().and_then(|t| us_zip(t).ok()) {
            addr.postal_code = Some(z);
            tail.pop();
        }
        // The state: the longest run of trailing words that names one.
        for take in (1..=3.min(tail.len())).rev() {
            let words = tail[tail.len() - take..].join(" ");
            if let Some(code) = region_code("US", &words) {
                addr.region = Some(code.to_owned());
                tail.truncate(tail.len() - take);
                break;
            }
        }
        if addr.region.is_none() && addr.postal_code.is_none() {
            return Err(Outcome::Invalid(
                "cannot read the address line as a US address: it does not end in a state or a ZIP code"
                    .into(),
            ));
        }
        let street = if street.is_empty() {
            // No commas: the street is the tokens up to its suffix (and a directional and unit
            // after it); the city is the rest.
            let cut = street_end(&tail)?;
            let street = tail[..cut].join(" ");
            tail.drain(..cut);
            street
        } else {
            street
        };
        if !tail.is_empty() {
            addr.city = Some(tail.join(" ").to_uppercase());
        }
        us_street(&street, &mut addr.street);
        Ok(addr)
    }
}

/// Where the street ends in the tokens of a comma-less line (before the city): after the one
/// street suffix that can end it. `Err` when there is none or more than one.
fn street_end(toks: &[&str]) -> Result<usize, Outcome> {
    let upper: Vec<String> = toks.iter().map(|t| t.to_uppercase()).collect();
    let starts_with_number = upper
        .first()
        .is_some_and(|t| t.as_bytes().first().is_some_and(u8::is_ascii_digit));
    if !starts_with_number {
        return Err(Outcome::Invalid(
            "cannot read the address line as a US address: it does not start with a house number"
                .into(),
        ));
    }
    let mut ends = Vec::new();
    // The name takes at least one word after the number, so a suffix is at index 2 or later.
    for i in 2..upper.len() {
        if !SUFFIXES.contains_key(upper[i].trim_end_matches('.')) {
            continue;
        }
        let mut end = i + 1;
        if upper
            .get(end)
            .is_some_and(|t| DIRECTIONALS.contains_key(t.as_str()))
        {
            end += 1;
        }
        if let Some(t) = upper.get(end) {
            if t == "#" {
                end += 2;
            } else if t.starts_with('#') {
                end += 1;
            } else if let Some(std) = UNITS.get(t.as_str()) {
                end += if unit_needs_no_id(std) { 1 } else { 2 };
            }
        }
        // At least one word of city must remain.
        if end < upper.len() {
            ends.push(end);
        }
    }
    match ends[..] {
        [end] => Ok(end),
        [] => Err(Outcome::Invalid(
            "cannot tell where the street ends and the city begins (no street suffix); put a comma after the street"
                .into(),
        )),
        _ => Err(Outcome::Ambiguous(
            "the street could end at more than one word (street names and cities can contain words like PARK or LAKE); put a comma after the street"
                .into(),
        )),
    }
}

/// A US ZIP or ZIP+4 in standard form.
fn us_zip(s: &str) -> Result<String, String> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("US ZIP code must be 5 digits or ZIP+4".into());
    }
    match digits.len() {
        5 => Ok(digits),
        9 => Ok(format!("{}-{}", &digits[..5], &digits[5..])),
        3 | 4 => Err(format!(
            "US ZIP code has {} digits; a leading zero may have been lost",
            digits.len()
        )),
        _ => Err("US ZIP code must be 5 digits or ZIP+4".into()),
    }
}

/// Writes the postcode of `country` (alpha-2) in its standard form into `out` (cleared
/// first). Countries with known formats (US, CA, GB, DE, FR, AU, NL) are checked and
/// formatted; others get the safe cleanup only (trimmed, spaces collapsed, upper case).
///
/// # Errors
///
/// When the postcode does not fit the country's format; `out` is then unspecified.
///
/// ```
/// use mergetag_normalize::postal_code;
/// let mut s = String::new();
/// for (c, input, want) in [("US", "627041234", "62704-1234"), ("CA", "k1a0b1", "K1A 0B1"),
///                          ("GB", "sw1a1aa", "SW1A 1AA"), ("NL", "1234ab", "1234 AB"),
///                          ("DE", " 10115 ", "10115"), ("AU", "2000", "2000")] {
///     postal_code(c, input, &mut s).unwrap();
///     assert_eq!(s, want);
/// }
/// assert!(postal_code("US", "2134", &mut s).is_err());
/// ```
pub fn postal_code(country: &str, input: &str, out: &mut String) -> Result<(), String> {
    out.clear();
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let b = compact.as_bytes();
    let digits = |n: usize| b.len() == n && b.iter().all(u8::is_ascii_digit);
    match country {
        "US" => {
            *out = us_zip(input.trim())?;
        }
        "CA" => {
            let ok = b.len() == 6
                && b.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_uppercase()
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if !ok {
                return Err("Canadian postal code must look like K1A 0B1".into());
            }
            out.push_str(&compact[..3]);
            out.push(' ');
            out.push_str(&compact[3..]);
        }
        "GB" => {
            let n = b.len();
            let ok = (5..=7).contains(&n)
                && b.iter().all(u8::is_ascii_alphanumeric)
                && b[0].is_ascii_uppercase()
                && b[n - 3].is_ascii_digit()
                && b[n - 2].is_ascii_uppercase()
                && b[n - 1].is_ascii_uppercase();
            if !ok {
                return Err("UK postcode must look like SW1A 1AA".into());
            }
            out.push_str(&compact[..n - 3]);
            out.push(' ');
            out.push_str(&compact[n - 3..]);
        }
        "DE" | "FR" => {
            if !digits(5) {
                return Err(format!("{country} postcode must be 5 digits"));
            }
            out.push_str(&compact);
        }
        "AU" => {
            if !digits(4) {
                return Err("Australian postcode must be 4 digits".into());
            }
            out.push_str(&compact);
        }
        "NL" => {
            let ok = b.len() == 6
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[0] != b'0'
                && b[4..].iter().all(u8::is_ascii_uppercase);
            if !ok {
                return Err("Dutch postcode must look like 1234 AB".into());
            }
            out.push_str(&compact[..4]);
            out.push(' ');
            out.push_str(&compact[4..]);
        }
        _ => {
            clean_text(input, out);
            *out = out.to_uppercase();
            crate::text::nfc_in_place(out);
        }
    }
    Ok(())
}

/// Postcodes in the format of the record's country ([`Context::country`]) or a default
/// country (the normalizer's own, else [`Context::default_country`]); see [`postal_code`]. Without a country, the safe cleanup only.
#[derive(Debug, Clone, Default)]
pub struct PostalCode {
    default_country: Option<&'static str>,
}

impl PostalCode {
    /// A postcode normalizer without a default country.
    pub fn new() -> PostalCode {
        PostalCode::default()
    }

    /// Sets the country of records that have none.
    ///
    /// # Errors
    ///
    /// When `country` is not a known country.
    pub fn default_country(mut self, country: &str) -> crate::Result<PostalCode> {
        self.default_country = Some(known_country(country)?);
        Ok(self)
    }
}

impl Normalizer for PostalCode {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let country = cx
            .country
            .and_then(country_code)
            .or(self.default_country)
            .or_else(|| cx.default_country.and_then(country_code))
            .unwrap_or("");
        match postal_code(country, input, out) {
            Ok(()) => Outcome::compare(input, out),
            Err(r) => keep(input, out, Outcome::Invalid(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streets() {
        let mut s = String::new();
        us_street("1 North St", &mut s);
        assert_eq!(s, "1 NORTH ST");
        us_street("PO Box 12", &mut s);
        assert_eq!(s, "PO BOX 12");
        us_street("77 Massachusetts Ave Rear", &mut s);
        assert_eq!(s, "77 MASSACHUSETTS AVE REAR");
    }
}
