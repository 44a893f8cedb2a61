"""The package's layers: imports point one way, modules stay small.

edges (cli, dashboard, persist, the package face) -> estimators -> distributed ->
training -> maths. Read from the source with ``ast``; nothing is imported.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "dasknn"
LAYERS = ["maths", "training", "distributed", "estimators"]  # lowest first
MAX_LINES = 450
MAX_ENGINE_PARAMETERS = 7  # a function of the engine that needs more is missing an object


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _layer(path):
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "edges"


def _imported_layers(source, here):
    """The dasknn layers that ``source``, a module in package folder ``here`` (a
    tuple of folder names below dasknn/), imports from."""
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "dasknn":
                target = node.module.split(".")[1:]
            else:
                continue
            names = target[:1] or [alias.name for alias in node.names]
            found.update(n if n in LAYERS else "edges" for n in names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "dasknn":
                    found.add(parts[1] if len(parts) > 1 and parts[1] in LAYERS else "edges")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    layer = _layer(path)
    if layer == "edges":
        return  # the face and the edges may use every layer
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    found = _imported_layers(path.read_text(), path.relative_to(PACKAGE).parent.parts)
    assert found <= allowed, f"{path.relative_to(PACKAGE)} ({layer}) imports {found - allowed}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_layer_check_sees_every_form_of_import():
    source = ("from ..estimators import MLPClassifier\nfrom .. import dashboard\n"
              "from . import kernel\nimport dasknn.distributed.tasks\n")
    assert _imported_layers(source, ("maths",)) == {"estimators", "edges", "maths",
                                                    "distributed"}


def _parameter_counts(source):
    """``(name, parameters)`` of every function in ``source``, ``self`` and ``cls`` not
    counted, ``*args`` and ``**kwargs`` counted once each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
            names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
            found.append((node.name, len([n for n in names if n not in ("self", "cls")])))
    return found


ENGINE = sorted((PACKAGE / "distributed").glob("*.py"))


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: p.name)
def test_engine_functions_take_few_parameters(path):
    over = [(name, n) for name, n in _parameter_counts(path.read_text())
            if n > MAX_ENGINE_PARAMETERS]
    assert not over, f"{path.name}: {over} take more than {MAX_ENGINE_PARAMETERS} parameters"


def test_the_parameter_count_sees_every_kind_of_parameter():
    source = "class A:\n    def f(self, a, /, b, *c, d, **e):\n        pass\n"
    assert _parameter_counts(source) == [("f", 5)]
