//! The bad-input corpus: every file in `tests/bad_input/` is one case — what it tries, the command
//! line, the files it needs, the exit code and fragments the message must contain. Each runs in its
//! own folder. No case may panic, abort or hang, and a failed `generate` writes nothing.

use std::path::Path;
use std::time::Duration;

use super::{alertlab, root};

#[derive(serde::Deserialize)]
struct Case {
    what: String,
    args: Vec<String>,
    code: i32,
    stderr: Vec<String>,
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
}

#[test]
fn every_bad_input_case_fails_cleanly_with_its_message() {
    let dir = root().join("tests/bad_input");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 30,
        "the corpus has {} cases",
        entries.len()
    );
    let mut failures = Vec::new();
    for path in &entries {
        let case: Case = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let work = tempfile::tempdir().unwrap();
        for (name, text) in &case.files {
            let file = work.path().join(name);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
        }
        let out = alertlab()
            .current_dir(work.path())
            .args(&case.args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = path.file_stem().unwrap().to_string_lossy();
        let mut problems = Vec::new();
        if out.status.code() != Some(case.code) {
            problems.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                case.code
            ));
        }
        for fragment in &case.stderr {
            if !stderr.contains(fragment.as_str()) {
                problems.push(format!("message lacks `{fragment}`"));
            }
        }
        for crash in [
            "panicked",
            "memory allocation",
            "stack backtrace",
            "RUST_BACKTRACE",
        ] {
            if stderr.contains(crash) {
                problems.push(format!("crashed ({crash})"));
            }
        }
        if case.code != 0 && Path::new(&work.path().join("out")).exists() {
            problems.push("a failed run wrote `out`".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name} ({}): {}\n  stderr: {}",
                case.what,
                problems.join("; "),
                stderr.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
