"""The int8 rewrite's integer product is exact on every CPU: uint8 inputs at the top of their
range against int8 weights at the ends of theirs are where onnxruntime's uint8-by-int8 kernel
without VNNI (x86 AVX2) saturates its 16-bit sums of pairs. The rewrite keeps int8 weights
only where its probe finds that kernel exact."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from services.feedback.triage.int8_matmul import signed_products_exact, with_int8_matmuls

WIDTH = 64
COLUMNS = 3


def weight_only_int8_layer(weights: np.ndarray, scale: np.ndarray) -> bytes:
    """A graph of one linear layer as the shipped model stores it: MatMul(x, Cast(w_q) * scale)."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["w_q"], ["w_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["w_f", "scale"], ["w"]),
            helper.make_node("MatMul", ["x", "w"], ["y"]),
        ],
        "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, None, WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, None, COLUMNS])],
        [numpy_helper.from_array(weights, "w_q"), numpy_helper.from_array(scale, "scale")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


WEIGHTS = np.full((WIDTH, COLUMNS), 127, dtype=np.int8)
WEIGHTS[:, 1] = -128
WEIGHTS[::2, 2] = -128
SCALE = np.array([[0.5, 0.25, 1.0]], dtype=np.float32)
# Each row's range holds 0; its largest value quantizes to 255, its smallest to 0.
ROWS = np.zeros((1, 2, WIDTH), dtype=np.float32)
ROWS[0, 0, 1:] = 1.0
ROWS[0, 1, :] = np.linspace(-1.0, 3.0, WIDTH, dtype=np.float32)


def rewritten_layer(signed_weights: bool | None) -> np.ndarray:
    """The extreme rows through the rewritten layer."""
    rewritten, count = with_int8_matmuls(
        weight_only_int8_layer(WEIGHTS, SCALE), signed_weights=signed_weights
    )
    assert count == 1
    session = onnxruntime.InferenceSession(rewritten, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": ROWS})
    return np.asarray(got)


def exact_layer() -> np.ndarray:
    """The same rows quantized and multiplied in int64."""
    expected = np.zeros((1, 2, COLUMNS), dtype=np.float64)
    for r in range(2):
        x = ROWS[0, r].astype(np.float64)
        high, low = max(x.max(), 0.0), min(x.min(), 0.0)
        s = (high - low) / 255
        z = -np.round(low / s)
        x_q = np.round(x / s) + z
        exact = x_q @ WEIGHTS.astype(np.int64) - z * WEIGHTS.astype(np.int64).sum(axis=0)
        expected[0, r] = exact * s * SCALE[0]
    return expected


@pytest.mark.parametrize("signed_weights", [None, False], ids=["as-probed", "uint8-weights"])
def test_the_integer_product_does_not_saturate_at_the_ends_of_the_ranges(
    signed_weights: bool | None,
) -> None:
    np.testing.assert_allclose(rewritten_layer(signed_weights), exact_layer(), rtol=1e-5)


def test_the_probe_keeps_int8_weights_only_where_their_kernel_is_exact() -> None:
    # On a CPU with VNNI both sides are true; on AVX2 alone both are false.
    exact = np.allclose(rewritten_layer(True), exact_layer(), rtol=1e-5)
    assert signed_products_exact() == exact
