"""The pinned MiniLM graph with its linear layers multiplied in int8, one token row at a
time.

The shipped file stores each linear layer's weights as int8 with one scale per output column,
but multiplies in float32: `MatMul(x, Cast(w_q) * scale)`, which onnxruntime folds back to a
float weight at load. Those float products were 79% of the encoder's time (MODEL.md, "Worker
throughput"). Here such a MatMul is rewritten to multiply the same int8 weights by its input
quantized to uint8, each token's row with its own scale and zero point:

    x_q = round(x / s) + z              (per row: s = (max - min) / 255, min <= 0 <= max)
    y   = (x_q @ w_q - z * colsum(w_q)) * s * scale

The integer product is exact, so a row's result depends on that row alone: a text reads the
same whatever else is in its batch, and with any number of threads. Per-tensor dynamic
quantization (onnxruntime's `DynamicQuantizeLinear`) would make a text's reading depend on
the other texts of its batch.

Exact on every CPU. onnxruntime's uint8-by-int8 kernel on x86 without VNNI (AVX2, AVX-512
without VNNI) adds pairs of products in 16 bits, which saturate (255 * 127 * 2 > 32767): on
such a CPU (2026-12-01) the readings of int8 weights moved by up to 0.01 and one text of the
outputs test changed category. Its uint8-by-uint8 kernel sums in 32 bits on any x86, but
is a third slower than the VNNI kernel for int8 weights (MODEL.md, "The same readings on
every CPU"). So the process first multiplies a few rows at the ends of both ranges with
the int8 kernel (`signed_products_exact`): where that product is exact, the weights stay
int8; where it is not, they go to `MatMulInteger` as uint8 (w_q + 128) with 128 as their
zero point. Both give the same integers, so the readings do not depend on which.

The query, key and value projections, the three products of one input, each quantize that
input on their own. Until the fourteenth round they stayed float32, because quantizing them
moved the readings of parameters fitted on the float32 products (MODEL.md, "Ninth round");
since then the parameters are fitted on these products (MODEL.md, "Fourteenth round").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

_ZERO = "int8_matmul_zero"
_TOP = "int8_matmul_255"
_TINY = "int8_matmul_tiny"
_FLAT = "int8_matmul_flat"
_WEIGHT_ZERO = "int8_matmul_128"
# Where the uint8-by-int8 kernel is not exact, the int8 weights are handed to MatMulInteger
# as uint8 (w + 128) with 128 as their zero point.
_OFFSET = 128
# The probe's shape: a layer's width, and enough rows and columns for the kernel's own
# blocking.
_PROBE_ROWS, _PROBE_WIDTH, _PROBE_COLUMNS = 64, 384, 16


@functools.cache
def signed_products_exact() -> bool:
    """Whether onnxruntime's `MatMulInteger` multiplies uint8 by int8 exactly on this CPU:
    inputs at the top of their range against weights at both ends of theirs, where a kernel
    that sums pairs of products in 16 bits saturates."""
    inputs = np.full((_PROBE_ROWS, _PROBE_WIDTH), 255, np.uint8)
    inputs[1::2, ::3] = 0
    weights = np.full((_PROBE_WIDTH, _PROBE_COLUMNS), 127, np.int8)
    weights[:, 1::2] = -128
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "signed_products_probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [None, _PROBE_WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [None, _PROBE_COLUMNS])],
        [numpy_helper.from_array(weights, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (product,) = session.run(None, {"a": inputs})
    return bool(np.array_equal(product, inputs.astype(np.int64) @ weights.astype(np.int64)))


def with_int8_matmuls(
    model_bytes: bytes, *, signed_weights: bool | None = None
) -> tuple[bytes, int]:
    """The model with each MatMul of a weight-only int8 layer multiplying in int8, and how
    many were rewritten. Other nodes are kept. The weights stay int8 where `signed_weights`
    is true, go as uint8 where it is false, and by default as `signed_products_exact` finds."""
    signed = signed_products_exact() if signed_weights is None else signed_weights
    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    weights = {id(node): _int8_weight(node, producers, initializers) for node in graph.node}
    nodes: list[onnx.NodeProto] = []
    added: list[onnx.TensorProto] = []
    rewritten = 0
    for node in graph.node:
        weight = weights[id(node)]
        if weight is None:
            nodes.append(node)
            continue
        quantized_name, scale_name = weight
        quantized = numpy_helper.to_array(initializers[quantized_name])
        prefix = f"int8_matmul_{rewritten}_"
        rewritten += 1
        column_sums = quantized.astype(np.int64).sum(axis=0, keepdims=True).astype(np.float32)
        added.append(numpy_helper.from_array(column_sums, prefix + "colsum"))
        added.append(
            numpy_helper.from_array(np.array([-1, quantized.shape[0]], np.int64), prefix + "rows")
        )
        if signed:
            weight_inputs = [quantized_name]
        else:
            offset = (quantized.astype(np.int16) + _OFFSET).astype(np.uint8)
            added.append(numpy_helper.from_array(offset, prefix + "wu"))
            # MatMulInteger's inputs after x_q: B, x_q's zero point (none), B's zero point.
            weight_inputs = [prefix + "wu", "", _WEIGHT_ZERO]
        _append_int8_matmul(
            nodes.append, prefix, node.input[0], weight_inputs, scale_name, node.output[0]
        )
    added += [
        numpy_helper.from_array(np.array(0, np.float32), _ZERO),
        numpy_helper.from_array(np.array(255, np.float32), _TOP),
        # A row of zeros has no range; any positive scale quantizes it to its zero point.
        numpy_helper.from_array(np.array(1e-12, np.float32), _TINY),
        numpy_helper.from_array(np.array([-1], np.int64), _FLAT),
        numpy_helper.from_array(np.array(_OFFSET, np.uint8), _WEIGHT_ZERO),
    ]
    kept = _without_unused(nodes, {output.name for output in graph.output})
    read = {name for node in kept for name in node.input}
    # Where the int8 weights are read as their uint8 copies, only those are kept.
    tensors = [tensor for tensor in [*graph.initializer, *added] if tensor.name in read]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(tensors)
    return model.SerializeToString(), rewritten


def _without_unused(nodes: list[onnx.NodeProto], outputs: set[str]) -> list[onnx.NodeProto]:
    """The nodes less those nothing reads any more (the float weights' Cast and Mul)."""
    while True:
        read = outputs | {name for node in nodes for name in node.input}
        kept = [node for node in nodes if any(output in read for output in node.output)]
        if len(kept) == len(nodes):
            return kept
        nodes = kept


def _int8_weight(
    node: onnx.NodeProto,
    producers: dict[str, onnx.NodeProto],
    initializers: dict[str, onnx.TensorProto],
) -> tuple[str, str] | None:
    """(int8 weight, per-column scale) when the node is `MatMul(x, Cast(w_q) * scale)`."""
    if node.op_type != "MatMul":
        return None
    scaled = producers.get(node.input[1])
    if scaled is None or scaled.op_type != "Mul":
        return None
    cast = producers.get(scaled.input[0])
    scale_name = scaled.input[1]
    if cast is None or cast.op_type != "Cast" or scale_name not in initializers:
        return None
    quantized = initializers.get(cast.input[0])
    if quantized is None or quantized.data_type != TensorProto.INT8 or len(quantized.dims) != 2:
        return None
    if list(initializers[scale_name].dims) != [1, quantized.dims[1]]:
        return None
    return cast.input[0], scale_name


def _append_int8_matmul(
    add: Callable[[onnx.NodeProto], None],
    prefix: str,
    x: str,
    weight_inputs: list[str],
    scale: str,
    output: str,
) -> None:
    def op(op_type: str, inputs: list[str], name: str, **attributes: Any) -> str:
        add(helper.make_node(op_type, inputs, [prefix + name], **attributes))
        return prefix + name

    # Each row's range, widened to hold 0 so that 0 is exact (padding, GELU's floor).
    high = op("Max", [op("ReduceMax", [x], "max", axes=[-1], keepdims=1), _ZERO], "high")
    low = op("Min", [op("ReduceMin", [x], "min", axes=[-1], keepdims=1), _ZERO], "low")
    row_scale = op("Max", [op("Div", [op("Sub", [high, low], "range"), _TOP], "s0"), _TINY], "s")
    zero_point = op("Neg", [op("Round", [op("Div", [low, row_scale], "lo")], "lor")], "z")
    # QuantizeLinear takes one scale per row of a 2-D input (axis 0).
    rows = op("Reshape", [x, prefix + "rows"], "x2")
    quantized_rows = op(
        "QuantizeLinear",
        [
            rows,
            op("Reshape", [row_scale, _FLAT], "s1"),
            op("Reshape", [op("Cast", [zero_point], "zu", to=TensorProto.UINT8), _FLAT], "z1"),
        ],
        "xq2",
        axis=0,
    )
    x_q = op("Reshape", [quantized_rows, op("Shape", [x], "shape")], "xq")
    # x_q @ w_q, or with the uint8 weights (x_q - 0) @ (w_u - 128), the same integers.
    integer = op("MatMulInteger", [x_q, *weight_inputs], "yi")
    product = op("Cast", [integer], "yf", to=TensorProto.FLOAT)
    # x_q @ w_q counts z once per weight of a column; take that back out.
    corrected = op("Sub", [product, op("Mul", [zero_point, prefix + "colsum"], "zc")], "yc")
    add(helper.make_node("Mul", [op("Mul", [corrected, row_scale], "ys"), scale], [output]))
