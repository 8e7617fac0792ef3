//! Phone numbers in E.164 ([`Phone`]), through the `phonenumber` crate (libphonenumber's
//! metadata, pinned in the workspace).

use std::str::FromStr;
use std::sync::LazyLock;

use phonenumber::country;

use crate::normalizer::{Context, Normalizer, Outcome, keep};

/// Phone numbers in E.164 (`+13125550147`), an extension kept as `;ext=123`.
///
/// A number without a country code is read in the record's country ([`Context::country`]) or,
/// failing that, in the default region, or else in the configuration's default country
/// ([`Context::default_country`]): any region libphonenumber knows, including those that are
/// no ISO 3166-1 country (`AC`, `TA`, `XK`). In a region, the number is read as
/// libphonenumber does ([`mergetag_phone::read_in_region`]): the region's own international
/// dialling prefix (`011` in the US, `00` in Germany) starts an international number, and
/// the trunk prefix is removed (`8 0152 45-09-11` in Belarus). `00` alone is read as `+` only
/// when no region is known. Numbers that cannot be read, or that the metadata says are
/// impossible or unassigned, are flagged and kept as given.
///
/// The metadata is read on the first number, region by region (a few milliseconds), not
/// when the normalizer is made.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Phone};
/// let p = Phone::new().default_region("US").unwrap();
/// assert_eq!(normalize_to_string(&p, "(312) 555-0147 x12").0, "+13125550147;ext=12");
/// assert_eq!(normalize_to_string(&p, "+44 20 7946 0958").0, "+442079460958");
/// assert!(normalize_to_string(&p, "555-0147").1.is_flagged());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Phone {
    default_region: Option<String>,
}

/// Loads the phone metadata and compiles the patterns of the US region, so that the first
/// number read does not pay for it. Optional: without it the cost (a few milliseconds) is
/// paid by the first number, once per process. The full parser's metadata (`phonenumber`'s,
/// for numbers written with letters or unusual extensions) is loaded only when such a
/// number comes.
pub fn warm_phone() {
    static WARM: LazyLock<()> = LazyLock::new(|| {
        mergetag_phone::warm();
        let _ = mergetag_phone::is_valid(1, "3125550147");
    });
    LazyLock::force(&WARM);
}

/// The number with its separators and a `(0)` trunk prefix removed and, with `plus_00`, `00`
/// read as `+`, followed by any extension text: the forms the parser reads most reliably.
fn prepare(s: &str, plus_00: bool) -> String {
    let s = s.replace("(0)", "");
    let split = s
        .find(|c: char| c.is_alphabetic() || matches!(c, '#' | ',' | ';'))
        .unwrap_or(s.len());
    let (number, rest) = s.split_at(split);
    let number = number.trim_start();
    let mut out = String::with_capacity(s.len());
    let digits = if let Some(n) = number.strip_prefix('+') {
        out.push('+');
        n
    } else if let Some(n) = number.strip_prefix("00").filter(|_| plus_00) {
        out.push('+');
        n
    } else {
        number
    };
    out.extend(digits.chars().filter(char::is_ascii_digit));
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(rest);
    }
    out
}

/// The digits of an extension written `x12`, `ext 12`, `ext. 12`, `extension 12` (any case).
fn plain_extension(rest: &str) -> Option<&str> {
    let r = rest.trim();
    let lower = r.to_ascii_lowercase();
    let skip = ["extension", "ext.", "ext", "x"]
        .iter()
        .find(|p| lower.starts_with(*p))?
        .len();
    let digits = r[skip..].trim_start();
    (!digits.is_empty() && digits.len() <= 10 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// A libphonenumber region from its code (any case: ISO 3166-1 alpha-2, or `AC`, `TA`, `XK`),
/// in capitals.
fn region(code: &str) -> Option<String> {
    let code = code.trim();
    if code.len() != 2 || !code.is_ascii() {
        return None;
    }
    let upper = code.to_ascii_uppercase();
    mergetag_phone::is_region(&upper).then_some(upper)
}

/// The E.164 digits (without `+`) of a prepared number that is plain digits, when the
/// metadata says the number is valid: the parser-free path for the common cases. `None`
/// sends the number to the full parser.
fn fast_e164(prepared: &str, region: Option<&str>) -> Option<String> {
    if prepared.contains(' ') {
        return None;
    }
    if prepared.starts_with('+') {
        let mut buf = [0u8; 24];
        let (code, national) = mergetag_phone::split_international(prepared, &mut buf)?;
        return mergetag_phone::is_valid(code, national).then(|| format!("{code}{national}"));
    }
    let (code, national) = mergetag_phone::read_in_region(region?, prepared)?;
    Some(format!("{code}{national}"))
}

impl Phone {
    /// A phone normalizer without a default region: national numbers need the record's
    /// country.
    pub fn new() -> Phone {
        Phone {
            default_region: None,
        }
    }

    /// Sets the region for numbers without a country code: an ISO 3166-1 alpha-2 code, or
    /// another region libphonenumber knows (`AC`, `TA`, `XK`).
    ///
    /// # Errors
    ///
    /// When libphonenumber does not know `code`.
    pub fn default_region(mut self, code: &str) -> crate::Result<Phone> {
        let id = region(code).ok_or_else(|| crate::Error::Invalid {
            path: "default_region".into(),
            message: format!(
                "unknown phone region {code:?}; use a region libphonenumber knows, such as \"US\", \"GB\" or \"XK\""
            ),
        })?;
        self.default_region = Some(id);
        Ok(self)
    }
}

impl Normalizer for Phone {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let mut trimmed = input.trim();
        // Our own output form, `+13125550147;ext=12`, which the parser does not read.
        let mut own_ext = None;
        if let Some((number, ext)) = trimmed.split_once(";ext=")
            && !ext.is_empty()
            && ext.len() <= 10
            && ext.bytes().all(|b| b.is_ascii_digit())
        {
            trimmed = number;
            own_ext = Some(ext);
        }
        if trimmed.is_empty() {
            return keep(input, out, Outcome::Invalid("phone number is empty".into()));
        }
        let digits = trimmed.bytes().filter(u8::is_ascii_digit).count();
        if !(4..=20).contains(&digits) {
            return keep(
                input,
                out,
                Outcome::Invalid(format!("phone number has {digits} digits")),
            );
        }
        let reg = cx
            .country
            .and_then(region)
            .or_else(|| self.default_region.clone())
            .or_else(|| cx.default_country.and_then(region));
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        if !international && reg.is_none() {
            return keep(
                input,
                out,
                Outcome::Ambiguous(
                    "phone number has no country code and neither the record's country nor a default region or country is set".into(),
                ),
            );
        }
        let prepared = prepare(trimmed, reg.is_none());
        // A plain extension (`x12`, `ext. 12`, `extension 12`) is read here, so that the
        // number can take the parser-free path.
        let (plain, ext) = match prepared.split_once(' ') {
            Some((number, rest)) if own_ext.is_none() => match plain_extension(rest) {
                Some(e) => (number, Some(e)),
                None => (prepared.as_str(), None),
            },
            _ => (prepared.as_str(), own_ext),
        };
        if let Some(digits) = fast_e164(plain, reg.as_deref()) {
            out.clear();
            out.push('+');
            out.push_str(&digits);
            if let Some(ext) = ext {
                out.push_str(";ext=");
                out.push_str(ext);
            }
            return Outcome::compare(input, out);
        }
        // Digits alone that the metadata does not make valid are invalid: the full parser
        // would only load its own copy of the metadata to say the same (or worse, accept a
        // number libphonenumber refuses).
        if plain.bytes().all(|b| b.is_ascii_digit()) {
            return keep(
                input,
                out,
                Outcome::Invalid(
                    "not a valid phone number (wrong length or an unassigned range)".into(),
                ),
            );
        }
        // An international number is parsed without a region: with one, `phonenumber` 0.3.10
        // strips that region's national prefix from the other country's number (`+33 1 ...`
        // read with region US loses its `1`).
        let reg = match reg {
            Some(r) if !prepared.starts_with('+') => match country::Id::from_str(&r) {
                Ok(id) => Some(id),
                Err(_) => {
                    return keep(
                        input,
                        out,
                        Outcome::Invalid("cannot read as a phone number".into()),
                    );
                }
            },
            _ => None,
        };
        let n = match phonenumber::parse(reg, &prepared) {
            Ok(n) => n,
            Err(_) => {
                return keep(
                    input,
                    out,
                    Outcome::Invalid("cannot read as a phone number".into()),
                );
            }
        };
        if !mergetag_phone::is_valid(n.code().value(), &n.national().to_string()) {
            return keep(
                input,
                out,
                Outcome::Invalid(
                    "not a valid phone number (wrong length or an unassigned range)".into(),
                ),
            );
        }
        out.clear();
        use std::fmt::Write;
        let _ = write!(out, "{}", n.format().mode(phonenumber::Mode::E164));
        match (own_ext, n.extension()) {
            (Some(ext), None) => {
                let _ = write!(out, ";ext={ext}");
            }
            (None, Some(ext)) if !ext.is_empty() => {
                let _ = write!(out, ";ext={}", &**ext);
            }
            (Some(_), Some(_)) => {
                return keep(
                    input,
                    out,
                    Outcome::Invalid("phone number has two extensions".into()),
                );
            }
            (None, _) => {}
        }
        Outcome::compare(input, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize_to_string;

    #[test]
    fn region_from_record() {
        let p = Phone::new();
        let mut out = String::new();
        let o = p.normalize_in("020 7946 0958", Context::with_country(Some("GB")), &mut out);
        assert_eq!((out.as_str(), o), ("+442079460958", Outcome::Changed));
        assert_eq!(
            normalize_to_string(&p, "+442079460958").1,
            Outcome::Unchanged
        );
    }
}
