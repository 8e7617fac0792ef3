//! Column maps: from a source's own column names to canonical fields.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use mergetag_model::FieldName;
use mergetag_model::config::{self, Format};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::convert::ColumnType;
use crate::error::{Error, Result};
use crate::presets;

/// What happens to a column the map does not mention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// Kept as a free-form attribute under its own (trimmed) name: the default, so no data is
    /// dropped silently.
    #[default]
    Keep,
    /// The header is refused, naming the column, so that a map can be made complete.
    Reject,
}

/// What happens to a value that does not convert to its column's [`ColumnType`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidValues {
    /// The row is a bad row (an error, or a reject when the source collects them): the default.
    #[default]
    Reject,
    /// The value is kept as text, for a later stage to repair or report.
    KeepText,
}

/// One mapped column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRule {
    /// The source's column name, as declared.
    pub column: String,
    /// The field it becomes.
    pub field: FieldName,
    /// The type its text is converted to.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// Maps a source's column names to canonical [fields](mergetag_model::fields).
///
/// Column names match loosely: case, spaces and punctuation are ignored, so `FirstName`,
/// `First Name`, `first_name` and `firstName` are one column. This lets one map serve both
/// internal property names and the labels exports use (`zip` and `Postal Code` in HubSpot).
///
/// Columns the map does not mention are kept as attributes under their own names
/// ([`Unmapped::Keep`]), or refused ([`Unmapped::Reject`]); a column can be dropped only by
/// naming it in [`ColumnMap::ignore`].
///
/// Presets cover common CRM exports: [`ColumnMap::salesforce_contacts`],
/// [`ColumnMap::salesforce_leads`], [`ColumnMap::hubspot_contacts`],
/// [`ColumnMap::dynamics_contacts`] and [`ColumnMap::segment_identify`].
///
/// ```
/// use mergetag_model::fields;
/// use mergetag_sources::{ColumnMap, ColumnType};
///
/// // A preset, extended with an organisation's custom fields.
/// let map = ColumnMap::salesforce_contacts()
///     .with_column("Loyalty_Tier__c", fields::LOYALTY_TIER)
///     .with_typed_column("Customer_Lifetime_Value__c", fields::CUSTOMER_LIFETIME_VALUE, ColumnType::Float);
/// assert_eq!(map.rule("Mailing City").unwrap().field, fields::CITY);
///
/// // The same from TOML.
/// let toml = r#"
///     preset = "salesforce_contacts"
///     [columns]
///     Loyalty_Tier__c = "loyalty_tier"
///     Customer_Lifetime_Value__c = { field = "customer_lifetime_value", type = "float" }
/// "#;
/// assert_eq!(ColumnMap::from_toml_str(toml)?, map);
/// # Ok::<(), mergetag_sources::Error>(())
/// ```
/// Two maps are equal when they read every column the same way, whatever the order their
/// rules were declared in.
#[derive(Debug, Clone, Default)]
pub struct ColumnMap {
    rules: Vec<ColumnRule>,
    /// Normalized column name -> index in `rules`.
    index: HashMap<String, usize>,
    /// Candidate key columns, normalized, in order of preference.
    key: Vec<String>,
    observed_at: Vec<FieldName>,
    ignore: HashSet<String>,
    unmapped: Unmapped,
    invalid: InvalidValues,
}

impl PartialEq for ColumnMap {
    fn eq(&self, other: &Self) -> bool {
        let resolved = |m: &ColumnMap| -> HashMap<String, (FieldName, ColumnType)> {
            m.index
                .iter()
                .map(|(k, &i)| (k.clone(), (m.rules[i].field.clone(), m.rules[i].kind)))
                .collect()
        };
        resolved(self) == resolved(other)
            && self.key == other.key
            && self.observed_at == other.observed_at
            && self.ignore == other.ignore
            && self.unmapped == other.unmapped
            && self.invalid == other.invalid
    }
}

impl Eq for ColumnMap {}

/// Normalizes a column name for matching: lower case, letters and digits only.
pub(crate) fn column_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl ColumnMap {
    /// An empty map: every column is kept under its own name, rows are keyed by number.
    pub fn new() -> ColumnMap {
        ColumnMap::default()
    }

    /// Maps `column` to `field` as text. A rule for the same column replaces the earlier one.
    pub fn with_column(self, column: &str, field: impl Into<FieldName>) -> ColumnMap {
        self.with_typed_column(column, field, ColumnType::Text)
    }

    /// Maps `column` to `field`, converting its text to `kind`.
    pub fn with_typed_column(
        mut self,
        column: &str,
        field: impl Into<FieldName>,
        kind: ColumnType,
    ) -> ColumnMap {
        let rule = ColumnRule {
            column: column.to_owned(),
            field: field.into(),
            kind,
        };
        let key = column_key(column);
        self.ignore.remove(&key);
        match self.index.get(&key) {
            Some(&i) => self.rules[i] = rule,
            None => {
                self.index.insert(key, self.rules.len());
                self.rules.push(rule);
            }
        }
        self
    }

    /// Names the column that holds the source's own record id. May be called several times:
    /// the first named column present in a file is used. Without one, records are keyed by
    /// row number.
    pub fn with_key(mut self, column: &str) -> ColumnMap {
        let key = column_key(column);
        if !self.key.contains(&key) {
            self.key.push(key);
        }
        self
    }

    /// Forgets the key columns named so far (a preset's, say), so that [`ColumnMap::with_key`]
    /// can name the only one: rows are keyed by number until it does.
    ///
    /// ```
    /// use mergetag_model::Source;
    /// use mergetag_sources::{ColumnMap, CsvSource};
    ///
    /// let export = "Id,Email\n0031,ada@example.com\n";
    /// let map = ColumnMap::salesforce_contacts().without_key().with_key("Email");
    /// let mut source = CsvSource::builder().column_map(map).from_reader("crm", export.as_bytes())?;
    /// let mut record = mergetag_model::Record::default();
    /// assert!(source.read_record(&mut record)?);
    /// assert_eq!(record.id.to_string(), "crm:ada@example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn without_key(mut self) -> ColumnMap {
        self.key.clear();
        self
    }

    /// Names a timestamp field (a mapped target, such as `updated_at`) whose value becomes the
    /// record's observed-at time. May be called several times: the first field with a value
    /// wins.
    pub fn with_observed_at(mut self, field: impl Into<FieldName>) -> ColumnMap {
        let field = field.into();
        if !self.observed_at.contains(&field) {
            self.observed_at.push(field);
        }
        self
    }

    /// Drops `column` from every record. This is the only way a column is left out.
    pub fn ignore(mut self, column: &str) -> ColumnMap {
        let key = column_key(column);
        if let Some(i) = self.index.remove(&key) {
            self.rules.remove(i);
            self.reindex();
        }
        self.ignore.insert(key);
        self
    }

    /// Sets what happens to columns the map does not mention.
    pub fn unmapped(mut self, unmapped: Unmapped) -> ColumnMap {
        self.unmapped = unmapped;
        self
    }

    /// Sets what happens to values that do not convert to their column's type.
    pub fn invalid_values(mut self, invalid: InvalidValues) -> ColumnMap {
        self.invalid = invalid;
        self
    }

    fn reindex(&mut self) {
        self.index = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (column_key(&r.column), i))
            .collect();
    }

    /// The rule for `column`, matched loosely.
    pub fn rule(&self, column: &str) -> Option<&ColumnRule> {
        self.index.get(&column_key(column)).map(|&i| &self.rules[i])
    }

    /// The mapped columns, in the order they were declared.
    pub fn rules(&self) -> &[ColumnRule] {
        &self.rules
    }

    /// The observed-at fields, in order of preference.
    pub fn observed_at_fields(&self) -> &[FieldName] {
        &self.observed_at
    }

    /// What happens to values that do not convert.
    pub fn invalid_value_policy(&self) -> InvalidValues {
        self.invalid
    }

    /// What `column` becomes.
    pub(crate) fn action(&self, column: &str) -> Action {
        let key = column_key(column);
        if let Some(&i) = self.index.get(&key) {
            let r = &self.rules[i];
            return Action::Field(r.field.clone(), r.kind);
        }
        if self.ignore.contains(&key) {
            return Action::Ignore;
        }
        match self.unmapped {
            Unmapped::Keep => Action::Field(FieldName::new(column.trim()), ColumnType::Text),
            Unmapped::Reject => Action::Unmapped,
        }
    }

    /// Whether `column` is one of the key columns.
    pub(crate) fn key_rank(&self, column: &str) -> Option<usize> {
        let key = column_key(column);
        self.key.iter().position(|k| *k == key)
    }

    /// Plans how the columns of a header are read.
    ///
    /// # Errors
    ///
    /// A message (without data) when two columns would fill the same field, a column is
    /// unmapped under [`Unmapped::Reject`], or a column name is repeated.
    pub(crate) fn plan(&self, header: &[&str]) -> Result<Plan, String> {
        let key_col = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| self.key_rank(h).map(|rank| (rank, i)))
            .min()
            .map(|(_, i)| i);
        let mut actions = Vec::with_capacity(header.len());
        let mut targets: HashMap<FieldName, usize> = HashMap::new();
        for (i, column) in header.iter().enumerate() {
            if Some(i) == key_col {
                actions.push(Action::Key);
                continue;
            }
            let action = self.action(column);
            match &action {
                Action::Field(name, _) => {
                    if let Some(&j) = targets.get(name) {
                        return Err(format!(
                            "columns {} `{}` and {} `{}` both become field `{name}`; \
                             map one of them to another field or ignore it",
                            j + 1,
                            header[j],
                            i + 1,
                            column
                        ));
                    }
                    targets.insert(name.clone(), i);
                }
                Action::Unmapped => {
                    return Err(format!(
                        "column {} `{column}` is not in the column map; map it, list it under \
                         `ignore`, or set `unmapped = \"keep\"`",
                        i + 1
                    ));
                }
                Action::Key | Action::Ignore => {}
            }
            actions.push(action);
        }
        Ok(Plan { actions })
    }

    /// A preset by name: `salesforce_contacts`, `salesforce_leads`, `hubspot_contacts`,
    /// `dynamics_contacts` or `segment_identify`.
    pub fn preset(name: &str) -> Option<ColumnMap> {
        presets::by_name(name)
    }

    /// The names [`ColumnMap::preset`] accepts.
    pub fn preset_names() -> &'static [&'static str] {
        presets::NAMES
    }

    /// Salesforce Contact exports (`FirstName`, `MailingCity`, `HasOptedOutOfEmail`, ...),
    /// keyed by `Id`, observed at `LastModifiedDate`.
    pub fn salesforce_contacts() -> ColumnMap {
        presets::salesforce_contacts()
    }

    /// Salesforce Lead exports (`Company`, `Street`, `Status`, ...), keyed by `Id`.
    pub fn salesforce_leads() -> ColumnMap {
        presets::salesforce_leads()
    }

    /// HubSpot contact exports, by internal names (`firstname`, `zip`, `hs_email_optout`) or
    /// labels (`First Name`, `Postal Code`), keyed by `hs_object_id` / `Record ID`, with
    /// epoch-millisecond timestamps.
    pub fn hubspot_contacts() -> ColumnMap {
        presets::hubspot_contacts()
    }

    /// Microsoft Dynamics 365 contact exports (`emailaddress1`, `address1_city`,
    /// `donotbulkemail`, ...), keyed by `contactid`.
    pub fn dynamics_contacts() -> ColumnMap {
        presets::dynamics_contacts()
    }

    /// Segment identify traits, flattened with dots, in camelCase or snake_case (`firstName`,
    /// `first_name`, `address.city`, `address.postalCode`).
    pub fn segment_identify() -> ColumnMap {
        presets::segment_identify()
    }

    /// Loads a map from TOML; see [`ColumnMapConfig`] for the format.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of a syntax error or unknown key,
    /// [`Error::Invalid`] when the map is inconsistent.
    pub fn from_toml_str(text: &str) -> Result<ColumnMap> {
        ColumnMapConfig::from_toml_str(text, "<toml>")?.build()
    }

    /// Loads a map from JSON; see [`ColumnMapConfig`] for the format.
    ///
    /// # Errors
    ///
    /// As [`ColumnMap::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<ColumnMap> {
        ColumnMapConfig::from_json_str(text, "<json>")?.build()
    }

    /// Loads a map from a `.toml` or `.json` file (by its extension, as every configuration
    /// file; see [`mergetag_model::config::from_path`]).
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read, has another extension or does not parse,
    /// and [`Error::Invalid`] when the map is inconsistent.
    pub fn from_path(path: impl AsRef<Path>) -> Result<ColumnMap> {
        mergetag_model::config::from_path::<ColumnMapConfig>(path)?.build()
    }
}

/// How one column of a source is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Becomes this field, converted to this type.
    Field(FieldName, ColumnType),
    /// Holds the record's key.
    Key,
    /// Dropped, as the map says.
    Ignore,
    /// Not in the map, which refuses unmapped columns.
    Unmapped,
}

/// How the columns of one header are read.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) actions: Vec<Action>,
}

/// The serde form of a [`ColumnMap`], for TOML and JSON files. Unknown keys are errors.
///
/// ```toml
/// # Start from a preset (optional): salesforce_contacts, salesforce_leads, hubspot_contacts,
/// # dynamics_contacts, segment_identify.
/// preset = "hubspot_contacts"
/// # The column with the source's record id (a name or a list of candidates; optional).
/// key = "hs_object_id"
/// # Timestamp fields whose first value becomes the record's observed-at time (optional).
/// observed_at = ["updated_at", "created_at"]
/// # Columns to drop.
/// ignore = ["hs_avatar_filemanager_key"]
/// # "keep" (default) or "reject" columns the map does not mention.
/// unmapped = "keep"
/// # "reject" (default) or "keep_text" values that do not convert to their column's type.
/// invalid_values = "reject"
///
/// [columns]
/// favorite_store = "favorite_store"                       # text
/// total_revenue = { field = "customer_lifetime_value", type = "float" }
/// ```
///
/// Types are `text`, `bool`, `int`, `float` and `timestamp` ([`ColumnType`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapConfig {
    /// A preset to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Key column candidates.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub key: Vec<String>,
    /// Observed-at fields.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub observed_at: Vec<String>,
    /// Columns to drop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// What happens to unmapped columns.
    #[serde(default)]
    pub unmapped: Unmapped,
    /// What happens to values that do not convert.
    #[serde(default)]
    pub invalid_values: InvalidValues,
    /// Column name -> target.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnTarget>,
}

/// Where a column goes: a field name, or a field name and a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ColumnTarget {
    /// A field, as text.
    Field(String),
    /// A field and the type to convert to.
    Typed {
        /// The field.
        field: String,
        /// The type.
        #[serde(rename = "type")]
        kind: ColumnType,
    },
}

impl<'de> Deserialize<'de> for ColumnTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Typed {
            field: String,
            #[serde(rename = "type", default)]
            kind: ColumnType,
        }
        struct TargetVisitor;
        impl<'de> Visitor<'de> for TargetVisitor {
            type Value = ColumnTarget;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    r#"a field name ("first_name") or a table ({ field = "...", type = "bool" })"#,
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ColumnTarget, E> {
                Ok(ColumnTarget::Field(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<ColumnTarget, A::Error> {
                let t = Typed::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ColumnTarget::Typed {
                    field: t.field,
                    kind: t.kind,
                })
            }
        }
        d.deserialize_any(TargetVisitor)
    }
}

/// Reads a string or a list of strings into a list, as column-map configs take `key` and
/// `observed_at`. For configurations that embed those settings in their own tables:
/// `#[serde(deserialize_with = "mergetag_sources::one_or_many")]`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Source {
///     #[serde(deserialize_with = "mergetag_sources::one_or_many")]
///     key: Vec<String>,
/// }
/// let one: Source = serde_json::from_str(r#"{"key": "Id"}"#).unwrap();
/// let many: Source = serde_json::from_str(r#"{"key": ["Id", "Email"]}"#).unwrap();
/// assert_eq!((one.key.len(), many.key.len()), (1, 2));
/// ```
///
/// # Errors
///
/// When the value is neither a string nor a list of strings.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d)
        .map_err(|_| de::Error::custom("expected a string or a list of strings"))?
    {
        OneOrMany::One(s) => Ok(vec![s]),
        OneOrMany::Many(v) => Ok(v),
    }
}

impl ColumnMapConfig {
    /// Parses TOML. `origin` names the text in errors (a file name).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the position of the problem.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<ColumnMapConfig> {
        Ok(config::load(text, origin, Format::Toml)?)
    }

    /// Parses JSON. `origin` names the text in errors (a file name).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the position of the problem.
    pub fn from_json_str(text: &str, origin: &str) -> Result<ColumnMapConfig> {
        Ok(config::load(text, origin, Format::Json)?)
    }

    /// Checks the configuration and builds the map.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown preset, an empty field or column name, or two spellings
    /// of one column that map to different fields.
    pub fn build(&self) -> Result<ColumnMap> {
        let mut map = match &self.preset {
            None => ColumnMap::new(),
            Some(name) => ColumnMap::preset(name).ok_or_else(|| {
                Error::invalid(
                    "preset",
                    format!(
                        "unknown preset `{name}`; expected one of: {}",
                        presets::NAMES.join(", ")
                    ),
                )
            })?,
        };
        let mut seen: HashMap<String, (&str, &str)> = HashMap::new();
        for (column, target) in &self.columns {
            let (field, kind) = match target {
                ColumnTarget::Field(f) => (f.as_str(), ColumnType::Text),
                ColumnTarget::Typed { field, kind } => (field.as_str(), *kind),
            };
            let key = column_key(column);
            if key.is_empty() {
                return Err(Error::invalid(
                    format!("columns.{column}"),
                    "the column name has no letters or digits, so it can match no column",
                ));
            }
            if field.trim().is_empty() || field.trim() != field {
                return Err(Error::invalid(
                    format!("columns.{column}"),
                    "the field name must be non-empty, without surrounding spaces",
                ));
            }
            if let Some((other, other_field)) = seen.insert(key, (column, field))
                && other_field != field
            {
                return Err(Error::invalid(
                    format!("columns.{column}"),
                    format!(
                        "columns `{other}` and `{column}` are the same column (names match ignoring case \
                     and punctuation) but map to different fields `{other_field}` and `{field}`"
                    ),
                ));
            }
            map = map.with_typed_column(column, field, kind);
        }
        for k in &self.key {
            map = map.with_key(k);
        }
        for f in &self.observed_at {
            if f.trim().is_empty() {
                return Err(Error::invalid(
                    "observed_at",
                    "a field name must be non-empty",
                ));
            }
            map = map.with_observed_at(f.as_str());
        }
        for c in &self.ignore {
            map = map.ignore(c);
        }
        Ok(map
            .unmapped(self.unmapped)
            .invalid_values(self.invalid_values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::ParseError;
    use mergetag_model::fields;

    #[test]
    fn loose_column_names() {
        assert_eq!(column_key("First Name"), "firstname");
        assert_eq!(column_key("first_name"), "firstname");
        assert_eq!(column_key("State/Region"), "stateregion");
        assert_eq!(column_key("Ünïcode Col"), "ünïcodecol");
    }

    #[test]
    fn plan_keeps_unmapped_and_finds_key() {
        let map = ColumnMap::hubspot_contacts();
        let plan = map
            .plan(&["Record ID", "First Name", "zip", "Favorite Store"])
            .unwrap();
        assert_eq!(
            plan.actions,
            [
                Action::Key,
                Action::Field(fields::FIRST_NAME.into(), ColumnType::Text),
                Action::Field(fields::POSTAL_CODE.into(), ColumnType::Text),
                Action::Field("Favorite Store".into(), ColumnType::Text),
            ]
        );
    }

    #[test]
    fn plan_refuses_two_columns_for_one_field() {
        let map = ColumnMap::hubspot_contacts();
        let err = map.plan(&["email", "Email"]).unwrap_err();
        assert!(err.contains("both become field `email`"), "{err}");
        let err = ColumnMap::new()
            .unmapped(Unmapped::Reject)
            .plan(&["x"])
            .unwrap_err();
        assert!(err.contains("not in the column map"), "{err}");
    }

    #[test]
    fn ignore_drops_and_overrides() {
        let map = ColumnMap::hubspot_contacts().ignore("zip");
        assert_eq!(map.action("ZIP"), Action::Ignore);
        let map = map.with_column("zip", "postcode");
        assert_eq!(
            map.action("zip"),
            Action::Field("postcode".into(), ColumnType::Text)
        );
    }

    #[test]
    fn config_errors_name_the_line() {
        let e = ColumnMap::from_toml_str("preset = \"hubspot_contacts\"\nbogus = 1\n").unwrap_err();
        match e {
            Error::Parse(ParseError { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("unknown field `bogus`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = ColumnMap::from_toml_str("[columns]\nx = { field = \"a\", typ = \"bool\" }\n")
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `typ`"), "{e}");
        let e = ColumnMap::from_toml_str("preset = \"zoho\"").unwrap_err();
        assert!(e.to_string().contains("expected one of"), "{e}");
        let e = ColumnMap::from_toml_str("[columns]\n\"First Name\" = \"a\"\nfirstname = \"b\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("same column"), "{e}");
        let e = ColumnMap::from_json_str(r#"{"columns": {"x": {"field": "a", "type": "date"}}}"#)
            .unwrap_err();
        match e {
            Error::Parse(ParseError {
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!((line, column), (1, 47));
                assert!(message.contains("unknown variant `date`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_and_toml_agree() {
        let toml = r#"
            key = ["Id", "Legacy Id"]
            observed_at = "updated_at"
            ignore = ["Photo"]
            unmapped = "reject"
            invalid_values = "keep_text"
            [columns]
            Updated = { field = "updated_at", type = "timestamp" }
            Mail = "email"
        "#;
        let json = r#"{"key": ["Id", "Legacy Id"], "observed_at": ["updated_at"], "ignore": ["Photo"],
            "unmapped": "reject", "invalid_values": "keep_text",
            "columns": {"Updated": {"field": "updated_at", "type": "timestamp"}, "Mail": "email"}}"#;
        let a = ColumnMap::from_toml_str(toml).unwrap();
        assert_eq!(a, ColumnMap::from_json_str(json).unwrap());
        assert_eq!(a.key_rank("legacy_id"), Some(1));
        assert_eq!(a.observed_at_fields(), [FieldName::new("updated_at")]);
        assert_eq!(a.action("photo"), Action::Ignore);
        assert_eq!(a.action("other"), Action::Unmapped);
    }
}
