"""The end of a failed run: each failed job's rule and the end of its log
(fer_workflow.failures, printed by the Snakefile's onerror handler; the
workflow case is tests/test_bad_input.py::test_workflow_shows_bad_row_in_terminal)."""

from types import SimpleNamespace

from fer_workflow import failures


def test_summary_names_each_rule_and_ends_with_its_log(tmp_path):
    log = tmp_path / "train_cnn.log"
    log.write_text("".join(f"line {i}\n" for i in range(20)) + "\nValueError: the reason\n\n")
    text = failures.summary([("train_model", {"model": "cnn"}, [str(log)])], lines=3)
    lines = text.splitlines()
    assert lines[0].startswith("1 job(s) failed")
    assert "rule train_model (model=cnn):" in text
    assert lines[-3:] == ["      line 18", "      line 19", "      ValueError: the reason"]


def test_summary_of_a_job_without_a_log_and_of_nothing(tmp_path):
    text = failures.summary([("all", {}, []), ("read_data", {}, [str(tmp_path / "nope.log")])])
    assert "rule all:\n    (the rule has no log)" in text
    assert text.splitlines()[-1].endswith("nope.log was not written)")
    assert failures.summary([]) == ""


def test_failed_jobs_reads_the_scheduler_and_opens_group_jobs():
    job = SimpleNamespace(rule=SimpleNamespace(name="score_saliency"), wildcards_dict={}, log=["a.log"])
    other = SimpleNamespace(rule=SimpleNamespace(name="plot_filters"), wildcards_dict={"layer": "b"}, log=[])
    group = SimpleNamespace(jobs=[job, other])
    workflow = SimpleNamespace(scheduler=SimpleNamespace(failed=[group]))
    assert failures.failed_jobs(workflow) == [
        ("plot_filters", {"layer": "b"}, []),
        ("score_saliency", {}, ["a.log"]),
    ]
    assert failures.failed_jobs(SimpleNamespace(scheduler=None)) == []
