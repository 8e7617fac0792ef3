//! The `mergetag` command: see `mergetag --help` and the `mergetag_cli` library docs.

use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mergetag_cli::config::{DedupFile, LinkFile};
use mergetag_cli::normalize::{DateOrderArg, Kind, LineNormalizer, LineOptions, ParticlesArg};
use mergetag_cli::template::{SyntaxArg, load_mapping, read_template, try_check};
use mergetag_cli::validate::{LineValidator, ValidateKind};
use mergetag_cli::{Error, Progress, exit, matching};
use mergetag_validate::EmailValidator;

const EXIT_CODES: &str = "\
Exit codes:
  0  done (bad CSV rows skipped under bad_rows = \"skip\" are reported on stderr)
  1  check-template: a template uses a variable the mapping does not provide, or has a syntax problem;
     predict drift: the verdict is retrain (a PSI above 0.25, or predicted/actual holdout purchases
     outside 0.8 to 1.25); watch and stable exit 0
  2  usage error, unreadable or unwritable file, bad configuration (with line and column),
     input that cannot be processed (no id column, duplicate ids, bad rows under bad_rows = \"fail\"),
     or a pipeline that cannot run";

const NORMALIZE_ABOUT: &str = "\
Normalize one value per stdin line; write one JSON object per line to stdout.

Each output line is {\"input\": ..., \"output\": <string or null>, \"status\": \"unchanged\" |
\"changed\" | \"invalid\" | \"ambiguous\", \"reason\": <string, only when invalid or ambiguous>}.
A line that is not valid UTF-8 gets an \"invalid\" object and the lines after it are processed;
a \\r before the line break is not part of the value.";

const VALIDATE_ABOUT: &str = "\
Validate one email address per stdin line; write one JSON object per line to stdout.

Each output line is {\"input\": ..., \"valid\": bool, \"code\": <string, only when invalid>,
\"reason\": <string>, \"normalized\": <string or null>, \"ascii\": <string or null>,
\"smtputf8\": bool, \"warnings\": [{\"code\": ..., \"message\": ...}], \"suggestion\": <string or
null>}. A line that is not valid UTF-8 is invalid (code invalid_email.invalid_utf8).";

/// Clean, deduplicate and check customer data from the shell.
#[derive(Debug, Parser)]
#[command(name = "mergetag", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Normalize one value per stdin line; write one JSON object per line to stdout.
    #[command(long_about = NORMALIZE_ABOUT, after_help = EXIT_CODES)]
    Normalize(NormalizeArgs),
    /// Validate one email address per stdin line; write one JSON object per line to stdout.
    #[command(long_about = VALIDATE_ABOUT, after_help = EXIT_CODES)]
    Validate(ValidateArgs),
    /// List the variables of templates and report those the mapping does not provide.
    ///
    /// Exits with 1 when any template uses an unmapped variable or has a syntax problem.
    #[command(after_help = EXIT_CODES)]
    CheckTemplate(CheckTemplateArgs),
    /// Find the records of one CSV file that describe the same person.
    ///
    /// An output path that is the input, the configuration or the other output is refused
    /// (exit 2); outputs are written to temporary files and renamed into place at the end.
    ///
    /// Writes PAIRS.csv (id_a,id_b,match_probability,match_weight: the pairs at or above the
    /// threshold, id_a < id_b, sorted) and CLUSTERS.csv (id,cluster_id: one row per record
    /// read, in file order). The configuration file (TOML) has the tables input (id_column,
    /// preset, delimiter, bad_rows, columns), normalize (optional) and dedup (optional: a
    /// DedupConfig; the contacts default when absent).
    #[command(after_help = EXIT_CODES)]
    Dedup(DedupArgs),
    /// Find the records of two CSV files that describe the same person.
    ///
    /// An output path that is an input or the configuration is refused (exit 2).
    ///
    /// Writes PAIRS.csv (id_a,id_b,match_probability,match_weight) with the left file's id
    /// first. The configuration file (TOML) has an optional top-level one_to_one, the input
    /// tables left and right, and the optional tables normalize and dedup.
    #[command(after_help = EXIT_CODES)]
    Link(LinkArgs),
    /// Run the whole pipeline described in one TOML file.
    ///
    /// Reads the sources, then normalizes, validates, deduplicates, builds golden profiles,
    /// computes traits and renders each platform's output, as far as the file configures, and
    /// writes the outputs (profiles, quarantine, audit, report, one file per platform) to its
    /// outputs.dir. A summary of the run report goes to stderr. An outputs.dir whose output
    /// files would overwrite a source or the pipeline file is refused (exit 2). With
    /// [predict] model_file present, predictions come from that saved model (no refit; the
    /// report names it with its training window and drift verdict, a warning when the verdict
    /// is retrain); refit = true fits afresh. With [outputs.parquet] dir (feature lake), the
    /// run's tables are also written there as Parquet, each file atomically, partitioned as
    /// partition_by says (events by date, audiences by platform, ...).
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Run the pipeline described in one TOML file and query its result with SQL.
    ///
    /// Writes nothing. The tables are profiles, provenance, traits, events, segments,
    /// quarantine, members, pairs, clusters, merge_log and audiences, and the views of the
    /// file's [semantic.views]; queries are read-only. Prints an aligned table, CSV or JSON
    /// Lines (--format).
    #[cfg(feature = "lake")]
    #[command(after_help = EXIT_CODES)]
    Query(QueryArgs),
    /// Cluster a CSV table of numeric features with K-Means or DBSCAN.
    ///
    /// FEATURES.csv: a header, the id column first, then numeric columns (an empty or
    /// non-numeric cell: exit 2 with its line and column). Writes LABELS.csv (id,label in input
    /// order; -1 for DBSCAN noise) and prints one JSON object: {"algorithm", "k", "inertia",
    /// "silhouette", "iterations", "converged", "noise"}. --out may not be the input.
    #[command(after_help = EXIT_CODES)]
    Cluster(ClusterArgs),
    /// Find the segments of a pipeline's profiles (the `[clusters]` table of the pipeline
    /// file) and print them with their sizes and descriptions.
    ///
    /// Runs the pipeline up to its profile stages; writes nothing but the segment model, when
    /// `[clusters]` sets `model` (then segment ids stay the same across runs and the changes
    /// are printed).
    #[command(after_help = EXIT_CODES)]
    Segment(SegmentArgs),
    /// Customer lifetime models: fit BG/NBD, Pareto/NBD or Gamma-Gamma to a customer summary,
    /// or make that summary from a transaction log.
    #[command(subcommand, after_help = EXIT_CODES)]
    Predict(PredictCommand),
}

#[derive(Debug, Subcommand)]
enum PredictCommand {
    /// Fit a model to SUMMARY.csv and print one JSON object with its parameters.
    ///
    /// SUMMARY.csv: a header naming frequency, recency and T (and monetary_value for
    /// gamma-gamma; another column is the id, kept but not used). A bad row: exit 2 with its
    /// line. Prints {"model", the parameters ("r", "alpha", "a", "b"; "r", "alpha", "s",
    /// "beta"; "p", "q", "v"), "log_likelihood", "iterations", "converged", "gradient_norm",
    /// "penalizer", "customers", "distinct_rows"}.
    #[command(after_help = EXIT_CODES)]
    Fit(PredictFitArgs),
    /// Turn a transaction log into a customer summary (CSV on stdout).
    ///
    /// As the Python reference's summary_data_from_transaction_data: purchases after the
    /// calibration end are left out, purchases in one period (day or week) count once;
    /// frequency = periods with a purchase after the first, recency = last minus first,
    /// T = calibration end minus first, monetary_value = mean value of the repeat periods.
    #[command(after_help = EXIT_CODES)]
    Summary(PredictSummaryArgs),
    /// Score a customer summary with a model saved by `predict fit --save`: one JSON object
    /// per customer (id, p_alive, churn_risk, expected_purchases, expected_spend).
    ///
    /// With --config PIPELINE.toml: one JSON object per golden profile (profile_id,
    /// expected_purchases_90d as horizon_days says, p_alive, churn_risk, churn_risk_band,
    /// clv_12m as clv_months says; null without an order) from the model in --model-file or
    /// [predict] model_file.
    #[command(after_help = EXIT_CODES)]
    Score(PredictScoreArgs),
    /// Compare fresh customers with those a saved model was trained on, and say whether to
    /// retrain.
    ///
    /// Prints one JSON object: the population stability index (PSI, 10 bins at the training
    /// deciles) of frequency, recency, T and P(alive) (and expected purchases against a saved
    /// baseline), "calibration" (with --config: the saved model's forecasts for the latest
    /// holdout, [predict] holdout_days or else horizon_days, against the purchases in it:
    /// predicted, actual, ratio, mean_absolute_error), "verdict" and "reasons". Verdict:
    /// retrain when a PSI is above 0.25 or the ratio is outside 0.8 to 1.25; watch when a PSI
    /// is above 0.1 or the ratio outside 0.9 to 1.1; else stable (a ratio over fewer than 30
    /// actual purchases is not judged). Exit 1 when the verdict is retrain.
    #[command(after_help = EXIT_CODES)]
    Drift(PredictDriftArgs),
    /// Refit a saved model on fresh data, starting from its parameters, save the new one and
    /// report what changed.
    ///
    /// Prints one JSON object: the new model, "parameters" (old and new), "log_likelihood"
    /// (old and new model on the fresh customers), "holdout" (with --config: old and new
    /// model's forecasts for the latest holdout), "predictions" (PSI of p_alive and expected
    /// purchases between the two models on the fresh customers). The new model is written to
    /// a temporary file and renamed into place: over the model file with --config unless
    /// --save says otherwise; --save is required with SUMMARY.csv and may not be it.
    #[command(after_help = EXIT_CODES)]
    Retrain(PredictRetrainArgs),
}

#[derive(Debug, Args)]
struct PredictRetrainArgs {
    /// The pipeline file: customers from its golden profiles' orders, options from its
    /// [predict] table.
    #[arg(long, value_name = "PIPELINE.toml", conflicts_with_all = ["input", "calibration_end"])]
    config: Option<PathBuf>,
    /// The saved model (default with --config: [predict] model_file).
    #[arg(long, value_name = "MODEL.json", required_unless_present = "config")]
    model_file: Option<PathBuf>,
    /// The fresh customer summary, in the model's time unit.
    #[arg(value_name = "SUMMARY.csv", required_unless_present = "config")]
    input: Option<PathBuf>,
    /// With SUMMARY.csv: the end of the fresh data's window (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", required_unless_present = "config")]
    calibration_end: Option<String>,
    /// Where to save the new model.
    #[arg(long, value_name = "NEW.json", required_unless_present = "config")]
    save: Option<PathBuf>,
    /// With SUMMARY.csv: the L2 penalty on the parameters (with --config: [predict] penalizer).
    #[arg(long, value_name = "X", default_value_t = 0.0)]
    penalizer: f64,
}

#[derive(Debug, Args)]
struct PredictScoreArgs {
    /// The pipeline file: score its golden profiles (options from its [predict] table).
    #[arg(long, value_name = "PIPELINE.toml", conflicts_with = "input")]
    config: Option<PathBuf>,
    /// The model (from `predict fit --save`; default with --config: [predict] model_file).
    #[arg(long, value_name = "MODEL.json", required_unless_present = "config")]
    model_file: Option<PathBuf>,
    /// The customers to score.
    #[arg(value_name = "SUMMARY.csv", required_unless_present = "config")]
    input: Option<PathBuf>,
    /// The horizon of expected_purchases, in days.
    #[arg(long, value_name = "N", default_value_t = 90.0)]
    horizon_days: f64,
}

#[derive(Debug, Args)]
struct PredictDriftArgs {
    /// The pipeline file: its golden profiles now, and the latest holdout ([predict]
    /// holdout_days, else horizon_days).
    #[arg(long, value_name = "PIPELINE.toml", conflicts_with_all = ["input", "baseline"])]
    config: Option<PathBuf>,
    /// The model (from `predict fit --save`; default with --config: [predict] model_file).
    #[arg(long, value_name = "MODEL.json", required_unless_present = "config")]
    model_file: Option<PathBuf>,
    /// The summary the model was trained on (default: the distributions saved in the model).
    #[arg(long, value_name = "TRAINED.csv")]
    baseline: Option<PathBuf>,
    /// The fresh summary.
    #[arg(value_name = "SUMMARY.csv", required_unless_present = "config")]
    input: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModelArg {
    Bgnbd,
    ParetoNbd,
    GammaGamma,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FreqArg {
    Day,
    Week,
}

#[derive(Debug, Args)]
struct PredictFitArgs {
    /// The pipeline file: fit on its golden profiles' orders as its [predict] table says
    /// (model, period, holdout_days for the holdout metrics, penalizer) and save the model
    /// to --save or [predict] model_file.
    #[arg(long, value_name = "PIPELINE.toml", conflicts_with_all = ["input", "model", "calibration_end"])]
    config: Option<PathBuf>,
    /// The model.
    #[arg(long, value_enum, required_unless_present = "config")]
    model: Option<ModelArg>,
    /// The customer summary.
    #[arg(value_name = "SUMMARY.csv", required_unless_present = "config")]
    input: Option<PathBuf>,
    /// The L2 penalty on the parameters (the Python reference's penalizer_coef).
    #[arg(long, value_name = "X", default_value_t = 0.0)]
    penalizer: f64,
    /// Also save the model (parameters, training window, convergence, the distributions of
    /// the customers for drift) for score, drift and retrain; with SUMMARY.csv it needs
    /// --calibration-end.
    #[arg(long, value_name = "MODEL.json")]
    save: Option<PathBuf>,
    /// With --save: the end of the training window (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    calibration_end: Option<String>,
    /// With --save: the time unit of the summary.
    #[arg(long, value_enum, default_value_t = FreqArg::Week)]
    freq: FreqArg,
}

#[derive(Debug, Args)]
struct PredictSummaryArgs {
    /// The transaction log (CSV with a header).
    #[arg(value_name = "TRANSACTIONS.csv")]
    input: PathBuf,
    /// The column with the customer id.
    #[arg(long, value_name = "C")]
    customer_column: String,
    /// The column with the date (YYYY-MM-DD, YYYYMMDD or an RFC 3339 time).
    #[arg(long, value_name = "D")]
    date_column: String,
    /// The column with the transaction's value (gives monetary_value).
    #[arg(long, value_name = "V")]
    value_column: Option<String>,
    /// The last day of the calibration period (YYYY-MM-DD); later purchases are left out.
    #[arg(long, value_name = "YYYY-MM-DD")]
    calibration_end: String,
    /// The period purchases are counted in, and the unit of recency and T.
    #[arg(long, value_enum, default_value_t = FreqArg::Day)]
    freq: FreqArg,
}

#[derive(Debug, Args)]
struct SegmentArgs {
    /// The pipeline file (TOML) with a `[clusters]` table.
    #[arg(long, value_name = "PIPELINE.toml")]
    config: PathBuf,
    /// Print the model (segments, transform, quality, changes) as one JSON object instead.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AlgorithmArg {
    Kmeans,
    Dbscan,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ScaleArg {
    None,
    Standard,
    Robust,
}

#[derive(Debug, Args)]
struct ClusterArgs {
    /// The clustering.
    #[arg(long, value_enum)]
    algorithm: AlgorithmArg,
    /// The feature table.
    #[arg(value_name = "FEATURES.csv")]
    input: PathBuf,
    /// Where to write each row's label.
    #[arg(long, value_name = "LABELS.csv")]
    out: PathBuf,
    /// K-Means: the number of clusters (default: chosen from 2 to 10 by the silhouette).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    k: Option<u32>,
    /// K-Means: seeded k-means++ runs, the lowest inertia kept.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    n_init: u32,
    /// DBSCAN: the neighbourhood radius in the scaled space (default: suggested from the
    /// k-distance curve).
    #[arg(long, value_name = "E")]
    eps: Option<f64>,
    /// DBSCAN: the points a core point's neighbourhood needs, itself included.
    #[arg(long, value_name = "M", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    min_samples: u32,
    /// Scaling of each column before clustering.
    #[arg(long, value_enum, default_value_t = ScaleArg::Standard)]
    scale: ScaleArg,
    /// The seed of the k-means++ runs and of the sampled silhouette.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The pipeline file (TOML: sources, normalize, rules, dedup, traits, mapping, outputs).
    #[arg(long, value_name = "PIPELINE.toml")]
    config: PathBuf,
    /// Write the run report as JSON (one line) to stdout.
    #[arg(long)]
    json: bool,
    /// Print no summary on stderr (errors are still reported).
    #[arg(long, short)]
    quiet: bool,
}

#[cfg(feature = "lake")]
#[derive(Debug, Args)]
struct QueryArgs {
    /// The pipeline file (TOML), with optional [semantic.views].
    #[arg(long, value_name = "PIPELINE.toml")]
    config: PathBuf,
    /// How to print the result.
    #[arg(long, value_enum, default_value = "table")]
    format: QueryFormat,
    /// Print no progress on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// The SQL query (one SELECT).
    sql: String,
}

#[cfg(feature = "lake")]
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum QueryFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// JSON Lines, one object a row.
    Json,
}

#[derive(Debug, Args)]
struct NormalizeArgs {
    /// What the values are.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The country (ISO 3166-1 code) of phone numbers without a country code, of regions
    /// (required with --kind region), postal codes and addresses; other kinds ignore it.
    #[arg(long, value_name = "CC")]
    region: Option<String>,
    /// The order of numeric dates such as 03/04/2021 (date and datetime only); without it,
    /// dates with two valid readings are "ambiguous".
    #[arg(long, value_enum)]
    date_order: Option<DateOrderArg>,
    /// Refuse a date impossible in --date-order but valid in the other order (by default it
    /// is read swapped, with status "changed" and a reason).
    #[arg(long)]
    strict_date_order: bool,
    /// Names: re-case the all-lower-case or ALL CAPS words of mixed-case names
    /// ("juan garcia III" -> "Juan Garcia III"); by default mixed case is kept as given.
    #[arg(long)]
    fix_mixed_case: bool,
    /// Names: how particles (van, de) are cased in names whose case is lost.
    #[arg(long, value_enum)]
    particles: Option<ParticlesArg>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// What the values are.
    #[arg(long, value_enum)]
    kind: ValidateKind,
    /// Accept quoted local parts ("john smith"@example.org).
    #[arg(long)]
    allow_quoted_local: bool,
    /// Accept domain literals (john@[192.0.2.1]).
    #[arg(long)]
    allow_domain_literal: bool,
    /// Refuse addresses that need SMTPUTF8 (a non-ASCII local part).
    #[arg(long)]
    ascii_only: bool,
    /// Accept and drop comments (john(work)@example.org).
    #[arg(long)]
    allow_comments: bool,
    /// Accept and drop whitespace around the parts (john @ example.org).
    #[arg(long)]
    allow_folding_whitespace: bool,
    /// Refuse example.com, example.net, example.org and their subdomains.
    #[arg(long)]
    reject_example_domains: bool,
}

#[derive(Debug, Args)]
struct CheckTemplateArgs {
    /// The mapping document (TOML: a list of variables with name, source, fallback, ...).
    #[arg(long, value_name = "MAPPING.toml")]
    mapping: PathBuf,
    /// The template language; auto: by file extension (.liquid, .hbs), else Liquid when the
    /// template has a {% tag.
    #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
    syntax: SyntaxArg,
    /// Write one JSON object per template instead of text.
    #[arg(long)]
    json: bool,
    /// The templates.
    #[arg(required = true, value_name = "TEMPLATE")]
    templates: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct DedupArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "DEDUP.toml")]
    config: PathBuf,
    /// The CSV file to deduplicate.
    #[arg(value_name = "INPUT.csv")]
    input: PathBuf,
    /// Where to write the matching pairs.
    #[arg(long, value_name = "PAIRS.csv")]
    out_pairs: PathBuf,
    /// Where to write each record's cluster.
    #[arg(long, value_name = "CLUSTERS.csv")]
    out_clusters: PathBuf,
    /// Worker threads (default: one per core); results are the same for any number. More than
    /// 4 per core (at most 256) is lowered to that, with a note on stderr.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Print no summary on stderr (bad rows and errors are still reported).
    #[arg(long, short)]
    quiet: bool,
    /// Also analyse blocking and print it on stdout: candidate pairs and the matches each
    /// pass finds, estimated recall per pass and in all (no labels needed), the largest blocks,
    /// and passes that would raise the recall with what they cost.
    #[arg(long)]
    analyze_blocking: bool,
    /// Print how long each step took on stderr (reading, the deduplicator's phases, writing).
    #[arg(long)]
    timings: bool,
}

#[derive(Debug, Args)]
struct LinkArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "LINK.toml")]
    config: PathBuf,
    /// The left CSV file: its ids come first in the pairs.
    #[arg(value_name = "LEFT.csv")]
    left: PathBuf,
    /// The right CSV file.
    #[arg(value_name = "RIGHT.csv")]
    right: PathBuf,
    /// Where to write the matching pairs.
    #[arg(long, value_name = "PAIRS.csv")]
    out_pairs: PathBuf,
    /// Link each record at most once, strongest pairs first (also `one_to_one = true` in the
    /// configuration).
    #[arg(long)]
    one_to_one: bool,
    /// Worker threads (default: one per core); results are the same for any number. More than
    /// 4 per core (at most 256) is lowered to that, with a note on stderr.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Print no summary on stderr (bad rows and errors are still reported).
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(cli.command) {
        Ok(code) => code,
        // `mergetag normalize ... | head`: the reader has gone, which is not an error.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            exit::OK
        }
        Err(e) => {
            let mut message = format!("error: {e}");
            // The facade names the file it could not read or write, or the profile stage
            // that failed; the cause follows (a stage's names its file: a broken model).
            match &e {
                Error::Pipeline(
                    mergetag::Error::Read { source, .. } | mergetag::Error::Write { source, .. },
                ) => message.push_str(&format!(": {source}")),
                Error::Pipeline(mergetag::Error::Stage { source, .. }) => {
                    message.push_str(&format!(": {source}"));
                }
                _ => {}
            }
            say(&message);
            exit::ERROR
        }
    };
    ExitCode::from(code)
}

/// The `--threads` asked for, lowered to [`matching::max_threads`] with a note on stderr.
fn threads(requested: Option<u16>) -> Option<usize> {
    let (threads, note) = matching::cap_threads(requested.map(usize::from));
    if let Some(note) = note {
        say(&format!("warning: {note}"));
    }
    threads
}

/// Writes a message line to stderr.
fn say(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{message}");
}

fn run(command: Command) -> Result<u8, Error> {
    match command {
        Command::Normalize(a) => {
            let options = LineOptions::new()
                .strict_date_order(a.strict_date_order)
                .fix_mixed_case(a.fix_mixed_case)
                .particles(a.particles);
            let n =
                LineNormalizer::with_options(a.kind, a.region.as_deref(), a.date_order, options)?;
            let stdin = BufReader::new(std::io::stdin().lock());
            n.run(stdin, BufWriter::new(std::io::stdout().lock()))?;
            Ok(exit::OK)
        }
        Command::Validate(a) => {
            let ValidateKind::Email = a.kind;
            let validator = EmailValidator::builder()
                .quoted_local(a.allow_quoted_local)
                .domain_literal(a.allow_domain_literal)
                .smtputf8(!a.ascii_only)
                .comments(a.allow_comments)
                .folding_whitespace(a.allow_folding_whitespace)
                .reject_example_domains(a.reject_example_domains)
                .build();
            let stdin = BufReader::new(std::io::stdin().lock());
            LineValidator::new(validator).run(stdin, BufWriter::new(std::io::stdout().lock()))?;
            Ok(exit::OK)
        }
        Command::CheckTemplate(a) => check_templates(&a),
        Command::Cluster(a) => cluster(&a),
        Command::Predict(c) => predict(c),
        Command::Segment(a) => {
            let result = mergetag_cli::cluster::run_segment(&a.config)?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            let io = |e: std::io::Error| Error::Io {
                path: "<stdout>".into(),
                source: e,
            };
            if a.json {
                let value = serde_json::json!({
                    "model": result.model,
                    "changes": result.changes,
                });
                serde_json::to_writer(&mut out, &value).map_err(|e| io(e.into()))?;
                out.write_all(b"\n").map_err(io)?;
            } else {
                out.write_all(mergetag_cli::cluster::segment_text(&result).as_bytes())
                    .map_err(io)?;
            }
            out.flush().map_err(io)?;
            Ok(exit::OK)
        }
        Command::Dedup(a) => {
            let config = DedupFile::from_path(&a.config)?;
            let origin = a.config.display().to_string();
            let progress = Progress::stderr();
            let summary = matching::run_dedup(
                &config,
                &origin,
                &a.input,
                &a.out_pairs,
                &a.out_clusters,
                threads(a.threads),
                a.analyze_blocking,
                &progress,
                &mut say,
            )?;
            if !a.quiet {
                say(&format!(
                    "mergetag dedup: {} records read, bad rows left out: {}, {} pairs, {} clusters",
                    summary.records, summary.skipped, summary.pairs, summary.clusters
                ));
                if let Some(chosen) = &summary.chosen_blocking {
                    let passes: Vec<String> = chosen.passes.iter().map(|p| p.label()).collect();
                    say(&format!(
                        "blocking passes chosen from the data (no [[dedup.blocking]] given): {}; {} candidate pairs, estimated blocking recall {}",
                        passes.join(", "),
                        chosen.candidate_pairs,
                        chosen
                            .estimated_recall
                            .map_or_else(|| "unknown".to_owned(), |r| format!("{r:.4}"))
                    ));
                }
                let (q, best) = (&summary.quality.at_threshold, &summary.quality.best);
                say(&format!(
                    "expected (no labels): precision {:.4}, recall {:.4}, F1 {:.4} among candidate pairs; best threshold {:.4} (expected F1 {:.4})",
                    q.precision, q.recall, q.f1, best.threshold, best.f1
                ));
            }
            if a.timings {
                let steps: Vec<String> = summary
                    .timings
                    .iter()
                    .filter(|(_, t)| !t.is_zero())
                    .map(|(step, t)| format!("{step} {:.1} ms", t.as_secs_f64() * 1e3))
                    .collect();
                let total: std::time::Duration = summary.timings.iter().map(|(_, t)| *t).sum();
                say(&format!(
                    "timings: {} (total {:.1} ms)",
                    steps.join(", "),
                    total.as_secs_f64() * 1e3
                ));
            }
            if let Some(analysis) = &summary.analysis {
                let mut out = std::io::stdout().lock();
                out.write_all(analysis.to_string().as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::Io {
                        path: "<stdout>".into(),
                        source: e,
                    })?;
            }
            Ok(exit::OK)
        }
        Command::Link(a) => {
            let config = LinkFile::from_path(&a.config)?;
            let origin = a.config.display().to_string();
            let progress = Progress::stderr();
            let pairs = matching::run_link(
                &config,
                &origin,
                &a.left,
                &a.right,
                &a.out_pairs,
                a.one_to_one,
                threads(a.threads),
                &progress,
                &mut say,
            )?;
            if !a.quiet {
                say(&format!("mergetag link: {pairs} pairs"));
            }
            Ok(exit::OK)
        }
        Command::Run(a) => {
            let progress = Progress::stderr();
            let ran = mergetag_cli::run::run_pipeline(&a.config, &progress)?;
            let output = &ran.output;
            if a.json {
                let mut out = BufWriter::new(std::io::stdout().lock());
                let io = |e: std::io::Error| Error::Io {
                    path: "<stdout>".into(),
                    source: e,
                };
                serde_json::to_writer(&mut out, &output.report).map_err(|e| io(e.into()))?;
                out.write_all(b"\n").map_err(io)?;
                out.flush().map_err(io)?;
            }
            if a.quiet {
                // Warnings even when quiet: nothing goes unsaid.
                for w in &output.report.warnings {
                    say(&format!("warning: {w}"));
                }
            } else {
                // The summary (warnings first), then where the outputs went.
                say(output.report.to_string().trim_end());
                say(&mergetag_cli::run::written_line(&ran));
            }
            Ok(exit::OK)
        }
        #[cfg(feature = "lake")]
        Command::Query(a) => {
            use mergetag::lake::OutputFormat;
            let progress = if a.quiet {
                Progress::hidden()
            } else {
                Progress::stderr()
            };
            let format = match a.format {
                QueryFormat::Table => OutputFormat::Table,
                QueryFormat::Csv => OutputFormat::Csv,
                QueryFormat::Json => OutputFormat::Json,
            };
            let text = mergetag_cli::query::run_query(&a.config, &a.sql, format, &progress)?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            let io = |e: std::io::Error| Error::Io {
                path: "<stdout>".into(),
                source: e,
            };
            out.write_all(text.as_bytes()).map_err(io)?;
            out.flush().map_err(io)?;
            Ok(exit::OK)
        }
    }
}

fn cluster(a: &ClusterArgs) -> Result<u8, Error> {
    use mergetag_cli::cluster::{Algorithm, ClusterOptions, run_cluster};
    use mergetag_segment::Scaling;
    let algorithm = match a.algorithm {
        AlgorithmArg::Kmeans => Algorithm::Kmeans,
        AlgorithmArg::Dbscan => Algorithm::Dbscan,
    };
    let options = ClusterOptions {
        k: a.k.map(|k| k as usize),
        n_init: a.n_init as usize,
        eps: a.eps,
        min_samples: a.min_samples as usize,
        scale: match a.scale {
            ScaleArg::None => Scaling::None,
            ScaleArg::Standard => Scaling::Standard,
            ScaleArg::Robust => Scaling::Robust,
        },
        seed: a.seed,
        ..ClusterOptions::new(algorithm)
    };
    let summary = run_cluster(&a.input, &a.out, &options)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    serde_json::to_writer(&mut out, &summary).map_err(|e| io(e.into()))?;
    out.write_all(b"\n").map_err(io)?;
    out.flush().map_err(io)?;
    Ok(exit::OK)
}

fn predict(command: PredictCommand) -> Result<u8, Error> {
    use mergetag_cli::predict::{Model, fit_file, summarize_file};
    let mut out = BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    match command {
        PredictCommand::Fit(a) => {
            let json = if let Some(config) = &a.config {
                mergetag_cli::predict::fit_config(config, a.save.as_deref())?
            } else {
                let (Some(model), Some(input)) = (a.model, &a.input) else {
                    return Err(Error::Usage(
                        "predict fit: give --model and SUMMARY.csv, or --config".to_owned(),
                    ));
                };
                let model = match model {
                    ModelArg::Bgnbd => Model::Bgnbd,
                    ModelArg::ParetoNbd => Model::ParetoNbd,
                    ModelArg::GammaGamma => Model::GammaGamma,
                };
                let json = fit_file(input, model, a.penalizer)?;
                match (&a.save, &a.calibration_end) {
                    (Some(path), Some(end)) => {
                        let summary = mergetag_predict::Summary::from_path(input)?;
                        mergetag_cli::predict::save_model(
                            input,
                            &summary,
                            model,
                            a.penalizer,
                            end,
                            period_of(a.freq),
                            path,
                        )?;
                    }
                    (Some(_), None) => {
                        return Err(Error::Usage(
                            "--save with SUMMARY.csv needs --calibration-end YYYY-MM-DD".to_owned(),
                        ));
                    }
                    _ => {}
                }
                json
            };
            serde_json::to_writer(&mut out, &json).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
        }
        PredictCommand::Summary(a) => {
            let mut columns =
                mergetag_predict::TransactionColumns::new(&a.customer_column, &a.date_column);
            columns.value = a.value_column.clone();
            let summary =
                summarize_file(&a.input, &columns, &a.calibration_end, period_of(a.freq))?;
            summary.write_csv(&mut out)?;
        }
        PredictCommand::Score(a) => {
            let lines = match (&a.config, &a.model_file, &a.input) {
                (Some(config), _, _) => {
                    mergetag_cli::predict::score_config(config, a.model_file.as_deref())?
                }
                (None, Some(model_file), Some(input)) => {
                    let model = mergetag_predict::PredictModel::from_path(model_file)?;
                    let summary = mergetag_predict::Summary::from_path(input)?;
                    mergetag_cli::predict::score(&model, &summary, a.horizon_days)
                }
                _ => {
                    return Err(Error::Usage(
                        "predict score: give --model-file and SUMMARY.csv, or --config".to_owned(),
                    ));
                }
            };
            for line in lines {
                serde_json::to_writer(&mut out, &line).map_err(|e| io(e.into()))?;
                out.write_all(b"\n").map_err(io)?;
            }
        }
        PredictCommand::Drift(a) => {
            let report = match (&a.config, &a.model_file, &a.input) {
                (Some(config), _, _) => {
                    mergetag_cli::predict::drift_config(config, a.model_file.as_deref())?
                }
                (None, Some(model_file), Some(input)) => {
                    let model = mergetag_predict::PredictModel::from_path(model_file)?;
                    let trained = match &a.baseline {
                        Some(b) => Some(mergetag_predict::Summary::from_path(b)?),
                        None => None,
                    };
                    let fresh = mergetag_predict::Summary::from_path(input)?;
                    mergetag_cli::predict::drift_report(&model, trained.as_ref(), &fresh)?
                }
                _ => {
                    return Err(Error::Usage(
                        "predict drift: give --model-file and SUMMARY.csv, or --config".to_owned(),
                    ));
                }
            };
            let json = mergetag_cli::predict::drift_json(&report);
            serde_json::to_writer(&mut out, &json).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
            out.flush().map_err(io)?;
            for r in &report.reasons {
                say(&format!("drift: {r}"));
            }
            return Ok(if report.verdict == mergetag_predict::Verdict::Retrain {
                exit::FINDINGS
            } else {
                exit::OK
            });
        }
        PredictCommand::Retrain(a) => {
            let (r, saved) = match &a.config {
                Some(config) => mergetag_cli::predict::retrain_config(
                    config,
                    a.model_file.as_deref(),
                    a.save.as_deref(),
                )?,
                None => {
                    let (Some(model_file), Some(input), Some(end), Some(save)) =
                        (&a.model_file, &a.input, &a.calibration_end, &a.save)
                    else {
                        return Err(Error::Usage(
                            "predict retrain: give --model-file, SUMMARY.csv, --calibration-end and --save, or --config".to_owned(),
                        ));
                    };
                    let r = mergetag_cli::predict::retrain_file(
                        model_file,
                        input,
                        end,
                        a.penalizer,
                        save,
                    )?;
                    (r, save.clone())
                }
            };
            let json = mergetag_cli::predict::retrain_json(&r, &saved);
            serde_json::to_writer(&mut out, &json).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(exit::OK)
}

fn period_of(freq: FreqArg) -> mergetag_predict::Period {
    match freq {
        FreqArg::Day => mergetag_predict::Period::Day,
        FreqArg::Week => mergetag_predict::Period::Week,
    }
}

fn check_templates(a: &CheckTemplateArgs) -> Result<u8, Error> {
    let mapping = load_mapping(&a.mapping)?;
    // Every template is read before anything is written: an unreadable one is an error (2).
    let mut texts = Vec::with_capacity(a.templates.len());
    for path in &a.templates {
        texts.push((path.display().to_string(), read_template(path)?));
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    let mut all_ok = true;
    for (name, text) in &texts {
        // A template the engine cannot parse is an error (exit 2), naming its line.
        let report = try_check(name, text, a.syntax, &mapping)?;
        all_ok &= report.is_ok();
        if a.json {
            serde_json::to_writer(&mut out, &report).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
        } else {
            report.write_text(&mut out).map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(if all_ok { exit::OK } else { exit::FINDINGS })
}
