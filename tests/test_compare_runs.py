"""docs/compare_runs.py: two runs' outputs are the same apart from time fields."""

import zipfile

from conftest import load_module

compare = load_module("docs/compare_runs.py")


def keras_file(path, config, weights=b"w", saved="2026-12-06@10:00:00"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("metadata.json", f'{{"date_saved": "{saved}"}}')
        archive.writestr("model.weights.h5", weights)


def runs(tmp_path, seconds_b=2.0, accuracy_b=0.5, weights_b=b"w"):
    a, b = tmp_path / "a", tmp_path / "b"
    for root, seconds, accuracy, weights, address in (
        (a, 1.0, 0.5, b"w", 1),
        (b, seconds_b, accuracy_b, weights_b, 2),
    ):
        (root / "logs").mkdir(parents=True)
        (root / "timings").mkdir()
        (root / "metrics.csv").write_text(f"model,train_seconds,accuracy\ncnn,{seconds},{accuracy}\n")
        (root / "logs" / "train.log").write_text(
            f"2026-12-06 1{address}:00:00,123 epoch 1/2 {seconds}s at 0x7f{address}\n"
        )
        (root / "timings" / "train.tsv").write_text(f"s\n{seconds}\n")
        config = f'{{"module": "fer_workflow.{"augment" if root == a else "models.augment"}", "shared_object_id": {address}}}'
        keras_file(root / "cnn.keras", config, weights, saved=f"2026-12-06@1{address}:00:00")
    return a, b


def test_time_fields_and_moved_modules_are_not_differences(tmp_path, capsys):
    assert compare.main(*runs(tmp_path)) == 0
    assert "0 differ in more than time fields" in capsys.readouterr().out


def test_a_changed_number_or_weight_is_a_difference(tmp_path, capsys):
    assert compare.main(*runs(tmp_path / "acc", accuracy_b=0.6)) == 1
    assert "differs: metrics.csv" in capsys.readouterr().out
    assert compare.main(*runs(tmp_path / "w", weights_b=b"v")) == 1
    assert "differs: cnn.keras" in capsys.readouterr().out
