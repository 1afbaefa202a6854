"""One clear house: what runs in production (src/humas/, plugins/, dags/) never imports the development
tooling in src/humas_dev/ (the embedded stack, the platform sandbox, the sample item)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("src/humas", "plugins", "dags")
DEV_PACKAGE = "humas_dev"


def dev_imports(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """Every import statement in ``source`` (at any depth, in functions too) that names humas_dev: (line, module)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m == DEV_PACKAGE or m.startswith(f"{DEV_PACKAGE}.")]
    return found


def production_files() -> list[Path]:
    return sorted(path for folder in PRODUCTION for path in (REPO / folder).rglob("*.py"))


def test_the_scan_sees_every_kind_of_import() -> None:
    source = ("import humas_dev\nimport os, humas_dev.stack as s\nfrom humas_dev.sandbox import make_server\n"
              "def f():\n    from humas_dev import sample\n"
              "import humas\nfrom humas import layout\nfrom humas_devious import x\nfrom . import humas_dev\n")
    assert dev_imports(source) == [(1, "humas_dev"), (2, "humas_dev.stack"), (3, "humas_dev.sandbox"),
                                   (5, "humas_dev")]


def test_the_product_holds_no_development_tooling() -> None:
    product = REPO / "src" / "humas"
    for name in ("stack", "sandbox", "sample"):
        assert not (product / f"{name}.py").exists() and not (product / name).exists(), (
            f"src/humas/{name} is development tooling: it belongs in src/humas_dev/{name}")


@pytest.mark.parametrize("folder", PRODUCTION)
def test_production_code_never_imports_the_development_tooling(folder: str) -> None:
    files = [p for p in production_files() if p.is_relative_to(REPO / folder)]
    assert files, f"no Python files found under {folder}/: the scan would prove nothing"
    offenders = [f"{path.relative_to(REPO)}:{line} imports {module}"
                 for path in files for line, module in dev_imports(path.read_text(), str(path))]
    assert not offenders, (
        "production code imports the development tooling (humas_dev is not installed in the production "
        "image); move what it needs into src/humas/ instead:\n  " + "\n  ".join(offenders))
