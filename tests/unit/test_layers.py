"""Only the HTTP edge speaks HTTP: services raise domain errors (app/domain.py), never abort.

Route modules (`routes.py`, `*_routes.py`) may abort. Besides them, only the
modules in HTTP_EDGE may touch werkzeug's HTTP exceptions, each for the reason
given. Everything else is called by the CLI and the Celery tasks too.
"""

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

HTTP_EDGE = {
    "errors.py": "the one handler that turns HTTP errors into the error shape",
    "jsonbody.py": "the request class and the body parser, which refuse an unreadable body as a 400",
}

ABORT_CALL = re.compile(r"(^|[^a-zA-Z_.])abort\(")
HTTP_MODULES = ("werkzeug.exceptions",)
ABORTS = {("flask_smorest", "abort"), ("flask", "abort"), ("webargs.flaskparser", "abort")}


def _is_route_module(path):
    return path.name == "routes.py" or path.name.endswith("_routes.py")


def _modules_below_the_edge():
    for path in sorted(APP.rglob("*.py")):
        if not _is_route_module(path):
            yield path, path.relative_to(APP).as_posix()


def _http_imports(tree):
    """(line, what) for each import of an abort function or of werkzeug's HTTP exceptions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in ABORTS or node.module.startswith(HTTP_MODULES):
                    yield node.lineno, f"from {node.module} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(HTTP_MODULES):
                    yield node.lineno, f"import {alias.name}"


def _abort_calls(source, tree):
    """(line, text) for each abort: by name, as an attribute (`flask_smorest.abort(...)`), or in the text."""
    calls = {node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        getattr(node.func, "id", None) == "abort" or getattr(node.func, "attr", None) == "abort")}
    calls |= {number for number, line in enumerate(source.splitlines(), 1)
              if ABORT_CALL.search(line.split("#", 1)[0])}
    lines = source.splitlines()
    return [(number, lines[number - 1].strip()) for number in sorted(calls)]


def test_no_abort_outside_route_modules():
    found = []
    for path, name in _modules_below_the_edge():
        source = path.read_text()
        found += [f"app/{name}:{number}: {line}" for number, line in _abort_calls(source, ast.parse(source))]

    assert found == [], "raise a domain error from app/domain.py instead:\n" + "\n".join(found)


def test_only_the_http_edge_imports_abort_or_http_exceptions():
    found = []
    for path, name in _modules_below_the_edge():
        allowed = name in HTTP_EDGE
        for number, what in _http_imports(ast.parse(path.read_text())):
            if not (allowed and what.startswith(("from werkzeug.exceptions", "import werkzeug.exceptions"))):
                found.append(f"app/{name}:{number}: {what}")

    assert found == [], "services raise domain errors (app/domain.py):\n" + "\n".join(found)


def test_the_http_edge_list_names_existing_modules():
    assert all((APP / name).is_file() for name in HTTP_EDGE)
