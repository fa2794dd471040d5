"""What every notebook here shares: where the repository and the `alertlab` binary are, running it,
and showing its charts inline.

The binary is `$ALERTLAB_BIN`, else `alertlab` on `PATH`, else `target/release/alertlab` of this
repository (`cargo build --release`). A failed command raises with alertlab's own message.
"""

import atexit
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def binary() -> str:
    explicit = os.environ.get("ALERTLAB_BIN")
    if explicit:
        return explicit
    on_path = shutil.which("alertlab")
    if on_path:
        return on_path
    built = ROOT / "target" / "release" / "alertlab"
    if built.exists():
        return str(built)
    raise FileNotFoundError("alertlab not found: put it on PATH or run `cargo build --release`")


def workdir() -> pathlib.Path:
    """A scratch folder for the notebook's files, removed when its kernel exits (a notebook run
    again, or by many users, leaves nothing behind in the temporary folder)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="alertlab-nb-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def run(*args, cwd=None) -> str:
    """Run `alertlab ARGS...` and return its standard output."""
    cmd = [binary(), *map(str, args)]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def run_json(*args, cwd=None):
    """Run an alertlab command that prints JSON (`--format json`) and parse it."""
    return json.loads(run(*args, cwd=cwd))


def show_png(path):
    """Display a PNG chart inline (an image output of the cell)."""
    from IPython.display import Image, display

    display(Image(filename=str(path)))
