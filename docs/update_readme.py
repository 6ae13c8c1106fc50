"""Rewrite the README's generated blocks from the run files copied into docs/:

    python docs/update_readme.py

Each block lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``;
tests/test_docs.py fails when a block differs from what this script writes.
"""

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from fer_workflow import findings  # noqa: E402

# README block name -> the findings table it quotes.
BLOCKS = {
    "findings-builtin": "docs/builtin/findings.csv",
    "findings-fer2013": "docs/fer2013/findings.csv",
}


def rendered(text):
    for name, source in BLOCKS.items():
        if (REPO / source).is_file():
            text = findings.replace_block(
                text, name, findings.quoted_block(pd.read_csv(REPO / source), source)
            )
    return text


if __name__ == "__main__":
    readme = REPO / "README.md"
    readme.write_text(rendered(readme.read_text()))
