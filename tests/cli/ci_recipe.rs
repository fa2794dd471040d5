//! The recipes in `docs/` run as written. CI (`docs/ci/`): valid YAML, every `alertlab` command
//! works on a project laid out as they assume (`alerts/`, `data/`, `generated/`), their promtool
//! commands pass, and the per-stage Terraform root module is `terraform fmt`-clean HCL that sets the
//! generated module's variables. Fleet runs (`docs/scale/`): the GitHub Actions matrix and the
//! Kubernetes Indexed Job run their shard commands here with 4 shards, merge them, and get exactly
//! one run's JSON; the Jobs validate against Kubernetes' batch/v1 schema.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::{alertlab, root, stdout_of};

/// The shell lines of a workflow: every `run:` (GitHub Actions) and `script:` item (GitLab CI).
fn shell_lines(doc: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match doc {
        serde_yaml_ng::Value::Mapping(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    (Some("run"), serde_yaml_ng::Value::String(s)) => {
                        out.extend(s.lines().map(str::to_string))
                    }
                    (Some("script" | "before_script"), serde_yaml_ng::Value::Sequence(items)) => {
                        out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
                    }
                    _ => shell_lines(v, out),
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => items.iter().for_each(|i| shell_lines(i, out)),
        _ => {}
    }
}

/// A copy of the bundled project as the recipes expect it, with `generated/` made.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    copy(&root().join("alerts"), &dir.path().join("alerts"));
    copy(&root().join("data"), &dir.path().join("data"));
    alertlab()
        .current_dir(dir.path())
        .args(["generate", "--spec", "alerts", "--out", "generated"])
        .assert()
        .success();
    dir
}

fn sh(cwd: &Path, line: &str, alertlab_dir: &Path) -> std::process::Output {
    let path = format!(
        "{}:{}",
        alertlab_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Process::new("bash")
        .args(["-euo", "pipefail", "-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn every_alertlab_and_promtool_command_of_the_ci_recipes_runs() {
    let bin: PathBuf = assert_cmd::cargo::cargo_bin("alertlab");
    let bin_dir = bin.parent().unwrap().to_path_buf();
    for recipe in ["github-actions.yml", "gitlab-ci.yml"] {
        let text = std::fs::read_to_string(root().join("docs/ci").join(recipe)).unwrap();
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{recipe} is not YAML: {e}"));
        let mut lines = Vec::new();
        shell_lines(&doc, &mut lines);
        let runnable: Vec<&String> = lines
            .iter()
            .filter(|l| {
                let l = l.trim_start();
                l.starts_with("alertlab ") || l.starts_with("promtool ")
            })
            .collect();
        assert!(
            runnable.len() >= 5,
            "{recipe}: the recipe runs alertlab and promtool ({runnable:?})"
        );
        let dir = project();
        for line in runnable {
            let out = sh(dir.path(), line, &bin_dir);
            assert!(
                out.status.success(),
                "{recipe}: `{line}` failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for artifact in ["tune.json", "report.html"] {
            assert!(
                dir.path().join(artifact).exists(),
                "{recipe} makes {artifact}"
            );
        }
    }
}

#[test]
fn the_stage_root_module_is_fmt_clean_hcl_setting_the_generated_variables() {
    let tf = root().join("docs/ci/infra-stage.tf");
    for command in ["fmt-check", "parse"] {
        let out = Process::new("node")
            .arg(root().join("scripts/hcl/hcl.js"))
            .arg(command)
            .arg(&tf)
            .output()
            .expect("node runs scripts/hcl/hcl.js (scripts/test.sh installs its packages)");
        assert!(
            out.status.success(),
            "{command}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&tf).unwrap();
    let variables =
        std::fs::read_to_string(root().join("examples/_gen/terraform/lambda/variables.tf"))
            .unwrap();
    for var in ["stage", "tags"] {
        assert!(text.contains(&format!("  {var} ")) || text.contains(&format!("  {var}=")));
        assert!(
            variables.contains(&format!("variable \"{var}\"")),
            "the generated module declares `{var}`"
        );
    }
}

/// The single-run JSON of `args` in `dir`.
fn one_run(dir: &Path, args: &[&str]) -> Vec<u8> {
    stdout_of(
        alertlab()
            .current_dir(dir)
            .args(args)
            .args(["--format", "json"]),
    )
}

#[test]
fn the_github_matrix_shards_merge_into_one_run() {
    let bin_dir = assert_cmd::cargo::cargo_bin("alertlab")
        .parent()
        .unwrap()
        .to_path_buf();
    let text =
        std::fs::read_to_string(root().join("docs/scale/github-actions-matrix.yml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let shards = doc["jobs"]["shard"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .len();
    assert_eq!(shards, 4);
    let commands = |job: &str| {
        let mut lines = Vec::new();
        shell_lines(&doc["jobs"][job], &mut lines);
        lines
            .into_iter()
            .filter(|l| l.trim_start().starts_with("alertlab "))
            .collect::<Vec<_>>()
    };
    let dir = project();
    for i in 1..=shards {
        for line in commands("shard") {
            let line = line.replace("${{ matrix.shard }}", &i.to_string());
            let out = sh(dir.path(), &line, &bin_dir);
            assert!(
                out.status.success(),
                "`{line}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let merges = commands("merge");
    assert!(merges.len() >= 2, "{merges:?}");
    for line in merges {
        let out = sh(dir.path(), &line, &bin_dir);
        assert!(
            out.status.success(),
            "`{line}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let p = dir.path();
    assert!(
        std::fs::read(p.join("backtest.json")).unwrap()
            == one_run(p, &["backtest", "--spec", "alerts"]),
        "merged backtest = one run"
    );
    assert!(
        std::fs::read(p.join("tune.json")).unwrap()
            == one_run(p, &["tune", "--spec", "alerts", "--budget", "2"]),
        "merged tune = one run"
    );
}

#[test]
fn the_kubernetes_indexed_job_validates_and_its_shards_merge_into_one_run() {
    let manifest = root().join("docs/scale/k8s-indexed-job.yaml");
    let out = Process::new("node")
        .arg(root().join("scripts/k8s/validate.js"))
        .arg(&manifest)
        .output()
        .expect("node runs scripts/k8s/validate.js (scripts/test.sh installs its packages)");
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && log.contains("2 objects"), "{log}");
    let bin_dir = assert_cmd::cargo::cargo_bin("alertlab")
        .parent()
        .unwrap()
        .to_path_buf();
    let text = std::fs::read_to_string(&manifest).unwrap();
    let jobs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let script = |job: &serde_yaml_ng::Value| {
        job["spec"]["template"]["spec"]["containers"][0]["args"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (shard_job, merge_job) = (&jobs[0], &jobs[1]);
    assert_eq!(
        shard_job["spec"]["completionMode"].as_str(),
        Some("Indexed")
    );
    let completions = shard_job["spec"]["completions"].as_u64().unwrap();
    let dir = project();
    let p = dir.path();
    // The pod's working directory is the volume: here, the project copy.
    for index in 0..completions {
        let out = Process::new("sh")
            .args(["-c", &script(shard_job)])
            .current_dir(p)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin_dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "shard {index}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = sh(p, &script(merge_job), &bin_dir);
    assert!(
        out.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(p.join("out/backtest.json")).unwrap()
            == one_run(p, &["backtest", "--spec", "alerts"]),
        "merged backtest = one run"
    );
    assert!(
        std::fs::read(p.join("out/tune.json")).unwrap()
            == one_run(p, &["tune", "--spec", "alerts", "--budget", "2"]),
        "merged tune = one run"
    );
}
