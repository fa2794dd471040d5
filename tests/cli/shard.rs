//! Sharding: `--shard i/n` runs of backtest and tune, combined by `alertlab merge`, give byte for
//! byte the JSON of one run over all series — for several shard counts (several partitions of the
//! series), several series per file, missing values and every engine.

use std::path::Path;

use predicates::prelude::*;

use super::alertlab;

const SPEC: &str = "apiVersion: alertlab/v1
kind: AlertSet
metadata: {name: fleet}
environments:
  dev: {account: \"111111111111\", region: eu-west-1}
  prod: {account: \"222222222222\", region: eu-west-1}
alerts:
  - name: band
    metric: {cloudwatch: {namespace: F, name: m, stat: Average, period: 300}}
    condition: {anomaly: {model: seasonal, k: 3, direction: above}}
    evaluation: {datapoints_to_alarm: 2, evaluation_periods: 3, treat_missing_data: breaching}
    backtest: {data: fleet.csv}
  - name: ceiling
    metric: {cloudwatch: {namespace: F, name: m, stat: Maximum, period: 60}, prometheus: {expr: m}}
    condition: {threshold: {op: '>', value: 700}}
    evaluation: {for: 2m}
    backtest: {data: fleet.csv}
  - name: promql-band
    metric: {prometheus: {expr: m}}
    condition: {anomaly: {model: promql, k: 3, window: 30m, direction: both}}
    backtest: {data: fleet.csv}
";

/// A fleet file: 23 series over four days, with gaps.
fn fleet(dir: &Path) {
    alertlab()
        .current_dir(dir)
        .args([
            "synth",
            "--series",
            "23",
            "--days",
            "4",
            "--missing-rate",
            "0.02",
            "--out",
            "fleet.csv",
        ])
        .assert()
        .success();
    std::fs::write(dir.join("s.yaml"), SPEC).unwrap();
}

fn run(dir: &Path, args: &[&str], out: &str) {
    alertlab()
        .current_dir(dir)
        .args(args)
        .args(["--spec", "s.yaml", "--format", "json", "--out", out])
        .assert()
        .success();
}

#[test]
fn merged_shards_are_byte_for_byte_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fleet(p);
    let commands: [&[&str]; 2] = [
        &["backtest"],
        &[
            "tune",
            "--inject",
            "spike:4,shift:3",
            "--all",
            "--budget",
            "3",
        ],
    ];
    for cmd in commands {
        run(p, cmd, "whole.json");
        let whole = std::fs::read(p.join("whole.json")).unwrap();
        for n in [1, 2, 3, 5] {
            let mut parts = Vec::new();
            for i in 1..=n {
                let part = format!("part{i}of{n}.json");
                let shard = format!("{i}/{n}");
                let mut args = cmd.to_vec();
                args.extend(["--shard", shard.as_str()]);
                run(p, &args, &part);
                parts.push(part);
            }
            alertlab()
                .current_dir(p)
                .arg("merge")
                .args(&parts)
                .args(["--format", "json", "--out", "merged.json"])
                .assert()
                .success();
            let merged = std::fs::read(p.join("merged.json")).unwrap();
            assert!(
                merged == whole,
                "{} merged from {n} shards differs from one run",
                cmd[0]
            );
        }
    }
}

#[test]
fn shard_auto_reads_the_schedulers_index_and_merge_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fleet(p);
    // Kubernetes Indexed Job index 1 (0-based) is shard 2/3.
    alertlab()
        .current_dir(p)
        .env("JOB_COMPLETION_INDEX", "1")
        .args([
            "backtest",
            "--spec",
            "s.yaml",
            "--format",
            "json",
            "--shard",
            "auto/3",
            "--out",
            "auto.json",
        ])
        .assert()
        .success();
    run(p, &["backtest", "--shard", "2/3"], "explicit.json");
    assert_eq!(
        std::fs::read(p.join("auto.json")).unwrap(),
        std::fs::read(p.join("explicit.json")).unwrap()
    );
    alertlab()
        .current_dir(p)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .args(["backtest", "--spec", "s.yaml", "--shard", "auto/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("JOB_COMPLETION_INDEX"));
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml", "--shard", "4/3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
    // A tune output without shard tallies, overlapping inputs, or a mix of kinds.
    run(p, &["tune"], "plain-tune.json");
    alertlab()
        .current_dir(p)
        .args(["merge", "plain-tune.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has no `pool`"));
    alertlab()
        .current_dir(p)
        .args(["merge", "explicit.json", "explicit.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the inputs overlap"));
    alertlab()
        .current_dir(p)
        .args(["merge", "explicit.json", "plain-tune.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("all of one kind"));
    // A tune shard given twice would count its series twice: refused, the series named.
    run(p, &["tune", "--shard", "2/3"], "tune-2.json");
    alertlab()
        .current_dir(p)
        .args(["merge", "tune-2.json", "tune-2.json"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("is in two of the shards: the inputs overlap")
                .and(predicate::str::contains("series `")),
        );
    // A shard output cut short, or whose results are no backtest results: exit 2 naming it.
    let whole = std::fs::read_to_string(p.join("explicit.json")).unwrap();
    std::fs::write(p.join("cut.json"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(p.join("numbers.json"), "{\"results\": [1, 2]}").unwrap();
    for (file, said) in [
        ("cut.json", "not a JSON report (EOF while parsing"),
        (
            "numbers.json",
            "a result without the `alert`, `env`, `engine` and `series`",
        ),
    ] {
        alertlab()
            .current_dir(p)
            .args(["merge", file])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains(format!("`{file}` line "))
                    .and(predicate::str::contains(said)),
            );
    }
    for (flag, value) in [("--write", None), ("--chart", Some("charts"))] {
        alertlab()
            .current_dir(p)
            .args(["tune", "--spec", "s.yaml", "--shard", "1/2", flag])
            .args(value)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("`{flag}` with `--shard`")));
    }
    assert!(!p.join("charts").exists(), "nothing drawn");
}
