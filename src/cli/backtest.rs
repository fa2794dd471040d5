//! `alertlab backtest`

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{csv, emit, num, table, OutputFormat};
use super::selection::Selection;
use crate::backtest::{self, BacktestResult};
use crate::series::time::format_duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
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
    let sets = args.select.load()?;
    let opts = args.select.options()?;
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
