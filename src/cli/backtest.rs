//! `alertlab backtest`

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{csv, emit, num, table, OutputFormat};
use super::UsageError;
use crate::backtest::{self, BacktestOptions, BacktestResult, Engines};
use crate::series::time::format_duration;
use crate::spec;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A spec file or a folder of specs.
    #[arg(long, default_value = "alerts")]
    pub spec: PathBuf,
    /// Only these environments (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub env: Vec<String>,
    /// Only these alerts (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub alert: Vec<String>,
    /// Replay every alert over this data file instead of the spec's `backtest.data`.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Incident windows (NAB `combined_windows.json` or CSV `start,end[,series]`) for recall/precision.
    #[arg(long)]
    pub incidents: Option<PathBuf>,
    /// Which engines to replay.
    #[arg(long, default_value = "both", value_parser = ["cloudwatch", "prometheus", "both"])]
    pub engine: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Ignore the tuned overlay (`<spec>.tuned.yaml`) and replay the spec as written.
    #[arg(long)]
    pub no_tuned: bool,
    /// Start of the evaluation span (RFC 3339 or epoch seconds; default: the data's first row, or
    /// the spec's `backtest.start`).
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub start: Option<i64>,
    /// End of the evaluation span (default: the data's last row, or the spec's `backtest.end`).
    /// Periods after the metric stops reporting are evaluated: that is where `treat_missing_data`
    /// decides the state.
    #[arg(long, value_parser = parse_time, allow_hyphen_values = true)]
    pub end: Option<i64>,
}

/// clap parser for `--start`/`--end`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    crate::series::time::parse_time_arg(text)
}

const HEADER: &[&str] = &[
    "alert",
    "env",
    "engine",
    "series",
    "condition",
    "episodes",
    "alerts/wk",
    "notifications",
    "in_alarm",
    "in_alarm_%",
    "flaps",
    "longest",
    "recall",
    "precision",
    "false/wk",
    "median_delay",
];

fn row(r: &BacktestResult) -> Vec<String> {
    let inc = r.incidents.as_ref();
    vec![
        r.alert.clone(),
        r.env.clone(),
        r.engine.to_string(),
        r.series.clone(),
        r.condition.clone(),
        r.episodes.len().to_string(),
        num(r.alerts_per_week, 2),
        r.notifications.to_string(),
        format_duration((r.time_in_alarm_s * 1000.0) as i64),
        num(100.0 * r.time_in_alarm_ratio, 2),
        r.flaps.to_string(),
        format_duration((r.longest_episode_s * 1000.0) as i64),
        inc.and_then(|i| i.recall)
            .map(|v| num(v, 2))
            .unwrap_or_default(),
        inc.and_then(|i| i.precision)
            .map(|v| num(v, 2))
            .unwrap_or_default(),
        inc.map(|i| num(i.false_alerts_per_week, 2))
            .unwrap_or_default(),
        inc.and_then(|i| i.median_delay_s)
            .map(|d| format_duration((d * 1000.0) as i64))
            .unwrap_or_default(),
    ]
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engines = Engines::from_name(&args.engine);
    let sets = spec::load_path_with(
        &args.spec,
        spec::LoadOptions {
            tuned: !args.no_tuned,
        },
    )?;
    for e in &args.env {
        if !sets.iter().any(|s| {
            s.environments.contains_key(e) || s.alerts.iter().any(|a| a.per_env.contains_key(e))
        }) {
            return Err(
                UsageError(format!("`--env {e}`: no spec defines this environment")).into(),
            );
        }
    }
    if let (Some(s), Some(e)) = (args.start, args.end) {
        if e < s {
            return Err(UsageError("`--end` is before `--start`".into()).into());
        }
    }
    let opts = BacktestOptions {
        start_ms: args.start,
        end_ms: args.end,
        envs: args.env,
        alerts: args.alert,
        data: args.data,
        incidents: args.incidents,
        engines,
        ..BacktestOptions::default()
    };
    let report = backtest::run(&sets, &opts)?;
    for r in &report.results {
        for w in &r.warnings {
            eprintln!(
                "warning: alert `{}`, env `{}`, {} `{}`: {w}",
                r.alert, r.env, r.engine, r.series
            );
        }
    }
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        OutputFormat::Csv => csv(HEADER, &report.results.iter().map(row).collect::<Vec<_>>()),
        OutputFormat::Table => {
            // Noisiest first: that is what a person reading this wants to fix.
            let mut sorted: Vec<&BacktestResult> = report.results.iter().collect();
            sorted.sort_by(|a, b| {
                b.alerts_per_week
                    .total_cmp(&a.alerts_per_week)
                    .then(b.time_in_alarm_s.total_cmp(&a.time_in_alarm_s))
            });
            let rows: Vec<Vec<String>> = sorted.into_iter().map(row).collect();
            let mut text = table(HEADER, &rows);
            if report
                .results
                .iter()
                .any(|r| r.condition.starts_with("seasonal"))
            {
                text.push_str("note: `seasonal` bands approximate CloudWatch anomaly detection (AWS's model is not public)\n");
            }
            text
        }
    };
    emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
