"""The HTML report, opened in a real browser (headless Chromium): it loads,
and each category lists every expected figure and table."""

import base64
import html
import json
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import INSTALL_SYSTEM_PACKAGES, not_installed

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CATEGORIES = {
    "Findings": ["results/findings.html"],
    "Data": [
        "results/data/class_counts.csv",
        "results/data/data_quality.csv",
        "results/figures/samples.png",
    ],
    "Training": [
        "results/figures/learning_curves.png",
        "results/figures/architecture_cnn.png",
        "results/figures/architecture_dnn.png",
    ],
    "Evaluation": [
        "results/metrics.csv",
        "results/metrics.md",
        "results/metrics.html",
        "results/submission.csv",
        "results/figures/confusion_matrix_cnn.png",
        "results/figures/confusion_matrix_dnn.png",
        "results/eval/confused_pairs_cnn.csv",
        "results/eval/confused_pairs_dnn.csv",
    ],
    "Annotators": [
        "results/figures/annotator_confusion.png",
        "results/figures/agreement_pairs.png",
        "results/eval/annotator_confusion.csv",
        "results/eval/agreement_pairs.csv",
        "results/eval/agreement_accuracy.csv",
        "results/eval/agreement_findings.csv",
    ],
    "Explainability": [
        "results/figures/saliency.png",
        "results/eval/saliency_scores.csv",
        "results/eval/faithfulness.csv",
        "results/figures/faithfulness.png",
        "results/figures/saliency_by_class.png",
        "results/eval/saliency_regions.csv",
        "results/figures/filters_block2_conv1.png",
        "results/figures/filter_classes_block2_conv1.png",
        "results/eval/filter_classes_block2_conv1.csv",
        "results/figures/activations_block1_conv1.png",
    ],
    "Timings": ["results/timings.csv", "results/figures/timings.png"],
}

SUBCATEGORIES = {"Training": ["cnn", "dnn", "Other"], "Evaluation": ["cnn", "dnn", "Other"]}

# Flags for a headless browser on a machine with no network and no display.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1400,1000",
    "--virtual-time-budget=15000",
]

# Injected into a copy of the report: after the page has rendered, click the
# menu entries named in CLICKS one after the other, then copy the page's
# visible text into a <pre id="probe">.
PROBE = """<script>
const CLICKS = %s;
function step(i, log) {
  if (i === CLICKS.length) {
    const pre = document.createElement('pre');
    pre.id = 'probe';
    const frame = document.querySelector('iframe');
    pre.textContent = log + document.body.innerText + (frame ? '\\nIFRAME ' + frame.src : '');
    document.body.appendChild(pre);
    return;
  }
  // "view:<file>" clicks the eye button of that file's row, which shows it in place.
  const view = CLICKS[i].startsWith('view:') && Array.from(document.querySelectorAll('tr'))
    .find(r => r.textContent.trim() === CLICKS[i].slice(5));
  const link = view ? view.querySelector('a[iconname=eye]') : Array.from(document.querySelectorAll('a'))
    .find(a => a.textContent.trim() === CLICKS[i]);
  if (link) link.click();
  setTimeout(() => step(i + 1, log + (link ? 'OPENED ' : 'NO LINK ') + CLICKS[i] + '\\n'), 1000);
}
window.addEventListener('load', () => setTimeout(() => step(0, ''), 1500));
</script>"""


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium; installed with apt-get when missing, asked to
    (FER_INSTALL_SYSTEM_PACKAGES=1) and root."""
    path = shutil.which("chromium")
    if path is None and not INSTALL_SYSTEM_PACKAGES:
        pytest.skip(not_installed("chromium is"))
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        # Wait for apt's locks: the other test worker may be installing SLURM.
        apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600"]
        subprocess.run([*apt, "update", "-qq"], capture_output=True, timeout=900)
        subprocess.run(
            [*apt, "install", "-y", "-qq", "chromium"],
            capture_output=True,
            timeout=900,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("no chromium, and it cannot be installed here (needs root and apt-get)")
    return path


def browse(chromium, page, tmp_path, *args):
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def visible_text(chromium, report, clicks, tmp_path, screenshot=None):
    """The page's text after clicking the menu entries ``clicks`` in turn."""
    page = tmp_path / f"probe-{len(list(tmp_path.glob('probe-*')))}.html"
    page.write_text(report.read_text() + PROBE % json.dumps(clicks))
    if screenshot:
        browse(chromium, page, tmp_path, f"--screenshot={screenshot}")
    dom = browse(chromium, page, tmp_path, "--dump-dom").stdout
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, f"the report did not render (clicking {clicks})"
    text = html.unescape(match.group(1))
    assert "NO LINK" not in text, text[:500]
    return text


def test_report_lists_every_figure_in_a_browser(completed_tiny_workflow, chromium, tmp_path):
    wf = completed_tiny_workflow
    report = tmp_path / "report.html"
    wf.run("--report", str(report), config=wf.config)
    assert report.stat().st_size > 100_000  # images are embedded: one self-contained page

    home = tmp_path / "home.png"
    browse(chromium, report, tmp_path, f"--screenshot={home}")
    assert home.is_file() and home.stat().st_size > 20_000
    # The report opens on the findings: every claim's sentence is on the first page.
    front = visible_text(chromium, report, [], tmp_path)
    findings = pd.read_csv(wf.path("results/findings.csv"))
    assert "Findings" in front
    for sentence in findings["finding"]:
        assert sentence in front, sentence

    for category, files in CATEGORIES.items():
        listed = set()
        # Per-model artifacts sit in subcategories named after the model.
        for sub in SUBCATEGORIES.get(category, [None]):
            clicks = [category] + ([sub] if sub else [])
            shot = tmp_path / f"{'-'.join(clicks)}.png"
            text = visible_text(chromium, report, clicks, tmp_path, screenshot=shot)
            listed |= set(re.findall(r"results/\S+", text))
            assert shot.stat().st_size > 20_000
        assert set(files) <= listed, f"{category}: missing {sorted(set(files) - listed)}"

    # The metrics table is readable in the page: its HTML version opens in place.
    text = visible_text(
        chromium,
        report,
        ["Evaluation", "Other", "view:results/metrics.html"],
        tmp_path,
        screenshot=tmp_path / "metrics.png",
    )
    src = re.search(r"IFRAME data:text/html[^,]*;base64,(\S+)", text)
    assert src, text[-500:]
    table = base64.b64decode(src.group(1)).decode()
    assert "<th>val_accuracy</th>" in table and "<td>cnn</td>" in table and "<td>dnn</td>" in table
    # Keep the screenshots for a person to look at.
    keep = os.environ.get("REPORT_SCREENSHOTS")
    if keep:
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, keep)
