//! Alert specs (`alerts/*.yaml`): reading, strict decoding by `apiVersion`, and resolution into the
//! version-free [`model`] per environment.
//!
//! Reading goes header first (`apiVersion`, `kind`), then the matching strict decoder. JSON is YAML,
//! so JSON specs load the same way. Every error names the file and line and, for unknown keys, the
//! nearest valid key.

mod decode;
pub mod model;
pub mod overlay;
pub mod reference;
mod resolve;
pub mod tunable;
pub mod v1;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use model::*;
pub use resolve::{evaluation_limit_s, is_cloudwatch_period};

/// The versions this build reads.
pub const API_VERSIONS: &[&str] = &["alertlab/v1"];

/// A spec that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "`{}` line {line}: {}", self.path.display(), self.message)?,
            None => write!(f, "`{}`: {}", self.path.display(), self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
}

/// How specs are loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Merge the tuned overlay (`<spec>.tuned.yaml`) when there is one.
    pub tuned: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { tuned: true }
    }
}

/// Load one spec file (with its tuned overlay, when there is one).
pub fn load_file(path: &Path) -> Result<AlertSet, SpecError> {
    load_file_with(path, LoadOptions::default())
}

/// Load one spec file.
pub fn load_file_with(path: &Path, opts: LoadOptions) -> Result<AlertSet, SpecError> {
    let err = |line, message: String, hint: Option<String>| SpecError {
        path: path.to_path_buf(),
        line,
        message,
        hint,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(None, format!("cannot read the spec: {e}"), None))?;
    if text.trim().is_empty() {
        return Err(err(
            None,
            "the spec is empty".into(),
            Some("start from `alerts/lambda.yaml`".into()),
        ));
    }
    let header: Header = serde_yaml_ng::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    match header.api_version.as_deref() {
        Some("alertlab/v1") => {}
        Some(other) => {
            return Err(err(
                find_line(&text, &["apiVersion"]),
                format!("unknown `apiVersion` `{other}`"),
                Some(format!("this alertlab reads {}", API_VERSIONS.join(", "))),
            ))
        }
        None => {
            return Err(err(
                Some(1),
                "missing `apiVersion`".into(),
                Some("start the file with `apiVersion: alertlab/v1` and `kind: AlertSet`".into()),
            ))
        }
    }
    if header.kind.as_deref() != Some("AlertSet") {
        return Err(err(
            find_line(&text, &["kind"]),
            format!(
                "`kind` must be `AlertSet`, got `{}`",
                header.kind.unwrap_or_default()
            ),
            None,
        ));
    }
    let mut raw = decode::decode(path, &text)?;
    let mut tuned = None;
    let mut written = None;
    let mut tuned_on_other_spec = false;
    if opts.tuned {
        if let Some((overlay_path, overlay)) = overlay::read(path)? {
            written = Some(raw.clone());
            overlay::apply(&overlay_path, &overlay, &mut raw)?;
            tuned_on_other_spec = overlay.spec.fnv1a64 != overlay::fnv1a64(text.as_bytes());
            tuned = Some(overlay_path);
        }
    }
    let mut set = resolve::resolve(path, &text, raw, written)?;
    set.tuned = tuned;
    set.tuned_on_other_spec = tuned_on_other_spec;
    Ok(set)
}

/// Resolve `alert` in `env` of `set` as if `extra` were merged over the spec's `overrides.<env>`:
/// how `tune` tries a setting, through the same resolution `backtest` and `generate` use.
pub fn resolve_with(
    set: &AlertSet,
    alert: &str,
    env: &str,
    extra: &v1::OverrideV1,
) -> Result<ResolvedAlert, SpecError> {
    resolve::resolve_with(&set.source, &set.raw.text, &set.raw.v1, alert, env, extra)
}

/// Resolve `alert` in `env` of `set` as its author wrote it, without the tuned overlay (the same
/// as [`resolve_with`] and no override when no overlay was merged).
pub fn resolve_as_written(
    set: &AlertSet,
    alert: &str,
    env: &str,
) -> Result<ResolvedAlert, SpecError> {
    let spec = set.raw.written.as_ref().unwrap_or(&set.raw.v1);
    resolve::resolve_with(
        &set.source,
        &set.raw.text,
        spec,
        alert,
        env,
        &v1::OverrideV1::default(),
    )
}

/// Load a spec file, or every `*.yaml`/`*.yml`/`*.json` file in a folder (sorted by name), with
/// their tuned overlays.
pub fn load_path(path: &Path) -> Result<Vec<AlertSet>, SpecError> {
    load_path_with(path, LoadOptions::default())
}

/// [`load_path`] with options.
pub fn load_path_with(path: &Path, opts: LoadOptions) -> Result<Vec<AlertSet>, SpecError> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| SpecError {
                path: path.to_path_buf(),
                line: None,
                message: format!("cannot list the folder: {e}"),
                hint: None,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(".tuned."))
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(SpecError {
                path: path.to_path_buf(),
                line: None,
                message: "no spec files (*.yaml, *.yml, *.json) in this folder".into(),
                hint: None,
            });
        }
        let sets = files
            .iter()
            .map(|f| load_file_with(f, opts))
            .collect::<Result<Vec<_>, _>>()?;
        let mut names: std::collections::HashMap<&str, &Path> = std::collections::HashMap::new();
        for set in &sets {
            for alert in &set.alerts {
                if let Some(other) = names.get(alert.name.as_str()) {
                    return Err(SpecError {
                        path: set.source.clone(),
                        line: None,
                        message: format!(
                            "alert `{}` is also defined in `{}`",
                            alert.name,
                            other.display()
                        ),
                        hint: Some("alert names must be unique across specs".into()),
                    });
                }
                names.insert(&alert.name, &set.source);
            }
        }
        Ok(sets)
    } else {
        Ok(vec![load_file_with(path, opts)?])
    }
}

/// Turn a serde_yaml_ng error into a [`SpecError`] with its line and, for unknown keys, the nearest
/// valid one.
fn yaml_error(path: &Path, e: &serde_yaml_ng::Error) -> SpecError {
    let line = e.location().map(|l| l.line());
    let mut message = e.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let hint = unknown_key_hint(&message);
    SpecError {
        path: path.to_path_buf(),
        line,
        message,
        hint,
    }
}

/// For "unknown field `x`, expected one of `a`, `b`": "did you mean `a`?" (or the valid list).
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (unknown, expected) = rest.split_once('`')?;
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let nearest = valid
        .iter()
        .min_by_key(|v| strsim::damerau_levenshtein(unknown, v))?;
    if strsim::damerau_levenshtein(unknown, nearest) <= unknown.len().max(3).div_ceil(2) + 1 {
        Some(format!("did you mean `{nearest}`?"))
    } else {
        Some(format!(
            "valid keys here: {}",
            valid
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The line of the last key of `path`, each key searched after the previous one (later on the same
/// line, then on the lines below: flow mappings such as `tune: {k: [2, 3]}` hold several), e.g.
/// `["name: my-alert", "evaluation", "datapoints_to_alarm"]`; `None` if not found.
pub(crate) fn find_line(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let (mut line, mut column) = (0, 0);
    for key in path {
        let (at, end) = lines.iter().enumerate().skip(line).find_map(|(i, l)| {
            let from = if i == line { column } else { 0 };
            key_end(l, from, key).map(|end| (i, end))
        })?;
        (line, column) = (at, end);
    }
    (!path.is_empty()).then_some(line + 1)
}

/// Where `key` ends in `line` at or after byte `from`: `key:` (or JSON's `"key"`) at the start of the
/// line's content or after a space, `{` or `,`. A `name: value` key matches only as a line's first
/// key (`- name: my-alert`, `{"name": "my-alert"`), followed by its value.
fn key_end(line: &str, from: usize, key: &str) -> Option<usize> {
    let rest = line.get(from..)?;
    if let Some((name, value)) = key.split_once(": ") {
        if from > 0 {
            return None;
        }
        let t = line
            .trim_start()
            .trim_start_matches("- ")
            .trim_start_matches('{')
            .trim_start();
        let named = t.starts_with(&format!("{name}:")) || t.starts_with(&format!("\"{name}\""));
        let offset = line.len() - t.len();
        return named
            .then(|| t.find(value))
            .flatten()
            .map(|i| offset + i + value.len());
    }
    let (plain, quoted) = (format!("{key}:"), format!("\"{key}\""));
    let mut search = 0;
    while search < rest.len() {
        let (i, len) = [&plain, &quoted]
            .iter()
            .filter_map(|p| {
                rest[search..]
                    .find(p.as_str())
                    .map(|i| (search + i, p.len()))
            })
            .min()?;
        let before = rest[..i].chars().next_back();
        let at_start = from == 0 && rest[..i].trim_start().trim_start_matches("- ").is_empty();
        if at_start || matches!(before, Some(' ' | '{' | ',' | '\t')) {
            return Some(from + i + len);
        }
        search = i + rest[i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

#[cfg(test)]
mod tests;
