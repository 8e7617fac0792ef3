//! Check a Handlebars template against the mapping before a send: which variables the
//! template uses, which the mapping does not provide (a typo, a variable someone forgot to
//! map), and for each variable how many recipients would get a real value, the fallback, or
//! nothing at all.
//!
//! ```sh
//! cargo run --release --example check_template
//! ```
//!
//! The audience is the one the quickstart builds: the whole pipeline of
//! `examples/data/pipeline.toml`, without writing its outputs.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use mergetag::mapping::{MappingConfig, Recipient, Syntax, check_template};
use mergetag::pipeline::{Pipeline, PipelineConfig};

/// A SendGrid dynamic template as a marketer wrote it. `{{frist_name}}` is a typo, and
/// `{{coupon_code}}` was never mapped.
const TEMPLATE: &str = r#"
<p>Hi {{first_name}},</p>
{{#if last_purchase_product}}
  <p>How are you getting on with your {{last_purchase_product}}?</p>
{{/if}}
<p>As a {{loyalty_tier}} member in {{user_location}}, you get early access.</p>
<p>Use {{coupon_code}} at checkout, {{frist_name}}!</p>
"#;

/// The mapping document of the campaign: the quickstart's, written out here so the example
/// reads on its own.
const MAPPING: &str = r#"
platform = "sendgrid"

[[variables]]
name = "first_name"
source = "profile.first_name"
fallback = "there"

[[variables]]
name = "user_location"
source = "profile.city"
transforms = [{ op = "title" }]
fallback = "your area"

[[variables]]
name = "loyalty_tier"
source = "profile.loyalty_tier"
transforms = [{ op = "title" }]        # no fallback: some recipients get nothing

[[variables]]
name = "last_purchase_product"
source = "traits.last_purchase_product"
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The audience: golden profiles and their computed traits, from the sample pipeline.
    let config = PipelineConfig::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/pipeline.toml"
    ))?;
    let output = Pipeline::from_config(&config)?.run(|_| {})?;
    let recipients: Vec<Recipient<'_>> = output
        .profiles
        .iter()
        .zip(&output.traits)
        .map(|(profile, traits)| Recipient { profile, traits })
        .collect();

    let mapping = MappingConfig::from_toml_str(MAPPING)?.build()?;
    let check = check_template(TEMPLATE, Syntax::Handlebars, &mapping, &recipients);

    println!("the template uses: {}", join(&check.scan.variables));
    for problem in &check.scan.problems {
        println!(
            "  syntax problem at byte {}: {}",
            problem.offset, problem.message
        );
    }
    if !check.unknown.is_empty() {
        println!(
            "NOT MAPPED (these would render empty): {}",
            join(&check.unknown)
        );
    }
    if !check.unused.is_empty() {
        println!("mapped but unused: {}", join(&check.unused));
    }
    println!();
    println!("coverage over {} recipients:", check.recipients);
    println!(
        "  {:<24} {:>6} {:>9} {:>6}",
        "variable", "value", "fallback", "null"
    );
    for (name, c) in &check.coverage {
        let fallback: usize = c.fallback.values().sum();
        println!("  {name:<24} {:>6} {fallback:>9} {:>6}", c.value, c.null);
    }
    println!();
    if check.is_ready() {
        println!("ready to send");
    } else {
        println!(
            "not ready: fix the unmapped variables, and give every variable that can be null a fallback"
        );
    }
    Ok(())
}

fn join<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    names
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
