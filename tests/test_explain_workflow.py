"""The explain rules inside the workflow (tiny run): their outputs, one
parameter one rule, and the layer-name error through Snakemake."""

import re

import numpy as np
import pandas as pd
import pytest

from conftest import END_OF_RUN, REPO, merge
from fer_workflow import CLASS_NAMES, arrays
from fer_workflow.explain import faithfulness

pytestmark = pytest.mark.slow


def test_saliency_scores_table(completed_tiny_workflow):
    scores = pd.read_csv(completed_tiny_workflow.path("results/eval/saliency_scores.csv"))
    assert list(scores.columns) == ["method", "metric", "value", "description"]
    methods = completed_tiny_workflow.config["saliency"]["faithfulness"]["methods"]
    assert scores["method"].unique().tolist() == methods
    values = scores[scores["method"] == "gradcam"].set_index("metric")["value"]
    assert values["n_images"] == completed_tiny_workflow.config["saliency"]["faithfulness"]["n_images"]
    # Synthetic data has cue masks, so the mask metrics are filled in.
    assert 0 < values["area_share_cues"] < 0.5 and 0 <= values["mass_share_cues"] <= 1
    assert values["mass_ratio_cues"] == pytest.approx(values["mass_share_cues"] / values["area_share_cues"])
    assert 0 <= values["prob_class"] <= 1 and values["deletion_fraction"] == 0.1


def test_faithfulness_table_and_region_table(completed_tiny_workflow):
    wf = completed_tiny_workflow
    table = pd.read_csv(wf.path("results/eval/faithfulness.csv"))
    methods = wf.config["saliency"]["faithfulness"]["methods"]
    assert table["method"].tolist() == [*methods, "random"]
    n_images = wf.config["saliency"]["faithfulness"]["n_images"]
    assert (table["n_faces"] == n_images).all()
    # A constant map (the 2-epoch tiny CNN may give an all-zero Grad-CAM) is
    # counted out of n_valid, and a method without any valid face has no AUC.
    assert table["n_valid"].between(0, n_images).all() and table["n_valid"].iloc[-1] == n_images
    scored = table[table["n_valid"] > 0]
    assert table.loc[table["n_valid"] == 0, "deletion_auc"].isna().all()
    for mode in ("deletion", "insertion"):
        assert scored[f"{mode}_auc"].between(0, 1).all()
        assert (scored[f"{mode}_auc_low"] <= scored[f"{mode}_auc"]).all()
        verdicts = table[f"{mode}_beats_random"]
        assert verdicts[:-1].isin(["supported", "not supported", "inconclusive"]).all()
        assert verdicts.iloc[-1:].isna().all()
    methods_only = table[table["method"] != "random"]
    assert methods_only["sanity_n_valid"].between(0, n_images).all()
    sanity = methods_only["sanity_correlation"]
    assert (sanity.between(-1, 1) | sanity.isna()).all()
    assert wf.path("results/figures/faithfulness.png").stat().st_size > 0
    faces = arrays.load(wf.path("results/eval/faithfulness_faces.npz"))
    assert list(faces) == faithfulness.FACE_KEYS
    m, n, r = len(methods), n_images, len(wf.config["saliency"]["regions"])
    assert faces["methods"].tolist() == [*methods, "random"]
    assert faces["deletion_auc"].shape == faces["valid"].shape == (m + 1, n)
    assert faces["valid"].sum(axis=1).tolist() == table["n_valid"].tolist()
    assert faces["region_share"].shape == faces["region_share_random_model"].shape == (m, n, r)
    assert faces["region_names"].tolist() == list(wf.config["saliency"]["regions"])
    assert faces["val_rows"].shape == faces["classes"].shape == (n,)
    regions = pd.read_csv(wf.path("results/eval/saliency_regions.csv"))
    assert list(regions.columns) == ["class", "n_faces", "region", "mass_share", "area_share", "ratio"]
    assert set(regions["region"]) == set(wf.config["saliency"]["regions"])
    assert (regions["n_faces"] <= wf.config["saliency"]["by_class"]["max_per_class"]).all()
    assert wf.path("results/figures/saliency_by_class.png").stat().st_size > 0


@pytest.mark.parametrize(
    "change,jobs",
    [
        ({"saliency": {"n_images": 5}}, {"plot_saliency"}),
        # the scores come from the faithfulness maps: one rule, one set of faces
        ({"saliency": {"deletion_fraction": 0.2}}, {"evaluate_faithfulness", "write_findings"}),
        # the findings name the configured method when it passes the sanity check
        ({"saliency": {"method": "vanilla"}}, {"plot_saliency", "write_findings"}),
        ({"saliency": {"by_class": {"method": "gradcam"}}}, {"plot_saliency_by_class"}),
        (
            {"saliency": {"regions": {"mouth": [[10, 30, 38, 44]]}}},
            {"plot_saliency_by_class", "evaluate_faithfulness", "write_findings"},
        ),
        ({"saliency": {"faithfulness": {"steps": 8}}}, {"evaluate_faithfulness", "write_findings"}),
        (
            {"saliency": {"faithfulness": {"sanity_threshold": 0.3}}},
            {"evaluate_faithfulness", "write_findings"},
        ),
        (
            {"saliency": {"faithfulness": {"methods": ["vanilla"]}}},
            {"evaluate_faithfulness", "evaluate_cascading_randomisation", "write_findings"},
        ),
        (
            {"saliency": {"faithfulness": {"road_fractions": [0.2, 0.5]}}},
            {"evaluate_faithfulness", "write_findings"},
        ),
        ({"saliency": {"faithfulness": {"road_noise": 0.0}}}, {"evaluate_faithfulness", "write_findings"}),
        ({"saliency": {"cascading": {"n_images": 4}}}, {"evaluate_cascading_randomisation"}),
        ({"saliency": {"target": "prediction"}}, {"plot_saliency"}),
        # the findings test the filter images' classes against the null
        ({"filters": {"layer": "block1_conv1"}}, {"plot_filters", "write_findings"}),
        ({"filters": {"steps": 4}}, {"plot_filters", "write_findings"}),
        ({"filters": {"border": 4}}, {"plot_filters", "write_findings"}),
        ({"filters": {"rotation": 0.0}}, {"plot_filters", "write_findings"}),
        ({"filters": {"tv_weight": 0.5}}, {"plot_filters", "write_findings"}),
        ({"filters": {"l2_weight": 0.0}}, {"plot_filters", "write_findings"}),
        ({"filters": {"blur_every": 0}}, {"plot_filters", "write_findings"}),
        ({"filters": {"blur_sigma": 1.0}}, {"plot_filters", "write_findings"}),
        ({"filters": {"start_noise": 16.0}}, {"plot_filters", "write_findings"}),
        ({"filters": {"n_crops": 4}}, {"plot_filters", "write_findings"}),
        ({"activations": {"layer": "block2_conv1"}}, {"plot_activations"}),
        ({"activations": {"max_maps": 4}}, {"plot_activations"}),
    ],
)
def test_one_parameter_reruns_only_its_rule(completed_tiny_workflow, change, jobs):
    wf = completed_tiny_workflow
    counts = wf.dry_run_jobs(config=merge(wf.config, change))
    assert counts == {**END_OF_RUN, **dict.fromkeys(jobs, 1)}


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


def explain_rules():
    """The rule names in rules/explain.smk."""
    text = (REPO / "rules" / "explain.smk").read_text()
    return set(re.findall(r"^rule (\w+):", text, flags=re.MULTILINE))


def check_filter_classes(table, n_filters):
    """filter_classes_{layer}.csv: one row per filter, valid classes and probabilities."""
    assert list(table.columns) == [
        "filter", "activation", "label", "class", "probability",
        "image_max", "best_crop_max", "image_to_crop", "null_label", "null_class", "null_probability",
    ]  # fmt: skip
    assert list(table["filter"]) == list(range(n_filters))
    assert table["activation"].ge(0).all() and np.isfinite(table["activation"]).all()
    assert table["label"].between(0, 6).all()
    assert list(table["class"]) == [CLASS_NAMES[k] for k in table["label"]]
    assert table["probability"].between(1 / 7, 1).all()
    assert table["null_label"].between(0, 6).all() and (table["best_crop_max"] >= 0).all()


def test_filter_classes_table(completed_tiny_workflow):
    wf = completed_tiny_workflow
    layer = wf.config["filters"]["layer"]
    check_filter_classes(
        pd.read_csv(wf.path(f"results/eval/filter_classes_{layer}.csv")), wf.config["filters"]["n_filters"]
    )
    assert wf.path(f"results/figures/filter_classes_{layer}.png").stat().st_size > 0
    findings = pd.read_csv(wf.path("results/findings.csv"))
    assert f"filter_classes_differ_from_null_{layer}" in set(findings["claim_id"])


def test_road_and_cascading_randomisation(completed_tiny_workflow):
    from fer_workflow.explain import randomisation

    wf = completed_tiny_workflow
    table = pd.read_csv(wf.path("results/eval/faithfulness.csv"))
    assert list(table.columns) == faithfulness.COLUMNS
    random = table.set_index("method").loc["random"]
    assert 0 <= random["road_morf_auc"] <= 1 and 0 <= random["road_lerf_auc"] <= 1
    assert (
        table["road_morf_beats_random"].iloc[:-1].isin(["supported", "not supported", "inconclusive"]).all()
    )
    findings = pd.read_csv(wf.path("results/findings.csv"))
    assert {"vanilla_road_morf_beats_random", "vanilla_road_lerf_beats_random"} <= set(findings["claim_id"])
    cascade = pd.read_csv(wf.path("results/eval/cascading_randomisation.csv"))
    assert list(cascade.columns) == randomisation.COLUMNS
    methods = wf.config["saliency"]["faithfulness"]["methods"]
    assert list(dict.fromkeys(cascade["method"])) == methods
    # The tiny CNN: logits, dense, two conv blocks (each with its batch norm), and the trained model first.
    assert cascade[cascade["method"] == "vanilla"]["layer"].tolist() == [
        "none", "logits", "dense1", "block2_conv1", "block1_conv1",
    ]  # fmt: skip
    trained = cascade[cascade["step"] == 0]
    assert np.allclose(trained.loc[trained["n_valid"] > 0, "spearman"], 1.0)
    assert (cascade["n_faces"] == wf.config["saliency"]["cascading"]["n_images"]).all()
    assert wf.path("results/figures/cascading_randomisation.png").stat().st_size > 0
