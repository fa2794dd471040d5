"""Execute every notebook's code cells in order (standard library only), so notebooks stay runnable.

Usage: python3 scripts/run_notebooks.py [notebooks/*.ipynb]
"""
import json
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
paths = [pathlib.Path(p) for p in sys.argv[1:]] or sorted((root / "notebooks").glob("*.ipynb"))
for path in paths:
    nb = json.loads(path.read_text())
    scope = {"__name__": "__main__"}
    print(f"--- {path.name}")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), scope)
print(f"{len(paths)} notebook(s) ran")
