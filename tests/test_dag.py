"""`snakemake --dag` and `--rulegraph` work for every supported data format."""

import pytest

from conftest import tiny_config

FORMATS = {
    "synthetic": {},
    "label_feature_csv": {"train": "in/train.csv.gz", "test": "in/test.csv.gz"},
    "fer2013": {"train": "in/fer2013.csv"},
    "folder": {"train": "in/train", "test": "in/test"},
    "label_feature_csv-no-test": {"train": "in/train.csv"},
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_dag_and_rulegraph(workflow, fmt):
    paths = FORMATS[fmt]
    for rel in paths.values():  # the DAG needs the inputs to exist, not to be valid
        target = workflow.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir() if "." not in target.name else target.write_text("")
    config = tiny_config(data={"format": fmt.split("-")[0], **paths})

    rulegraph = workflow.run("--rulegraph", config=config).stdout
    assert rulegraph.startswith("digraph")
    for rule in ["read_data", "split_data", "train_model", "metrics_table", "plot_saliency", "all"]:
        assert f'label = "{rule}"' in rulegraph, rule
    assert ('label = "generate_synthetic"' in rulegraph) == (fmt == "synthetic")
    # Without test data there is nothing to predict.
    assert ('label = "write_submission"' in rulegraph) == (fmt != "label_feature_csv-no-test")

    dag = workflow.run("--dag", config=config).stdout
    assert dag.startswith("digraph")
    assert "model: cnn" in dag and "model: dnn" in dag
