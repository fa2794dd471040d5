//! `alertlab inject`

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::inspect::parse_input_format;
use super::UsageError;
use crate::fsutil::write_bytes_atomic;
use crate::inject::{self, Anomaly};
use crate::series::time::format_rfc3339;
use crate::series::{self, write_series, OutputLayout};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The metric file to inject into (every series in it).
    pub file: PathBuf,
    /// Anomaly kinds (comma-separated): spike, shift, drift, variance, drop.
    #[arg(long, value_delimiter = ',', required = true)]
    pub kind: Vec<String>,
    /// Sizes, one per kind or one for all: robust σ (MAD × 1.4826) for spike, shift, drift and
    /// variance; a duration (`30m`) for drop.
    #[arg(long, value_delimiter = ',', required = true)]
    pub size: Vec<String>,
    /// How many of each anomaly per series.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The series with the anomalies (.csv or .parquet).
    #[arg(long)]
    pub out: PathBuf,
    /// Where the anomalies are, as CSV `start,end,kind,size,series` (default: beside `--out`, named
    /// `<out>.windows.csv`); `alertlab backtest --incidents` and `tune --incidents` read it.
    #[arg(long)]
    pub windows: Option<PathBuf>,
    /// Input format, when the extension does not tell.
    #[arg(long)]
    pub input_format: Option<String>,
    /// The time column holds row numbers this far apart (`1h`): the series and the windows are
    /// written at the times `backtest --row-step` reads the rows at (row n at
    /// 2000-01-01T00:00:00Z + n × step).
    #[arg(long, value_parser = super::selection::parse_row_step)]
    pub row_step: Option<i64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.size.len() != 1 && args.size.len() != args.kind.len() {
        return Err(UsageError(format!(
            "`--size`: give one size for all kinds or one per kind ({} kinds, {} sizes)",
            args.kind.len(),
            args.size.len()
        ))
        .into());
    }
    let anomalies: Vec<Anomaly> = args
        .kind
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let size = &args.size[i.min(args.size.len() - 1)];
            format!("{k}:{size}").parse::<Anomaly>()
        })
        .collect::<Result<_, _>>()
        .map_err(UsageError)?;
    super::limits::count_in("--count", args.count as i64, 1, 100)?;
    let loaded = series::rows::load_at_row_step(
        &args.file,
        parse_input_format(args.input_format.as_deref())?,
        args.row_step,
    )?;
    let mut out = Vec::new();
    let mut windows = String::from("start,end,kind,size,series\n");
    for s in &loaded {
        let inject::Injection {
            series: injected,
            placed,
            no_spread,
        } = inject::inject(s, &anomalies, args.count, args.seed, &[]);
        for p in &placed {
            let size = p
                .label()
                .split_once(':')
                .map(|(_, s)| s.to_string())
                .unwrap_or_default();
            let _ = writeln!(
                windows,
                "{},{},{},{size},{}",
                format_rfc3339(p.start),
                format_rfc3339(p.end),
                p.kind,
                series::csv_field(&s.name)
            );
        }
        let plural = if placed.len() == 1 {
            "anomaly"
        } else {
            "anomalies"
        };
        eprintln!("{}: {} {plural} injected", s.name, placed.len());
        let missing = inject::shortfall(&anomalies, args.count, &placed);
        if no_spread {
            eprintln!(
                "note: {}: its values do not vary (or there are none), so anomalies sized in its robust σ cannot go into it",
                s.name
            );
        } else if let Some(note) = inject::shortfall_note(&missing, anomalies.len() * args.count) {
            eprintln!("note: {}: {note}", s.name);
        }
        out.push(injected);
    }
    write_series(&args.out, &out, OutputLayout::Long)
        .with_context(|| format!("writing `{}`", args.out.display()))?;
    let windows_path = args.windows.clone().unwrap_or_else(|| {
        let stem = args
            .out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("out");
        args.out.with_file_name(format!("{stem}.windows.csv"))
    });
    write_bytes_atomic(&windows_path, windows.as_bytes())
        .with_context(|| format!("writing `{}`", windows_path.display()))?;
    eprintln!(
        "wrote {} and {}",
        args.out.display(),
        windows_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
