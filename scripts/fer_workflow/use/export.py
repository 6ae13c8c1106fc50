"""A trained model outside Keras: ONNX and LiteRT (TFLite) files, and the
runtimes that run them behind the same call as a Keras model.

``export_model`` writes a float32 copy of the model without its
training-only augmentation layers (``models.inference_model``,
``shipped.float32_copy``) with Keras 3's ``model.export``: ``format="onnx"``
(through ``tf2onnx``) and ``format="litert"`` (TensorFlow's TFLite
converter). Both files take raw 0..255 pixels (n, 48, 48, 1) float32, any
batch size, and give the 7 softmax probabilities, as the ``.keras`` file does.

``load(path)`` opens a ``.keras``, ``.onnx`` or ``.tflite`` file as an
object with ``predict_on_batch``, so ``classify.classify_crops`` (the one
path from face crops to probabilities) runs any of them. ``agreement``
measures how far two models' probabilities are apart (the export record).
"""

import os
from importlib import metadata

import numpy as np

from fer_workflow import IMAGE_SIZE, NUM_CLASSES

FORMATS = {".keras": "keras", ".onnx": "onnx", ".tflite": "litert"}


class UnknownModel(ValueError):
    """A model path that is missing or not a .keras, .onnx or .tflite file."""


def export_model(model, onnx_path=None, litert_path=None, opset=None):
    """Write ``model`` as ONNX (``onnx_path``) and LiteRT (``litert_path``, ``.tflite``).

    The exported graph is a float32 copy without the augmentation layers
    (a mixed-precision model computes in float32 there; its weights are
    float32 already). ``opset``: the ONNX opset, None for tf2onnx's default.
    Returns the exported Keras model (what the files compute).
    """
    from fer_workflow.models import build as models
    from fer_workflow.use import shipped

    plain = shipped.float32_copy(models.inference_model(model))
    plain(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 1), np.float32))  # export needs a called model
    if onnx_path:
        plain.export(str(onnx_path), format="onnx", verbose=False, opset_version=opset)
    if litert_path:
        plain.export(str(litert_path), format="litert", verbose=False)
    return plain


class OnnxModel:
    """An ONNX file run by ONNX Runtime on the CPU, with ``threads`` intra-op threads."""

    def __init__(self, path, threads=None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.path = str(path)
        self.session = onnxruntime.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def predict_on_batch(self, x):
        """Probabilities (n, 7) float32 of raw-pixel images (n, 48, 48, 1)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        return self.session.run(None, {self.input: x})[0]

    def __call__(self, x, training=False):
        return self.predict_on_batch(x)


class LiteRTModel:
    """A LiteRT (TFLite) file run by the ``ai_edge_litert`` interpreter (XNNPACK on CPU).

    The interpreter has one input size at a time: a new batch size resizes
    it (and re-allocates) before the call.
    """

    def __init__(self, path, threads=None):
        from ai_edge_litert.interpreter import Interpreter

        self.path = str(path)
        self.interpreter = Interpreter(self.path, num_threads=int(threads) if threads else None)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch = None

    def predict_on_batch(self, x):
        """Probabilities (n, 7) float32 of raw-pixel images (n, 48, 48, 1)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.batch != len(x):
            self.interpreter.resize_tensor_input(self.input, x.shape, strict=False)
            self.interpreter.allocate_tensors()
            self.batch = len(x)
        self.interpreter.set_tensor(self.input, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output).copy()

    def __call__(self, x, training=False):
        return self.predict_on_batch(x)


def model_format(path):
    """The format, "keras", "onnx" or "litert", from the file's ending; UnknownModel otherwise."""
    ending = os.path.splitext(str(path))[1].lower()
    if ending not in FORMATS:
        raise UnknownModel(f"model {str(path)!r}: not a .keras, .onnx or .tflite file")
    return FORMATS[ending]


def load(path, threads=None):
    """The model at ``path`` (.keras, .onnx or .tflite), ready for ``classify.classify_crops``.

    Raises UnknownModel naming the file when it is missing or of another kind.
    A ``.keras`` file needs TensorFlow (imported here); the other two do not.
    """
    kind = model_format(path)
    if not os.path.isfile(path):
        raise UnknownModel(f"model {str(path)!r}: no such file")
    if kind == "onnx":
        return OnnxModel(path, threads)
    if kind == "litert":
        return LiteRTModel(path, threads)
    from fer_workflow import runtime

    runtime.configure_backend(threads=threads)
    from fer_workflow.models import build as models

    return models.load_model(str(path))


def agreement(reference, other):
    """How far the probabilities ``other`` (n, 7) are from ``reference``: the
    share of faces with the same most probable class, and the largest and
    mean absolute probability difference."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if reference.shape != other.shape or reference.shape[1:] != (NUM_CLASSES,):
        raise ValueError(f"probabilities of shapes {reference.shape} and {other.shape}")
    diff = np.abs(reference - other)
    return {
        "faces": len(reference),
        "same_class": float(np.mean(reference.argmax(1) == other.argmax(1))) if len(reference) else 1.0,
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
    }


def check(model, faces, paths, threads=None, batch_size=256):
    """{kind: ``agreement``} of each exported file in ``paths`` ({"onnx": path,
    "litert": path}) with the Keras ``model`` on uint8 ``faces`` (n, 48, 48),
    batch by batch."""
    from fer_workflow.data.dataset import as_model_input
    from fer_workflow.evaluation.predict import predict_probs

    reference = predict_probs(model, faces, batch_size)
    checks = {}
    for kind, path in paths.items():
        runner = load(path, threads)
        probs = [
            runner.predict_on_batch(as_model_input(faces[start : start + batch_size]))
            for start in range(0, len(faces), batch_size)
        ]
        checks[kind] = agreement(reference, np.concatenate(probs) if probs else reference[:0])
    return checks


def versions():
    """The versions of the packages that write and run the exported files."""
    names = ("keras", "tensorflow-cpu", "tensorflow", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def onnx_opset(path):
    """The default-domain opset of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx"))


def record(source, onnx_path, litert_path, checks, faces_from):
    """The JSON record of an export: the source model's file and SHA-256, each
    exported file's name, SHA-256 and size, the ONNX opset, the package
    versions, and ``checks`` ({runtime: agreement with Keras}) measured on
    the faces that ``faces_from`` describes."""
    from fer_workflow.use.shipped import sha256

    files = {}
    for kind, path in (("onnx", onnx_path), ("litert", litert_path)):
        if path:
            files[kind] = {
                "file": os.path.basename(str(path)),
                "sha256": sha256(path),
                "bytes": os.path.getsize(path),
            }
    if onnx_path:
        files["onnx"]["opset"] = onnx_opset(onnx_path)
    return {
        "source": {"file": str(source), "sha256": sha256(source)},
        "exported": files,
        "graph": "float32 copy of the model without its augmentation layers (models.inference_model); "
        "input raw 0..255 pixels (n, 48, 48, 1) float32, output 7 softmax probabilities",
        "versions": versions(),
        "agreement_with_keras": {"faces": faces_from, **checks},
    }
