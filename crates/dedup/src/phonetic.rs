//! Phonetic codes for blocking keys, safe on any input.
//!
//! The algorithms come from `rphonetic` (a port of Apache Commons Codec). They are defined for
//! English letters, so input is first folded to ASCII letters (accents removed, anything else
//! dropped); a value with no letters has no code.

use rphonetic::{DoubleMetaphone, Encoder, Nysiis, Soundex};

fn ascii_letters(input: &str) -> String {
    let mut folded = String::new();
    crate::fold::name(input, &mut folded);
    folded.retain(|c| c.is_ascii_alphabetic());
    folded
}

/// American Soundex (`Robert` -> `R163`); empty when there are no letters.
pub fn soundex(input: &str) -> String {
    let s = ascii_letters(input);
    if s.is_empty() {
        return s;
    }
    Soundex::default().encode(&s)
}

/// NYSIIS (`Knight` -> `NAGT`); empty when there are no letters.
pub fn nysiis(input: &str) -> String {
    let s = ascii_letters(input);
    if s.is_empty() {
        return s;
    }
    Nysiis::default().encode(&s)
}

/// The primary Double Metaphone code (`Smith` -> `SM0`); empty when there are no letters.
pub fn double_metaphone(input: &str) -> String {
    let s = ascii_letters(input);
    if s.is_empty() {
        return s;
    }
    DoubleMetaphone::default().double_metaphone(&s).primary()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Rupert"), "R163");
        assert_eq!(soundex("Müller"), soundex("Muller"));
        assert_eq!(soundex("123"), "");
        assert_eq!(double_metaphone("Smith"), double_metaphone("Smyth"));
        assert!(!nysiis("Knight").is_empty());
        for s in ["", "ǅ", "\u{0}", "日本", "a\u{301}"] {
            let _ = (soundex(s), nysiis(s), double_metaphone(s));
        }
    }
}
