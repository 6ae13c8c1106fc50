"""The library's shape (docs/development.md#the-library): packages by concept
in layers, imports pointing down only, and no import circle between modules,
counting the imports inside functions too (so none can hide a circle)."""

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "scripts" / "fer_workflow"

# Low to high: a module may import from its own layer's package or a lower one.
LAYERS = [
    [
        "fer_workflow",
        "fer_workflow.arrays",
        "fer_workflow.runtime",
        "fer_workflow.failures",
        "fer_workflow.timings",
    ],
    ["fer_workflow.data"],
    ["fer_workflow.models"],
    ["fer_workflow.evaluation"],
    ["fer_workflow.explain"],
    ["fer_workflow.plots"],
    ["fer_workflow.findings"],
    ["fer_workflow.use"],
    # The Snakefile's start-up check reads formats and model sizes.
    ["fer_workflow.config_check"],
]


def module_name(path):
    parts = list(path.relative_to(LIB.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def layer(module):
    """The layer index of ``module``: the deepest LAYERS entry that is it or holds it."""
    best = None
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if module == entry or module.startswith(entry + "."):
                if best is None or len(entry) > len(best[1]):
                    best = (index, entry)
    return best[0] if best else None


def imports(module):
    """The library modules ``module`` imports, at the top or inside a function."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                target = f"{source}.{alias.name}"
                found.add(target if target in MODULES else source)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


# The one import that points up, on purpose and named here: the package's lazy
# ``from fer_workflow import Classifier`` (PEP 562 ``__getattr__``), which loads
# the Python API only when asked for, so ``import fer_workflow`` stays light.
ALLOWED_UP = {("fer_workflow", "fer_workflow.use.api")}

GRAPH = {module: imports(module) - {t for m, t in ALLOWED_UP if m == module} for module in MODULES}


def test_the_allowed_upward_import_is_the_lazy_classifier_only():
    assert imports("fer_workflow") == {"fer_workflow.use.api"}
    source = MODULES["fer_workflow"].read_text()
    assert "def __getattr__(name):" in source and 'if name == "Classifier":' in source


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) is None] == []


def test_top_level_holds_only_the_base_and_the_start_up_check():
    flat = sorted(p.stem for p in LIB.glob("*.py") if p.stem != "__init__")
    assert flat == ["arrays", "config_check", "failures", "runtime", "timings"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    up = sorted(target for target in GRAPH[module] if layer(target) > layer(module))
    assert up == [], f"{module} (layer {layer(module)}) imports from a higher layer: {up}"


def find_cycle(graph):
    """One import circle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_circle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_the_circle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


FACADES = {"data": "dataset", "models": "build", "findings": "claims"}


@pytest.mark.parametrize("package", sorted(FACADES))
def test_facade_lists_its_modules_public_names(package):
    """``from fer_workflow import data`` gives dataset's names: the list is complete."""
    import importlib

    facade = importlib.import_module(f"fer_workflow.{package}")
    tree = ast.parse((LIB / package / f"{FACADES[package]}.py").read_text())
    public = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            public.add(node.name)
        elif isinstance(node, ast.Assign):
            public.update(t.id for t in node.targets if isinstance(t, ast.Name))
    assert set(facade.NAMES) == {n for n in public if not n.startswith("_")}
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        facade.nothing  # noqa: B018


def test_a_light_module_loads_no_keras():
    """Reading a record or a table loads neither Keras nor TensorFlow (the
    light rules' environment has neither)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fer_workflow.models import record\n"
        "from fer_workflow import findings\n"
        "from fer_workflow.evaluation import metrics, tables\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'cv2') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_workflow_parses_without_tensorflow_keras_or_opencv(workflow, tmp_path):
    """Snakemake reads the Snakefile (and every rule file) with TensorFlow,
    Keras, OpenCV and MTCNN blocked: parsing lists photos and videos with the
    standard library, and no rule file imports a heavy package."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\nsys.modules.update(dict.fromkeys(('tensorflow', 'keras', 'cv2', 'mtcnn')))\n"
    )
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(block))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules"],
        cwd=workflow.root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "train_model" in proc.stdout + proc.stderr
