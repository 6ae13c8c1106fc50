"""The run's timings table (fer_workflow.timings): every benchmark file in one
table, slowest first; the workflow's copy is checked in tests/test_workflow.py."""

from conftest import REPO
from fer_workflow import timings
from fer_workflow.plots.timings import timings_figure

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_read_gives_one_row_per_job_slowest_first(tmp_path):
    (tmp_path / "train_cnn.tsv").write_text(
        HEADER + "81.7\t0:01:21\t939.3\t2995\t910\t923\t3\t32\t82\t67.7\n"
    )
    (tmp_path / "classify_photo").mkdir()
    (tmp_path / "classify_photo" / "a.jpg.tsv").write_text(
        HEADER + "2.0\t0:00:02\t100\t0\t0\t0\t0\t0\t0\t1.0\n" + "4.0\t0:00:04\t300\t0\t0\t0\t0\t0\t0\tNA\n"
    )
    table = timings.read(tmp_path)
    assert list(table.columns) == timings.COLUMNS
    assert table["job"].tolist() == ["train_cnn", "classify_photo/a.jpg"]
    assert table.iloc[0][["seconds", "cpu_seconds", "max_rss_mb"]].tolist() == [81.7, 67.7, 939.3]
    # repeat() writes several runs: their mean; a missing value is left out of it
    assert table.iloc[1][["seconds", "cpu_seconds", "max_rss_mb"]].tolist() == [3.0, 1.0, 200.0]
    assert len(timings_figure(table, timings.machine()).axes[0].patches) == 2


def test_read_of_an_empty_folder(tmp_path):
    table = timings.read(tmp_path)
    assert table.empty and list(table.columns) == timings.COLUMNS
    assert timings_figure(table) is not None


def test_every_rule_writes_its_benchmark_under_timings():
    """What summarise_timings reads: every rule's benchmark file lies under timings/."""
    for smk in (REPO / "rules").glob("*.smk"):
        for block in smk.read_text().split("\n    benchmark:\n")[1:]:
            assert "timings/" in block.splitlines()[0], smk.name
