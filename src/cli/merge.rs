//! `alertlab merge A.json B.json ... [--format table|json|csv] [--out F]`: the outputs of a sharded
//! run (`backtest --shard i/n` or `tune --shard i/n`, JSON) put back together as the one report a
//! single run over all series gives — results in the same order, tuning chosen again from the
//! shards' pooled tallies (recommendation and Pareto front recomputed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::{emit, OutputFormat};
use super::UsageError;
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

fn read(path: &Path) -> Result<serde_json::Value, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("`{}`: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "`{}` line {}: not JSON ({e})\nhint: run the shards with `--format json`",
            path.display(),
            e.line()
        ))
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let docs: Vec<(PathBuf, serde_json::Value)> = args
        .files
        .iter()
        .map(|p| read(p).map(|v| (p.clone(), v)))
        .collect::<Result<_, _>>()?;
    let is_tune = |v: &serde_json::Value| v.get("recommendations").is_some();
    let is_backtest = |v: &serde_json::Value| v.get("results").is_some_and(|r| r.is_array());
    let text = if docs.iter().all(|(_, v)| is_backtest(v)) {
        super::backtest::render(&merge_backtest(&docs)?, args.format)?
    } else if docs.iter().all(|(_, v)| is_tune(v)) {
        super::tune_render::render(&merge_tune(&docs)?, args.format, None)?
    } else {
        let odd = docs
            .iter()
            .find(|(_, v)| !is_backtest(v) && !is_tune(v))
            .map(|(p, _)| format!("`{}` is neither", p.display()))
            .unwrap_or_else(|| "they mix the two".into());
        return Err(UsageError(format!(
            "merge takes JSON outputs of `backtest` or of `tune`, all of one kind: {odd}"
        ))
        .into());
    };
    emit(&text, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// What identifies a backtest result; the order `backtest` sorts by.
fn result_key(r: &serde_json::Value) -> (String, String, String, String) {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (s("alert"), s("env"), s("engine"), s("series"))
}

/// Every shard's results in one list, sorted as one run sorts them; a result in two shards is an
/// error (the shards overlap: not outputs of `--shard i/n` of one command).
fn merge_backtest(docs: &[(PathBuf, serde_json::Value)]) -> Result<serde_json::Value, UsageError> {
    let mut all: Vec<(PathBuf, serde_json::Value)> = docs
        .iter()
        .flat_map(|(p, v)| {
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |r| (p.clone(), r.clone()))
        })
        .collect();
    all.sort_by_key(|(_, r)| result_key(r));
    for pair in all.windows(2) {
        if result_key(&pair[0].1) == result_key(&pair[1].1) {
            let (a, e, engine, s) = result_key(&pair[0].1);
            return Err(UsageError(format!(
                "alert `{a}`, env `{e}`, {engine}, series `{s}` is in both `{}` and `{}`: the inputs overlap (merge the outputs of `--shard 1/n` … `n/n` of one command)",
                pair[0].0.display(),
                pair[1].0.display()
            )));
        }
    }
    Ok(serde_json::json!({ "results": all.into_iter().map(|(_, r)| r).collect::<Vec<_>>() }))
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
