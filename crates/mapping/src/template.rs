//! Template checks: the variables a Handlebars or Liquid template uses, those the mapping does
//! not provide, and per-recipient coverage.
//!
//! The scanner is our own: the `handlebars` and `liquid` crates parse into full render trees
//! (and pull in a helper runtime or a large filter library) while all we need is the set of
//! root variable names and the tag positions, and we must never fail on a template those
//! crates would reject for an unknown helper or filter (SendGrid's `insert`, Braze's
//! `${first_name}`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::document::{Mapping, Missing, Outcome, Recipient};

/// A template language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Syntax {
    /// Handlebars, as SendGrid dynamic templates use it.
    Handlebars,
    /// Liquid, as Braze and Klaviyo-like templates use it.
    Liquid,
}

/// A problem found while scanning (an unclosed tag, an unbalanced block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanProblem {
    /// Byte offset in the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// The variables a template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    /// Root variable names (`user.name` → `user`), sorted.
    pub variables: BTreeSet<String>,
    /// Problems; scanning goes on past them.
    pub problems: Vec<ScanProblem>,
}

const HBS_KEYWORDS: &[&str] = &["this", "else", "true", "false", "null", "undefined", "as"];
const LIQUID_KEYWORDS: &[&str] = &[
    "and", "or", "contains", "true", "false", "nil", "null", "empty", "blank", "in", "limit",
    "offset", "reversed", "forloop", "with", "as", "by", "cols", "else",
];

/// Splits an expression into tokens, keeping quoted strings whole.
fn tokens(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'(' || c == b'=' {
            // Kept as markers: a helper name follows `(`, a hash key precedes `=`.
            out.push(&expr[i..i + 1]);
            i += 1;
        } else if c.is_ascii_whitespace()
            || matches!(c, b')' | b',' | b':' | b'|' | b'<' | b'>' | b'!')
        {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(&expr[start..i]);
        } else {
            let start = i;
            while i < b.len()
                && !b[i].is_ascii_whitespace()
                && !matches!(
                    b[i],
                    b'(' | b')' | b',' | b':' | b'|' | b'=' | b'<' | b'>' | b'!' | b'"' | b'\''
                )
            {
                i += 1;
            }
            out.push(&expr[start..i]);
        }
    }
    out
}

/// The root name of a path token, if it is a variable (not a literal, a keyword or a local).
fn root<'a>(token: &'a str, keywords: &[&str], locals: &[String]) -> Option<&'a str> {
    let t = token.strip_prefix("@root.").unwrap_or(token);
    // Braze's `${first_name}` and `custom_attribute.${x}`.
    let t = t.strip_prefix("custom_attribute.").unwrap_or(t);
    let t = t.trim_start_matches("${").trim_end_matches('}');
    let first = t.split(['.', '[']).next().unwrap_or("");
    let ok = first
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && first
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '?');
    (ok && !keywords.contains(&first) && !locals.iter().any(|l| l == first)).then_some(first)
}

/// Scans a template for the variables it uses.
///
/// Handlebars: `{{name}}`, `{{{name}}}`, `{{#if name}}`, `{{#each items}}` (names inside an
/// `each` are the item's own unless written `@root.name` or `../name`), helper arguments,
/// comments skipped. Liquid: `{{ name | filter: arg }}`, `{% if %}`, `{% for x in items %}`
/// (`x` is local), `{% assign x = ... %}` (`x` is local), `comment` and `raw` blocks skipped.
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
/// ```
pub fn scan(template: &str, syntax: Syntax) -> Scan {
    match syntax {
        Syntax::Handlebars => scan_handlebars(template),
        Syntax::Liquid => scan_liquid(template),
    }
}

fn scan_handlebars(t: &str) -> Scan {
    let mut out = Scan::default();
    // Open blocks: (helper name, whether it scopes names to an item).
    let mut blocks: Vec<(String, bool)> = Vec::new();
    let mut pos = 0;
    while let Some(found) = t[pos..].find("{{") {
        let start = pos + found;
        let mut body_start = start + 2;
        // Comments: `{{!-- ... --}}` and `{{! ... }}`.
        if t[body_start..].starts_with("!--") {
            match t[body_start..].find("--}}") {
                Some(e) => pos = body_start + e + 4,
                None => {
                    out.problems.push(ScanProblem {
                        offset: start,
                        message: "unclosed comment".into(),
                    });
                    break;
                }
            }
            continue;
        }
        let triple = t[body_start..].starts_with('{');
        if triple {
            body_start += 1;
        }
        let Some(e) = t[body_start..].find("}}") else {
            out.problems.push(ScanProblem {
                offset: start,
                message: "unclosed `{{`".into(),
            });
            break;
        };
        let body_end = body_start + e;
        pos = body_end + 2;
        if triple && t[pos..].starts_with('}') {
            pos += 1;
        }
        let body = t[body_start..body_end].trim_matches(|c: char| c == '~' || c.is_whitespace());
        if body.starts_with('!') {
            continue;
        }
        let scoped = blocks.iter().any(|(_, s)| *s);
        let (sigil, rest) = match body.chars().next() {
            Some(c @ ('#' | '/' | '^' | '>' | '&')) => (Some(c), body[1..].trim_start()),
            _ => (None, body),
        };
        let toks = tokens(rest);
        match sigil {
            Some('/') => {
                let name = toks.first().copied().unwrap_or("");
                match blocks.pop() {
                    Some((open, _)) if open == name => {}
                    Some((open, _)) => out.problems.push(ScanProblem {
                        offset: start,
                        message: format!("`{{{{/{name}}}}}` closes `{{{{#{open}}}}}`"),
                    }),
                    None => out.problems.push(ScanProblem {
                        offset: start,
                        message: format!("`{{{{/{name}}}}}` closes no block"),
                    }),
                }
                continue;
            }
            Some('>') => continue,
            _ => {}
        }
        // A single token is a variable; several are a helper and its arguments.
        let args: &[&str] = if toks.len() > 1 || sigil == Some('#') {
            toks.get(1..).unwrap_or(&[])
        } else {
            &toks
        };
        for (i, a) in args.iter().enumerate() {
            let after_paren = i.checked_sub(1).and_then(|j| args.get(j)) == Some(&"(");
            let before_eq = args.get(i + 1) == Some(&"=");
            if after_paren || before_eq || *a == "(" || *a == "=" {
                continue;
            }
            if a.starts_with('"')
                || a.starts_with('\'')
                || a.starts_with('@') && !a.starts_with("@root.")
            {
                continue;
            }
            if a.starts_with("../") {
                // A parent scope: from inside one `each`, the root.
                if blocks.iter().filter(|(_, s)| *s).count() == 1
                    && let Some(r) = root(a.trim_start_matches("../"), HBS_KEYWORDS, &[])
                {
                    out.variables.insert(r.to_string());
                }
                continue;
            }
            if scoped && !a.starts_with("@root.") {
                continue;
            }
            if let Some(r) = root(a, HBS_KEYWORDS, &[]) {
                out.variables.insert(r.to_string());
            }
        }
        if sigil == Some('#') {
            let helper = toks.first().copied().unwrap_or("").to_string();
            let scopes = matches!(helper.as_str(), "each" | "with");
            blocks.push((helper, scopes));
        }
    }
    for (name, _) in blocks {
        out.problems.push(ScanProblem {
            offset: t.len(),
            message: format!("`{{{{#{name}}}}}` is never closed"),
        });
    }
    out
}

fn scan_liquid(t: &str) -> Scan {
    let mut out = Scan::default();
    let mut locals: Vec<String> = Vec::new();
    // Loop variables, popped at `endfor`/`endtablerow`.
    let mut loops: Vec<String> = Vec::new();
    let mut pos = 0;
    loop {
        let next_out = t[pos..].find("{{").map(|i| (pos + i, false));
        let next_tag = t[pos..].find("{%").map(|i| (pos + i, true));
        let Some((start, is_tag)) = [next_out, next_tag]
            .into_iter()
            .flatten()
            .min_by_key(|(i, _)| *i)
        else {
            break;
        };
        let close = if is_tag { "%}" } else { "}}" };
        let Some(e) = t[start + 2..].find(close) else {
            out.problems.push(ScanProblem {
                offset: start,
                message: format!("unclosed `{}`", &t[start..start + 2]),
            });
            break;
        };
        let body =
            t[start + 2..start + 2 + e].trim_matches(|c: char| c == '-' || c.is_whitespace());
        pos = start + 2 + e + 2;
        // Braze's `{{${first_name}}}`: the closing `}` of `${...}` meets the `}}`.
        if !is_tag && body.starts_with("${") && t[pos..].starts_with('}') {
            pos += 1;
        }
        let mut expr = body;
        if is_tag {
            let (tag, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            let rest = rest.trim();
            match tag {
                "comment" | "raw" => {
                    let end = format!("end{tag}");
                    // Find `{% endcomment %}` (any spacing or dashes).
                    let mut search = pos;
                    let mut closed = false;
                    while let Some(i) = t[search..].find("{%") {
                        let s = search + i;
                        let Some(j) = t[s + 2..].find("%}") else {
                            break;
                        };
                        let inner = t[s + 2..s + 2 + j]
                            .trim_matches(|c: char| c == '-' || c.is_whitespace());
                        search = s + 2 + j + 2;
                        if inner == end {
                            closed = true;
                            break;
                        }
                    }
                    if !closed {
                        out.problems.push(ScanProblem {
                            offset: start,
                            message: format!("`{tag}` is never closed"),
                        });
                        break;
                    }
                    pos = search;
                    continue;
                }
                "assign" | "capture" => {
                    let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
                    locals.push(name.trim().to_string());
                    expr = value;
                }
                "for" | "tablerow" => {
                    let (var, source) = rest.split_once(" in ").unwrap_or((rest, ""));
                    expr = source;
                    loops.push(var.trim().to_string());
                    // The source is read outside the loop variable's scope.
                    scan_expr(expr, &locals, &loops[..loops.len() - 1], &mut out);
                    continue;
                }
                "endfor" | "endtablerow" => {
                    if loops.pop().is_none() {
                        out.problems.push(ScanProblem {
                            offset: start,
                            message: format!("`{tag}` closes no loop"),
                        });
                    }
                    continue;
                }
                "increment" | "decrement" | "cycle" | "include" | "render" | "layout" | "endif"
                | "endunless" | "endcase" | "endcapture" | "else" | "break" | "continue" => {
                    continue;
                }
                _ => expr = rest,
            }
        }
        scan_expr(expr, &locals, &loops, &mut out);
    }
    if !loops.is_empty() {
        out.problems.push(ScanProblem {
            offset: t.len(),
            message: "a `for` loop is never closed".into(),
        });
    }
    out
}

fn scan_expr(expr: &str, locals: &[String], loops: &[String], out: &mut Scan) {
    // Filters: `a | f: b, c` — the value and every argument; filter names are not variables.
    for (i, part) in expr.split('|').enumerate() {
        let part = if i == 0 {
            part
        } else {
            part.split_once(':').map_or("", |(_, args)| args)
        };
        for tok in tokens(part) {
            if tok.starts_with('"') || tok.starts_with('\'') {
                continue;
            }
            if let Some(r) = root(tok, LIQUID_KEYWORDS, locals)
                && !loops.iter().any(|l| l == r)
            {
                out.variables.insert(r.to_string());
            }
        }
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
        scan(t, s).variables.into_iter().collect()
    }

    #[test]
    fn handlebars() {
        let t = "{{!-- {{hidden}} --}}{{! also }}{{{html_body}}} {{#each items}}{{name}}{{@root.store}}{{../currency}}{{/each}} \
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
        assert_eq!(bad.problems.len(), 2, "{:?}", bad.problems);
    }

    #[test]
    fn liquid() {
        let t = "{% comment %}{{ hidden }}{% endcomment %}{% assign greeting = salutation | default: 'Hi' %}{{ greeting }} \
                 {{${first_name}}} {% if engagement_level == \"High\" and orders > 2 %}{% endif %}\
                 {% for p in products limit: 3 %}{{ p.name | upcase }}{% endfor %}{{ city | default: region }}";
        assert_eq!(
            vars(t, Syntax::Liquid),
            [
                "city",
                "engagement_level",
                "first_name",
                "orders",
                "products",
                "region",
                "salutation"
            ]
        );
        assert_eq!(scan("{% for x in y %}", Syntax::Liquid).problems.len(), 1);
    }
}
