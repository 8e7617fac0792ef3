//! Template checks: the variables a Handlebars or Liquid template uses, those the mapping does
//! not provide, and per-recipient coverage.
//!
//! Templates are read by the engines' own parsers: Handlebars by the `handlebars` crate's
//! syntax tree ([`handlebars::template::Template::compile`]), Liquid by the `liquid` crate's
//! parser with its standard tags and filters. What the engine rejects is a syntax problem,
//! with its line and column; the variables are the root names the parsed template reads from
//! the data it is rendered with, in the scopes the engine gives them (a loop's item, block
//! parameters, `assign`ed names are not variables).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use liquid_core::parser::{
    BlockElement, BlockReflection, FilterArguments, FilterReflection, ParameterReflection,
    ParseBlock, ParseFilter, ParseTag, TagBlock, TagReflection, TagTokenIter,
};
use liquid_core::runtime::{Expression, Renderable, Runtime};
use liquid_core::{Filter, Language, Value as LiquidValue, ValueView};

use handlebars::template::{BlockParam, Parameter, Template, TemplateElement};
use handlebars::{Path, PathSeg};
use serde::{Deserialize, Serialize};

use crate::document::{Mapping, Missing, Outcome, Recipient};
use crate::error::{Error, Result};

/// A template language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Syntax {
    /// Handlebars, as SendGrid dynamic templates use it.
    Handlebars,
    /// Liquid, as Braze and Klaviyo-like templates use it.
    Liquid,
}

impl Syntax {
    /// `handlebars` or `liquid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Handlebars => "handlebars",
            Syntax::Liquid => "liquid",
        }
    }
}

/// A syntax error the template engine reports (an unclosed tag or block, a stray end tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanProblem {
    /// Byte offset in the template where the engine points (the start of the line when it
    /// gives a line only, `0` when it gives no position).
    pub offset: usize,
    /// The line (from 1), when the engine gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The column (from 1, in characters), when the engine gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The engine's message.
    pub message: String,
}

impl ScanProblem {
    fn new(text: &str, pos: Option<(usize, usize)>, message: String) -> ScanProblem {
        let offset = pos.map_or(0, |(line, column)| {
            let start: usize = text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum();
            let rest = text.get(start..).unwrap_or("");
            start
                + rest
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(rest.len(), |(i, _)| i)
        });
        ScanProblem {
            offset: offset.min(text.len()),
            line: pos.map(|(l, _)| l),
            column: pos.map(|(_, c)| c),
            message,
        }
    }
}

/// The variables a template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    /// Root variable names (`user.name` → `user`), sorted.
    pub variables: BTreeSet<String>,
    /// The engine's syntax error, if any (then `variables` is empty: the engine would not
    /// render the template at all).
    pub problems: Vec<ScanProblem>,
}

impl Scan {
    /// The variables, or the first syntax problem as [`Error::Template`].
    ///
    /// # Errors
    ///
    /// [`Error::Template`] when the engine rejects the template.
    pub fn into_result(self, syntax: Syntax) -> Result<BTreeSet<String>> {
        match self.problems.into_iter().next() {
            None => Ok(self.variables),
            Some(p) => Err(Error::Template {
                syntax: syntax.as_str(),
                line: p.line,
                column: p.column,
                message: p.message,
            }),
        }
    }
}

/// Reads a template with its engine's parser and lists the variables it uses.
///
/// Handlebars: `{{name}}`, `{{{name}}}`, `{{this.name}}`, `{{./name}}`, helper arguments and
/// hash values, `{{#if}}`/`{{else if}}` conditions, partial arguments; inside `{{#each}}` and
/// `{{#with}}` names are the item's own unless written `@root.name` or `../name` (the
/// `{{else}}` branch is outside); block parameters (`as |item i|`), `@index`-style data,
/// comments, escaped `\{{x}}` and raw blocks are not variables. Liquid: outputs, tag
/// arguments and filter arguments; `for` sources and ranges (`(1..count)`); loop variables,
/// `forloop`, and names `assign`ed or `capture`d are not variables; `comment` and `raw` are
/// skipped.
///
/// # Examples
///
/// ```
/// use mergetag_mapping::{Syntax, scan};
///
/// let s = scan("Hi {{first_name}}! {{#if city}}{{city}}{{/if}}", Syntax::Handlebars);
/// assert_eq!(s.variables.iter().collect::<Vec<_>>(), ["city", "first_name"]);
/// let s = scan("{% for p in products %}{{ p.name }}{% endfor %} {{ fname | default: 'there' }}", Syntax::Liquid);
/// assert_eq!(s.variables.iter().collect::<Vec<_>>(), ["fname", "products"]);
/// let s = scan("{% if vip %}unclosed", Syntax::Liquid);
/// assert_eq!(s.problems.len(), 1);
/// ```
pub fn scan(template: &str, syntax: Syntax) -> Scan {
    let found = match syntax {
        Syntax::Handlebars => scan_handlebars(template),
        Syntax::Liquid => scan_liquid(template),
    };
    match found {
        Ok(variables) => Scan {
            variables,
            problems: Vec::new(),
        },
        Err(p) => Scan {
            variables: BTreeSet::new(),
            problems: vec![p],
        },
    }
}

// ------------------------------------------------------------------------------ handlebars

/// The helpers handlebars-rust has built in: a `{{name}}` with no arguments is one of these
/// or a variable.
const HBS_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

fn scan_handlebars(text: &str) -> std::result::Result<BTreeSet<String>, ScanProblem> {
    let t = Template::compile(text)
        .map_err(|e| ScanProblem::new(text, e.pos(), e.reason().to_string()))?;
    let mut out = BTreeSet::new();
    let mut walk = HbsWalk {
        out: &mut out,
        params: Vec::new(),
    };
    walk.template(&t, 0);
    Ok(out)
}

struct HbsWalk<'o> {
    out: &'o mut BTreeSet<String>,
    /// Block parameters in scope.
    params: Vec<String>,
}

impl HbsWalk<'_> {
    /// `depth` is the number of context changes (`each`, `with`) around: names at depth 0
    /// are the data's own.
    fn template(&mut self, t: &Template, depth: usize) {
        for e in &t.elements {
            self.element(e, depth);
        }
    }

    fn element(&mut self, e: &TemplateElement, depth: usize) {
        match e {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                if h.params.is_empty() && h.hash.is_empty() && !is_hbs_helper(&h.name) {
                    self.param(&h.name, depth);
                }
                self.arguments(&h.params, h.hash.values(), depth);
            }
            TemplateElement::HelperBlock(h) => {
                self.arguments(&h.params, h.hash.values(), depth);
                let name = h.name.as_name().unwrap_or("");
                // `{{#items}}...{{/items}}`: a section over the variable `items`.
                let section = h.params.is_empty() && !is_hbs_helper(&h.name);
                if section {
                    self.param(&h.name, depth);
                }
                let scopes = section || matches!(name, "each" | "with");
                let inner = depth + usize::from(scopes);
                let before = self.params.len();
                match &h.block_param {
                    Some(BlockParam::Single(p)) => self.params.extend(param_name(p)),
                    Some(BlockParam::Pair((a, b))) => {
                        self.params.extend(param_name(a));
                        self.params.extend(param_name(b));
                    }
                    _ => {}
                }
                if let Some(t) = &h.template {
                    self.template(t, inner);
                }
                self.params.truncate(before);
                // The `{{else}}` branch is rendered in the block's outer context.
                if let Some(t) = &h.inverse {
                    self.template(t, depth);
                }
            }
            TemplateElement::PartialExpression(d)
            | TemplateElement::PartialBlock(d)
            | TemplateElement::DecoratorExpression(d)
            | TemplateElement::DecoratorBlock(d) => {
                self.arguments(&d.params, d.hash.values(), depth);
                if let Some(t) = &d.template {
                    self.template(t, depth);
                }
            }
            // Text, comments, and whatever a later version adds.
            _ => {}
        }
    }

    fn arguments<'p>(
        &mut self,
        params: &[Parameter],
        hash: impl Iterator<Item = &'p Parameter>,
        depth: usize,
    ) {
        for p in params {
            self.param(p, depth);
        }
        let mut hash: Vec<&Parameter> = hash.collect();
        hash.sort_by_key(|p| format!("{p:?}"));
        for p in hash {
            self.param(p, depth);
        }
    }

    fn param(&mut self, p: &Parameter, depth: usize) {
        match p {
            Parameter::Name(n) => {
                self.root(std::slice::from_ref(&PathSeg::Named(n.clone())), depth)
            }
            Parameter::Path(Path::Relative((segs, _))) => self.root(segs, depth),
            Parameter::Subexpression(s) => self.element(s.as_element(), depth),
            // `@index`-style data, literals.
            _ => {}
        }
    }

    fn root(&mut self, segs: &[PathSeg], depth: usize) {
        let ruled =
            |s: &PathSeg, rule: &str| matches!(s, PathSeg::Ruled(r) if format!("{r:?}") == rule);
        let mut level = depth;
        let mut i = 0;
        if segs.first().is_some_and(|s| ruled(s, "path_root")) {
            level = 0;
            i = 1;
        }
        while segs.get(i).is_some_and(|s| ruled(s, "path_up")) {
            level = level.saturating_sub(1);
            i += 1;
        }
        let Some(PathSeg::Named(name)) = segs.get(i) else {
            return;
        };
        if i == 0 && self.params.iter().any(|p| p == name) {
            return;
        }
        if level == 0 {
            self.out.insert(name.clone());
        }
    }
}

fn is_hbs_helper(name: &Parameter) -> bool {
    name.as_name().is_some_and(|n| HBS_HELPERS.contains(&n))
}

fn param_name(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(Path::Relative((segs, _))) => match segs.as_slice() {
            [PathSeg::Named(n)] => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------------- liquid

/// What the Liquid walk has found so far, shared by the tags and filters of one walk.
#[derive(Debug, Default)]
struct LiquidFound {
    variables: BTreeSet<String>,
    /// Names in scope that are not variables: loop variables, `assign`ed and `capture`d
    /// names.
    locals: Vec<String>,
    /// Inside a `comment`: nothing is recorded.
    muted: usize,
}

type Shared = Arc<Mutex<LiquidFound>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, LiquidFound> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The block the whole template is wrapped in for the walk.
const ROOT: &str = "mergetag_template_root";
const END_ROOT: &str = "endmergetag_template_root";

fn liquid_problem(text: &str, e: &liquid_core::Error) -> ScanProblem {
    let full = e.to_string();
    // pest's errors carry ` --> line:column`.
    let pos = full.lines().find_map(|l| {
        let (_, at) = l.split_once("--> ")?;
        let (line, column) = at.trim().split_once(':')?;
        Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
    });
    let message = full
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("= "))
        .map(|l| l.trim_start_matches("= ").to_string())
        .or_else(|| {
            full.lines()
                .next()
                .map(|l| l.trim_start_matches("liquid: ").to_string())
        })
        .unwrap_or_else(|| full.clone());
    ScanProblem::new(text, pos, message.trim().trim_end_matches('.').to_string())
}

/// Braze's attribute syntax, `${first_name}` and `custom_attribute.${loyalty}`, rewritten
/// as the plain names liquid reads (`first_name`, `loyalty`), padded with spaces so that every
/// byte offset, line and column stays where it was.
fn braze_to_liquid(text: &str) -> std::borrow::Cow<'_, str> {
    const CUSTOM: &str = "custom_attribute.";
    if !text.contains("${") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let Some(len) = rest[i + 2..].find('}') else {
            break;
        };
        let name = &rest[i + 2..i + 2 + len];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ' ')
        {
            out.push_str(&rest[..i + 2]);
            rest = &rest[i + 2..];
            continue;
        }
        let start = if rest[..i].ends_with(CUSTOM) {
            i - CUSTOM.len()
        } else {
            i
        };
        out.push_str(&rest[..start]);
        let width = i + 3 + len - start;
        let name = name.trim();
        out.push(' ');
        out.push_str(name);
        out.extend(std::iter::repeat_n(' ', width - 1 - name.len()));
        rest = &rest[i + 3 + len..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn scan_liquid(original: &str) -> std::result::Result<BTreeSet<String>, ScanProblem> {
    let rewritten = braze_to_liquid(original);
    let text = rewritten.as_ref();
    // The engine's own parser, with its standard tags and filters, decides what is valid.
    let parser = liquid::ParserBuilder::with_stdlib()
        .build()
        .map_err(|e| liquid_problem(text, &e))?;
    parser.parse(text).map_err(|e| liquid_problem(text, &e))?;

    // The walk: the same grammar, with tags and filters that record what they read.
    let found = Shared::default();
    let mut lang = Language::empty();
    for name in LIQUID_FILTERS {
        lang.filters.register(
            (*name).to_string(),
            Box::new(RecordFilter(found.clone(), name)),
        );
    }
    for name in LIQUID_TAGS {
        lang.tags.register(
            (*name).to_string(),
            Box::new(RecordTag(found.clone(), name)),
        );
    }
    for (start, end) in LIQUID_BLOCKS.iter().chain([&(ROOT, END_ROOT)]) {
        lang.blocks.register(
            (*start).to_string(),
            Box::new(RecordBlock(found.clone(), start, end)),
        );
    }
    let wrapped = format!("{{% {ROOT} %}}{text}{{% {END_ROOT} %}}");
    liquid_core::parser::parse(&wrapped, &lang).map_err(|e| liquid_problem(text, &e))?;
    let f = std::mem::take(&mut *lock(&found));
    Ok(f.variables)
}

/// The tags of liquid's standard library (`ParserBuilder::with_stdlib`).
const LIQUID_TAGS: &[&str] = &[
    "assign",
    "break",
    "continue",
    "cycle",
    "include",
    "render",
    "increment",
    "decrement",
];

/// Its blocks, with their end tags.
const LIQUID_BLOCKS: &[(&str, &str)] = &[
    ("raw", "endraw"),
    ("if", "endif"),
    ("unless", "endunless"),
    ("ifchanged", "endifchanged"),
    ("for", "endfor"),
    ("tablerow", "endtablerow"),
    ("comment", "endcomment"),
    ("capture", "endcapture"),
    ("case", "endcase"),
];

/// Its filters.
const LIQUID_FILTERS: &[&str] = &[
    "abs",
    "append",
    "at_least",
    "at_most",
    "capitalize",
    "ceil",
    "compact",
    "concat",
    "date",
    "default",
    "divided_by",
    "downcase",
    "escape",
    "escape_once",
    "first",
    "floor",
    "join",
    "last",
    "lstrip",
    "map",
    "minus",
    "modulo",
    "newline_to_br",
    "plus",
    "prepend",
    "remove",
    "remove_first",
    "replace",
    "replace_first",
    "reverse",
    "round",
    "rstrip",
    "size",
    "slice",
    "sort",
    "sort_natural",
    "split",
    "strip",
    "strip_html",
    "strip_newlines",
    "times",
    "truncate",
    "truncatewords",
    "uniq",
    "upcase",
    "url_decode",
    "url_encode",
    "where",
];

/// Records the roots of a variable as liquid displays it: `a["b"][c]` (`a.b[c]` in the
/// template) reads `a` and `c`.
fn record_display(found: &Shared, shown: &str) {
    let mut roots = Vec::new();
    collect_roots(shown, &mut roots);
    let mut f = lock(found);
    if f.muted > 0 {
        return;
    }
    for r in roots {
        if !f.locals.contains(&r) {
            f.variables.insert(r);
        }
    }
}

fn collect_roots(shown: &str, roots: &mut Vec<String>) {
    let end = shown.find(['[', '.']).unwrap_or(shown.len());
    let head = shown[..end].trim();
    let literal = ["nil", "null", "true", "false", "empty", "blank"].contains(&head);
    if !literal
        && head
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    {
        roots.push(head.to_string());
    }
    // Indexes: `[...]` at bracket depth 0, skipping quoted strings.
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in shown.char_indices().skip_while(|(i, _)| *i < end) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => {
                if depth == 0 {
                    start = i + 1;
                }
                depth += 1;
            }
            (None, ']') => {
                depth = depth.saturating_sub(1);
                if depth == 0 && start <= i {
                    collect_roots(&shown[start..i], roots);
                }
            }
            _ => {}
        }
    }
}

fn record_expression(found: &Shared, e: &Expression) {
    if let Expression::Variable(v) = e {
        record_display(found, &v.to_string());
    }
}

/// Records every value among a tag's tokens: variables, ranges and filter chains, skipping
/// keywords, hash keys (`limit:`) and names after `as`.
fn record_tokens(found: &Shared, tokens: TagTokenIter<'_>, options: &Language) {
    use liquid_core::parser::TryMatchToken;
    let tokens: Vec<_> = tokens.collect();
    let texts: Vec<String> = tokens.iter().map(|t| t.as_str().to_string()).collect();
    for (i, t) in tokens.into_iter().enumerate() {
        let s = texts[i].as_str();
        let key = texts.get(i + 1).is_some_and(|n| n == ":");
        let named = i > 0 && texts[i - 1] == "as";
        let keyword = [
            "and", "or", "contains", "reversed", "in", "with", "as", "for",
        ]
        .contains(&s);
        if key || named || keyword {
            continue;
        }
        let t = match t.expect_range() {
            TryMatchToken::Matches((a, b)) => {
                record_expression(found, &a);
                record_expression(found, &b);
                continue;
            }
            TryMatchToken::Fails(t) => t,
        };
        // Filters record their own arguments as they are parsed.
        if let TryMatchToken::Matches(chain) = t.expect_filter_chain(options) {
            let shown = chain.to_string();
            let entry = shown.split(" | ").next().unwrap_or("");
            if !entry.starts_with(['"', '\'']) {
                record_display(found, entry);
            }
        }
    }
}

/// Walks a block's elements: outputs and tags recorded, `elsif`/`when` arguments read;
/// `on_else` runs at an `else` of this block (a loop's `else` is outside the loop's scope).
fn walk_block(
    found: &Shared,
    block: &mut TagBlock<'_, '_>,
    options: &Language,
    mut on_else: impl FnMut(),
) -> liquid_core::Result<()> {
    while let Some(element) = block.next()? {
        match element {
            BlockElement::Expression(e) => {
                let inner = e
                    .as_str()
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim_matches('-');
                let text = format!("{{% output {inner} %}}");
                let tag = liquid_core::parser::Tag::new(&text)?;
                record_tokens(found, tag.into_tokens(), options);
            }
            BlockElement::Tag(tag) => match tag.name() {
                "else" => on_else(),
                "elsif" | "when" => record_tokens(found, tag.into_tokens(), options),
                _ => {
                    tag.parse(block, options)?;
                }
            },
            BlockElement::Raw(_) | BlockElement::Invalid(_) => {}
        }
    }
    Ok(())
}

/// What the walk's tags parse into: it is never rendered.
#[derive(Debug)]
struct Nothing;

impl Renderable for Nothing {
    fn render_to(&self, _: &mut dyn std::io::Write, _: &dyn Runtime) -> liquid_core::Result<()> {
        Ok(())
    }
}

#[derive(Clone)]
struct RecordTag(Shared, &'static str);

impl TagReflection for RecordTag {
    fn tag(&self) -> &str {
        self.1
    }
    fn description(&self) -> &str {
        "records the variables the tag reads"
    }
}

impl ParseTag for RecordTag {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        options: &Language,
    ) -> liquid_core::Result<Box<dyn Renderable>> {
        match self.1 {
            "assign" => {
                let name = arguments.next().map(|t| t.as_str().to_string());
                record_tokens(&self.0, arguments, options);
                lock(&self.0).locals.extend(name);
            }
            // Counters of their own, not variables.
            "increment" | "decrement" | "break" | "continue" => {}
            // `cycle`, `include`, `render`: every value (a partial's name is a string).
            _ => record_tokens(&self.0, arguments, options),
        }
        Ok(Box::new(Nothing))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self
    }
}

#[derive(Clone)]
struct RecordBlock(Shared, &'static str, &'static str);

impl BlockReflection for RecordBlock {
    fn start_tag(&self) -> &str {
        self.1
    }
    fn end_tag(&self) -> &str {
        self.2
    }
    fn description(&self) -> &str {
        "records the variables the block reads"
    }
}

impl ParseBlock for RecordBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut block: TagBlock<'_, '_>,
        options: &Language,
    ) -> liquid_core::Result<Box<dyn Renderable>> {
        let found = &self.0;
        match self.1 {
            "raw" => {
                block.escape_liquid(false)?;
            }
            "comment" => {
                lock(found).muted += 1;
                while let Some(element) = block.next()? {
                    if let BlockElement::Tag(tag) = element {
                        let _ = tag.parse(&mut block, options);
                    }
                }
                lock(found).muted -= 1;
            }
            "for" | "tablerow" => {
                let var = arguments.next().map(|t| t.as_str().to_string());
                // The source is read outside the loop.
                record_tokens(found, arguments, options);
                let before = lock(found).locals.len();
                {
                    let mut f = lock(found);
                    f.locals.extend(var);
                    f.locals.push("forloop".into());
                    f.locals.push("tablerowloop".into());
                }
                walk_block(found, &mut block, options, || {
                    lock(found).locals.truncate(before)
                })?;
                lock(found).locals.truncate(before);
            }
            "capture" => {
                let name = arguments.next().map(|t| t.as_str().to_string());
                walk_block(found, &mut block, options, || {})?;
                lock(found).locals.extend(name);
            }
            _ => {
                record_tokens(found, arguments, options);
                walk_block(found, &mut block, options, || {})?;
            }
        }
        Ok(Box::new(Nothing))
    }
    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

#[derive(Clone)]
struct RecordFilter(Shared, &'static str);

impl FilterReflection for RecordFilter {
    fn name(&self) -> &str {
        self.1
    }
    fn description(&self) -> &str {
        "records the variables the filter's arguments read"
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for RecordFilter {
    fn parse(&self, arguments: FilterArguments<'_>) -> liquid_core::Result<Box<dyn Filter>> {
        for e in arguments.positional {
            record_expression(&self.0, &e);
        }
        for (_, e) in arguments.keyword {
            record_expression(&self.0, &e);
        }
        Ok(Box::new(PassFilter))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

/// What the walk's filters parse into: it is never evaluated.
#[derive(Debug)]
struct PassFilter;

impl std::fmt::Display for PassFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pass")
    }
}

impl Filter for PassFilter {
    fn evaluate(&self, input: &dyn ValueView, _: &dyn Runtime) -> liquid_core::Result<LiquidValue> {
        Ok(input.to_value())
    }
}

/// How one variable fares across an audience.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableCoverage {
    /// Recipients who get a value from the source.
    pub value: usize,
    /// Recipients who get the fallback, by reason.
    pub fallback: BTreeMap<Missing, usize>,
    /// Recipients for whom it is null (no value, no fallback).
    pub null: usize,
}

/// The check of a template against a mapping and an audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCheck {
    /// What the scanner found.
    pub scan: Scan,
    /// Variables the template uses that the mapping does not provide.
    pub unknown: BTreeSet<String>,
    /// Variables the mapping provides that the template does not use.
    pub unused: BTreeSet<String>,
    /// Recipients checked.
    pub recipients: usize,
    /// Per used variable that the mapping provides.
    pub coverage: BTreeMap<String, VariableCoverage>,
}

impl TemplateCheck {
    /// Whether the campaign can go: no scan problem, no unknown variable, and no variable null
    /// for any recipient.
    pub fn is_ready(&self) -> bool {
        self.scan.problems.is_empty()
            && self.unknown.is_empty()
            && self.coverage.values().all(|c| c.null == 0)
    }
}

/// Checks a template before a campaign is sent: scans it, compares its variables with the
/// mapping and counts, per variable, how many recipients would get a value, the fallback, or
/// nothing.
pub fn check_template(
    template: &str,
    syntax: Syntax,
    mapping: &Mapping,
    recipients: &[Recipient<'_>],
) -> TemplateCheck {
    let scan = scan(template, syntax);
    let provided: BTreeSet<String> = mapping
        .variables()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    let unknown = scan.variables.difference(&provided).cloned().collect();
    let unused = provided.difference(&scan.variables).cloned().collect();
    let coverage = coverage_of(mapping, recipients, |name| scan.variables.contains(name));
    TemplateCheck {
        scan,
        unknown,
        unused,
        recipients: recipients.len(),
        coverage,
    }
}

/// Per-recipient coverage of every variable of `mapping`: how many recipients get a value, the
/// fallback (by reason), or nothing.
pub fn coverage(
    mapping: &Mapping,
    recipients: &[Recipient<'_>],
) -> BTreeMap<String, VariableCoverage> {
    coverage_of(mapping, recipients, |_| true)
}

fn coverage_of(
    mapping: &Mapping,
    recipients: &[Recipient<'_>],
    keep: impl Fn(&str) -> bool,
) -> BTreeMap<String, VariableCoverage> {
    let used: Vec<_> = mapping
        .variables()
        .iter()
        .filter(|v| keep(v.name()))
        .collect();
    let mut counts = vec![VariableCoverage::default(); used.len()];
    for r in recipients {
        for (v, c) in used.iter().zip(counts.iter_mut()) {
            match v.render(r).outcome {
                Outcome::Source => c.value += 1,
                Outcome::Fallback(m) => *c.fallback.entry(m).or_default() += 1,
                Outcome::Null(_) => c.null += 1,
            }
        }
    }
    used.iter()
        .map(|v| v.name().to_string())
        .zip(counts)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(t: &str, s: Syntax) -> Vec<String> {
        let scan = scan(t, s);
        assert!(scan.problems.is_empty(), "{t}: {:?}", scan.problems);
        scan.variables.into_iter().collect()
    }

    #[test]
    fn handlebars() {
        let t = "{{!-- {{hidden}} --}}{{{html_body}}} {{#each items}}{{name}}{{@root.store}}{{../currency}}{{/each}} \
                 {{formatDate last_order \"MMM\"}} {{insert fname \"default=there\"}} {{#if (eq tier \"gold\")}}x{{else}}y{{/if}}";
        assert_eq!(
            vars(t, Syntax::Handlebars),
            [
                "currency",
                "fname",
                "html_body",
                "items",
                "last_order",
                "store",
                "tier"
            ]
        );
        let bad = scan("{{#if a}}{{/each}}{{b", Syntax::Handlebars);
        assert_eq!(bad.problems.len(), 1, "{:?}", bad.problems);
        assert_eq!(bad.problems[0].line, Some(1));
    }

    #[test]
    fn liquid() {
        let t = "{% comment %}{{ hidden }}{% endcomment %}{% assign greeting = salutation | default: 'Hi' %}{{ greeting }} \
                 {{${first_name}}} {{custom_attribute.${loyalty}}} {% if engagement_level == \"High\" and orders > 2 %}{% endif %}\
                 {% for p in products limit: 3 %}{{ p.name | upcase }}{% endfor %}{{ city | default: region }}";
        assert_eq!(
            vars(t, Syntax::Liquid),
            [
                "city",
                "engagement_level",
                "first_name",
                "loyalty",
                "orders",
                "products",
                "region",
                "salutation"
            ]
        );
        assert_eq!(braze_to_liquid("a{{${x}}}b").len(), "a{{${x}}}b".len());
        let bad = scan("ok\n{% for x in y %}", Syntax::Liquid);
        assert_eq!(bad.problems.len(), 1);
        assert!(bad.problems[0].line.is_some(), "{:?}", bad.problems);
    }
}
