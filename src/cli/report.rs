//! `alertlab report`: one self-contained HTML file with the backtest table, charts and tuning.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::selection::Selection;
use super::UsageError;
use crate::backtest;
use crate::fsutil::write_bytes_atomic;
use crate::tune::{self, TuneOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    /// The report (`.html`), written atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Leave tuning out (current vs recommended setting and the Pareto front).
    #[arg(long)]
    pub no_tune: bool,
    /// Charts per alert and env at most: one that reads more series charts the noisiest of them
    /// (the table lists every one; 0: chart them all). A fleet's report stays a page a browser
    /// opens.
    #[arg(long, default_value_t = 12)]
    pub max_charts: usize,
    /// How tuning judges settings (as `alertlab tune` takes them); with `--inject`, the tuning
    /// sections give recall per injected anomaly and what each setting misses.
    #[command(flatten)]
    pub search: super::tune::SearchArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.out.extension().and_then(|e| e.to_str()) != Some("html") {
        return Err(UsageError(format!(
            "`--out {}`: the report is an .html file",
            args.out.display()
        ))
        .into());
    }
    args.search.check_budget()?;
    let sets = args.select.load()?;
    let opts = args.select.options()?;
    let results = backtest::run(&sets, &opts)?.results;
    let tuned = if args.no_tune {
        None
    } else {
        Some(
            tune::run(
                &sets,
                &TuneOptions {
                    // Every setting tried, for the trade-off charts.
                    keep_all: true,
                    ..args.search.options(opts.clone())?
                },
            )
            .map_err(super::tune::tune_error)?,
        )
    };
    let page = crate::report::build(&sets, &opts, &results, tuned.as_ref(), args.max_charts)
        .map_err(|e| anyhow::anyhow!("drawing the report: {e}"))?;
    write_bytes_atomic(&args.out, page.as_bytes())
        .with_context(|| format!("writing `{}`", args.out.display()))?;
    eprintln!(
        "wrote {} ({} results{})",
        args.out.display(),
        results.len(),
        if tuned.is_some() { ", with tuning" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}
