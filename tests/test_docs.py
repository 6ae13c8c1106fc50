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
from fer_workflow.data import readers

README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
OUTPUTS = (DOCS / "guide" / "outputs.md").read_text()  # the rule table
DATA_GUIDE = (DOCS / "guide" / "data.md").read_text()
CLUSTER = DOCS / "guide" / "cluster.md"


def docs_module(name):
    """A script of docs/ imported as a module."""
    return load_module(f"docs/{name}.py")


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


def test_rule_table_lists_every_rule_and_output():
    """docs/guide/outputs.md's rule table names every rule and each of its outputs."""
    table = OUTPUTS.split("| stage | rule | outputs |", 1)[1].split("\n\n", 1)[0]
    table = table.replace("{train,test}.csv`", "train.csv` `resources/synthetic/test.csv`")
    for name, block in rule_blocks().items():
        assert f"`{name}`" in table, name
        output = block.split("\n    output:\n", 1)[1].split("\n    log:", 1)[0]
        output = re.sub(r'R\(f?"', '"results/', output)  # R(path): path inside results_dir
        for path in re.findall(r'"((?:results|resources)/[^"]+)"', output):
            file = path.rsplit("/", 1)[1]
            # A row may abbreviate its later files: `.history.csv`, `test_labels.csv`.
            short = [path, file, file[file.index(".") :]]
            assert any(f"`{s}`" in table for s in short), (
                f"{name}: {path} is not in docs/guide/outputs.md's rule table"
            )


def test_conda_env_names_existing_files():
    text = (REPO / "envs" / "fer.yaml").read_text()
    named = re.findall(r"tests/\w+\.py", text)
    assert named
    for path in named:
        assert (REPO / path).exists(), path


def test_cluster_doc_quotes_the_real_error(tmp_path, monkeypatch):
    """docs/guide/cluster.md quotes the read_data error of the cluster test's bad row
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
    doc = re.sub(r"\s+", " ", CLUSTER.read_text())
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
    doc = CLUSTER.read_text()
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
    """The data guide's overlay: a preset (which names the label_feature_csv test.csv.gz) plus
    format fer2013 plans the whole run from fer2013.csv alone."""
    workflow = Workflow(tmp_path / "wf")
    (workflow.path("presets")).mkdir()
    for preset in (REPO / "presets").glob("*.yaml"):
        (workflow.path("presets") / preset.name).write_text(preset.read_text())
    workflow.path("resources/fer2013").mkdir(parents=True)
    workflow.path("resources/fer2013/fer2013.csv").write_text("emotion,pixels,Usage\n")
    match = re.search(
        r"printf '([^']+)' > (\S+)\n\.venv/bin/snakemake --cores 2 (--configfile \S+ \S+)\n", DATA_GUIDE
    )
    assert match, "docs/guide/data.md's fer2013.csv overlay changed form"
    workflow.path(match.group(2)).write_text(match.group(1).replace("\\n", "\n"))
    proc = workflow.run("-n", *match.group(3).split(), check=False)
    assert proc.returncode == 0, proc.output[-3000:]
    assert "resources/fer2013/test.csv.gz" not in proc.output
    assert "read_data" in proc.output


def numbers_in(text):
    """Every number written in ``text``, integers as well as decimals (thousands
    separators removed); a digit run inside a word, a path or a version (``block3``,
    ``89d3a60``, ``v1.2``) is no number."""
    pattern = r"(?<![\w.\-/^])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w/]|\.\d)"
    return [m.replace(",", "") for m in re.findall(pattern, text)]


def file_numbers(text):
    """The numbers a run file holds: plain digit runs (CSV cells) and thousands-separated ones."""
    plain = re.findall(r"\d+(?:\.\d+)?", text)
    return [float(v) for v in plain] + [
        float(v.replace(",", "")) for v in re.findall(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text)
    ]


def prose(text):
    """What a page says in words: code blocks, inline code, link targets, HTML
    comments and headings' section numbers left out (commands and file names are not
    measurements)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"^(#+) \d+\. ", r"\1 ", text, flags=re.M)


def section(text, heading):
    """The text under a '## heading' up to the next '## ' heading."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


RUN_FILES = DOCS / "results"


def read(page):
    return (REPO / page).read_text()


def results(*globs):
    """Globs of run files under docs/results/, from the repository."""
    return [f"docs/results/{g}" for g in globs]


# Where measurements are quoted -> the files (globs from the repository) its numbers must come from.
RESULT_TEXTS = {
    "README.md, Results": (
        lambda: section(README, "Results"),
        results("builtin/*", "fer2013/*", "ferplus/*", "fer2013-ensemble/*"),
    ),
    "docs/results/builtin.md": (lambda: read("docs/results/builtin.md"), results("builtin/*")),
    "docs/results/fer2013.md": (lambda: read("docs/results/fer2013.md"), results("fer2013/*", "ferplus/*")),
    "docs/results/ablations.md": (
        lambda: read("docs/results/ablations.md"),
        results("fer2013/**/*", "ferplus/*", "fer2013-ensemble/*"),
    ),
    "docs/results/explanations.md": (
        lambda: read("docs/results/explanations.md"),
        results("fer2013/*", "explanations_builtin/*"),
    ),
    "docs/performance.md": (
        lambda: read("docs/performance.md"),
        results(
            "fer2013/explain_benchmarks.log",
            "fer2013/gpu-check-1/*",
            "fer2013/timings*.csv",
            "fer2013/*run.csv",
            "builtin/timings.csv",
            "builtin/run.csv",
            "*/faithfulness.csv",  # the faces the rule times are for
            "use/*",  # the export and stream benchmarks' output
        ),
    ),  # fmt: skip
    "docs/guide/methods.md": (lambda: read("docs/guide/methods.md"), results("fer2013/*")),
    "docs/guide/photos.md": (
        lambda: read("docs/guide/photos.md"),
        [
            *results("fer2013/*", "use/*"),
            "resources/models/fer2013_cnn.json",
        ],  # and the shipped model's record
    ),
}

# Numbers in those pages that are no measurement, each with its reason; kept short.
NOT_MEASURED = {
    "docs/guide/methods.md": {
        "2014", "2017", "2018", "2022",  # the papers' years
        "8192",  # faithfulness.CHUNK_IMAGES, a constant of the code
    },
    "docs/results/explanations.md": {"2017", "2022"},  # the papers' years
    "docs/guide/photos.md": {
        "100000000",  # classify.max_pixels' default (config.yaml)
        "30000",  # the size of tests/test_photos.py's PNG
        "1042079",  # the byte count inside a quoted error message
    },
    "docs/performance.md": {
        "23229",  # keras-team/keras#23229, an issue number
        "400",  # presets/hw3-report.yaml's steps per epoch
    },
}  # fmt: skip


def test_every_page_that_quotes_a_measurement_is_checked():
    """Every results page, and each guide page that quotes a measurement."""
    pages = {p.relative_to(REPO).as_posix() for p in RUN_FILES.glob("*.md")}
    pages |= {"docs/performance.md", "docs/guide/methods.md", "docs/guide/photos.md"}
    assert pages == {name for name in RESULT_TEXTS if name.startswith("docs/")}


def page_values(globs):
    values = set()
    for pattern in globs:
        for path in REPO.glob(pattern):
            if path.is_file() and path.suffix in (".csv", ".md", ".jsonl", ".json", ".log", ".tsv", ".txt"):
                values.update(file_numbers(path.read_text()))
    return values


@pytest.mark.parametrize("where", RESULT_TEXTS)
def test_result_numbers_come_from_the_run_files(where):
    """No hand-typed result: each number, integer or decimal, in the README's
    results or a page that quotes measurements is the rounding of a number in
    one of that page's own run files (copied into docs/results/ by
    docs/copy_run.py), unless NOT_MEASURED names it."""
    text, globs = RESULT_TEXTS[where]
    values = page_values(globs)
    quoted = numbers_in(prose(text()))
    assert len(quoted) >= 10, f"{where} changed form"
    allowed = NOT_MEASURED.get(where, set())
    missing = []
    for number in quoted:
        digits = len(number.split(".")[1]) if "." in number else 0
        if number in allowed:
            continue
        if not any(abs(round(v, digits) - float(number)) < 10 ** -(digits + 3) for v in values):
            missing.append(number)
    assert not missing, f"{where}: numbers found in none of its files {globs}: {missing}"


def test_integers_are_checked_too():
    """A typed integer count fails like a decimal, and a word's digits are no number."""
    assert numbers_in("Fear 20, 2,872 faces, 0.656 and 89d3a60 block3_conv2 v1.2 x2") == [
        "20", "2872", "0.656",
    ]  # fmt: skip
    assert numbers_in(prose("`--faces 50` [a](results/b2.md)\n## 1. ROAD")) == []


def test_generated_blocks_are_the_run_files():
    """The result tables of the README and docs/results/*.md are generated from the
    run files (docs/update_readme.py)."""
    update_readme = docs_module("update_readme")
    found = set()
    for page in update_readme.PAGES:
        text = (REPO / page).read_text()
        found.update(name for name in update_readme.BLOCKS if f"<!-- {name}:start -->" in text)
        assert update_readme.rendered(text, page) == text, (
            f"{page} is out of date: run python docs/update_readme.py"
        )
    assert found == set(update_readme.BLOCKS), f"blocks on no page: {set(update_readme.BLOCKS) - found}"
    assert "<!-- headline:start -->" in README


def test_timings_say_machine_and_commit():
    """Each run's provenance block gives the commit and the machine its wall time was measured on."""
    for page, run in (("builtin.md", "builtin"), ("fer2013.md", "fer2013"), ("ablations.md", "ferplus")):
        block = (
            (RUN_FILES / page).read_text().split(f"<!-- run-{run}:start -->", 1)[1].split("<!-- run-", 1)[0]
        )
        for field in ("- commit: ", "- machine: ", "- wall time: "):
            assert field in block, (page, field)
    for section_text in (DOCS / "performance.md").read_text().split("\n## ")[2:]:
        assert "*Measured on " in section_text and "commit " in section_text, section_text[:60]


def test_readme_is_a_front_page():
    assert len(README.splitlines()) <= 150, f"README.md has {len(README.splitlines())} lines (at most 150)"
    assert "docs/guide/photos.md" in README and "docs/rulegraph.svg" in README


def test_ci_runs_the_readme_test_command():
    command = re.search(
        r"\n(python3 -m venv \.venv && \S+ install -r requirements-dev\.txt && \S+pytest)\n", README
    )
    assert command, "the README's test command changed form"
    # .ci/run may quieten pip and set environment variables in front of a command.
    ci = re.sub(r"\b[A-Z_]+=\S* ", "", (REPO / ".ci" / "run").read_text().replace(" -q ", " "))
    assert command.group(1) in ci, ".ci/run no longer runs the README's test command"


def markdown_files():
    return [REPO / "README.md", REPO / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    names = set()
    for heading in re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        names.add(slug)
    return names


def test_every_relative_link_resolves():
    """Each relative link (and #anchor) in the README and docs/ points to an existing file (and heading)."""
    broken = []
    for page in markdown_files():
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_config_page_is_current():
    config_page = docs_module("config_page")
    text, missing = config_page.page()
    assert not missing, f"config.schema.yaml: keys without a description: {missing}"
    assert config_page.PAGE.read_text() == text, (
        f"docs/guide/config.md is out of date: run {config_page.COMMAND}"
    )


def test_config_page_lists_every_key_of_config_yaml():
    page = (DOCS / "guide" / "config.md").read_text()
    config = yaml.safe_load((REPO / "config.yaml").read_text())

    def paths(node, prefix=""):
        for key, value in node.items():
            if prefix or not isinstance(value, dict):  # a top-level group is a heading, not a row
                yield prefix + key
            if isinstance(value, dict) and not prefix.startswith(("train_overrides", "saliency.regions")):
                yield from paths(value, f"{prefix}{key}.")

    for path in paths(config):
        if not path.startswith("saliency.regions."):
            assert f"| `{path}` |" in page, path


# A measured number in a comment: a decimal, a percentage, a speed-up, a duration.
MEASURED = re.compile(r"\d\.\d|\d\s*%|\d(?:\.\d+)?x\b|\b\d+\s*(?:s|ms|min|minutes|hours?)\b|GFLOP|images/s")


@pytest.mark.parametrize("path", ["config.yaml", *sorted(p.name for p in (REPO / "presets").glob("*.yaml"))])
def test_no_measured_number_in_config_comments(path):
    """config.yaml and the presets keep values and short pointers; measured numbers live in
    docs/results/ and docs/performance.md, where a test traces them."""
    file = REPO / path if path == "config.yaml" else REPO / "presets" / path
    comments = [line.split("#", 1)[1] for line in file.read_text().splitlines() if "#" in line]
    found = [c.strip() for c in comments if MEASURED.search(c)]
    assert not found, f"{path}: measured numbers in comments: {found}"


def test_config_yaml_has_at_most_one_comment_line_per_group():
    lines = (REPO / "config.yaml").read_text().splitlines()
    body = lines[5:]  # the header names the schema and the config page
    for i, line in enumerate(body[1:], 1):
        assert not (line.startswith("#") and body[i - 1].startswith("#")), f"config.yaml: {line}"
    assert not any(line.lstrip().startswith("#") for line in body if line.startswith(" "))


def test_copy_run_records_commit_machine_and_timings(tmp_path):
    """docs/copy_run.py writes run.csv (commit, command, wall time, machine) and timings.csv."""
    results = tmp_path / "results"
    (results / "timings").mkdir(parents=True)
    (results / "findings.csv").write_text("claim_id,verdict\nx,supported\n")
    (results / "timings" / "train_cnn.tsv").write_text("s\th:m:s\tmax_rss\n12.34\t0:00:12\t900.5\n")
    dest = tmp_path / "docs" / "run"
    args = ["docs/copy_run.py", str(results), str(dest), "--command", "snakemake -c2", "--wall", "99"]
    proc = script(*args, "--commit", "abc1234")
    assert proc.returncode == 0, proc.stderr
    run = (dest / "run.csv").read_text().splitlines()
    assert run[0] == "commit,command,wall_s,machine,date"
    assert run[1].startswith("abc1234,snakemake -c2,99.0,") and " cores" in run[1]
    assert (dest / "timings.csv").read_text().splitlines()[1] == "train_cnn,12.3,900.0"
    assert (dest / "findings.csv").exists()
