//! Generators: spec → files. Every generator builds typed structures and serialises them, so output
//! is byte-for-byte deterministic (sorted maps, stable order) and starts with a header naming
//! alertlab and the source spec.

pub mod go_template;
pub mod hclfmt;
pub mod prometheus;
pub mod promtool;
pub mod terraform;

use std::path::{Path, PathBuf};

/// One generated file: a path relative to the output folder and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Why a spec cannot be generated for a target.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("alert `{alert}`, env `{env}`: cannot generate for {target}: {reason}")]
pub struct EmitError {
    pub alert: String,
    pub env: String,
    pub target: &'static str,
    pub reason: String,
}

/// The spec path as written in headers: relative to the current folder when possible, `/`-separated.
pub fn spec_label(source: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|c| source.strip_prefix(c).ok())
        .unwrap_or(source);
    rel.to_string_lossy().replace('\\', "/")
}

/// Shortest decimal that reads back as the same number (`900`, `2.5`).
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
