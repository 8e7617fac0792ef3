//! `mergetag check-template`: the variables each template uses, and those the mapping does not
//! provide.
//!
//! ```
//! use mergetag_cli::template::{SyntaxArg, check, load_mapping_str};
//!
//! let mapping = load_mapping_str(
//!     "[[variables]]\nname = \"first_name\"\nsource = \"profile.first_name\"\n",
//!     "mapping.toml",
//! )?;
//! let report = check("welcome.hbs", "Hi {{first_name}} from {{city}}!", SyntaxArg::Auto, &mapping);
//! assert_eq!(report.variables, ["city", "first_name"]);
//! assert_eq!(report.unmapped, ["city"]);
//! assert!(!report.is_ok());
//! # Ok::<(), mergetag_cli::Error>(())
//! ```

use std::io::Write;
use std::path::Path;

use mergetag_mapping::{Mapping, MappingConfig, ScanProblem, Syntax, check_template};
use mergetag_model::config::Format;
use serde::Serialize;

use crate::config::{parse, read_config};
use crate::error::{Error, Result};

/// The template language of `--syntax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum SyntaxArg {
    /// By file name: `.liquid` is Liquid, `.hbs` and `.handlebars` are Handlebars; otherwise
    /// Liquid when the template has a `{%` tag, else Handlebars.
    #[default]
    Auto,
    /// Handlebars (SendGrid).
    Handlebars,
    /// Liquid (Braze, Klaviyo-like).
    Liquid,
}

impl SyntaxArg {
    /// The syntax of the template `name` with text `text`.
    pub fn resolve(self, name: &str, text: &str) -> Syntax {
        match self {
            SyntaxArg::Handlebars => Syntax::Handlebars,
            SyntaxArg::Liquid => Syntax::Liquid,
            SyntaxArg::Auto => {
                let ext = Path::new(name)
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase);
                match ext.as_deref() {
                    Some("liquid") => Syntax::Liquid,
                    Some("hbs" | "handlebars") => Syntax::Handlebars,
                    _ if text.contains("{%") => Syntax::Liquid,
                    _ => Syntax::Handlebars,
                }
            }
        }
    }
}

/// The check of one template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateReport {
    /// The template's file name, as given.
    pub template: String,
    /// `handlebars` or `liquid`.
    pub syntax: Syntax,
    /// The root variables it uses, sorted.
    pub variables: Vec<String>,
    /// Those the mapping does not provide, sorted.
    pub unmapped: Vec<String>,
    /// Variables the mapping provides that the template does not use, sorted.
    pub unused: Vec<String>,
    /// The template engine's syntax error (an unclosed tag or block, a stray end tag), with
    /// its byte offset, and its line and column when the engine gives them.
    pub problems: Vec<ScanProblem>,
}

impl TemplateReport {
    /// Whether every variable is mapped and the template has no syntax problem.
    pub fn is_ok(&self) -> bool {
        self.unmapped.is_empty() && self.problems.is_empty()
    }

    /// Writes the report as text:
    ///
    /// ```text
    /// welcome.hbs (handlebars)
    ///   variables: city, first_name
    ///   unmapped: city
    /// ```
    ///
    /// followed by one `problem at line L, column C: ...` line per syntax problem (`at byte N`
    /// when the engine gives no position).
    ///
    /// # Errors
    ///
    /// When writing fails.
    pub fn write_text(&self, mut out: impl Write) -> std::io::Result<()> {
        let syntax = self.syntax.as_str();
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        writeln!(out, "{} ({syntax})", self.template)?;
        writeln!(out, "  variables: {}", list(&self.variables))?;
        writeln!(out, "  unmapped: {}", list(&self.unmapped))?;
        for p in &self.problems {
            match (p.line, p.column) {
                (Some(l), Some(c)) => {
                    writeln!(out, "  problem at line {l}, column {c}: {}", p.message)?
                }
                (Some(l), None) => writeln!(out, "  problem at line {l}: {}", p.message)?,
                _ => writeln!(out, "  problem at byte {}: {}", p.offset, p.message)?,
            }
        }
        Ok(())
    }
}

/// Parses and builds a mapping document; `origin` names it in errors.
///
/// # Errors
///
/// [`Error::Parse`] with the line and column of a syntax error, an unknown key or a wrong
/// type; [`Error::Invalid`] when the document parses but is not valid.
pub fn load_mapping_str(text: &str, origin: &str) -> Result<Mapping> {
    build_mapping(parse(text, origin, Format::Toml)?, origin)
}

fn build_mapping(config: MappingConfig, origin: &str) -> Result<Mapping> {
    config
        .build()
        .map_err(|e| Error::invalid(origin, e.to_string()))
}

/// Reads, parses and builds a mapping document file (JSON when it ends in `.json`, TOML
/// otherwise).
///
/// # Errors
///
/// [`Error::Io`] when it cannot be read, else as [`load_mapping_str`].
pub fn load_mapping(path: impl AsRef<Path>) -> Result<Mapping> {
    let (text, origin, format) = read_config(path.as_ref())?;
    build_mapping(parse(&text, &origin, format)?, &origin)
}

/// Checks one template against a mapping; a syntax error is a problem in the report (see
/// [`try_check`] to have it as an error).
pub fn check(name: &str, text: &str, syntax: SyntaxArg, mapping: &Mapping) -> TemplateReport {
    let syntax = syntax.resolve(name, text);
    let c = check_template(text, syntax, mapping, &[]);
    TemplateReport {
        template: name.to_owned(),
        syntax,
        variables: c.scan.variables.into_iter().collect(),
        unmapped: c.unknown.into_iter().collect(),
        unused: c.unused.into_iter().collect(),
        problems: c.scan.problems,
    }
}

/// Checks one template against a mapping, a syntax error being an error: what
/// `check-template` exits 2 on.
///
/// # Errors
///
/// [`Error::Input`] naming the template, the line and column the engine gives, and its
/// message, when the template engine rejects the template.
///
/// ```
/// use mergetag_cli::template::{SyntaxArg, load_mapping_str, try_check};
///
/// let mapping = load_mapping_str("", "mapping.toml")?;
/// let e = try_check("promo.liquid", "hi\n{% if vip %}", SyntaxArg::Auto, &mapping).unwrap_err();
/// assert!(e.to_string().starts_with("promo.liquid: liquid template, line 2"), "{e}");
/// # Ok::<(), mergetag_cli::Error>(())
/// ```
pub fn try_check(
    name: &str,
    text: &str,
    syntax: SyntaxArg,
    mapping: &Mapping,
) -> Result<TemplateReport> {
    let report = check(name, text, syntax, mapping);
    match report.problems.first() {
        None => Ok(report),
        Some(p) => Err(Error::Input(format!(
            "{name}: {}",
            mergetag_mapping::Error::Template {
                syntax: report.syntax.as_str(),
                line: p.line,
                column: p.column,
                message: p.message.clone(),
            }
        ))),
    }
}

/// Reads a template file as UTF-8 text.
///
/// # Errors
///
/// [`Error::Io`] when it cannot be read; [`Error::Input`] when it is not UTF-8.
pub fn read_template(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::Input(format!(
            "{}: the template is not valid UTF-8 (byte {}); save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
