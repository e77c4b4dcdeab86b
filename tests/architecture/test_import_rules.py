"""The layering rules of docs/design.md ("Import rules"), read from the code's own imports.

Every import is found with ``ast``, including the ones inside functions, so a
lazy import cannot hide a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
NOT_AREAS = {"core", "ops", "models", "templates", "static", "translations"}
AREAS = sorted(p.name for p in PORTAL.iterdir() if (p / "__init__.py").is_file() and p.name not in NOT_AREAS)
SHARED = ("portal.core", "portal.models", "portal.permissions")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file; ``from a import b`` counts as ``a.b`` too (b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _ours(module: str) -> bool:
    return module == "portal" or module.startswith(("portal.", "jobs"))


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _is_view(module: str) -> bool:
    return module.endswith(".views") or ".views." in module


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def violations(rule) -> list[str]:
    found = []
    for path in _sources("portal", "jobs"):
        me = _module_name(path)
        for line, module in imports_of(path):
            if _ours(module):
                why = rule(me, module)
                if why:
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {module}: {why}")
    return found


def test_views_import_only_their_own_area_and_shared_code():
    """A view imports its own area, portal.core, portal.permissions and portal.models: nothing else of ours."""

    def rule(me: str, module: str):
        if not me.endswith(".views"):
            return None
        area = me.rsplit(".", 1)[0]
        if module in ("portal", "portal.permissions") or _within(module, area, *SHARED):
            return None
        return "a view may import only its own area, portal.core, portal.permissions and portal.models"

    assert violations(rule) == []


def test_nothing_but_the_app_factory_imports_a_view():
    """Services, tasks, jobs, core and operations never import a view; the app factory registers the blueprints."""

    def rule(me: str, module: str):
        if _is_view(module) and me != "portal" and module.rsplit(".", 1)[0] != me.rsplit(".", 1)[0]:
            return "only portal/__init__.py imports views"
        if _is_view(module) and me != "portal":
            return "only portal/__init__.py imports views"
        return None

    assert violations(rule) == []


def test_jobs_call_tasks_and_services_only():
    """The job runtime (jobs/) uses areas' tasks and services, shared code and models, never views or forms."""

    def rule(me: str, module: str):
        if not me.startswith("jobs"):
            return None
        if module in ("portal", "portal.create_app") or _within(module, "jobs", *SHARED):
            return None
        parts = module.split(".")
        if len(parts) >= 3 and parts[1] in AREAS and parts[2] in ("services", "tasks", "render", "fonts"):
            return None
        return "jobs/ may import only tasks, services, portal.core and portal.models"

    assert violations(rule) == []


def test_shared_code_never_depends_on_an_area():
    """portal.core, portal.models and portal.permissions sit below every area."""

    def rule(me: str, module: str):
        if not _within(me, *SHARED):
            return None
        parts = module.split(".")
        if len(parts) >= 2 and parts[0] == "portal" and parts[1] in AREAS:
            return "shared code must not import an area"
        if _within(module, "jobs", "portal.ops"):
            return "shared code must not import jobs or operations"
        return None

    assert violations(rule) == []


def test_every_area_has_its_views_and_services_and_tasks_import_no_views():
    for area in AREAS:
        folder = PORTAL / area
        assert (folder / "services.py").is_file() or (folder / "views.py").is_file(), area
        if (folder / "tasks.py").is_file():
            assert not [m for _line, m in imports_of(folder / "tasks.py") if _is_view(m)], area


def test_templates_receive_data_not_rule_functions(app):
    """Template globals are permission checks, labels and helpers from shared code, never an area's rules."""
    ours = {name: value for name, value in app.jinja_env.globals.items()
            if callable(value) and getattr(value, "__module__", "").startswith("portal")}
    assert ours, "the portal registers template helpers"
    assert {name: value.__module__ for name, value in ours.items()
            if not _within(value.__module__, *SHARED)} == {}


@pytest.mark.parametrize("rule_test", [test_views_import_only_their_own_area_and_shared_code,
                                       test_nothing_but_the_app_factory_imports_a_view])
def test_a_broken_rule_is_caught(rule_test, tmp_path, monkeypatch):
    """The checks bite: a service importing a view, a view importing another area's services."""
    offending = {
        "test_nothing_but_the_app_factory_imports_a_view": ("portal/sweeps/_probe.py", "from portal.sweeps.views import bp\n"),
        "test_views_import_only_their_own_area_and_shared_code": ("portal/probe_area/views.py", "from portal.boards.services import Filters\n"),
    }[rule_test.__name__]
    fake_root = tmp_path / "root"
    for folder in ("portal", "jobs"):
        (fake_root / folder).mkdir(parents=True)
    target = fake_root / offending[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / "__init__.py").write_text("")
    target.write_text(offending[1])
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    with pytest.raises(AssertionError):
        rule_test()
