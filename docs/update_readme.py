"""Rewrite the generated blocks of the README and the results pages from the
run files copied into docs/results/<run>/ (by docs/copy_run.py):

    python docs/update_readme.py

Each block lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in
one of PAGES; tests/test_docs.py fails when a block differs from what this
script writes, so a result table in the docs is always the one a run wrote.
Links inside a block are made relative to the page that holds it.
"""

import os
import re
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent


# ---- the generated blocks: a run's findings quoted, and a block replaced ----------------


def quoted_block(findings, source):
    """The README's generated block for one run's findings: one line per claim,
    verdict first, from the findings table a run wrote (``source`` names it)."""
    lines = [f"Generated from [`{source}`]({source}) by `docs/update_readme.py`; do not edit by hand.", ""]
    lines += ["| verdict | split (also chose) | finding |", "|---|---|---|"]
    for r in findings.to_dict("records"):
        lines.append(f"| **{r['verdict']}** | {r['split']} ({r['chosen_on_split']}) | {r['finding']} |")
    return "\n".join(lines)


def replace_block(text, name, block):
    """``text`` with the part between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} block")
    head, rest = text.split(start, 1)
    return head + start + "\n" + block + "\n" + end + rest.split(end, 1)[1]


def read(source):
    return pd.read_csv(REPO / source)


def ci(row, column, digits=3):
    """'0.677 [0.660, 0.694]' from a value and its _low/_high columns."""
    value, low, high = row[column], row.get(f"{column}_low"), row.get(f"{column}_high")
    if pd.isna(value):
        return ""
    if low is None or pd.isna(low):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def metrics_table(source):
    """The models side by side: size, kept epoch, validation (and test) scores."""
    table = read(source)
    test = table["test_accuracy"].notna().any()
    head = ["model", "parameters", "kept epoch (chosen on)", "val. accuracy [95% CI]", "flip TTA"]
    head += ["flip + shift TTA"] if table["val_accuracy_tta"].notna().any() else []
    head += ["macro-F1 [95% CI]"] + (["test accuracy [95% CI]", "unseen test faces"] if test else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [r["model"].upper(), f"{int(r['parameters']):,}",
                 f"{int(r['kept_epoch'])} of {int(r['epochs'])} ({r['epoch_chosen_on']})",
                 ci(r, "val_accuracy"), f"{r['val_accuracy_flip']:.3f}"]  # fmt: skip
        if "flip + shift TTA" in head:
            cells.append(f"{r['val_accuracy_tta']:.3f}")
        cells.append(ci(r, "macro_f1"))
        if test:
            cells += [
                ci(r, "test_accuracy"),
                f"{ci(r, 'test_unseen_accuracy')} ({int(r['test_unseen_images']):,})",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([f"From [`{source}`]({source}).", "", *lines])


def faithfulness_table(source):
    """Each method's curves against the random order, and its sanity check."""
    table = read(source)
    head = ["method", "faces used", "deletion AUC", "minus random (Holm p): verdict", "insertion AUC",
            "minus random (Holm p): verdict", "sanity correlation"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [r["method"], f"{int(r['n_valid'])} of {int(r['n_faces'])}"]
        for curve in ("deletion", "insertion"):
            cells.append(ci(r, f"{curve}_auc"))
            if r["method"] == "random":
                cells.append("")
            else:
                cells.append(f"{ci(r, f'{curve}_vs_random')} ({r[f'{curve}_vs_random_p_holm']:.2g}): "
                             f"{r[f'{curve}_beats_random']}")  # fmt: skip
        cells.append("" if r["method"] == "random" else ci(r, "sanity_correlation", 2))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([f"From [`{source}`]({source}).", "", *lines])


def share(row, which):
    """'0.900 [0.836, 0.940]' from an agreement_pairs row's ``which``_share and its interval."""
    return f"{row[f'{which}_share']:.3f} [{row[f'{which}_low']:.3f}, {row[f'{which}_high']:.3f}]"


def agreement_table(source, k=3):
    """Each of the CNN's confused pairs: how many of those faces at least k annotators also read as j."""
    table = read(source)
    table = table[(table["model"] == "cnn") & (table["k"] == k)]
    head = ["CNN takes", "faces", f"share with >= {k} votes for it", f"same share, {'its'} right answers",
            "difference [95% CI]", "Holm p"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [f"{r['true_name']} for {r['predicted_name']}", str(int(r["confused_faces"])),
                 share(r, "confused"), share(r, "correct"), ci(r, "difference"), f"{r['p_holm']:.2g}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([f"From [`{source}`]({source}).", "", *lines])


def modes_table(sources):
    """Training on the labels against training on the votes: accuracy against both label sets."""
    lines = ["| trained on | model | FER2013 labels [95% CI] | FER+ plurality [95% CI] | plausible (>= 3 votes) [95% CI] |",
             "|---|---|---|---|---|"]  # fmt: skip
    for mode, source in sources.items():
        table = read(source).set_index(["rater", "measure"])
        for model in ("cnn", "dnn"):
            rows = [table.loc[(model, m)] for m in ("labels", "plurality", "plausible")]
            cells = [mode, model.upper()] + [
                f"{r['estimate']:.3f} [{r['low']:.3f}, {r['high']:.3f}]" for r in rows
            ]
            lines.append("| " + " | ".join(cells) + " |")
    names = ", ".join(f"[`{s}`]({s})" for s in sources.values())
    return "\n".join([f"From {names}.", "", *lines])


def test_scores_table(source):
    table = read(source)
    lines = ["| model | commit | test rows | faces | accuracy | labels |", "|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        faces = "" if pd.isna(r["faces"]) else f"{int(r['faces']):,}"
        commit = "" if pd.isna(r["commit"]) else r["commit"]
        lines.append(
            f"| {r['model']} | {commit} | {r['test_rows']} | {faces} | {r['accuracy']:.3f} | {r['labels']} |"
        )
    return "\n".join([f"From [`{source}`]({source}).", "", *lines])


# Run -> (its label, the folder of its run files, the page that quotes it).
RUNS = {
    "builtin": ("built-in faces", "docs/results/builtin", "docs/results/builtin.md"),
    "fer2013": ("FER2013, CPU preset (+ FER+ votes)", "docs/results/fer2013", "docs/results/fer2013.md"),
    "ferplus": ("FER2013, trained on the FER+ votes", "docs/results/ferplus", "docs/results/ablations.md"),
    "fer2013-ensemble": (
        "FER2013, CPU preset with the seed ensemble (+ FER+ votes)",
        "docs/results/fer2013-ensemble",
        "docs/results/ablations.md#more-accuracy-from-the-same-cpu-hour-round-7",
    ),
}


def machine_short(machine):
    """'2 cores, 24 GiB' from run.csv's longer machine description."""
    return re.split(r" \(|;", machine, maxsplit=1)[0]


def commit_short(commit):
    return str(commit).split(" ", 1)[0]


def own_timings(folder, commit):
    """The run's own job times: ``timings_<commit>.csv`` where a later rerun of
    some rules overwrote ``timings.csv``, else ``timings.csv``."""
    own = f"{folder}/timings_{commit_short(commit)}.csv"
    return own if (REPO / own).exists() else f"{folder}/timings.csv"


def rerun_jobs(folder, commit):
    """The jobs of ``timings.csv`` that a rerun wrote (absent from, or other than, the run's own times)."""
    now = read(f"{folder}/timings.csv").set_index("job")["seconds"]
    own_file = own_timings(folder, commit)
    if own_file.endswith("/timings.csv"):
        return now.iloc[:0]
    before = read(own_file).set_index("job")["seconds"]
    changed = [job for job in now.index if job not in before.index or before[job] != now[job]]
    return now[changed]


def run_block(run):
    """Where, when and on what a run's numbers and timings were measured (its run.csv and its own timings)."""
    folder = RUNS[run][1]
    r = read(f"{folder}/run.csv").iloc[0]
    timings = own_timings(folder, r["commit"])
    jobs = read(timings).sort_values("seconds", ascending=False).head(3)
    slowest = ", ".join(f"`{j['job']}` {j['seconds']:.1f} s" for _, j in jobs.iterrows())
    name = timings.rsplit("/", 1)[1]
    return "\n".join([
        f"From [`{folder}/run.csv`]({folder}/run.csv) and [`{name}`]({timings}).",
        "",
        f"- command: `{r['command']}`",
        f"- commit: {r['commit']}; date: {r['date']}",
        f"- machine: {r['machine']}",
        f"- wall time: {r['wall_s']:.0f} s (about {round(r['wall_s'] / 60)} minutes); slowest jobs: {slowest}",
    ])  # fmt: skip


def explain_run_block(run):
    """A later rerun of some rules on a run's models (its explain_run.csv): a run of its own,
    with its commits, command, wall time and the times of the jobs it ran."""
    folder = RUNS[run][1]
    r = read(f"{folder}/explain_run.csv").iloc[0]
    jobs = rerun_jobs(folder, read(f"{folder}/run.csv").iloc[0]["commit"]).sort_values(ascending=False)
    times = ", ".join(f"`{job}` {seconds:.1f} s" for job, seconds in jobs.items())
    return "\n".join([
        f"From [`{folder}/explain_run.csv`]({folder}/explain_run.csv) and [`timings.csv`]({folder}/timings.csv).",
        "",
        f"- commits: {r['commit']}",
        f"- command: `{r['command']}`",
        f"- machine: {r['machine']}; date: {r['date']}",
        f"- wall time of the reruns: {r['wall_s']:.0f} s (about {round(r['wall_s'] / 60)} minutes); "
        f"their jobs' last times: {times}",
    ])  # fmt: skip


def ensemble_cell(folder):
    """'0.690 [0.673, 0.707], 3 CNNs' from a run's ensemble.csv (flip and shift TTA), or '' without one."""
    path = REPO / folder / "ensemble.csv"
    if not path.exists():
        return ""
    table = read(f"{folder}/ensemble.csv")
    r = table[(table["split"] == "validation") & (table["members"] > 1)].iloc[0]
    return f"{r['accuracy']:.3f} [{r['low']:.3f}, {r['high']:.3f}], {int(r['members'])} CNNs"


def headline_table():
    """The README's front table: each run's two models, its findings and where it was measured.
    A rerun of some rules (explain_run.csv) is a row of its own: its findings are not the run's."""
    head = ["run", "CNN val. accuracy [95% CI]", "DNN val. accuracy [95% CI]", "ensemble val. accuracy",
            "CNN test accuracy", "findings supported", "wall time", "commit, machine"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    sources = []
    for label, folder, page in RUNS.values():
        metrics = read(f"{folder}/metrics.csv").set_index("model")
        findings_table = read(f"{folder}/findings.csv")
        r = read(f"{folder}/run.csv").iloc[0]
        test = metrics.loc["cnn", "test_accuracy"]
        supported = f"{(findings_table['verdict'] == 'supported').sum()} of {len(findings_table)}"
        rerun = (REPO / folder / "explain_run.csv").exists()
        cells = [f"[{label}]({page})",
                 ci(metrics.loc["cnn"], "val_accuracy"), ci(metrics.loc["dnn"], "val_accuracy"),
                 ensemble_cell(folder),
                 "withheld" if pd.isna(test) else ci(metrics.loc["cnn"], "test_accuracy"),
                 "from the rerun (next row)" if rerun else supported,
                 f"{round(r['wall_s'] / 60)} min", f"{commit_short(r['commit'])}, {machine_short(r['machine'])}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
        sources.append(f"[`{folder}/`]({folder}/run.csv)")
        if rerun:
            e = read(f"{folder}/explain_run.csv").iloc[0]
            base = commit_short(r["commit"])
            commits = ", ".join(
                c for c in dict.fromkeys(re.findall(r"\b[0-9a-f]{7}\b", e["commit"])) if c != base
            )
            cells = [f"[{label}: explanations and findings rerun on its models]({page})", "same models",
                     "same models", "", "", supported, f"{round(e['wall_s'] / 60)} min",
                     f"{commits}, {machine_short(e['machine'])}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
            sources.append(f"[`{folder}/explain_run.csv`]({folder}/explain_run.csv)")
    return "\n".join([f"Generated from the run files in {', '.join(sources)} by `docs/update_readme.py`.", "",
                      *lines])  # fmt: skip


# Block name -> function writing it. A block may sit on any of PAGES.
BLOCKS = {
    "headline": headline_table,
    "run-builtin": lambda: run_block("builtin"),
    "run-fer2013": lambda: run_block("fer2013"),
    "run-fer2013-explain": lambda: explain_run_block("fer2013"),
    "run-ferplus": lambda: run_block("ferplus"),
    "run-fer2013-ensemble": lambda: run_block("fer2013-ensemble"),
    "ensemble-fer2013": lambda: (
        "From [`docs/results/fer2013-ensemble/ensemble.csv`](docs/results/fer2013-ensemble/ensemble.csv).\n\n"
        + (REPO / "docs/results/fer2013-ensemble/ensemble.md").read_text().strip()
    ),
    "findings-builtin": lambda: quoted_block(
        read("docs/results/builtin/findings.csv"), "docs/results/builtin/findings.csv"
    ),
    "metrics-builtin": lambda: metrics_table("docs/results/builtin/metrics.csv"),
    "faithfulness-builtin": lambda: faithfulness_table("docs/results/builtin/faithfulness.csv"),
    "test-scores-fer2013": lambda: test_scores_table("docs/results/fer2013/test_scores.csv"),
    "findings-fer2013": lambda: quoted_block(
        read("docs/results/fer2013/findings.csv"), "docs/results/fer2013/findings.csv"
    ),
    "metrics-fer2013": lambda: metrics_table("docs/results/fer2013/metrics.csv"),
    "faithfulness-fer2013": lambda: faithfulness_table("docs/results/fer2013/faithfulness.csv"),
    "agreement-fer2013": lambda: agreement_table("docs/results/fer2013/agreement_pairs.csv"),
    "modes-ferplus": lambda: modes_table(
        {
            "FER2013 labels": "docs/results/fer2013/agreement_accuracy.csv",
            "FER+ votes": "docs/results/ferplus/agreement_accuracy.csv",
        }
    ),
}


# The pages whose blocks this script writes, relative to the repository.
PAGES = ["README.md", "docs/results/builtin.md", "docs/results/fer2013.md", "docs/results/ablations.md"]


def relative_links(block, page):
    """Links written from the repository root (``](docs/...)``), made relative to ``page``."""
    here = os.path.dirname(page) or "."
    return re.sub(r"\]\((docs/[^)]+)\)", lambda m: f"]({os.path.relpath(m.group(1), here)})", block)


def rendered(text, page="README.md"):
    """``text`` (the page ``page``) with each of its generated blocks written again."""
    for name, block in BLOCKS.items():
        if f"<!-- {name}:start -->" in text:
            text = replace_block(text, name, relative_links(block(), page))
    return text


if __name__ == "__main__":
    for page in PAGES:
        path = REPO / page
        path.write_text(rendered(path.read_text(), page))
