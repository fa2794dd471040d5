//! Shard outputs read back for `alertlab merge`: the JSON reports of `backtest --shard i/n` (their
//! results streamed one at a time into a [`Spill`], so a merge of a fleet's shards holds one result
//! at a time, and sorted as one run sorts them) or of `tune --shard i/n` (small: per-setting
//! tallies, read whole).

use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::spill::{Key, SortedResults, Spill};

/// What the shard outputs hold.
pub enum Shards {
    /// Backtest reports: every result, in report order.
    Backtest(SortedResults),
    /// Tune reports, each whole, with its file.
    Tune(Vec<(PathBuf, serde_json::Value)>),
}

#[derive(Debug)]
pub enum ShardError {
    /// A file that is no shard output, or shards that do not fit together: the message names it.
    Input(String),
    /// The spill file could not be written or read.
    Io(std::io::Error),
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
fn read_one(
    path: &Path,
    file: usize,
    spill: &mut Spill,
    keys: &mut Vec<(Key, usize)>,
) -> Result<Shard, ShardError> {
    let opened = std::fs::File::open(path)
        .map_err(|e| ShardError::Input(format!("`{}`: {e}", path.display())))?;
    let mut from =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, opened));
    let shard = from
        .deserialize_any(Document(Results { spill, keys, file }))
        .and_then(|shard| from.end().map(|()| shard))
        .map_err(|e| {
            ShardError::Input(format!(
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

/// Read shard outputs of one command: backtest reports' results streamed into a spill file and
/// sorted as one run sorts them (a result in two shards is an error), or tune reports whole.
pub fn read(files: &[PathBuf]) -> Result<Shards, ShardError> {
    let mut spill = Spill::new().map_err(ShardError::Io)?;
    let mut keys = Vec::new();
    let mut tunes = Vec::new();
    let (mut backtests, mut odd) = (0, None);
    for (i, path) in files.iter().enumerate() {
        match read_one(path, i, &mut spill, &mut keys)? {
            Shard::Backtest => backtests += 1,
            Shard::Tune(doc) => tunes.push((path.clone(), doc)),
            Shard::Neither => odd = odd.or(Some(path)),
        }
    }
    if let Some(path) = odd {
        return Err(neither(&format!("`{}` is neither", path.display())));
    }
    if backtests == files.len() {
        refuse_overlaps(keys, files)?;
        Ok(Shards::Backtest(spill.sorted().map_err(ShardError::Io)?))
    } else if tunes.len() == files.len() {
        Ok(Shards::Tune(tunes))
    } else {
        Err(neither("they mix the two"))
    }
}

fn neither(why: &str) -> ShardError {
    ShardError::Input(format!(
        "merge takes JSON outputs of `backtest` or of `tune`, all of one kind: {why}"
    ))
}

/// A result in two shards is an error: the shards overlap (not outputs of `--shard i/n` of one
/// command).
fn refuse_overlaps(mut keys: Vec<(Key, usize)>, files: &[PathBuf]) -> Result<(), ShardError> {
    keys.sort();
    for pair in keys.windows(2) {
        if pair[0].0 == pair[1].0 {
            let (a, e, engine, s) = &pair[0].0;
            return Err(ShardError::Input(format!(
                "alert `{a}`, env `{e}`, {engine}, series `{s}` is in both `{}` and `{}`: the inputs overlap (merge the outputs of `--shard 1/n` … `n/n` of one command)",
                files[pair[0].1].display(),
                files[pair[1].1].display()
            )));
        }
    }
    Ok(())
}
