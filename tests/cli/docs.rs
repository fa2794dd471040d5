//! Documentation generated from the code: the spec reference is current, shell completions are
//! valid scripts that know the subcommands, and the man pages render.

use std::process::Command as Process;

use predicates::prelude::*;

use super::{alertlab, root};

#[test]
fn the_committed_spec_reference_is_current() {
    alertlab()
        .current_dir(root())
        .args([
            "spec-reference",
            "--check",
            "--out",
            "docs/spec-reference.md",
        ])
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("ref.md");
    std::fs::write(&stale, "# old\n").unwrap();
    alertlab()
        .args(["spec-reference", "--check", "--out"])
        .arg(&stale)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not the spec reference of this build",
        ));
}

#[test]
fn completions_are_valid_scripts_that_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = alertlab().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in ["backtest", "tune", "plot", "generate", "spec-reference"] {
            assert!(script.contains(sub), "{shell} completion knows `{sub}`");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("alertlab.bash");
            std::fs::write(&path, &script).unwrap();
            let check = Process::new("bash").arg("-n").arg(&path).output().unwrap();
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    alertlab()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("possible values"));
}

#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    alertlab()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let main = std::fs::read_to_string(dir.path().join("alertlab.1")).unwrap();
    assert!(main.contains(".TH alertlab 1"), "{main}");
    for sub in ["backtest", "tune", "plot", "report", "generate"] {
        let page = std::fs::read_to_string(dir.path().join(format!("alertlab-{sub}.1"))).unwrap();
        assert!(page.contains(&format!(".TH alertlab-{sub} 1")));
        assert!(page.contains("OPTIONS"), "alertlab-{sub}.1 lists options");
    }
}
