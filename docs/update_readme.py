"""Rewrite the README's generated blocks from the run files copied into docs/
(by docs/copy_run.py):

    python docs/update_readme.py

Each block lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``;
tests/test_docs.py fails when a block differs from what this script writes,
so a result table in the README is always the one a run wrote.
"""

from pathlib import Path

import pandas as pd

from fer_workflow import findings

REPO = Path(__file__).resolve().parent.parent


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


# README block name -> (function, its source files).
BLOCKS = {
    "findings-builtin": lambda: findings.quoted_block(
        read("docs/builtin/findings.csv"), "docs/builtin/findings.csv"
    ),
    "metrics-builtin": lambda: metrics_table("docs/builtin/metrics.csv"),
    "faithfulness-builtin": lambda: faithfulness_table("docs/builtin/faithfulness.csv"),
    "test-scores-fer2013": lambda: test_scores_table("docs/fer2013/test_scores.csv"),
    "findings-fer2013": lambda: findings.quoted_block(
        read("docs/fer2013/findings.csv"), "docs/fer2013/findings.csv"
    ),
    "metrics-fer2013": lambda: metrics_table("docs/fer2013/metrics.csv"),
    "faithfulness-fer2013": lambda: faithfulness_table("docs/fer2013/faithfulness.csv"),
    "agreement-fer2013": lambda: agreement_table("docs/fer2013/agreement_pairs.csv"),
    "modes-ferplus": lambda: modes_table(
        {
            "FER2013 labels": "docs/fer2013/agreement_accuracy.csv",
            "FER+ votes": "docs/ferplus/agreement_accuracy.csv",
        }
    ),
}


def rendered(text):
    for name, block in BLOCKS.items():
        if f"<!-- {name}:start -->" in text:
            text = findings.replace_block(text, name, block())
    return text


if __name__ == "__main__":
    readme = REPO / "README.md"
    readme.write_text(rendered(readme.read_text()))
