"""Quality gates: lint, format, layout conventions. They run with the rest of
the suite, so the README's test command covers them."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO

BIN = Path(sys.executable).parent


def run(*cmd):
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_clean():
    proc = run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_clean():
    proc = run(str(BIN / "ruff"), "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_clean():
    proc = run(str(BIN / "snakefmt"), "--check", "Snakefile", "rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint_clean():
    proc = run(sys.executable, "-m", "snakemake", "--lint")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr, (
        proc.stdout + proc.stderr
    )


def test_conda_env_lists_the_pinned_requirements():
    reqs = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#") and line.strip() != "-e ."
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^ ]*", r) for r in reqs), reqs
    env = yaml.safe_load((REPO / "envs" / "fer.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(reqs)


# The packages the light environment leaves out (envs/light.yaml).
HEAVY = ("tensorflow", "keras", "cv2", "mtcnn")


def test_light_env_is_the_requirements_less_tensorflow_keras_opencv_and_export():
    reqs = {
        line.split("==")[0]: line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    env = yaml.safe_load((REPO / "envs" / "light.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    left_out = {
        "tensorflow-cpu",
        "keras",
        "opencv-python-headless",
        "mtcnn",
        "tf2onnx",
        "onnx",
        "onnxruntime",
        "ai-edge-litert",
    }
    assert sorted(pip) == sorted(v for k, v in reqs.items() if k not in left_out)


def light_rule_scripts():
    """{rule: its script} of every rule in envs/light.yaml."""
    out = {}
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text())[1:]:
            if '"../envs/light.yaml"' in block:
                name = re.match(r"rule (\w+):", block).group(1)
                out[name] = re.search(r'script:\s*"\.\./(scripts/\w+\.py)"', block).group(1)
    return out


def test_light_rules_import_no_tensorflow_keras_or_opencv():
    """The light rules' scripts load their library modules with TensorFlow,
    Keras and OpenCV blocked (so envs/light.yaml, which has none, runs them)."""
    scripts = light_rule_scripts()
    assert {"write_findings", "summarise_timings", "metrics_table"} <= set(scripts)
    for rule, script in sorted(scripts.items()):
        text = (REPO / script).read_text()
        imports = [line for line in text.splitlines() if re.match(r"(from|import) fer_workflow", line)]
        # A facade (data, models, findings) loads its module on first use: load it now.
        facades = {"data": "dataset", "models": "build", "findings": "claims"}
        used = [
            f"import fer_workflow.{p}.{m}" for p, m in facades.items() if re.search(rf"\b{p}\.\w+\(", text)
        ]
        code = f"import sys\nsys.modules.update(dict.fromkeys({HEAVY!r}))\n" + "\n".join(imports + used)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0, f"rule {rule} ({script}) needs a heavy package: {proc.stderr[-800:]}"


def test_every_rule_has_a_log_and_a_conda_env():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        rules = re.split(r"\n(?=rule \w+:)", text)
        for block in rules[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            assert "\n    log:" in block, f"{smk.name}: rule {name} has no log"
            assert "\n    conda:" in block, f"{smk.name}: rule {name} has no conda env"


def _calls_and_log_parameters(path):
    """Lines of ``path`` that call print() or define a ``log`` parameter."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: print()")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
            if "log" in names:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: log parameter")
    return found


def test_one_logging_style():
    """The library reports through logging.getLogger(__name__) and the rule
    scripts through logging (runtime.setup sends it to the job's log): no
    print() and no log= parameters."""
    library = sorted((REPO / "scripts" / "fer_workflow").rglob("*.py"))
    rule_scripts = sorted((REPO / "scripts").glob("*.py"))
    assert len(library) > 10 and len(rule_scripts) > 10
    found = [line for path in library + rule_scripts for line in _calls_and_log_parameters(path)]
    assert not found, "\n".join(found)
