//! Positions in configuration text, for error messages that say where to look.

/// The 1-based line and column (in characters) of byte offset `at` in `text`; an offset past
/// the end, or inside a character, is taken at the nearest earlier character boundary.
///
/// ```
/// use mergetag_model::text_position::line_col;
///
/// let text = "a = 1\nbé = x\n";
/// assert_eq!(line_col(text, 0), (1, 1));
/// assert_eq!(line_col(text, 11), (2, 5));
/// assert_eq!(line_col(text, 999), (3, 1));
/// ```
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A serde_json error message without the ` at line L column C` it ends with, for callers
/// that report the position separately.
///
/// ```
/// use mergetag_model::text_position::without_json_position;
///
/// assert_eq!(without_json_position("unknown field `x` at line 1 column 5"), "unknown field `x`");
/// assert_eq!(without_json_position("EOF while parsing"), "EOF while parsing");
/// ```
pub fn without_json_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m)
}
