//! `alertlab merge A.json B.json ... [--format table|json|csv] [--out F]`: the outputs of a sharded
//! run (`backtest --shard i/n` or `tune --shard i/n`, JSON) put back together as the one report a
//! single run over all series gives — results in the same order, tuning chosen again from the
//! shards' pooled tallies (recommendation and Pareto front recomputed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::output::{emit, OutputFormat};
use super::UsageError;
use crate::fleet::spill::{Key, Spill};
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

/// What one shard output turned out to be.
enum Shard {
    /// A backtest report: its results went to the spill file, their keys to `keys`.
    Backtest,
    /// A tune report (small: per-setting tallies, not per-series results), whole.
    Tune(serde_json::Value),
    Neither,
}

/// Read the shard output at `path` (the `file`-th): a backtest report's results one at a time into
/// `spill`, so that merging a fleet's shards takes memory for one result, not for every result as
/// a JSON tree (about twenty times the file's size); any other document whole.
fn read(
    path: &Path,
    file: usize,
    spill: &mut Spill,
    keys: &mut Vec<(Key, usize)>,
) -> Result<Shard, UsageError> {
    let opened =
        std::fs::File::open(path).map_err(|e| UsageError(format!("`{}`: {e}", path.display())))?;
    let mut from =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, opened));
    let shard = from
        .deserialize_any(Document(Results { spill, keys, file }))
        .and_then(|shard| from.end().map(|()| shard))
        .map_err(|e| {
            UsageError(format!(
                "`{}` line {}: not a JSON report ({e})\nhint: run the shards with `--format json`",
                path.display(),
                e.line()
            ))
        })?;
    Ok(shard)
}

/// A shard output's top level: `results` streamed, every other key kept.
struct Document<'a>(Results<'a>);

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Shard;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object: the output of `backtest` or `tune` with `--format json`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shard, A::Error> {
        let mut results = Some(self.0);
        let mut rest = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != "results" {
                rest.insert(key, map.next_value()?);
                continue;
            }
            let results = results
                .take()
                .ok_or_else(|| A::Error::custom("`results` appears twice"))?;
            map.next_value_seed(results)?;
        }
        Ok(if results.is_none() {
            Shard::Backtest
        } else if rest.contains_key("recommendations") {
            Shard::Tune(serde_json::Value::Object(rest))
        } else {
            Shard::Neither
        })
    }
}

/// A backtest report's `results`, each copied into the spill file under its key.
struct Results<'a> {
    spill: &'a mut Spill,
    keys: &'a mut Vec<(Key, usize)>,
    file: usize,
}

impl<'de> DeserializeSeed<'de> for Results<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Results<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("`results`: a list of backtest results")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut json = Vec::new();
        while seq
            .next_element_seed(Compact { json: &mut json })?
            .is_some()
        {
            let id: ResultId = serde_json::from_slice(&json).map_err(|_| {
                A::Error::custom("a result without the `alert`, `env`, `engine` and `series` of a backtest result")
            })?;
            let key = (id.alert, id.env, id.engine, id.series);
            self.spill
                .push_record(key.clone(), &json)
                .map_err(A::Error::custom)?;
            self.keys.push((key, self.file));
        }
        Ok(())
    }
}

/// One JSON value, re-written compactly into `json`.
struct Compact<'a> {
    json: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Compact<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.json.clear();
        let mut to = serde_json::Serializer::new(&mut *self.json);
        serde_transcode::transcode(d, &mut to).map_err(D::Error::custom)
    }
}

/// What identifies a backtest result; the order `backtest` sorts by.
#[derive(serde::Deserialize)]
struct ResultId {
    alert: String,
    env: String,
    engine: String,
    series: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut spill = Spill::new()?;
    let mut keys = Vec::new();
    let mut tunes = Vec::new();
    let (mut backtests, mut odd) = (0, None);
    for (i, path) in args.files.iter().enumerate() {
        match read(path, i, &mut spill, &mut keys)? {
            Shard::Backtest => backtests += 1,
            Shard::Tune(doc) => tunes.push((path.clone(), doc)),
            Shard::Neither => odd = odd.or(Some(path)),
        }
    }
    if let Some(path) = odd {
        return Err(neither(&format!("`{}` is neither", path.display())).into());
    }
    if backtests == args.files.len() {
        refuse_overlaps(keys, &args.files)?;
        super::backtest::print(&spill.sorted()?, args.format, args.out.as_deref(), None)?;
    } else if tunes.len() == args.files.len() {
        let text = super::tune_render::render(&merge_tune(&tunes)?, args.format, None)?;
        emit(&text, args.out.as_deref())?;
    } else {
        return Err(neither("they mix the two").into());
    }
    Ok(ExitCode::SUCCESS)
}

fn neither(why: &str) -> UsageError {
    UsageError(format!(
        "merge takes JSON outputs of `backtest` or of `tune`, all of one kind: {why}"
    ))
}

/// A result in two shards is an error: the shards overlap (not outputs of `--shard i/n` of one
/// command).
fn refuse_overlaps(mut keys: Vec<(Key, usize)>, files: &[PathBuf]) -> Result<(), UsageError> {
    keys.sort();
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 {
            let (a, e, engine, s) = &pair[0].0;
            return Err(UsageError(format!(
                "alert `{a}`, env `{e}`, {engine}, series `{s}` is in both `{}` and `{}`: the inputs overlap (merge the outputs of `--shard 1/n` … `n/n` of one command)",
                files[pair[0].1].display(),
                files[pair[1].1].display()
            )));
        }
    }
    Ok(())
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
