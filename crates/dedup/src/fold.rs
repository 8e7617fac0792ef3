//! Folding values into the forms comparisons and keys work on.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds text for matching into `out`: compatibility decomposition, combining marks removed,
/// lower case, letters and digits kept, every run of anything else one space, trimmed.
/// `"  Zoë  O'Brien-Smith "` becomes `"zoe o brien smith"`.
pub fn text(input: &str, out: &mut String) {
    out.clear();
    if input.is_ascii() {
        // Most values: no decomposition needed (NFKD leaves ASCII alone), a tenth of the cost.
        out.reserve(input.len());
        let mut space = false;
        for b in input.bytes() {
            if b.is_ascii_alphanumeric() {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(b.to_ascii_lowercase() as char);
            } else {
                space = true;
            }
        }
        return;
    }
    let mut space = false;
    for c in input.nfkd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
}

/// Folds a name for matching: as [`text`], with the spaces removed too, so that `"O'Brien"`,
/// `"O Brien"` and `"obrien"` agree.
pub fn name(input: &str, out: &mut String) {
    text(input, out);
    out.retain(|c| c != ' ');
}

/// Trimmed, nothing else: for values parsed later (numbers, coordinates).
pub fn trimmed(input: &str, out: &mut String) {
    out.clear();
    out.push_str(input.trim());
}

/// The digits of a phone number, the last ten kept (a national number without its country code
/// for NANP, and the tail of a longer one), so that `+1 (312) 555-0147` and `312.555.0147` agree.
pub fn phone(input: &str, out: &mut String) {
    out.clear();
    // An extension is not part of the number.
    let number = input.split(['x', 'X', ';', '#']).next().unwrap_or("");
    out.extend(number.chars().filter(char::is_ascii_digit));
    // ASCII digits only, so any byte index is a character boundary.
    let extra = out.len().saturating_sub(10);
    out.drain(..extra);
}

/// The dedup key of an email address: trimmed and lower-cased; the `+tag` of the local part
/// dropped; for Gmail (and `googlemail.com`, which is the same mailbox) the dots of the local part
/// dropped too. Text without one `@` between non-empty parts gives an empty key.
///
/// This is [`mergetag_model::mailbox::fold_into`], the mailbox equivalence suppression uses
/// too.
pub fn email(input: &str, out: &mut String) {
    mergetag_model::mailbox::fold_into(input, out);
}

/// A date as `YYYYMMDD` when the text starts with an ISO 8601 date (`1985-04-03`,
/// `1985-04-03T...`) or is already `YYYYMMDD`; empty otherwise. Other formats are the normalize
/// stage's job.
pub fn date(input: &str, out: &mut String) {
    out.clear();
    let s = input.trim().as_bytes();
    let digits =
        |r: std::ops::Range<usize>| s.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if s.len() >= 10
        && digits(0..4)
        && s[4] == b'-'
        && digits(5..7)
        && s[7] == b'-'
        && digits(8..10)
    {
        for &b in s[0..4].iter().chain(&s[5..7]).chain(&s[8..10]) {
            out.push(b as char);
        }
    } else if s.len() == 8 && digits(0..8) {
        out.extend(s.iter().map(|&b| b as char));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(func: fn(&str, &mut String), s: &str) -> String {
        let mut out = String::new();
        func(s, &mut out);
        out
    }

    #[test]
    fn folding() {
        assert_eq!(f(text, "  Zoë  O'Brien-Smith "), "zoe o brien smith");
        assert_eq!(f(name, "O'Brien"), "obrien");
        assert_eq!(f(name, "ＭÜLLER"), "muller");
        assert_eq!(f(phone, "+1 (312) 555-0147 x204"), "3125550147");
        assert_eq!(f(phone, "312.555.0147"), "3125550147");
        assert_eq!(
            f(email, " Jane.Doe+news@GoogleMail.com"),
            "janedoe@gmail.com"
        );
        assert_eq!(f(email, "j.doe+x@example.com"), "j.doe@example.com");
        assert_eq!(f(email, "nope"), "");
        assert_eq!(f(email, "@x.com"), "");
        assert_eq!(f(date, "1985-04-03"), "19850403");
        assert_eq!(f(date, "1985-04-03T10:00:00Z"), "19850403");
        assert_eq!(f(date, "04/03/1985"), "");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in ["Zoë O'Brien", "ß straße", "İstanbul", "ǅemal", "x\u{301}y"] {
            let once = f(text, s);
            assert_eq!(f(text, &once), once, "{s}");
        }
    }
}
