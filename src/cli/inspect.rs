//! `alertlab inspect FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{csv, data_cell, emit, num, table, value_cell, OutputFormat};
use super::UsageError;
use crate::series::{self, Format, SeriesReport};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Metric files (CSV, Parquet, CloudWatch or Prometheus JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Input format, when the extension does not tell: csv, parquet, cloudwatch-json, prometheus-json, json.
    #[arg(long)]
    pub input_format: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// The time column holds row numbers this far apart (`1h`): shown at 2000-01-01T00:00:00Z +
    /// n × step, as `backtest --row-step` reads them.
    #[arg(long, value_parser = super::selection::parse_row_step)]
    pub row_step: Option<i64>,
}

pub fn parse_input_format(text: Option<&str>) -> anyhow::Result<Option<Format>> {
    match text {
        None => Ok(None),
        Some(t) => Format::from_name(t).ok_or_else(|| {
            UsageError(format!(
                "`--input-format {t}`: expected one of {}",
                Format::NAMES.join(", ")
            ))
            .into()
        }),
    }
}

const HEADER: &[&str] = &[
    "file",
    "series",
    "rows",
    "points",
    "missing",
    "start",
    "end",
    "step_s",
    "gaps",
    "gap_periods",
    "largest_gap_s",
    "duplicates",
    "min",
    "median",
    "max",
];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = parse_input_format(args.input_format.as_deref())?;
    let mut reports: Vec<(String, SeriesReport)> = Vec::new();
    for file in &args.files {
        let loaded = series::rows::load_at_row_step(file, format, args.row_step)?;
        for s in loaded {
            reports.push((file.display().to_string(), series::inspect(&s)));
        }
    }
    let text = match args.format {
        OutputFormat::Json => {
            let items: Vec<serde_json::Value> = reports
                .iter()
                .map(|(file, r)| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["file"] = serde_json::Value::String(file.clone());
                    v
                })
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({ "series": items }))? + "\n"
        }
        OutputFormat::Table | OutputFormat::Csv => {
            let csv_format = args.format == OutputFormat::Csv;
            let opt = |v: Option<f64>| v.map(|v| num(v, 3)).unwrap_or_default();
            // The metric's own values: exact for tools, four significant digits for people.
            let value = |v: Option<f64>| match v {
                Some(v) if csv_format => data_cell(v),
                Some(v) => value_cell(v, 4),
                None => String::new(),
            };
            let rows: Vec<Vec<String>> = reports
                .iter()
                .map(|(file, r)| {
                    vec![
                        file.clone(),
                        r.series.clone(),
                        r.rows.to_string(),
                        r.points.to_string(),
                        r.missing_values.to_string(),
                        r.start.clone().unwrap_or_default(),
                        r.end.clone().unwrap_or_default(),
                        opt(r.median_step_s),
                        r.gaps.to_string(),
                        r.gap_periods.to_string(),
                        opt(r.largest_gap_s),
                        r.duplicate_timestamps.to_string(),
                        value(r.min),
                        value(r.median),
                        value(r.max),
                    ]
                })
                .collect();
            if csv_format {
                csv(HEADER, &rows)
            } else {
                table(HEADER, &rows)
            }
        }
    };
    emit(&text, None)?;
    Ok(ExitCode::SUCCESS)
}
