//! The data mapping document: template variables from profile fields and traits, with
//! transforms, fallbacks and types.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mergetag_model::config::Format;
use mergetag_model::fields::{self, ValueKind};
use mergetag_model::{Profile, RecordId, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result, load_path, load_str};
use crate::platform::Platform;
use crate::transform::Transform;

/// The type of a template variable's value in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VarType {
    /// Text (the default); numbers, booleans and dates are written in their text form.
    #[default]
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An ISO 8601 date (`2025-06-01`).
    Date,
    /// An RFC 3339 instant.
    Datetime,
    /// A list.
    List,
    /// A nested object.
    Object,
    /// A postal address object (`street`, `city`, `region`, `postal_code`, `country`), built
    /// from the profile's address fields when the source is `profile.address`.
    Address,
}

impl VarType {
    fn schema(self) -> Json {
        let t = |t: &str| serde_json::json!({ "type": t });
        match self {
            VarType::String => t("string"),
            VarType::Integer => t("integer"),
            VarType::Number => t("number"),
            VarType::Boolean => t("boolean"),
            VarType::Date => serde_json::json!({ "type": "string", "format": "date" }),
            VarType::Datetime => serde_json::json!({ "type": "string", "format": "date-time" }),
            VarType::List => t("array"),
            VarType::Object => t("object"),
            VarType::Address => serde_json::json!({
                "type": "object",
                "properties": {
                    "street": { "type": "string" }, "city": { "type": "string" },
                    "region": { "type": "string" }, "postal_code": { "type": "string" },
                    "country": { "type": "string" }
                },
                "additionalProperties": false
            }),
        }
    }

    /// The value as this type, or `None` when it cannot be one.
    /// [`VarType::coerce`] of an owned value, moving text instead of copying it.
    fn coerce_owned(self, v: Value) -> Option<Json> {
        match (self, v) {
            (VarType::String, Value::Text(s)) => Some(Json::String(s)),
            (_, v) => self.coerce(&v),
        }
    }

    fn coerce(self, v: &Value) -> Option<Json> {
        match (self, v) {
            (_, Value::Null) => None,
            (VarType::String, Value::Text(s)) => Some(Json::String(s.clone())),
            (VarType::String, Value::List(_) | Value::Object(_)) => None,
            (VarType::String, other) => Some(Json::String(other.to_string())),
            (VarType::Integer, Value::Int(i)) => Some(Json::from(*i)),
            (VarType::Integer, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Some(Json::from(*f as i64))
            }
            (VarType::Integer, Value::Text(s)) => s.trim().parse::<i64>().ok().map(Json::from),
            (VarType::Number, Value::Int(i)) => Some(Json::from(*i)),
            (VarType::Number, Value::Float(f)) => {
                serde_json::Number::from_f64(*f).map(Json::Number)
            }
            (VarType::Number, Value::Text(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number),
            (VarType::Boolean, Value::Bool(b)) => Some(Json::Bool(*b)),
            (VarType::Boolean, Value::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Some(Json::Bool(true)),
                "false" | "no" | "0" => Some(Json::Bool(false)),
                _ => None,
            },
            (VarType::Date, Value::Date(d)) => Some(Json::String(d.to_string())),
            (VarType::Date, Value::DateTime(t)) => Some(Json::String(t.date_naive().to_string())),
            (VarType::Date, Value::Text(s)) => {
                chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .ok()
                    .map(|d| Json::String(d.to_string()))
            }
            (VarType::Datetime, Value::DateTime(_)) => Some(Json::String(v.to_string())),
            (VarType::Datetime, Value::Text(s)) => chrono::DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .map(|t| Json::String(t.with_timezone(&chrono::Utc).to_rfc3339())),
            (VarType::List, Value::List(_)) => Some(to_json(v)),
            (VarType::Object | VarType::Address, Value::Object(_)) => Some(to_json(v)),
            _ => None,
        }
    }
}

/// A model value as JSON: dates in ISO 8601, datetimes in RFC 3339.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::Date(_) | Value::DateTime(_) => Json::String(v.to_string()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// A JSON value as a model value (numbers as int when whole and in range).
pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        Json::String(s) => Value::Text(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(from_json).collect()),
        Json::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// What to do with a source value that is empty (`""`) or whitespace-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyPolicy {
    /// Use the fallback, as if the value were absent (the default).
    #[default]
    Fallback,
    /// Send the value as it is. Beware: some platforms' `default` filters treat a
    /// whitespace-only string as a value and print the whitespace.
    Keep,
}

/// The serde form of one template variable.
///
/// ```toml
/// [[variables]]
/// name = "user_location"
/// source = "profile.city"
/// transforms = [{ op = "title" }]
/// fallback = "your area"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableConfig {
    /// The variable's name as templates use it.
    pub name: String,
    /// Where the value comes from: `profile.<field>[.<path>]`, `traits.<trait>[.<path>]`,
    /// `view.<view>.<column>` (a semantic-layer view's column, with the `mergetag` feature
    /// `lake`; the same as `traits.view.<view>.<column>`),
    /// `profile.address` (an address object) or `profile.id`.
    pub source: String,
    /// Transforms applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
    /// The value used when the source has none (absent, empty or whitespace-only as the
    /// policies say, or not convertible to the type); when absent, the variable is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Json>,
    /// The type (default `string`).
    #[serde(default, rename = "type")]
    pub var_type: VarType,
    /// What an empty string is (default: fallback).
    #[serde(default)]
    pub empty: EmptyPolicy,
    /// What a whitespace-only string is (default: fallback).
    #[serde(default)]
    pub whitespace: EmptyPolicy,
    /// A description, carried into the JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl VariableConfig {
    /// A variable `name` taking its value from `source` (`profile.first_name`,
    /// `traits.orders`, ...), every other setting at its default; chain the `with_*` methods
    /// for the rest.
    ///
    /// ```
    /// use mergetag_mapping::{MappingConfig, VariableConfig};
    ///
    /// let mut config = MappingConfig::default();
    /// config.variables.push(VariableConfig::new("first_name", "profile.first_name").with_fallback("there"));
    /// config.variables.push(VariableConfig::new("orders", "traits.orders").with_fallback(0));
    /// let mapping = config.build()?;
    /// assert_eq!(mapping.variables().len(), 2);
    /// # Ok::<(), mergetag_mapping::Error>(())
    /// ```
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> VariableConfig {
        VariableConfig {
            name: name.into(),
            source: source.into(),
            transforms: Vec::new(),
            fallback: None,
            var_type: VarType::default(),
            empty: EmptyPolicy::default(),
            whitespace: EmptyPolicy::default(),
            description: None,
        }
    }

    /// Sets the fallback: the value used when the source has none.
    pub fn with_fallback(mut self, fallback: impl Into<Json>) -> VariableConfig {
        self.fallback = Some(fallback.into());
        self
    }

    /// Adds a transform, applied after those added before it.
    pub fn with_transform(mut self, transform: Transform) -> VariableConfig {
        self.transforms.push(transform);
        self
    }

    /// Sets the type the value is rendered as.
    pub fn with_type(mut self, var_type: VarType) -> VariableConfig {
        self.var_type = var_type;
        self
    }

    /// Sets what happens to an empty (`""`) source value.
    pub fn with_empty(mut self, policy: EmptyPolicy) -> VariableConfig {
        self.empty = policy;
        self
    }

    /// Sets what happens to a whitespace-only source value.
    pub fn with_whitespace(mut self, policy: EmptyPolicy) -> VariableConfig {
        self.whitespace = policy;
        self
    }

    /// Sets the description, for people reading the mapping.
    pub fn with_description(mut self, description: impl Into<String>) -> VariableConfig {
        self.description = Some(description.into());
        self
    }

    /// Validates and builds the runtime [`Variable`]. The rules for its name (unique in the
    /// document, accepted by the platform) are checked by [`MappingConfig::build`], which
    /// knows the other variables and the platform.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (with paths relative to the variable: `source`, `transforms[0]`,
    /// `fallback`) for a source that is not `profile.` or `traits.`, a bad transform, or a
    /// fallback that is not of the type.
    pub fn build(&self) -> Result<Variable> {
        let source = Source::parse(&self.source).ok_or_else(|| {
            Error::invalid(
                "source",
                format!(
                    "`{}` is not a source; write `profile.<field>`, `traits.<trait>` or `view.<view>.<column>`",
                    self.source
                ),
            )
        })?;
        for (j, t) in self.transforms.iter().enumerate() {
            t.validate(&format!("transforms[{j}]"))?;
        }
        // A date transform on a source known to hold dates (`profile.birth_date`) can only
        // use the date's fields: `%H` of a date has no value.
        if let Source::Field(field, path) = &source
            && path.is_empty()
            && fields::spec(field).is_some_and(|s| s.kind == ValueKind::Date)
            && let Some((j, spec)) = first_date_format(&self.transforms)
                .and_then(|(j, t)| t.time_of_day_specifier().map(|s| (j, s)))
        {
            return Err(Error::invalid(
                format!("transforms[{j}]"),
                format!(
                    "variable `{}`: `{spec}` needs a time of day, but `{}` is a date; use a \
                     date-only format (`%Y-%m-%d`, `%B %-d, %Y`) or a datetime source",
                    self.name, self.source
                ),
            ));
        }
        let fallback = match &self.fallback {
            None | Some(Json::Null) => None,
            Some(f) => Some(self.var_type.coerce(&from_json(f)).ok_or_else(|| {
                Error::invalid(
                    "fallback",
                    format!("the fallback {f} is not a {:?}", self.var_type).to_lowercase(),
                )
            })?),
        };
        Ok(Variable {
            name: self.name.clone(),
            source,
            transforms: self.transforms.clone(),
            fallback,
            var_type: self.var_type,
            empty: self.empty,
            whitespace: self.whitespace,
            description: self.description.clone(),
        })
    }
}

/// The first date transform a date reaches (transforms of text leave a date alone; a lookup,
/// number or currency transform makes it something else), with its index.
fn first_date_format(transforms: &[Transform]) -> Option<(usize, &Transform)> {
    for (j, t) in transforms.iter().enumerate() {
        match t {
            Transform::Date { .. } => return Some((j, t)),
            Transform::Trim
            | Transform::Upper
            | Transform::Lower
            | Transform::Title
            | Transform::Truncate { .. }
            | Transform::Join { .. }
            | Transform::First => {}
            _ => return None,
        }
    }
    None
}

/// The serde form of a mapping document.
///
/// ```toml
/// platform = "sendgrid"   # optional: variable names are checked against it
///
/// [[variables]]
/// name = "first_name"
/// source = "profile.first_name"
/// fallback = "there"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The platform whose naming rules every variable must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The variables, in output order.
    #[serde(default)]
    pub variables: Vec<VariableConfig>,
}

impl MappingConfig {
    /// Parses a TOML document; errors name it `<toml>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_toml_str(text: &str) -> Result<MappingConfig> {
        load_str(text, Format::Toml)
    }

    /// Parses a JSON document; errors name it `<json>`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with the line and column of bad syntax, an unknown key or a wrong
    /// type.
    pub fn from_json_str(text: &str) -> Result<MappingConfig> {
        load_str(text, Format::Json)
    }

    /// Reads a `.toml` or `.json` file (by its extension, in any case); errors name the file.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] when the file cannot be read or has another extension, else
    /// [`Error::Parse`] as the parsers.
    pub fn from_path(path: impl AsRef<Path>) -> Result<MappingConfig> {
        load_path(path.as_ref())
    }

    /// Validates and builds the runtime [`Mapping`].
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a duplicate name, a name the platform would reject (or write
    /// under the same key as another variable's), a source that
    /// is not `profile.` or `traits.`, a bad transform, or a fallback that is not of the type.
    pub fn build(&self) -> Result<Mapping> {
        let mut seen = BTreeSet::new();
        let mut variables = Vec::with_capacity(self.variables.len());
        for (i, c) in self.variables.iter().enumerate() {
            let at = |k: &str| format!("variables[{i}].{k}");
            if !seen.insert(c.name.as_str()) {
                return Err(Error::invalid(
                    at("name"),
                    format!(
                        "duplicate variable name `{}`; each variable needs its own name",
                        c.name
                    ),
                ));
            }
            if let Some(p) = self.platform {
                if let Some(why) = p.check_name(&c.name) {
                    return Err(Error::invalid(at("name"), format!("`{}`: {why}", c.name)));
                }
                if let Some(why) = self.variables[..i]
                    .iter()
                    .find_map(|earlier| p.check_pair(&earlier.name, &c.name))
                {
                    return Err(Error::invalid(at("name"), why));
                }
            } else if c.name.trim().is_empty() {
                return Err(Error::invalid(
                    at("name"),
                    "a variable name cannot be empty",
                ));
            }
            variables.push(c.build().map_err(|e| e.under(&format!("variables[{i}]")))?);
        }
        Ok(Mapping {
            platform: self.platform,
            variables,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    Field(String, String),
    Trait(String, String),
    Address,
    ProfileId,
}

impl Source {
    /// Column `path`'s first segment of view `view`, and the path into its value after it.
    fn view(view: &str, path: &str) -> Source {
        let (column, rest) = path.split_once('.').unwrap_or((path, ""));
        Source::Trait(format!("view.{view}.{column}"), rest.into())
    }

    pub(crate) fn parse(s: &str) -> Option<Source> {
        let (scope, rest) = s.trim().split_once('.')?;
        let (head, path) = rest.split_once('.').unwrap_or((rest, ""));
        if head.is_empty() || path.split('.').any(|p| p.is_empty()) && !path.is_empty() {
            return None;
        }
        match (scope, head, path) {
            ("profile", "address", "") => Some(Source::Address),
            ("profile", "id", "") => Some(Source::ProfileId),
            ("profile", _, _) => Some(Source::Field(head.into(), path.into())),
            // A semantic-layer view's column: the pipeline's semantic stage puts each column of
            // a view's row for the profile in the flat trait `view.<view>.<column>`
            // (`view.favourite_category.category`), with a path into it after that.
            ("view", _, _) if !path.is_empty() => Some(Source::view(head, path)),
            ("traits", "view", _) if path.contains('.') => {
                let (view, path) = path.split_once('.').unwrap_or((path, ""));
                Some(Source::view(view, path))
            }
            ("traits", _, _) => Some(Source::Trait(head.into(), path.into())),
            _ => None,
        }
    }
}

/// One recipient as the mapping sees it: a golden profile and its computed traits.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// Its computed traits (and engagement), by name.
    pub traits: &'a BTreeMap<String, Value>,
}

/// Why a variable has no value from its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The source has no value (or null).
    Absent,
    /// The source is the empty string.
    Empty,
    /// The source is whitespace only.
    Whitespace,
    /// The value could not be transformed or converted to the variable's type.
    Invalid,
}

/// Where a rendered variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// From its source.
    Source,
    /// The fallback, because of this.
    Fallback(Missing),
    /// Null: no value and no fallback.
    Null(Missing),
}

/// One variable rendered for one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered<'a> {
    /// The value (null when there is neither a value nor a fallback); a fallback is borrowed
    /// from the mapping.
    pub value: std::borrow::Cow<'a, Json>,
    /// Where it came from.
    pub outcome: Outcome,
    /// The source record of a profile field, for provenance.
    pub record: Option<&'a RecordId>,
}

/// One variable of a built [`Mapping`].
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    name: String,
    source: Source,
    transforms: Vec<Transform>,
    fallback: Option<Json>,
    var_type: VarType,
    empty: EmptyPolicy,
    whitespace: EmptyPolicy,
    description: Option<String>,
}

impl Variable {
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type.
    pub fn var_type(&self) -> VarType {
        self.var_type
    }

    /// The fallback, already of the type.
    pub fn fallback(&self) -> Option<&Json> {
        self.fallback.as_ref()
    }

    fn resolve<'a>(
        &self,
        r: &Recipient<'a>,
    ) -> (Option<std::borrow::Cow<'a, Value>>, Option<&'a RecordId>) {
        self.source.resolve(r)
    }
}

impl Source {
    /// The value at this source for `r`, with the record of a profile field.
    pub(crate) fn resolve<'a>(
        &self,
        r: &Recipient<'a>,
    ) -> (Option<std::borrow::Cow<'a, Value>>, Option<&'a RecordId>) {
        use std::borrow::Cow;
        match self {
            Source::Field(name, path) => match r.profile.field(name) {
                Some(f) => (
                    f.chosen.value.pointer(path).map(Cow::Borrowed),
                    Some(&f.chosen.record),
                ),
                None => (None, None),
            },
            Source::Trait(name, path) => (
                r.traits
                    .get(name)
                    .and_then(|v| v.pointer(path))
                    .map(Cow::Borrowed),
                None,
            ),
            Source::ProfileId => (
                Some(Cow::Owned(Value::Text(r.profile.id.to_string()))),
                None,
            ),
            Source::Address => {
                let mut o = BTreeMap::new();
                for (key, field) in [
                    ("street", fields::STREET),
                    ("city", fields::CITY),
                    ("region", fields::REGION),
                    ("postal_code", fields::POSTAL_CODE),
                    ("country", fields::COUNTRY),
                ] {
                    if let Some(v) = r.profile.value(field).filter(|v| !v.is_missing()) {
                        o.insert(key.to_string(), Value::Text(v.to_string()));
                    }
                }
                let record = r
                    .profile
                    .field(fields::STREET)
                    .or_else(|| r.profile.field(fields::CITY));
                (
                    (!o.is_empty()).then_some(Cow::Owned(Value::Object(o))),
                    record.map(|f| &f.chosen.record),
                )
            }
        }
    }
}

impl Variable {
    /// Renders the variable for one recipient.
    pub fn render<'a>(&'a self, r: &Recipient<'a>) -> Rendered<'a> {
        let mut slot = Rendered {
            value: Cow::Owned(Json::Null),
            outcome: Outcome::Source,
            record: None,
        };
        self.render_to(r, &mut slot);
        slot
    }

    /// Renders the variable for one recipient into `slot`, reusing the text buffer a previous
    /// recipient left there when the value is text passed through unchanged (the common case,
    /// and the reason [`Mapping::render_into`] is allocation-light).
    pub fn render_to<'a>(&'a self, r: &Recipient<'a>, slot: &mut Rendered<'a>) {
        let (value, record) = self.resolve(r);
        let missing = match value.as_deref() {
            None | Some(Value::Null) => Some(Missing::Absent),
            Some(Value::Text(s)) if s.is_empty() && self.empty == EmptyPolicy::Fallback => {
                Some(Missing::Empty)
            }
            Some(Value::Text(s))
                if !s.is_empty()
                    && s.trim().is_empty()
                    && self.whitespace == EmptyPolicy::Fallback =>
            {
                Some(Missing::Whitespace)
            }
            _ => None,
        };
        let result = match (missing, value) {
            (Some(_), _) | (None, None) => Err(missing.unwrap_or(Missing::Absent)),
            (None, Some(v)) => {
                let v = self.transforms.iter().fold(v, |v, t| t.apply_cow(v));
                match v {
                    Cow::Borrowed(Value::Text(text)) if self.var_type == VarType::String => {
                        slot.outcome = Outcome::Source;
                        slot.record = record;
                        match &mut slot.value {
                            Cow::Owned(Json::String(buf)) => {
                                buf.clear();
                                buf.push_str(text);
                            }
                            other => *other = Cow::Owned(Json::String(text.clone())),
                        }
                        return;
                    }
                    Cow::Borrowed(b) => self.var_type.coerce(b),
                    Cow::Owned(o) => self.var_type.coerce_owned(o),
                }
                .ok_or(Missing::Invalid)
            }
        };
        *slot = match result {
            Ok(value) => Rendered {
                value: Cow::Owned(value),
                outcome: Outcome::Source,
                record,
            },
            Err(m) => match &self.fallback {
                Some(f) => Rendered {
                    value: Cow::Borrowed(f),
                    outcome: Outcome::Fallback(m),
                    record: None,
                },
                None => Rendered {
                    value: Cow::Owned(Json::Null),
                    outcome: Outcome::Null(m),
                    record: None,
                },
            },
        };
    }
}

/// A built mapping document: renders each recipient's template variables.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use mergetag_mapping::{MappingConfig, Recipient};
/// use mergetag_mapping::model::{Profile, ProfileId, RecordId, Value};
///
/// let mapping = MappingConfig::from_toml_str(r#"
///     platform = "sendgrid"
///     [[variables]]
///     name = "user_location"
///     source = "profile.city"
///     transforms = [{ op = "title" }]
///     fallback = "your area"
/// "#).unwrap().build().unwrap();
/// let mut p = Profile::new(ProfileId(1), vec![]);
/// p.set("city", Value::from("NEW YORK"), RecordId::id("crm", "1"), None);
/// let traits = BTreeMap::new();
/// let vars = mapping.to_object(&Recipient { profile: &p, traits: &traits });
/// assert_eq!(vars["user_location"], "New York");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    platform: Option<Platform>,
    variables: Vec<Variable>,
}

impl Mapping {
    /// The variables, in document order.
    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The variable `name`.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// The platform named in the document.
    pub fn platform(&self) -> Option<Platform> {
        self.platform
    }

    /// Every reason `platform` would reject a variable name, as `(name, reason)`: a name it
    /// does not accept, or two names it writes under one key (Mailchimp's `fname` and
    /// `FNAME`), reported once, under the later variable, naming both.
    pub fn check_platform(&self, platform: Platform) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, v) in self.variables.iter().enumerate() {
            if let Some(why) = platform.check_name(&v.name) {
                out.push((v.name.clone(), why));
            }
            if let Some(why) = self.variables[..i]
                .iter()
                .find_map(|earlier| platform.check_pair(&earlier.name, &v.name))
            {
                out.push((v.name.clone(), why));
            }
        }
        out
    }

    /// Renders every variable for one recipient into `out`, in document order, reusing the
    /// slots (and their text buffers) of the previous recipient.
    pub fn render_into<'a>(&'a self, r: &Recipient<'a>, out: &mut Vec<Rendered<'a>>) {
        out.truncate(self.variables.len());
        for (i, v) in self.variables.iter().enumerate() {
            match out.get_mut(i) {
                Some(slot) => v.render_to(r, slot),
                None => out.push(v.render(r)),
            }
        }
    }

    /// Renders every variable for one recipient.
    pub fn render<'a>(&'a self, r: &Recipient<'a>) -> Vec<Rendered<'a>> {
        let mut out = Vec::with_capacity(self.variables.len());
        self.render_into(r, &mut out);
        out
    }

    /// The variables of one recipient as a JSON object (null variables included).
    pub fn to_object(&self, r: &Recipient<'_>) -> Map<String, Json> {
        self.variables
            .iter()
            .map(|v| (v.name.clone(), v.render(r).value.into_owned()))
            .collect()
    }

    /// A JSON Schema (draft 2020-12) of the variables object, so other tools can check
    /// payloads: every variable is a property; those with a fallback are required and never
    /// null.
    pub fn json_schema(&self) -> Json {
        let mut props = Map::new();
        let mut required = Vec::new();
        for v in &self.variables {
            let mut s = v.var_type.schema();
            if v.fallback.is_some() {
                required.push(Json::String(v.name.clone()));
            } else if let Some(t) = s.get("type").cloned() {
                s["type"] = Json::Array(vec![t, Json::String("null".into())]);
            }
            if let Some(d) = &v.description {
                s["description"] = Json::String(d.clone());
            }
            props.insert(v.name.clone(), s);
        }
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::ProfileId;

    fn mapping(body: &str) -> Mapping {
        MappingConfig::from_toml_str(body).unwrap().build().unwrap()
    }

    #[test]
    fn absent_empty_and_whitespace_are_distinct() {
        let m = mapping(
            r#"
            [[variables]]
            name = "a"
            source = "profile.a"
            fallback = "F"
            [[variables]]
            name = "b"
            source = "profile.b"
            fallback = "F"
            [[variables]]
            name = "c"
            source = "profile.c"
            fallback = "F"
            [[variables]]
            name = "d"
            source = "profile.c"
            whitespace = "keep"
            [[variables]]
            name = "e"
            source = "profile.b"
            empty = "keep"
            "#,
        );
        let mut p = Profile::new(ProfileId(1), vec![]);
        let r = RecordId::id("crm", "1");
        p.set("b", Value::from(""), r.clone(), None);
        p.set("c", Value::from("  "), r.clone(), None);
        let traits = BTreeMap::new();
        let out = m.render(&Recipient {
            profile: &p,
            traits: &traits,
        });
        assert_eq!(out[0].outcome, Outcome::Fallback(Missing::Absent));
        assert_eq!(out[1].outcome, Outcome::Fallback(Missing::Empty));
        assert_eq!(out[2].outcome, Outcome::Fallback(Missing::Whitespace));
        assert_eq!(
            (out[3].outcome, &*out[3].value),
            (Outcome::Source, &Json::from("  "))
        );
        assert_eq!(out[3].record, Some(&r));
        assert_eq!(
            (out[4].outcome, &*out[4].value),
            (Outcome::Source, &Json::from(""))
        );
    }

    #[test]
    fn view_sources_read_the_flat_view_traits() {
        let flat = |name: &str, path: &str| Some(Source::Trait(name.into(), path.into()));
        assert_eq!(
            Source::parse("view.favourite_category.category"),
            flat("view.favourite_category.category", "")
        );
        // The same through `traits.`, and a path into the column's value after it.
        assert_eq!(
            Source::parse("traits.view.favourite_category.category"),
            flat("view.favourite_category.category", "")
        );
        assert_eq!(
            Source::parse("view.top.product.sku"),
            flat("view.top.product", "sku")
        );
        assert_eq!(Source::parse("view.favourite_category"), None);
        assert_eq!(Source::parse("view.favourite_category."), None);
        // A trait of its own named `view` (no column after the view) is read as before.
        assert_eq!(Source::parse("traits.view.x"), flat("view", "x"));

        // Rendered from a profile's flat trait.
        let p = Profile::new(ProfileId(1), vec![]);
        let traits = BTreeMap::from([(
            "view.favourite_category.category".to_owned(),
            Value::from("shoes"),
        )]);
        let recipient = Recipient {
            profile: &p,
            traits: &traits,
        };
        let source = Source::parse("view.favourite_category.category").unwrap();
        assert_eq!(
            source.resolve(&recipient).0.as_deref(),
            Some(&Value::from("shoes"))
        );
    }

    #[test]
    fn render_into_reuses_slots_without_leaking_values() {
        let m = mapping(
            "[[variables]]\nname = \"a\"\nsource = \"profile.a\"\nfallback = \"F\"\n\
             [[variables]]\nname = \"b\"\nsource = \"profile.b\"\ntransforms = [{ op = \"upper\" }]",
        );
        let r = RecordId::id("crm", "1");
        let mut long = Profile::new(ProfileId(1), vec![]);
        long.set(
            "a",
            Value::from("a much longer first value"),
            r.clone(),
            None,
        );
        long.set("b", Value::from("x"), r.clone(), None);
        let mut short = Profile::new(ProfileId(2), vec![]);
        short.set("a", Value::from("z"), r, None);
        let empty = Profile::new(ProfileId(3), vec![]);
        let traits = BTreeMap::new();
        let mut out = Vec::new();
        for p in [&long, &short, &empty, &long, &short] {
            let rec = Recipient {
                profile: p,
                traits: &traits,
            };
            m.render_into(&rec, &mut out);
            assert_eq!(out, m.render(&rec));
        }
    }

    #[test]
    fn validation_on_load() {
        let dup = "[[variables]]\nname = \"a\"\nsource = \"profile.a\"\n[[variables]]\nname = \"a\"\nsource = \"profile.b\"";
        let e = MappingConfig::from_toml_str(dup)
            .unwrap()
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("duplicate variable name `a`"), "{e}");
        let bad = "platform = \"mailchimp\"\n[[variables]]\nname = \"last_purchase_product\"\nsource = \"traits.x\"";
        assert!(MappingConfig::from_toml_str(bad).unwrap().build().is_err());
        let src = "[[variables]]\nname = \"a\"\nsource = \"crm.a\"";
        assert!(MappingConfig::from_toml_str(src).unwrap().build().is_err());
        let fb = "[[variables]]\nname = \"a\"\nsource = \"profile.a\"\ntype = \"integer\"\nfallback = \"x\"";
        assert!(MappingConfig::from_toml_str(fb).unwrap().build().is_err());
        assert!(
            MappingConfig::from_toml_str(
                "[[variables]]\nname = \"a\"\nsource = \"profile.a\"\nextra = 1"
            )
            .is_err()
        );
    }

    #[test]
    fn schema_marks_fallbacks_required() {
        let m = mapping(
            "[[variables]]\nname = \"n\"\nsource = \"traits.n\"\ntype = \"integer\"\nfallback = 0\n[[variables]]\nname = \"s\"\nsource = \"profile.s\"",
        );
        let s = m.json_schema();
        assert_eq!(s["required"], serde_json::json!(["n"]));
        assert_eq!(
            s["properties"]["s"]["type"],
            serde_json::json!(["string", "null"])
        );
    }
}
