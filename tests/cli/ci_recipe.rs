//! The CI recipes in `docs/ci/` are valid YAML, every `alertlab` command they run works on a project
//! laid out as they assume (`alerts/`, `data/`, `generated/`), their promtool commands pass, and the
//! per-stage Terraform root module is `terraform fmt`-clean HCL that sets the generated module's
//! variables.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::{alertlab, root};

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
