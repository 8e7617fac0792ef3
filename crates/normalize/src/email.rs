//! Email addresses: the address as it is sent to ([`Email`]) and the dedup key
//! ([`email_key`]).

use unicode_normalization::UnicodeNormalization;

use crate::normalizer::{Normalizer, Outcome, keep};
use crate::text::clean_text;

/// Email addresses in the form they are sent to: trimmed, `mailto:` and display names
/// (`"Jane Doe" <jane@x.com>`) removed, the domain lower-cased and in its ASCII (A-label)
/// form, the local part NFC and otherwise kept as given.
///
/// This is not a validator (`mergetag-validate` checks syntax); it flags only what has no
/// address in it at all.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Email};
/// let e = Email::new();
/// assert_eq!(normalize_to_string(&e, r#""Doe, Jane" <Jane.Doe@Example.COM>"#).0, "Jane.Doe@example.com");
/// assert_eq!(normalize_to_string(&e, "josé@Bücher.de").0, "josé@xn--bcher-kva.de");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Email {
    _private: (),
}

impl Email {
    /// The email normalizer.
    pub fn new() -> Email {
        Email { _private: () }
    }
}

/// The address inside `s`: without `mailto:`, a query, a display name or angle brackets.
fn extract(s: &str) -> &str {
    let mut s = s.trim();
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        s = s[open + 1..s.len() - 1].trim();
    }
    if s.len() >= 7 && s.as_bytes()[..7].eq_ignore_ascii_case(b"mailto:") {
        s = &s[7..];
        if let Some(q) = s.find('?') {
            s = &s[..q];
        }
    }
    s.trim()
}

impl Normalizer for Email {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        let mut cleaned = String::with_capacity(input.len());
        clean_text(input, &mut cleaned);
        let addr = extract(&cleaned);
        let Some(at) = addr.rfind('@') else {
            return keep(
                input,
                out,
                Outcome::Invalid("not an email address: no @".into()),
            );
        };
        let (local, domain) = (&addr[..at], addr[at + 1..].trim_end_matches('.'));
        if local.is_empty() {
            return keep(
                input,
                out,
                Outcome::Invalid("email address has nothing before the @".into()),
            );
        }
        if domain.is_empty() {
            return keep(
                input,
                out,
                Outcome::Invalid("email address has no domain after the @".into()),
            );
        }
        if addr.contains(char::is_whitespace) && !local.starts_with('"') {
            return keep(
                input,
                out,
                Outcome::Invalid("email address contains spaces".into()),
            );
        }
        out.clear();
        if local.is_ascii() {
            out.push_str(local);
        } else {
            out.extend(local.nfc());
        }
        out.push('@');
        if domain.is_ascii() {
            out.extend(domain.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            match idna::domain_to_ascii(domain) {
                Ok(a) => out.push_str(&a),
                Err(_) => {
                    return keep(
                        input,
                        out,
                        Outcome::Invalid(
                            "email domain is not a valid internationalized domain name".into(),
                        ),
                    );
                }
            }
        }
        let domain = &out[out.rfind('@').map_or(0, |a| a + 1)..];
        if domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return keep(
                input,
                out,
                Outcome::Invalid("email domain has characters a domain cannot have".into()),
            );
        }
        Outcome::compare(input, out)
    }
}

/// The address with its domain in Unicode form (`josé@bücher.de`), for display. `address`
/// should be normalized already.
///
/// ```
/// assert_eq!(mergetag_normalize::email_unicode("a@xn--bcher-kva.de"), "a@bücher.de");
/// ```
pub fn email_unicode(address: &str) -> String {
    match address.rfind('@') {
        Some(at) => {
            let (u, _) = idna::domain_to_unicode(&address[at + 1..]);
            format!("{}@{u}", &address[..at])
        }
        None => address.to_owned(),
    }
}

/// Providers whose addresses accept `+tag` sub-addressing.
const PLUS_PROVIDERS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "protonmail.com",
    "proton.me",
    "pm.me",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
];

/// Writes the dedup key of an email address into `out` (cleared first): the normalized
/// address, lower-cased, `googlemail.com` as `gmail.com`, dots removed from Gmail local parts,
/// and `+tags` removed for providers that support sub-addressing. Returns `false` (and leaves
/// `out` empty) when the input has no address.
///
/// ```
/// use mergetag_normalize::email_key;
/// let mut k = String::new();
/// email_key("J.A.N.E+news@GoogleMail.com", &mut k);
/// assert_eq!(k, "jane@gmail.com");
/// email_key("jane+news@outlook.com", &mut k);
/// assert_eq!(k, "jane@outlook.com");
/// email_key("jane+news@example.com", &mut k);
/// assert_eq!(k, "jane+news@example.com");
/// ```
pub fn email_key(input: &str, out: &mut String) -> bool {
    let mut norm = String::with_capacity(input.len());
    let ok = Email::new().normalize(input, &mut norm).is_ok();
    out.clear();
    if !ok {
        return false;
    }
    let Some(at) = norm.rfind('@') else {
        return false;
    };
    // Lower-casing can decompose (`İ` -> `i̇`): back to NFC, so that the key is stable.
    let mut local = norm[..at].to_lowercase();
    crate::text::nfc_in_place(&mut local);
    let mut domain = &norm[at + 1..];
    if domain == "googlemail.com" {
        domain = "gmail.com";
    }
    let mut local = local.as_str();
    if PLUS_PROVIDERS.contains(&domain)
        && let Some(p) = local.find('+')
        && p > 0
    {
        local = &local[..p];
    }
    if domain == "gmail.com" {
        out.extend(local.chars().filter(|&c| c != '.'));
    } else {
        out.push_str(local);
    }
    if out.is_empty() {
        // Nothing left of the local part once the provider's rules applied (`.+x@gmail.com`).
        return false;
    }
    out.push('@');
    out.push_str(domain);
    // Removing dots can join a letter and a combining mark: back to NFC.
    crate::text::nfc_in_place(out);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize_to_string;

    #[test]
    fn forms() {
        let e = Email::new();
        assert_eq!(
            normalize_to_string(&e, "mailto:a@B.com?subject=hi").0,
            "a@b.com"
        );
        assert_eq!(normalize_to_string(&e, "<a@b.com>").0, "a@b.com");
        assert_eq!(normalize_to_string(&e, "a@b.com").1, Outcome::Unchanged);
        assert!(matches!(
            normalize_to_string(&e, "nobody").1,
            Outcome::Invalid(_)
        ));
        assert_eq!(normalize_to_string(&e, "nobody").0, "nobody");
    }
}
