"""Layer rules from DESIGN.md: imports only point down, and Home stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_lower_layers_never_import_textual():
    for package in ("engine", "content", "quizzes"):
        bad = [(f, m) for f, m in imported_modules(package) if m in ("textual", "tutor")]
        assert bad == [], f"{package} imports the UI layer: {bad}"


def test_engine_imports_only_itself_numpy_numba_and_stdlib():
    # platformdirs: engine/runtime.py puts numba's cache in the user cache folder (issue 10);
    # threadpoolctl: the same module sizes the BLAS pool with numba's (issue 18).
    allowed = {"engine", "numpy", "numba", "platformdirs", "threadpoolctl", "__future__"}
    allowed |= set(sys.stdlib_module_names)
    bad = [(f, m) for f, m in imported_modules("engine") if m not in allowed]
    assert bad == [], bad


def test_content_and_quizzes_do_not_import_engine():
    for package in ("content", "quizzes"):
        bad = [(f, m) for f, m in imported_modules(package) if m in ("engine", "numba", "numpy")]
        assert bad == [], bad


def test_home_screen_does_not_import_engine_or_numba():
    code = (
        "import sys\n"
        "import tutor.app, tutor.screens.home, tutor.cli\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'numba', 'numpy'))\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
