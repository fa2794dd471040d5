//! `alertlab merge A.json B.json ... [--format table|json|csv] [--out F]`: the outputs of a sharded
//! run (`backtest --shard i/n` or `tune --shard i/n`, JSON) put back together as the one report a
//! single run over all series gives — results in the same order, tuning chosen again from the
//! shards' pooled tallies (recommendation and Pareto front recomputed).

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{emit, OutputFormat};
use super::UsageError;
use crate::fleet::shards::{self, ShardError, Shards};
use crate::tune::{self, pool};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Shard outputs (`--format json`) of one command: all backtest or all tune.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Write the output to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let shards = shards::read(&args.files).map_err(|e| match e {
        ShardError::Input(message) => anyhow::Error::from(UsageError(message)),
        ShardError::Io(e) => anyhow::Error::from(e),
    })?;
    match shards {
        Shards::Backtest(results) => {
            super::backtest::print(&results, args.format, args.out.as_deref(), None)?;
        }
        Shards::Tune(docs) => {
            let text = super::tune_render::render(&merge_tune(&docs)?, args.format, None)?;
            emit(&text, args.out.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The shards' pooled tallies added up and chosen from again.
fn merge_tune(docs: &[(PathBuf, serde_json::Value)]) -> Result<tune::TuneReport, UsageError> {
    let pools = docs
        .iter()
        .map(|(p, v)| {
            let raw = v.get("pool").ok_or_else(|| {
                UsageError(format!(
                    "`{}` has no `pool`: only `tune --shard i/n --format json` outputs carry the per-setting tallies a merge needs",
                    p.display()
                ))
            })?;
            serde_json::from_value::<pool::Pool>(raw.clone())
                .map_err(|e| UsageError(format!("`{}`: `pool` is not a tune pool: {e}", p.display())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let merged = pool::merge(pools).map_err(UsageError)?;
    Ok(tune::choose(&merged))
}
