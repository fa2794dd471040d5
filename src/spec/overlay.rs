//! Tuned values beside a spec: `alerts/<spec>.tuned.yaml`, written by `alertlab tune --write` and
//! read by every command that loads the spec (unless told not to). A human's spec is never
//! rewritten: the overlay holds, per alert and env, an override in the spec's own keys, merged over
//! the spec's `overrides.<env>` before resolution — so `backtest` and `generate` see exactly the
//! setting `tune` measured. It also records fingerprints of the spec and of the data it was tuned
//! on (the history and the labelled incident windows), so `generate --check` can say when it is
//! stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::v1::{self, Merge};
use super::SpecError;

/// `kind` of an overlay file.
pub const KIND: &str = "TunedOverlay";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayV1 {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub spec: Fingerprint,
    #[serde(default)]
    pub data: Vec<Fingerprint>,
    /// Per alert and env, how it was tuned (budget, objective, incidents, injected anomalies) and
    /// the fingerprints of the files it was judged on: for people, and for the next `--write`,
    /// which keeps the records of the entries it does not tune.
    #[serde(default)]
    pub tuned: Option<BTreeMap<String, BTreeMap<String, TunedRecord>>>,
    /// How an overlay written before `tuned` existed was tuned (one record for the whole file).
    #[serde(default)]
    pub tuning: Option<serde_yaml_ng::Value>,
    /// alert → env → override in the spec's keys.
    pub alerts: BTreeMap<String, BTreeMap<String, v1::OverrideV1>>,
}

/// What `staleness` reads of one (alert, env)'s record: the files its values were judged on (the
/// rest — budget, objective — is for people).
#[derive(Debug, Clone, Deserialize)]
pub struct TunedRecord {
    #[serde(default)]
    pub data: Vec<Fingerprint>,
}

/// A file and the FNV-1a 64-bit hash of its bytes (hex).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    pub file: String,
    pub fnv1a64: String,
}

/// FNV-1a, 64 bits: a fingerprint to notice that a file changed (not a security hash).
pub fn fnv1a64(bytes: &[u8]) -> String {
    format!("{:016x}", crate::shard::fnv1a(bytes))
}

/// Where the overlay of `spec` lives: `<dir>/<stem>.tuned.yaml`.
pub fn path_for(spec: &Path) -> PathBuf {
    let stem = spec.file_stem().and_then(|s| s.to_str()).unwrap_or("spec");
    spec.with_file_name(format!("{stem}.tuned.yaml"))
}

/// The overlay of `spec`, when there is one.
pub fn read(spec: &Path) -> Result<Option<(PathBuf, OverlayV1)>, SpecError> {
    let path = path_for(spec);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let overlay: OverlayV1 = serde_yaml_ng::from_str(&text).map_err(|e| SpecError {
        path: path.clone(),
        line: e.location().map(|l| l.line()),
        message: format!("the tuned overlay cannot be read: {e}"),
        hint: Some("re-create it with `alertlab tune --no-tuned --write` (which does not read it), or delete it".into()),
    })?;
    if overlay.api_version != "alertlab/v1" || overlay.kind != KIND {
        return Err(SpecError {
            path,
            line: Some(1),
            message: format!(
                "expected `apiVersion: alertlab/v1` and `kind: {KIND}`, got `{}` and `{}`",
                overlay.api_version, overlay.kind
            ),
            hint: None,
        });
    }
    Ok(Some((path, overlay)))
}

/// The way out of an overlay that no longer fits its spec: `tune --no-tuned` does not read it.
const TUNE_AGAIN: &str = "tune again from the spec as written (`alertlab tune --no-tuned --write` replaces the entries it tunes and drops those of alerts and envs the spec no longer has), delete the overlay, or pass `--no-tuned`";

/// Merge `overlay` into the spec's per-env overrides.
pub fn apply(
    overlay_path: &Path,
    overlay: &OverlayV1,
    raw: &mut v1::AlertSetV1,
) -> Result<(), SpecError> {
    for (alert, envs) in &overlay.alerts {
        let Some(a) = raw.alerts.iter_mut().find(|a| &a.name == alert) else {
            return Err(SpecError {
                path: overlay_path.to_path_buf(),
                line: None,
                message: format!("the overlay tunes alert `{alert}`, which the spec no longer has"),
                hint: Some(TUNE_AGAIN.into()),
            });
        };
        for (env, over) in envs {
            if !raw.environments.is_empty() && !raw.environments.contains_key(env) {
                return Err(SpecError {
                    path: overlay_path.to_path_buf(),
                    line: None,
                    message: format!(
                        "the overlay tunes alert `{alert}` in env `{env}`, which the spec no longer has"
                    ),
                    hint: Some(TUNE_AGAIN.into()),
                });
            }
            if let Some(why) = reshapes(a, env, over) {
                return Err(SpecError {
                    path: overlay_path.to_path_buf(),
                    line: None,
                    message: format!(
                        "the overlay tunes alert `{alert}` in env `{env}` with {why}: the spec changed since it was tuned"
                    ),
                    hint: Some(TUNE_AGAIN.into()),
                });
            }
            a.overrides.entry(env.clone()).or_default().merge(over);
        }
    }
    Ok(())
}

/// Whether the overlay's `over` would change what the alert is rather than tune it, said as what
/// the overlay and the spec each have: a condition of another kind (merged, it would replace the
/// human's condition, with defaults for every key the overlay does not set) or a metric source
/// the spec no longer has in this env.
fn reshapes(a: &v1::AlertV1, env: &str, over: &v1::OverrideV1) -> Option<String> {
    let kind = |c: &v1::ConditionV1| c.kinds().next();
    let spec_override = a.overrides.get(env);
    if let Some(tuned) = over.condition.as_ref().and_then(kind) {
        let spec = spec_override
            .and_then(|o| o.condition.as_ref())
            .and_then(kind)
            .or_else(|| kind(&a.condition));
        if spec != Some(tuned) {
            return Some(format!(
                "a condition `{tuned}`, but the spec's condition is `{}`",
                spec.unwrap_or("of another kind")
            ));
        }
    }
    if let Some(m) = &over.metric {
        let spec_metric = spec_override.and_then(|o| o.metric.as_ref());
        let has = |cw: bool| {
            let pick = |m: &v1::MetricV1| {
                if cw {
                    m.cloudwatch.is_some()
                } else {
                    m.prometheus.is_some()
                }
            };
            pick(&a.metric) || spec_metric.is_some_and(pick)
        };
        for (source, tuned, cw) in [
            ("cloudwatch", m.cloudwatch.is_some(), true),
            ("prometheus", m.prometheus.is_some(), false),
        ] {
            if tuned && !has(cw) {
                return Some(format!("`metric.{source}`, which the spec no longer has"));
            }
        }
    }
    None
}

/// Why an overlay no longer matches what it was tuned on, if it does not: the spec's bytes, or a
/// file an entry was judged on (paths relative to the overlay's folder), changed. Entries are named
/// when the overlay has per-entry records; an older overlay's files are checked as a whole.
pub fn staleness(overlay_path: &Path, overlay: &OverlayV1) -> Vec<String> {
    let dir = overlay_path.parent().unwrap_or(Path::new("."));
    let check = |what: &str, f: &Fingerprint| -> Option<String> {
        match std::fs::read(dir.join(&f.file)).map(|b| fnv1a64(&b)) {
            Ok(h) if h == f.fnv1a64 => None,
            Ok(_) => Some(format!("{what} `{}` changed since it was tuned", f.file)),
            Err(_) => Some(format!("{what} `{}` is gone", f.file)),
        }
    };
    let mut out: Vec<String> = check("the spec", &overlay.spec).into_iter().collect();
    match &overlay.tuned {
        Some(tuned) => {
            for (alert, envs) in tuned {
                for (env, record) in envs {
                    out.extend(record.data.iter().filter_map(|f| {
                        check("data file", f)
                            .map(|why| format!("alert `{alert}` in `{env}`: {why}"))
                    }));
                }
            }
        }
        None => out.extend(overlay.data.iter().filter_map(|f| check("data file", f))),
    }
    out
}

/// What one `tune --write` run has to say of one (alert, env): the override it recommends (`None`:
/// the current setting stays, but it was judged again) and the files it was judged on.
pub struct Tuned {
    pub over: Option<serde_json::Value>,
    pub data: Vec<PathBuf>,
}

/// Write the overlay of `spec`: each of `entries` (alert → env) merged over the overlay already
/// there, with `tuning` (how this run tuned: budget, objective, ...) and fresh fingerprints of the
/// files it was judged on recorded for it under `tuned`; entries this run did not tune keep theirs.
/// The top-level `data` (what `generate --check` compares) is every entry's fingerprints together,
/// so a partial run (`--env prod`) never hides that dev's values were tuned on older data.
///
/// `replace` (a run that ignored the overlay, `--no-tuned`): each entry this run tuned is replaced,
/// not merged into — its old values were not what it was judged against — and one whose setting
/// stays as the spec writes it leaves the overlay.
///
/// `in_spec(alert, env)`: whether the spec still has that alert in that env; entries of others are
/// dropped (the overlay could not be read with them).
pub fn write(
    spec: &Path,
    entries: &BTreeMap<String, BTreeMap<String, Tuned>>,
    tuning: serde_json::Value,
    replace: bool,
    in_spec: &dyn Fn(&str, &str) -> bool,
) -> std::io::Result<Written> {
    use serde_json::{json, Map, Value};
    let path = path_for(spec);
    let dir = path.parent().unwrap_or(Path::new("."));
    let old: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_yaml_ng::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let object = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let mut alerts = object(&old["alerts"]);
    let mut tuned = object(&old["tuned"]);
    // An overlay written before per-entry records: its entries keep the fingerprints of the whole
    // file (conservative: any of them changing makes them stale).
    let legacy_data = if old.get("tuned").is_none() {
        old["data"].clone()
    } else {
        Value::Array(Vec::new())
    };
    let fingerprint = |file: &Path| -> std::io::Result<Value> {
        Ok(json!({
            "file": relative(dir, file).to_string_lossy().replace('\\', "/"),
            "fnv1a64": fnv1a64(&std::fs::read(file)?),
        }))
    };
    // The map under `key` of `map`, made one if it is missing or not a map (an overlay edited by
    // hand and read with `--no-tuned` is rewritten, never a panic).
    fn submap<'m>(map: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
        let slot = map.entry(key.to_string()).or_insert(Value::Null);
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        slot.as_object_mut().expect("made a map above")
    }
    for (alert, envs) in entries {
        for (env, entry) in envs {
            let slot = submap(&mut alerts, alert);
            match &entry.over {
                Some(over) if replace => {
                    slot.insert(env.clone(), over.clone());
                }
                Some(over) => deep_merge(slot.entry(env.clone()).or_insert(Value::Null), over),
                None if replace => {
                    slot.remove(env);
                    continue;
                }
                // Judged again and kept: only an entry the overlay holds has a record to renew.
                None if !slot.contains_key(env) => continue,
                None => {}
            }
            let mut record = tuning.clone();
            let mut prints = Vec::new();
            for file in entry.data.iter().collect::<std::collections::BTreeSet<_>>() {
                prints.push(fingerprint(file)?);
            }
            record["data"] = Value::Array(prints);
            submap(&mut tuned, alert).insert(env.clone(), record);
        }
    }
    for (alert, envs) in alerts.iter_mut() {
        if let Some(envs) = envs.as_object_mut() {
            envs.retain(|env, _| in_spec(alert, env));
        }
    }
    alerts.retain(|_, envs| envs.as_object().is_some_and(|e| !e.is_empty()));
    let alerts = alerts;
    if alerts.is_empty() {
        // Every entry is back to the spec as written: an overlay of nothing would still be read.
        if replace && path.is_file() {
            std::fs::remove_file(&path)?;
            return Ok(Written::Removed(path));
        }
        return Ok(Written::Nothing);
    }
    // Records only of entries the overlay holds; a legacy entry gets the old file's fingerprints.
    let mut records = Map::new();
    for (alert, envs) in &alerts {
        let mut kept = Map::new();
        for env in envs.as_object().expect("kept only maps above").keys() {
            let record = tuned
                .get(alert)
                .and_then(|t| t.get(env))
                .cloned()
                .unwrap_or_else(|| json!({ "data": legacy_data.clone() }));
            kept.insert(env.clone(), record);
        }
        records.insert(alert.clone(), Value::Object(kept));
    }
    // Every record's fingerprints, each (file, hash) once, in file order.
    let data: std::collections::BTreeSet<(String, String)> = records
        .values()
        .flat_map(|envs| envs.as_object().expect("built as maps above").values())
        .flat_map(|r| r["data"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| {
            Some((
                f["file"].as_str()?.to_string(),
                f["fnv1a64"].as_str()?.to_string(),
            ))
        })
        .collect();
    let data: Vec<Value> = data
        .into_iter()
        .map(|(file, hash)| json!({"file": file, "fnv1a64": hash}))
        .collect();
    // Keys in the order a person reads them.
    let mut doc = serde_yaml_ng::Mapping::new();
    let mut put = |k: &str, v: Value| {
        doc.insert(
            k.into(),
            serde_yaml_ng::to_value(v).expect("JSON values are YAML"),
        );
    };
    put("apiVersion", json!("alertlab/v1"));
    put("kind", json!(KIND));
    put("spec", fingerprint(spec)?);
    put("data", Value::Array(data));
    put("tuned", Value::Object(records));
    put("alerts", Value::Object(alerts));
    let body = serde_yaml_ng::to_string(&doc).expect("mappings serialise");
    let header = format!(
        "# {}\n# Tuned values for `{}`, read by backtest and generate (`--no-tuned` ignores them).\n",
        crate::conventions::header(&crate::emit::spec_label(spec)),
        spec.file_name().and_then(|n| n.to_str()).unwrap_or("")
    );
    crate::fsutil::write_bytes_atomic(&path, (header + &body).as_bytes())?;
    Ok(Written::Wrote(path))
}

/// What [`write`] did with the overlay file.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Wrote(PathBuf),
    /// Every entry went back to the spec as written (`replace`), so the file was deleted.
    Removed(PathBuf),
    /// No override, old or new: no file.
    Nothing,
}

/// `over` merged into `target` key by key at every depth; where both hold a value, `over`'s.
pub fn deep_merge(target: &mut serde_json::Value, over: &serde_json::Value) {
    match (target, over) {
        (serde_json::Value::Object(t), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                deep_merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (t, o) => *t = o.clone(),
    }
}

/// `to` relative to the folder `from` (both made absolute), for fingerprints that move with the
/// repository.
fn relative(from: &Path, to: &Path) -> PathBuf {
    // A spec named without a folder (`--spec lambda.yaml`) has the parent `""`: the working folder.
    // (Left as it is, `""` cannot be canonicalized, and the overlay would record absolute paths
    // that break wherever else the repository is checked out.)
    let from = if from.as_os_str().is_empty() {
        Path::new(".")
    } else {
        from
    };
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from), abs(to));
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..from.components().count() {
        out.push("..");
    }
    for c in to.components().skip(common) {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An overlay from before per-entry records (`data` and one `tuning` for the whole file): its
    /// files are still checked, and a write that tunes one entry leaves the others watching the
    /// old files' fingerprints, not losing them.
    #[test]
    fn an_overlay_without_records_keeps_its_fingerprints_through_a_partial_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let spec = p.join("s.yaml");
        std::fs::write(&spec, "spec").unwrap();
        std::fs::write(p.join("dev.csv"), "old dev").unwrap();
        std::fs::write(p.join("prod.csv"), "prod").unwrap();
        let legacy = format!(
            "apiVersion: alertlab/v1\nkind: TunedOverlay\nspec: {{file: s.yaml, fnv1a64: {}}}\ndata:\n- {{file: dev.csv, fnv1a64: {}}}\ntuning: {{budget_per_week: 1.0, objective: recall}}\nalerts:\n  a:\n    dev: {{condition: {{anomaly: {{k: 3.0}}}}}}\n  b:\n    dev: {{evaluation: {{for: 5m}}}}\n",
            fnv1a64(b"spec"),
            fnv1a64(b"old dev")
        );
        std::fs::write(path_for(&spec), legacy).unwrap();
        let (path, overlay) = read(&spec).unwrap().unwrap();
        assert!(staleness(&path, &overlay).is_empty());
        std::fs::write(p.join("dev.csv"), "new dev").unwrap();
        assert_eq!(
            staleness(&path, &overlay),
            ["data file `dev.csv` changed since it was tuned"]
        );
        // prod is tuned: dev keeps the old fingerprint, so the overlay stays stale for dev.
        let entries = BTreeMap::from([(
            "a".to_string(),
            BTreeMap::from([(
                "prod".to_string(),
                Tuned {
                    over: Some(serde_json::json!({"condition": {"anomaly": {"k": 4.0}}})),
                    data: vec![p.join("prod.csv")],
                },
            )]),
        )]);
        let written = write(
            &spec,
            &entries,
            serde_json::json!({"budget_per_week": 2.0}),
            false,
            &|_, _| true,
        );
        assert_eq!(written.unwrap(), Written::Wrote(path_for(&spec)));
        let (path, overlay) = read(&spec).unwrap().unwrap();
        assert_eq!(
            staleness(&path, &overlay),
            [
                "alert `a` in `dev`: data file `dev.csv` changed since it was tuned",
                "alert `b` in `dev`: data file `dev.csv` changed since it was tuned"
            ]
        );
        let tuned = overlay.tuned.unwrap();
        assert_eq!(tuned["a"]["prod"].data[0].file, "prod.csv");
        assert_eq!(overlay.alerts["a"].len(), 2, "both entries kept");
        assert_eq!(overlay.alerts["b"].len(), 1, "the other alert kept");
        assert_eq!(overlay.data.len(), 2, "{:?}", overlay.data);
    }

    /// The overlay tunes a metric source or condition the spec no longer has: refused, never
    /// merged into a different alert; the same kind, or one set by the env's override, is applied.
    #[test]
    fn an_overlay_never_changes_what_the_alert_is() {
        let raw = |text: &str| -> v1::AlertSetV1 { serde_yaml_ng::from_str(text).unwrap() };
        let spec = "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: t}\nenvironments: {dev: {account: '1', region: r}, prod: {account: '1', region: r}}\nalerts:\n  - name: a\n    metric: {prometheus: {expr: m}}\n    condition: {threshold: {op: '>', value: 1}}\n    overrides: {prod: {condition: {anomaly: {model: promql, k: 3}}}}\n";
        let overlay = |entry: &str| -> OverlayV1 {
            serde_yaml_ng::from_str(&format!(
                "apiVersion: alertlab/v1\nkind: TunedOverlay\nspec: {{file: s.yaml, fnv1a64: '0'}}\nalerts: {{a: {entry}}}\n"
            ))
            .unwrap()
        };
        let path = Path::new("s.tuned.yaml");
        let refused = |entry: &str| {
            apply(path, &overlay(entry), &mut raw(spec))
                .unwrap_err()
                .message
        };
        assert!(refused("{dev: {metric: {cloudwatch: {period: 300}}}}")
            .contains("`metric.cloudwatch`, which the spec no longer has"));
        assert!(refused("{dev: {condition: {anomaly: {k: 4}}}}")
            .contains("a condition `anomaly`, but the spec's condition is `threshold`"));
        assert!(refused("{prod: {condition: {threshold: {value: 2}}}}")
            .contains("a condition `threshold`, but the spec's condition is `anomaly`"));
        let mut set = raw(spec);
        apply(
            path,
            &overlay("{dev: {condition: {threshold: {value: 2}}, evaluation: {for: 5m}}, prod: {condition: {anomaly: {k: 4}}}}"),
            &mut set,
        )
        .unwrap();
        assert!(set.alerts[0].overrides["dev"].condition.is_some());
    }

    #[test]
    fn fingerprints_are_fnv1a() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a64(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64(b"a"), "af63dc4c8601ec8c");
    }
}
