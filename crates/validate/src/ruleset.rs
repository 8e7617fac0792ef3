//! [`RuleSet`]: rules built in code or loaded from TOML or JSON.

use std::fmt;
use std::path::Path;

use mergetag_model::config::{self, Format, LoadError};
use mergetag_model::{FieldName, Record};

use crate::config::RuleSetConfig;
use crate::{Error, Report, Result, Rule};

/// An ordered set of rules, itself a [`Rule`] that runs them all.
///
/// Built in code with [`RuleSet::push`], or loaded from a file with
/// [`RuleSet::from_toml_str`], [`RuleSet::from_json_str`] or [`RuleSet::from_path`] (see
/// [`RuleSetConfig`] for the format).
///
/// ```
/// use mergetag_validate::{Report, Rule, RuleSet, rules};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut set = RuleSet::new();
/// set.push(rules::Required::new("email"))
///     .push(rules::EmailAddress::new("email"))
///     .push(rules::Range::new("age").min(13.0).max(120.0));
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("age", 7_i64);
/// let mut report = Report::new();
/// set.check(&r, &mut report);
/// let codes: Vec<&str> = report.iter().map(|f| &*f.code).collect();
/// assert_eq!(codes, ["required", "out_of_range"]);
/// ```
#[derive(Default)]
pub struct RuleSet {
    rules: Vec<Box<dyn Rule>>,
}

impl RuleSet {
    /// An empty rule set.
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    /// Adds a rule at the end.
    pub fn push(&mut self, rule: impl Rule + 'static) -> &mut Self {
        self.rules.push(Box::new(rule));
        self
    }

    /// Adds a boxed rule at the end.
    pub fn push_boxed(&mut self, rule: Box<dyn Rule>) -> &mut Self {
        self.rules.push(rule);
        self
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Rule> {
        self.rules.iter().map(|r| &**r)
    }

    /// Loads a rule set from TOML; see [`RuleSetConfig`] for the format.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a value
    /// of the wrong type; [`Error::Invalid`] naming the rule (and its line where it can be
    /// found) when the configuration is inconsistent.
    pub fn from_toml_str(text: &str) -> Result<RuleSet> {
        RuleSetConfig::from_toml_str(text)?
            .build()
            .map_err(|e| locate(e, text, "<toml>"))
    }

    /// Loads a rule set from JSON; see [`RuleSetConfig`] for the format.
    ///
    /// # Errors
    ///
    /// As [`RuleSet::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<RuleSet> {
        RuleSetConfig::from_json_str(text)?
            .build()
            .map_err(|e| locate(e, text, "<json>"))
    }

    /// Loads a rule set from a `.toml` or `.json` file (by its extension, in any case).
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, and the errors
    /// of [`RuleSet::from_toml_str`], naming the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<RuleSet> {
        let path = path.as_ref();
        let format = Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat {
            path: path.to_owned(),
        })?;
        let (text, origin) = config::read_text(path)?;
        let config: RuleSetConfig = config::load(&text, &origin, format)?;
        config.build().map_err(|e| locate(e, &text, &origin))
    }
}

impl Rule for RuleSet {
    fn check(&self, record: &Record, report: &mut Report) {
        for rule in &self.rules {
            rule.check(record, report);
        }
    }

    /// The fields of every rule, sorted, each once.
    fn fields(&self) -> Vec<FieldName> {
        let mut fields: Vec<FieldName> = self.rules.iter().flat_map(|r| r.fields()).collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    fn reset(&self) {
        for rule in &self.rules {
            rule.reset();
        }
    }
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("fields", &self.fields())
            .finish()
    }
}

impl<R: Rule + 'static> FromIterator<R> for RuleSet {
    fn from_iter<T: IntoIterator<Item = R>>(iter: T) -> Self {
        RuleSet {
            rules: iter
                .into_iter()
                .map(|r| Box::new(r) as Box<dyn Rule>)
                .collect(),
        }
    }
}

impl<R: Rule + 'static> Extend<R> for RuleSet {
    fn extend<T: IntoIterator<Item = R>>(&mut self, iter: T) {
        self.rules
            .extend(iter.into_iter().map(|r| Box::new(r) as Box<dyn Rule>));
    }
}

/// Names the origin of an [`Error::Invalid`] and, best effort, the line of the rule it names
/// (`fields.age.range` → the `range` key after the `age` table or object).
fn locate(e: Error, text: &str, origin: &str) -> Error {
    match e {
        Error::Invalid {
            line: None,
            path,
            message,
            ..
        } => {
            let line = find_line(text, &path);
            Error::Invalid {
                origin: origin.to_owned(),
                line,
                path,
                message,
            }
        }
        other => other,
    }
}

/// The 1-based line where the dotted `path` seems to be defined.
fn find_line(text: &str, path: &str) -> Option<usize> {
    let mut parts = path.split('.');
    let mut at = 0;
    let mut found = None;
    // Each part of the path must appear, in order, as a key: bare or quoted.
    for part in parts.by_ref() {
        let quoted = format!("\"{part}\"");
        let rest = &text[at..];
        let hit = [rest.find(&quoted), find_bare_key(rest, part)]
            .into_iter()
            .flatten()
            .min()?;
        at += hit + 1;
        found = Some(text[..at].matches('\n').count() + 1);
    }
    found
}

/// The offset of `key` in `text` as a bare TOML key: at a line start, after `.` or `[`, and
/// followed by space, `=`, `.` or `]`.
fn find_bare_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key).map(|i| i + from) {
        let before = text[..i].chars().next_back();
        let after = text[i + key.len()..].chars().next();
        let starts = before.is_none_or(|c| matches!(c, '\n' | '.' | '[' | ' ' | '{' | ','));
        let ends = after.is_some_and(|c| matches!(c, ' ' | '=' | '.' | ']'));
        if starts && ends {
            return Some(i);
        }
        from = i + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_paths() {
        let toml = "as_of = \"2026-03-01\"\n\n[fields.age]\ntype = \"int\"\nrange = { min = 120, max = 13 }\n";
        assert_eq!(find_line(toml, "fields.age.range"), Some(5));
        assert_eq!(find_line(toml, "fields.age"), Some(3));
        assert_eq!(find_line(toml, "fields.email"), None);
        let json =
            "{\n  \"fields\": {\n    \"age\": {\n      \"range\": {\"min\": 120}\n    }\n  }\n}";
        assert_eq!(find_line(json, "fields.age.range"), Some(4));
    }
}
