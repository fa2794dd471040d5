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
    /// How it was tuned (budget, objective, incidents): for people, not read back.
    #[serde(default)]
    pub tuning: Option<serde_yaml_ng::Value>,
    /// alert → env → override in the spec's keys.
    pub alerts: BTreeMap<String, BTreeMap<String, v1::OverrideV1>>,
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
        hint: Some("re-create it with `alertlab tune --write`, or delete it".into()),
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
                hint: Some("re-run `alertlab tune --write`, or delete the overlay".into()),
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
                    hint: Some("re-run `alertlab tune --write`, or delete the overlay".into()),
                });
            }
            a.overrides.entry(env.clone()).or_default().merge(over);
        }
    }
    Ok(())
}

/// Why an overlay no longer matches what it was tuned on, if it does not: the spec's bytes or a
/// data file's changed (paths relative to the overlay's folder).
pub fn staleness(overlay_path: &Path, overlay: &OverlayV1) -> Vec<String> {
    let dir = overlay_path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (what, f) in std::iter::once(("the spec", &overlay.spec))
        .chain(overlay.data.iter().map(|d| ("data file", d)))
    {
        let now = std::fs::read(dir.join(&f.file)).map(|b| fnv1a64(&b));
        match now {
            Ok(h) if h == f.fnv1a64 => {}
            Ok(_) => out.push(format!("{what} `{}` changed since it was tuned", f.file)),
            Err(_) => out.push(format!("{what} `{}` is gone", f.file)),
        }
    }
    out
}

/// Write the overlay of `spec`: `entries` (alert → env → override, in the spec's shape) merged over
/// the overlay already there, with fresh fingerprints of the spec and of `data` (the files tuned
/// on) and `tuning` (how). Returns the overlay's path.
pub fn write(
    spec: &Path,
    entries: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    data: &[PathBuf],
    tuning: serde_json::Value,
) -> std::io::Result<PathBuf> {
    use serde_json::{json, Map, Value};
    let path = path_for(spec);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut alerts: Map<String, Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_yaml_ng::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("alerts").and_then(|a| a.as_object()).cloned())
        .unwrap_or_default();
    for (alert, envs) in entries {
        let slot = alerts
            .entry(alert.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        for (env, over) in envs {
            let target = slot
                .as_object_mut()
                .expect("alerts map to objects")
                .entry(env.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            deep_merge(target, over);
        }
    }
    let fingerprint = |file: &Path| -> std::io::Result<Value> {
        Ok(json!({
            "file": relative(dir, file).to_string_lossy().replace('\\', "/"),
            "fnv1a64": fnv1a64(&std::fs::read(file)?),
        }))
    };
    let mut data_prints = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in data {
        if seen.insert(d.clone()) {
            data_prints.push(fingerprint(d)?);
        }
    }
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
    put("data", Value::Array(data_prints));
    put("tuning", tuning);
    put("alerts", Value::Object(alerts));
    let body = serde_yaml_ng::to_string(&doc).expect("mappings serialise");
    let header = format!(
        "# {}\n# Tuned values for `{}`, read by backtest and generate (`--no-tuned` ignores them).\n",
        crate::conventions::header(&crate::emit::spec_label(spec)),
        spec.file_name().and_then(|n| n.to_str()).unwrap_or("")
    );
    crate::fsutil::write_bytes_atomic(&path, (header + &body).as_bytes())?;
    Ok(path)
}

fn deep_merge(target: &mut serde_json::Value, over: &serde_json::Value) {
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

    #[test]
    fn fingerprints_are_fnv1a() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a64(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64(b"a"), "af63dc4c8601ec8c");
    }
}
