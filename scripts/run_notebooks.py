"""Run every notebook on a real Jupyter kernel (nbclient + ipykernel), as a user's Jupyter would.

Usage: python scripts/run_notebooks.py [--max-seconds S] [--save-executed DIR] [notebooks/*.ipynb]

Each notebook must be stored without outputs (clean diffs): a stored output or execution count is an
error. Executed in its own folder with `target/release` on PATH, every cell must succeed (a cell
error fails the run and prints the cell and the traceback), every notebook must produce at least one
chart (an image output), finish within `--max-seconds` (default 60) and leave nothing in its
temporary folder once its kernel has exited. Exit 0 when all pass, 1 otherwise.
"""

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parent.parent


def stored_outputs(nb) -> list:
    """Cells committed with outputs or execution counts."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def images(nb) -> int:
    """Image outputs (charts) of an executed notebook."""
    return sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if any(k.startswith("image/") for k in out.get("data", {}))
    )


def run(path: pathlib.Path, max_seconds: float, save_to) -> list:
    """Problems with one notebook (empty when it passes)."""
    nb = nbformat.read(path, as_version=4)
    dirty = stored_outputs(nb)
    if dirty:
        return [f"stored with outputs in cells {dirty}: clear them before committing"]
    started = time.monotonic()
    # The kernel talks over Unix sockets in a private folder, not loopback TCP, and its temporary
    # files go to a folder of their own there, which must be empty once the kernel has exited.
    sockets = tempfile.mkdtemp(prefix="alertlab-kernel-")
    scratch = os.path.join(sockets, "tmp")
    os.mkdir(scratch)
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=max(2 * max_seconds, 120),
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env={**os.environ, "TMPDIR": scratch})
    except CellExecutionError as e:
        return [f"a cell failed:\n{e}"]
    finally:
        if km.has_kernel:
            # A polite shutdown, as Jupyter's own, so the kernel's exit handlers run.
            km.shutdown_kernel(now=False)
        left_behind = sorted(os.listdir(scratch))
        shutil.rmtree(sockets, ignore_errors=True)
        if save_to is not None:
            save_to.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, save_to / path.name)
    seconds = time.monotonic() - started
    problems = []
    if left_behind:
        problems.append(f"left temporary files behind after its kernel exited: {left_behind}")
    if images(nb) == 0:
        problems.append("produced no chart (no image output)")
    if seconds > max_seconds:
        problems.append(f"took {seconds:.0f} s; the limit is {max_seconds:.0f} s")
    print(f"{path.name}: ok in {seconds:.1f} s, {images(nb)} chart(s)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--save-executed", type=pathlib.Path, metavar="DIR",
                        help="also write each executed notebook (with outputs) into DIR")
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    # The notebooks find `alertlab` on PATH (alertlab_nb.binary); the freshly built one comes first.
    os.environ["PATH"] = f"{ROOT / 'target' / 'release'}{os.pathsep}{os.environ.get('PATH', '')}"
    failed = 0
    for path in paths:
        problems = run(path, args.max_seconds, args.save_executed)
        for p in problems:
            print(f"{path.name}: {p}", file=sys.stderr)
        failed += bool(problems)
    print(f"{len(paths)} notebook(s) run on a kernel, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
