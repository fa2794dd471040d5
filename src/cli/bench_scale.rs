//! `alertlab bench scale`: a fleet backtest from Parquet as separate processes, so each run's peak
//! memory is its own (`wait4`'s max RSS): streamed (`--memory`) against the whole file read at
//! once, then four shards merged — each checked to give the same bytes as the whole-file run. The
//! time baseline is reading the file's bytes in the same run. Default: the `--series` of the bench
//! (1,000); `--full`: 100,000 series streamed, and the comparisons on 10,000.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::bench::report;

/// One alarm with a seasonal band and one static threshold, both CloudWatch, over `data`.
fn spec(dir: &Path, data: &Path) -> anyhow::Result<std::path::PathBuf> {
    let spec = dir.join("scale.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {{name: scale}}\nalerts:\n  - name: band\n    metric: {{cloudwatch: {{namespace: Bench, name: m, stat: Average, period: 300}}}}\n    condition: {{anomaly: {{model: seasonal, k: 3, direction: above}}}}\n    evaluation: {{datapoints_to_alarm: 3, evaluation_periods: 5}}\n    backtest: {{data: {}}}\n  - name: ceiling\n    metric: {{cloudwatch: {{namespace: Bench, name: m, stat: Maximum, period: 60}}}}\n    condition: {{threshold: {{op: '>', value: 900}}}}\n    backtest: {{data: {}}}\n",
            serde_json::to_string(&data.to_string_lossy())?,
            serde_json::to_string(&data.to_string_lossy())?
        ),
    )?;
    Ok(spec)
}

/// Run `alertlab ARGS` as a child: seconds and peak RSS in bytes.
fn child(args: &[&str]) -> anyhow::Result<(f64, u64)> {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    // Its messages go to a file, shown only if it fails.
    let log = tempfile::tempfile()?;
    let mut proc = Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(log.try_clone()?)
        .spawn()?;
    let pid = proc.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; `pid` is our own child, waited once here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = start.elapsed().as_secs_f64();
    if waited != pid {
        proc.wait()?;
        anyhow::bail!("could not wait for `alertlab {}`", args.join(" "));
    }
    let exit = std::process::ExitStatus::from_raw(status);
    if !exit.success() {
        use std::io::{Read, Seek};
        let mut log = log;
        let mut text = String::new();
        log.rewind()?;
        log.read_to_string(&mut text)?;
        anyhow::bail!("`alertlab {}` failed ({exit}):\n{text}", args.join(" "));
    }
    // ru_maxrss is in kilobytes on Linux.
    Ok((secs, usage.ru_maxrss as u64 * 1024))
}

/// Read a file's bytes through a small buffer (the time baseline). Never into one buffer: a child
/// spawned later inherits this process' peak RSS in its own `ru_maxrss` (exec records the parent's
/// high-water mark when the child shares its memory until exec), which would inflate the figures.
fn read_through(path: &Path) -> anyhow::Result<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

fn same(a: &Path, b: &Path) -> anyhow::Result<&'static str> {
    Ok(if std::fs::read(a)? == std::fs::read(b)? {
        "same bytes"
    } else {
        "DIFFERENT OUTPUT"
    })
}

/// Generate `series` × `points` into a Parquet file in `dir` (a slice at a time) and its size.
fn fleet(dir: &Path, series: usize, points: usize) -> anyhow::Result<(std::path::PathBuf, u64)> {
    let data = dir.join(format!("fleet-{series}.parquet"));
    let days = format!("{}", points as f64 / 1440.0);
    child(&[
        "synth",
        "--series",
        &series.to_string(),
        "--days",
        &days,
        "--seed",
        "42",
        "--out",
        &data.to_string_lossy(),
    ])?;
    let bytes = std::fs::metadata(&data)?.len();
    Ok((data, bytes))
}

pub fn bench_scale(series: usize, points: usize, full: bool, memory: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let compare_series = if full { 10_000 } else { series };
    let (data, bytes) = fleet(dir.path(), compare_series, points)?;
    let spec = spec(dir.path(), &data)?;
    let spec_arg = spec.to_string_lossy().to_string();
    let out = |name: &str| dir.path().join(name).to_string_lossy().to_string();
    let start = Instant::now();
    let read = read_through(&data)?;
    let baseline = start.elapsed().as_secs_f64();
    println!(
        "scale: {compare_series} series × {points} points, Parquet {} (baseline: reading its {read} bytes)",
        mb(bytes)
    );
    let run = |memory: &str, file: &str, extra: &[&str]| {
        let mut args = vec![
            "backtest", "--spec", &spec_arg, "--format", "json", "--memory", memory, "--out", file,
        ];
        args.extend_from_slice(extra);
        child(&args)
    };
    let whole_out = out("whole.json");
    let (whole_s, whole_rss) = run("1T", &whole_out, &[])?;
    report(
        &format!("scale backtest {compare_series} series, whole file"),
        whole_s,
        baseline,
        &format!("peak RSS {}", mb(whole_rss)),
    );
    let streamed_out = out("streamed.json");
    let (streamed_s, streamed_rss) = run(memory, &streamed_out, &[])?;
    report(
        &format!("scale backtest {compare_series} series, --memory {memory}"),
        streamed_s,
        baseline,
        &format!(
            "peak RSS {} ({:.2}× the whole file's), {}",
            mb(streamed_rss),
            streamed_rss as f64 / whole_rss.max(1) as f64,
            same(Path::new(&whole_out), Path::new(&streamed_out))?
        ),
    );
    let mut parts = Vec::new();
    let mut shard_s = 0.0f64;
    let mut shard_rss = 0u64;
    for i in 1..=4 {
        let part = out(&format!("shard{i}.json"));
        let shard = format!("{i}/4");
        let (s, rss) = run(memory, &part, &["--shard", &shard])?;
        shard_s = shard_s.max(s);
        shard_rss = shard_rss.max(rss);
        parts.push(part);
    }
    let merged_out = out("merged.json");
    let mut merge_args = vec!["merge"];
    merge_args.extend(parts.iter().map(String::as_str));
    merge_args.extend(["--format", "json", "--out", &merged_out]);
    let (merge_s, _) = child(&merge_args)?;
    report(
        "scale 4 shards (slowest) + merge",
        shard_s + merge_s,
        baseline,
        &format!(
            "peak RSS per shard {}, {}",
            mb(shard_rss),
            same(Path::new(&whole_out), Path::new(&merged_out))?
        ),
    );
    if full {
        drop(std::fs::remove_file(&data));
        let (big, big_bytes) = fleet(dir.path(), 100_000, points)?;
        let big_spec = self::spec(dir.path(), &big)?;
        let big_spec_arg = big_spec.to_string_lossy().to_string();
        let start = Instant::now();
        let read = read_through(&big)?;
        let big_baseline = start.elapsed().as_secs_f64();
        let big_out = out("big.json");
        let (s, rss) = child(&[
            "backtest",
            "--spec",
            &big_spec_arg,
            "--format",
            "json",
            "--memory",
            memory,
            "--out",
            &big_out,
        ])?;
        report(
            &format!("scale backtest 100000 series, --memory {memory}"),
            s,
            big_baseline,
            &format!(
                "peak RSS {}, Parquet {} ({read} bytes read as baseline), report {}",
                mb(rss),
                mb(big_bytes),
                mb(std::fs::metadata(&big_out)?.len())
            ),
        );
    }
    Ok(())
}
