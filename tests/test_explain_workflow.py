"""The explain rules inside the workflow (tiny run): their outputs, one
parameter one rule, and the layer-name error through Snakemake."""

import pandas as pd
import pytest

from conftest import merge

pytestmark = pytest.mark.slow


def test_saliency_scores_table(completed_tiny_workflow):
    scores = pd.read_csv(completed_tiny_workflow.path("results/eval/saliency_scores.csv"))
    assert list(scores.columns) == ["metric", "value", "description"]
    values = scores.set_index("metric")["value"]
    assert values["n_images"] == completed_tiny_workflow.config["saliency"]["n_score_images"]
    # Synthetic data has cue masks, so the mask metrics are filled in.
    assert 0 < values["area_share_cues"] < 0.5 and 0 <= values["mass_share_cues"] <= 1
    assert values["mass_ratio_cues"] == pytest.approx(values["mass_share_cues"] / values["area_share_cues"])
    assert 0 <= values["prob_correct"] <= 1


@pytest.mark.parametrize(
    "change,jobs",
    [
        ({"saliency": {"n_images": 5}}, {"plot_saliency"}),
        ({"saliency": {"n_score_images": 10}}, {"score_saliency"}),
        ({"saliency": {"deletion_fraction": 0.2}}, {"score_saliency"}),
        ({"saliency": {"method": "vanilla"}}, {"plot_saliency", "score_saliency"}),
        ({"saliency": {"target": "prediction"}}, {"plot_saliency"}),
        ({"filters": {"layer": "block1_conv1"}}, {"plot_filters"}),
        ({"filters": {"steps": 4}}, {"plot_filters"}),
        ({"activations": {"layer": "block2_conv1"}}, {"plot_activations"}),
        ({"activations": {"max_maps": 4}}, {"plot_activations"}),
    ],
)
def test_one_parameter_reruns_only_its_rule(completed_tiny_workflow, change, jobs):
    wf = completed_tiny_workflow
    counts = wf.dry_run_jobs(config=merge(wf.config, change))
    assert counts == {"all": 1, **dict.fromkeys(jobs, 1)}


def test_missing_layer_fails_naming_the_config_key(completed_tiny_workflow, tmp_path):
    wf = completed_tiny_workflow.clone(tmp_path / "wf")
    bad = merge(completed_tiny_workflow.config, {"filters": {"layer": "block7_conv1"}})
    proc = wf.run(config=bad, check=False)
    assert proc.returncode != 0
    # Caught when the workflow starts (config_check), before any job runs.
    assert "filters.layer: the configured CNN has no layer 'block7_conv1'" in proc.output
    assert "block1_conv1, block2_conv1" in proc.output
    assert not wf.path("results/logs/plot_filters_block7_conv1.log").exists()
    assert not wf.path("results/figures/filters_block7_conv1.png").exists()
