//! Fetching metric history from where it lives: CloudWatch (`cloudwatch`, GetMetricData through
//! the AWS SDK) and a Prometheus server's HTTP API (`prometheus`).
//! Output is in exactly the format the loaders read (long layout Parquet or CSV), written
//! atomically, with a sidecar `<out>.meta.json` saying what was fetched.

pub mod cloudwatch;
pub mod prometheus;

use std::path::{Path, PathBuf};

/// Where the sidecar of `out` goes: `F.parquet` → `F.parquet.meta.json`.
pub fn meta_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".meta.json");
    out.with_file_name(name)
}
