//! Quoting of identifiers and literals in the SQL this crate writes.

/// `name` as a quoted identifier: `"name"`, with inner quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified name (`crm.contacts`), each part quoted.
pub(crate) fn quote_path(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// `text` as a string literal, with inner quotes doubled (standard-conforming strings).
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_path("crm.con\"tacts"), "\"crm\".\"con\"\"tacts\"");
        assert_eq!(quote_literal("o'brien"), "'o''brien'");
    }
}
