//! Unicode text: the stored form ([`Text`]) and the match key ([`text_key`]).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

use crate::normalizer::{Normalizer, Outcome};

/// Whether `c` is removed from stored text: control characters other than whitespace,
/// zero-width characters, the soft hyphen and the byte-order mark.
pub(crate) fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

/// Text in stored form: invisible characters removed, whitespace trimmed and collapsed to
/// single spaces, Unicode NFC.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Text};
/// let (s, _) = normalize_to_string(&Text::new(), "\u{feff} Cafe\u{301}\t\tde  Flore\n");
/// assert_eq!(s, "Café de Flore");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Text {
    _private: (),
}

impl Text {
    /// The text normalizer.
    pub fn new() -> Text {
        Text { _private: () }
    }
}

/// Appends `input` to `out` with invisible characters removed and whitespace collapsed.
pub(crate) fn clean_into(input: &str, out: &mut String) {
    let start = out.len();
    let mut space = false;
    for c in input.chars() {
        if c.is_whitespace() {
            space = out.len() > start;
        } else if !is_invisible(c) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
}

/// Writes the stored form of `input` (see [`Text`]) into `out`, which is cleared first.
pub fn clean_text(input: &str, out: &mut String) {
    out.clear();
    if is_clean_ascii(input) {
        out.push_str(input);
        return;
    }
    clean_into(input, out);
    if !out.is_ascii() && is_nfc_quick(out.chars()) != unicode_normalization::IsNormalized::Yes {
        let nfc: String = out.nfc().collect();
        *out = nfc;
    }
}

/// Puts `s` in NFC when it is not (case mappings can decompose: `ῒ` upper-cases to three
/// characters).
pub(crate) fn nfc_in_place(s: &mut String) {
    if !s.is_ascii() && is_nfc_quick(s.chars()) != unicode_normalization::IsNormalized::Yes {
        let nfc: String = s.nfc().collect();
        *s = nfc;
    }
}

/// Printable ASCII with single inner spaces and no outer space: already clean.
fn is_clean_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut prev_space = false;
    for &c in b {
        if c == b' ' {
            if prev_space {
                return false;
            }
            prev_space = true;
        } else if !(0x21..0x7f).contains(&c) {
            return false;
        } else {
            prev_space = false;
        }
    }
    true
}

impl Normalizer for Text {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        clean_text(input, out);
        Outcome::compare(input, out)
    }
}

/// Writes the match key of `input` into `out` (cleared first): NFKC, full case folding,
/// combining marks stripped, ASCII transliteration, punctuation folded (apostrophes dropped,
/// other punctuation a word break), single spaces. Keys are for comparing, never for storing.
///
/// ```
/// use mergetag_normalize::text_key;
/// let mut k = String::new();
/// text_key("  STRASSE-Müller’s ", &mut k);
/// assert_eq!(k, "strasse mullers");
/// text_key("straße müller's", &mut k);
/// assert_eq!(k, "strasse mullers");
/// ```
pub fn text_key(input: &str, out: &mut String) {
    out.clear();
    if input.is_ascii() {
        fold_ascii(input, out);
        return;
    }
    let nfkc: String = input.nfkc().collect();
    let folded = caseless::default_case_fold_str(&nfkc);
    let stripped: String = folded.nfd().filter(|&c| !is_combining_mark(c)).collect();
    let ascii = deunicode::deunicode_with_tofu(&stripped, " ");
    fold_ascii(&ascii, out);
}

/// Lower-cases ASCII letters and digits, drops apostrophes and invisible bytes, turns every
/// other byte into a single word break.
fn fold_ascii(input: &str, out: &mut String) {
    let mut space = false;
    for b in input.bytes() {
        if b.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(b.to_ascii_lowercase() as char);
        } else if b == b'\'' || b == b'`' || b < 0x20 || b == 0x7f {
            // apostrophes join: O'Brien and OBrien are one key
        } else {
            space = true;
        }
    }
}

/// [`text_key`] into a new string.
pub fn text_key_string(input: &str) -> String {
    let mut s = String::new();
    text_key(input, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize_to_string;

    #[test]
    fn cleans() {
        let t = Text::new();
        assert_eq!(normalize_to_string(&t, "a  b").0, "a b");
        assert_eq!(normalize_to_string(&t, "a\u{200b}b").0, "ab");
        assert_eq!(normalize_to_string(&t, "\u{a0}x\u{a0}").0, "x");
        assert_eq!(normalize_to_string(&t, "ok").1, Outcome::Unchanged);
        // Removing the zero-width space must not leave a decomposed sequence.
        assert_eq!(normalize_to_string(&t, "e\u{200b}\u{301}").0, "é");
    }

    #[test]
    fn keys() {
        assert_eq!(text_key_string("Ｊｏｓé  Ñúñez"), "jose nunez");
        assert_eq!(text_key_string("O'Brien"), text_key_string("o’brien"));
        assert_eq!(text_key_string("Łódź"), "lodz");
        assert_eq!(text_key_string("!!!"), "");
    }
}
