//! The notebook runner (`scripts/run_notebooks.py`, nbclient on an ipykernel kernel) fails on what
//! must fail: a cell that raises, a notebook committed with outputs, a notebook without a chart. The
//! test command runs it over `notebooks/` itself; this checks the runner is not a rubber stamp.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::root;

/// The venv Python the test command creates (`ALERTLAB_PYTHON`, else `.venv/bin/python`).
fn python() -> PathBuf {
    let path = std::env::var_os("ALERTLAB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/test.sh, which creates the venv with nbclient and ipykernel",
        path.display()
    );
    path
}

fn notebook(dir: &Path, name: &str, cells: &[(&str, serde_json::Value)]) -> PathBuf {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .enumerate()
        .map(|(i, (source, outputs))| {
            serde_json::json!({
                "cell_type": "code", "id": format!("c{i}"), "metadata": {},
                "execution_count": null, "outputs": outputs, "source": source,
            })
        })
        .collect();
    let nb = serde_json::json!({
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&nb).unwrap()).unwrap();
    path
}

fn run(nb: &Path) -> (bool, String) {
    let out = Command::new(python())
        .arg(root().join("scripts/run_notebooks.py"))
        .arg(nb)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const CHART: &str = "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\nfrom IPython.display import Image, display\nplt.plot([1, 2]); plt.savefig('c.png'); display(Image(filename='c.png'))";

#[test]
fn the_notebook_runner_fails_on_a_broken_cell_stored_outputs_and_no_chart() {
    let dir = tempfile::tempdir().unwrap();
    let empty = serde_json::json!([]);
    let good = notebook(dir.path(), "good.ipynb", &[(CHART, empty.clone())]);
    let (ok, log) = run(&good);
    assert!(ok, "a clean notebook with a chart passes:\n{log}");

    let broken = notebook(
        dir.path(),
        "broken.ipynb",
        &[
            (CHART, empty.clone()),
            ("raise ValueError('deliberately broken')", empty.clone()),
        ],
    );
    let (ok, log) = run(&broken);
    assert!(!ok, "a raising cell fails the run:\n{log}");
    assert!(log.contains("deliberately broken"), "{log}");

    let stored = serde_json::json!([{"output_type": "stream", "name": "stdout", "text": "hi\n"}]);
    let dirty = notebook(dir.path(), "dirty.ipynb", &[(CHART, stored)]);
    let (ok, log) = run(&dirty);
    assert!(!ok && log.contains("stored with outputs"), "{log}");

    let no_chart = notebook(dir.path(), "plain.ipynb", &[("print(1)", empty)]);
    let (ok, log) = run(&no_chart);
    assert!(!ok && log.contains("no chart"), "{log}");
}
