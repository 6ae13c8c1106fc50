"""The README, docs, profiles and helper scripts say what is true: every rule
that runs a job has a benchmark file, the rule table lists every output,
quoted messages are the real ones, and the benchmark scripts explain a
missing input instead of printing a traceback."""

import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, Workflow, default_config, load_module, merge
from fer_workflow import readers

README = (REPO / "README.md").read_text()


def rule_blocks():
    """{rule name: its text} over rules/*.smk."""
    blocks = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text())[1:]:
            blocks[re.match(r"rule (\w+):", block).group(1)] = block
    return blocks


def test_every_rule_has_a_benchmark_file():
    blocks = rule_blocks()
    assert len(blocks) >= 15
    for name, block in blocks.items():
        # R("...") is the path inside results_dir; compare_runs spells out results/.
        match = re.search(r'\n    benchmark:\n        (R\(f?"|"results/)timings/([^"]+)\.tsv"', block)
        assert match, f"rule {name} has no benchmark: file"
        # Named like the rule's log: results/logs/X.log, results/timings/X.tsv.
        prefix = match.group(1).replace("f", "")
        assert f'{prefix}logs/{match.group(2)}.log"' in block.replace('R(f"', 'R("'), name


def test_readme_rule_table_lists_every_rule_and_output():
    table = README.split("| stage | rule | outputs |", 1)[1].split("\n\n", 1)[0]
    table = table.replace("{train,test}.csv`", "train.csv` `resources/synthetic/test.csv`")
    for name, block in rule_blocks().items():
        assert f"`{name}`" in table, name
        output = block.split("\n    output:\n", 1)[1].split("\n    log:", 1)[0]
        output = re.sub(r'R\(f?"', '"results/', output)  # R(path): path inside results_dir
        for path in re.findall(r'"((?:results|resources)/[^"]+)"', output):
            file = path.rsplit("/", 1)[1]
            # A row may abbreviate its later files: `.history.csv`, `test_labels.csv`.
            short = [path, file, file[file.index(".") :]]
            assert any(f"`{s}`" in table for s in short), f"{name}: {path} is not in the README's rule table"


def test_conda_env_names_existing_files():
    text = (REPO / "envs" / "fer.yaml").read_text()
    named = re.findall(r"tests/\w+\.py", text)
    assert named
    for path in named:
        assert (REPO / path).exists(), path


def test_cluster_doc_quotes_the_real_error(tmp_path, monkeypatch):
    """docs/cluster.md quotes the read_data error of the cluster test's bad row
    (tests/test_slurm.py: train.csv line 6 one pixel short)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input").mkdir()
    pixels = " ".join(["7"] * 2304)
    rows = ["label,feature"] + [f"0,{pixels}"] * 4 + [f"1,{pixels.rsplit(' ', 1)[0]}"]
    (tmp_path / "input" / "train.csv").write_text("\n".join(rows) + "\n")
    try:
        readers.read_label_feature_train("input/train.csv")
    except readers.DataError as error:
        message = str(error)
    assert message == "input/train.csv:6: expected 2304 pixel values, found 2303"
    doc = re.sub(r"\s+", " ", (REPO / "docs" / "cluster.md").read_text())
    assert f"`{message}`" in doc


def test_slurm_profile_comment_gives_the_fallback_it_sets():
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    init = yaml.safe_load(text)["slurm-init-seconds-before-status-checks"]
    comment = re.sub(r"\s*#\s*", " ", text)
    match = re.search(
        r"falls back to sacct when MinJobAge is below 3 x [\w-]+: 3 x (\d+) s = (\d+) s", comment
    )
    assert match, "the fallback comment changed form"
    assert int(match.group(1)) == init and int(match.group(2)) == 3 * init
    doc = (REPO / "docs" / "cluster.md").read_text()
    assert f"{3 * init} s with this profile" in re.sub(r"\s+", " ", doc)


def script(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_train_preset_without_raw_data_says_how_to_make_it(tmp_path):
    missing = tmp_path / "raw.npz"
    proc = script(
        "benchmarks/train_preset.py", "--raw", str(missing), "--configfile", "presets/fer2013-gpu.yaml"
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    assert f"{missing}: not found. It is the read_data rule's output" in proc.stderr
    assert f"snakemake --cores 2 {missing} --configfile presets/fer2013-gpu.yaml" in proc.stderr


def test_read_data_benchmark_defaults_to_the_repository(tmp_path):
    read_data = load_module("benchmarks/read_data.py")
    assert read_data.DEFAULT_DATA_DIR == REPO / "resources" / "fer2013"
    proc = script("benchmarks/read_data.py", str(tmp_path / "nope"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "train.csv.gz: not found. Link the FER2013 files into resources/fer2013/" in proc.stderr


def test_pytorch_peer_refuses_what_it_does_not_mirror():
    """Residual blocks and cutout have no PyTorch twin in the peer: it says so
    before importing PyTorch (not a requirement of the workflow)."""
    peer_pytorch = load_module("benchmarks/peer_pytorch.py")
    config = default_config()
    for patch in ({"cnn": {"residual": True}}, {"train": {"augment": {"cutout": 0.25}}}):
        with pytest.raises(ValueError, match=r"cnn\.residual: false and train\.augment\.cutout: 0"):
            peer_pytorch.build_step(merge(config, patch), 64, 2)


@pytest.mark.slow
def test_fer2013_csv_with_a_preset_needs_no_test_file(tmp_path):
    """The README's overlay: a preset (which names the label_feature_csv test.csv.gz) plus
    format fer2013 plans the whole run from fer2013.csv alone."""
    workflow = Workflow(tmp_path / "wf")
    (workflow.path("presets")).mkdir()
    for preset in (REPO / "presets").glob("*.yaml"):
        (workflow.path("presets") / preset.name).write_text(preset.read_text())
    workflow.path("resources/fer2013").mkdir(parents=True)
    workflow.path("resources/fer2013/fer2013.csv").write_text("emotion,pixels,Usage\n")
    match = re.search(
        r"printf '([^']+)' > (\S+)\n\.venv/bin/snakemake --cores 2 (--configfile \S+ \S+)\n", README
    )
    assert match, "the README's fer2013.csv overlay changed form"
    workflow.path(match.group(2)).write_text(match.group(1).replace("\\n", "\n"))
    proc = workflow.run("-n", *match.group(3).split(), check=False)
    assert proc.returncode == 0, proc.output[-3000:]
    assert "resources/fer2013/test.csv.gz" not in proc.output
    assert "read_data" in proc.output


def numbers_in(text):
    """Every decimal number written in ``text`` (thousands separators removed)."""
    return [
        m.replace(",", "") for m in re.findall(r"(?<![\w.])\d{1,3}(?:,\d{3})*\.\d+|(?<![\w.])\d+\.\d+", text)
    ]


def section(text, heading):
    """The text under a '## heading' up to the next '## ' heading."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


# README results section -> the folders of run files its numbers must come from.
RESULT_SECTIONS = {
    "Results on the built-in data": ["docs/builtin"],
    "Results on FER2013": ["docs/fer2013", "docs/ferplus"],
}


@pytest.mark.parametrize("heading", RESULT_SECTIONS)
def test_readme_result_numbers_come_from_the_run_files_in_docs(heading):
    """No hand-typed result: each decimal number in a README results section is
    the rounding of a number in a file a run wrote (copied into docs/ by docs/copy_run.py)."""
    values = set()
    for folder in RESULT_SECTIONS[heading]:
        for path in (REPO / folder).glob("*.*"):
            if path.suffix in (".csv", ".md", ".jsonl"):
                values.update(float(v) for v in numbers_in(path.read_text()))
    quoted = numbers_in(section(README, heading))
    assert len(quoted) >= 10, f"the section {heading!r} changed form"
    missing = []
    for number in quoted:
        digits = len(number.split(".")[1])
        if not any(abs(round(v, digits) - float(number)) < 10 ** -(digits + 3) for v in values):
            missing.append(number)
    assert not missing, f"{heading}: numbers found in no run file under {RESULT_SECTIONS[heading]}: {missing}"


def test_readme_result_blocks_are_the_run_files():
    """The result tables the README quotes are generated from the files in docs/ (docs/update_readme.py)."""
    update_readme = load_module("docs/update_readme.py")
    for name in update_readme.BLOCKS:
        assert f"<!-- {name}:start -->" in README, name
    assert update_readme.rendered(README) == README, "run: python docs/update_readme.py"
