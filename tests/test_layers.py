"""The server's modules import one way only: routes use helpers, helpers use state, config and
the contract, and nothing imports a module above it (checked by parsing the imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mock_server"

# Lowest first. A module may import only modules of a lower layer; "routes.*" is every route module.
LAYERS = [
    {"contract"},
    {"config", "errors", "process"},
    {"state"},
    {"idempotency", "reading", "waiting", "delivery", "classroom"},
    {"endpoints"},
    {"responses"},
    {"routes.*", "traffic"},
    {"routes"},
    {"docs"},
    {"app"},
    {"tls"},
    {"server"},
    {"__main__", "bench"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def layer(module: str) -> int:
    name = "routes.*" if module.startswith("routes.") else module
    for number, names in enumerate(LAYERS):
        if name in names:
            return number
    raise AssertionError(f"mock_server/{module.replace('.', '/')}.py is in no layer: add it to LAYERS in {__name__}")


def imported_modules(path: Path) -> set[str]:
    """The mock_server modules that `path` imports, relative to the package ('routes.echo')."""
    own = module_name(path)
    package = own.split(".") if path.name == "__init__.py" and own != "__init__" else own.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "mock_server":
                base = node.module.split(".")[1:]
            else:
                continue
            if node.module is None:  # from . import a, b
                found.update(".".join([*base, alias.name]) for alias in node.names)
            else:
                found.add(".".join(base) or "__init__")
        elif isinstance(node, ast.Import):
            found.update(".".join(alias.name.split(".")[1:]) for alias in node.names if alias.name.startswith("mock_server."))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))
ROUTE_MODULES = [path for path in MODULES if module_name(path).startswith("routes.")]


@pytest.mark.parametrize("path", MODULES, ids=[module_name(path) for path in MODULES])
def test_modules_import_only_lower_layers(path: Path) -> None:
    own = module_name(path)
    upward = sorted(target for target in imported_modules(path) if layer(target) >= layer(own))
    assert not upward, f"{own} imports {', '.join(upward)}, which are not below it (see LAYERS)"


@pytest.mark.parametrize("path", ROUTE_MODULES, ids=[module_name(path) for path in ROUTE_MODULES])
def test_no_route_module_imports_another(path: Path) -> None:
    routes = sorted(target for target in imported_modules(path) if target.startswith("routes"))
    assert not routes, f"{module_name(path)} imports {', '.join(routes)}: move shared helpers out of routes/"


def test_the_import_parser_sees_relative_imports() -> None:
    assert imported_modules(PACKAGE / "routes" / "__init__.py") >= {"routes.echo", "routes.admin"}
    assert "routes.resources" in imported_modules(PACKAGE / "app.py")
    assert "reading" in imported_modules(PACKAGE / "routes" / "echo.py")
