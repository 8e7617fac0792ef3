//! Redaction of personal values for error messages and logs.
//!
//! Errors and logs name where a bad value is, never what it is in full. These helpers keep just
//! enough to recognise a value when you already know it.
//!
//! ```
//! use mergetag_model::redact;
//!
//! assert_eq!(redact::email("jane.doe@example.com"), "j***@example.com");
//! assert_eq!(redact::phone("+1 312-555-0123"), "+1 ***-***-0123");
//! assert_eq!(redact::text("Jane"), "J***");
//! ```

/// An email address with the local part reduced to its first character: `j***@example.com`.
/// Text without an `@` is redacted as [`text`].
pub fn email(value: &str) -> String {
    let value = value.trim();
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => text(value),
    }
}

/// A phone number with every digit hidden but a leading `+` country code and the last four
/// digits: `+1 ***-***-0123`. Separators are kept so the shape stays recognisable.
pub fn phone(value: &str) -> String {
    let value = value.trim();
    let total = value.chars().filter(char::is_ascii_digit).count();
    let keep_tail = if total > 6 { 4 } else { 0 };
    // The country code of an international number: the digits between `+` and the first separator.
    let keep_head = value.strip_prefix('+').map_or(0, |rest| {
        rest.chars().take_while(char::is_ascii_digit).count().min(3)
    });
    let keep_head = if keep_head + keep_tail >= total {
        0
    } else {
        keep_head
    };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= keep_head || seen > total - keep_tail {
                    c
                } else {
                    '*'
                }
            } else if c.is_alphabetic() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

/// Any other text: its first character followed by `***`, or `***` alone for empty text. The
/// length is not revealed.
pub fn text(value: &str) -> String {
    match value.trim().chars().next() {
        Some(c) => format!("{c}***"),
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("a@b.co"), "a***@b.co");
        assert_eq!(email("@b.co"), "***@b.co");
        assert_eq!(email("no-at"), "n***");
        assert_eq!(email(" Zoë@example.com "), "Z***@example.com");
    }

    #[test]
    fn phones() {
        assert_eq!(phone("(312) 555-0147"), "(***) ***-0147");
        assert_eq!(phone("+44 7700 900123"), "+44 **** **0123");
        assert_eq!(phone("12345"), "*****");
        assert_eq!(phone("+1"), "+*");
        assert_eq!(phone(""), "");
        assert_eq!(phone("call me"), "**** **");
    }

    #[test]
    fn texts() {
        assert_eq!(text(""), "***");
        assert_eq!(text("Ó Briain"), "Ó***");
    }
}
