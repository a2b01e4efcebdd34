#!/usr/bin/env python3
"""Writes the FP8 block-quantized test checkpoint for gpu-runtime's WeightStore tests, with the expected bf16
dequantization computed here, independently of the Java code:

    python3 scripts/make-fp8-test-checkpoint.py gpu-runtime/src/test/resources/fp8-block-checkpoint

Layout as the Hub serves DeepSeek-V3/R1 and Qwen3-*-FP8: config.json's quantization_config
{quant_method: fp8, fmt: e4m3, activation_scheme: dynamic, weight_block_size: [128, 128]}; every quantized linear
weight W is stored as float8_e4m3fn codes (safetensors dtype F8_E4M3) next to W_scale_inv (name + "_scale_inv")
of shape [ceil(rows / 128), ceil(cols / 128)], and W[i][j] = e4m3(code[i][j]) * scale_inv[i // 128][j // 128]
(float32 product), rounded to bf16 to nearest even (what transformers' Fp8Dequantize and DeepSeek's
fp8_cast_bf16.py produce for a bf16 model).

The oracle: an e4m3 decoder written here from the OCP 8-bit floating point specification (OFP8, rev. 1.0, E4M3:
exponent bias 7, no infinities, NaN only at S.1111.111, largest normal S.1111.110 = 448, smallest normal
S.0001.000 = 2^-6, largest subnormal S.0000.111 = 0.875 * 2^-6, smallest subnormal S.0000.001 = 2^-9), checked
against those spec values, and, when the ml_dtypes package (JAX's float8 types) is importable, against its
float8_e4m3fn for all 256 codes and against its bfloat16 rounding for every expected value; when torch and
transformers are, every expected value also against torch's float8_e4m3fn and transformers 5's own Fp8Dequantize.
numpy only otherwise (the files are the same either way).

Tensors: a [200, 300] weight with float32 scales (partial edge blocks, as DeepSeek's 576-row kv_a_proj_with_mqa;
its first 256 elements are the 256 codes in order, the two NaN codes included, no NaN elsewhere), a [256, 128] weight with bf16 scales, and
an unquantized bf16 tensor that must pass through unchanged. expected-bf16.safetensors holds the bf16 values the
loader must produce, under the same names.
"""
import json
import math
import os
import sys

import numpy as np

BLOCK = 128


def e4m3_decode(code):
    """One float8_e4m3fn code -> its value (Python float), from the format's definition."""
    sign = -1.0 if code & 0x80 else 1.0
    exp = (code >> 3) & 0xF
    man = code & 0x7
    if exp == 0xF and man == 0x7:
        return math.nan
    if exp == 0:
        return sign * (man / 8.0) * 2.0 ** (1 - 7)          # subnormal: 0.m * 2^(1 - bias)
    return sign * (1.0 + man / 8.0) * 2.0 ** (exp - 7)     # normal: 1.m * 2^(e - bias)


def decode_table():
    table = np.array([e4m3_decode(c) for c in range(256)], dtype=np.float64)
    spec = {0x00: 0.0, 0x80: -0.0, 0x7E: 448.0, 0xFE: -448.0, 0x08: 2.0 ** -6, 0x07: 0.875 * 2.0 ** -6,
            0x01: 2.0 ** -9, 0x81: -(2.0 ** -9), 0x38: 1.0, 0xB8: -1.0, 0x40: 2.0, 0x77: 240.0, 0x3F: 1.875}
    for code, value in spec.items():
        assert table[code] == value and math.copysign(1, table[code]) == math.copysign(1, value), (hex(code), table[code])
    assert math.isnan(table[0x7F]) and math.isnan(table[0xFF])
    assert np.isnan(table).sum() == 2, "e4m3fn has exactly two NaN codes and no infinities"
    finite = table[~np.isnan(table)]
    assert np.isfinite(finite).all() and finite.max() == 448.0 and finite.min() == -448.0
    assert len(set(finite[finite > 0].tolist())) == 126, "126 distinct positive values"
    checks = ["OCP spec values"]
    try:
        import ml_dtypes
        theirs = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64)
        same = (theirs == table) | (np.isnan(theirs) & np.isnan(table))
        assert same.all(), f"ml_dtypes disagrees at codes {np.nonzero(~same)[0].tolist()}"
        checks.append(f"ml_dtypes {ml_dtypes.__version__} float8_e4m3fn (all 256 codes)")
    except ImportError:
        pass
    return table.astype(np.float32), checks


def f32_to_bf16_bits(x):
    """float32 -> bf16 bit patterns, round to nearest even (NaN -> a quiet NaN of the same sign)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    rounded[nan] = ((bits[nan] >> 16) & 0x8000).astype(np.uint16) | 0x7FC0
    return rounded


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def dequantize(codes, scale_inv, table):
    rows, cols = codes.shape
    assert scale_inv.shape == (-(-rows // BLOCK), -(-cols // BLOCK)), scale_inv.shape
    full = np.repeat(np.repeat(scale_inv.astype(np.float32), BLOCK, axis=0), BLOCK, axis=1)[:rows, :cols]
    product = table[codes] * full                       # float32 * float32, correctly rounded
    assert product.dtype == np.float32
    # The same values element by element, without numpy's broadcasting: the block index is i // 128, j // 128.
    for (i, j) in [(0, 0), (127, 127), (128 % rows, 0), (rows - 1, cols - 1), (5, 129 % cols), (199, 256 % cols)]:
        want = np.float32(table[codes[i, j]]) * np.float32(scale_inv[i // BLOCK, j // BLOCK])
        assert want == product[i, j] or (np.isnan(want) and np.isnan(product[i, j]))
    return f32_to_bf16_bits(product)


def write_safetensors(path, tensors):
    """tensors: name -> (dtype string, shape, bytes). The safetensors layout written by hand."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    table, checks = decode_table()
    rng = np.random.default_rng(20261207)

    # Weight A: [200, 300], float32 scales [2, 3]; all 256 codes first, then random codes (NaN codes included).
    a = rng.integers(0, 256, size=(200, 300), dtype=np.uint8)
    a[a == 0x7F] = 0x7E
    a[a == 0xFF] = 0xFE
    a.reshape(-1)[:256] = np.arange(256, dtype=np.uint8)
    a_scale = (rng.uniform(1.0, 2.0, size=(2, 3)) * 2.0 ** rng.integers(-14, 3, size=(2, 3))).astype(np.float32)
    # Weight B: [256, 128], bf16 scales [2, 1] (bf16 scales are exact in float32).
    b = rng.integers(0, 256, size=(256, 128), dtype=np.uint8)
    b[b == 0x7F] = 0x7E
    b[b == 0xFF] = 0xFE
    b_scale_bits = f32_to_bf16_bits((rng.uniform(1.0, 2.0, size=(2, 1)) * 2.0 ** -9).astype(np.float32))
    b_scale = bf16_bits_to_f32(b_scale_bits)
    # An unquantized bf16 tensor (a router, say): passes through as stored.
    g_bits = f32_to_bf16_bits(rng.normal(size=(8, 16)).astype(np.float32))

    wa, wb, wg = ("model.layers.0.mlp.down_proj.weight", "model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
                  "model.layers.0.mlp.gate.weight")
    write_safetensors(os.path.join(out, "model.safetensors"), {
        wa: ("F8_E4M3", a.shape, a.tobytes()),
        wa + "_scale_inv": ("F32", a_scale.shape, a_scale.astype("<f4").tobytes()),
        wb: ("F8_E4M3", b.shape, b.tobytes()),
        wb + "_scale_inv": ("BF16", b_scale.shape, b_scale_bits.astype("<u2").tobytes()),
        wg: ("BF16", g_bits.shape, g_bits.astype("<u2").tobytes()),
    })
    ea, eb = dequantize(a, a_scale, table), dequantize(b, b_scale, table)
    try:
        import ml_dtypes
        for codes, scale, e in ((a, a_scale, ea), (b, b_scale, eb)):
            full = np.repeat(np.repeat(scale, BLOCK, 0), BLOCK, 1)[:codes.shape[0], :codes.shape[1]]
            theirs = (codes.view(ml_dtypes.float8_e4m3fn).astype(np.float32) * full).astype(ml_dtypes.bfloat16)
            theirs_bits = theirs.view(np.uint16)
            nan = np.isnan(bf16_bits_to_f32(e))
            assert (theirs_bits[~nan] == e[~nan]).all() and np.isnan(theirs.astype(np.float32)[nan]).all(), \
                "ml_dtypes' dequantization + bfloat16 rounding disagrees"
        checks.append("ml_dtypes bfloat16 rounding of every expected value")
    except ImportError:
        pass
    try:
        import torch
        from transformers.integrations.finegrained_fp8 import Fp8Dequantize
        for codes, scale, e, whole_blocks in ((a, a_scale, ea, False), (b, b_scale, eb, True)):
            q = torch.from_numpy(codes.copy()).view(torch.float8_e4m3fn)
            s = torch.from_numpy(scale.astype(np.float32))
            if whole_blocks:
                # transformers' own dequantization (what from_pretrained(..., dequantize=True) runs per weight)
                theirs = Fp8Dequantize(None)._dequantize_one(q, s, torch.bfloat16)
            else:
                # partial edge blocks (transformers' helper wants whole ones): the same ops, blocks expanded by hand
                full = s.repeat_interleave(BLOCK, 0).repeat_interleave(BLOCK, 1)[:codes.shape[0], :codes.shape[1]]
                theirs = (q.to(torch.float32) * full).to(torch.bfloat16)
            theirs_bits = theirs.view(torch.int16).numpy().view(np.uint16)
            nan = np.isnan(bf16_bits_to_f32(e))
            assert (theirs_bits[~nan] == e[~nan]).all() and torch.isnan(theirs.float()).numpy()[nan].all(), \
                "torch / transformers' fp8 dequantization disagrees"
        import transformers
        checks.append(f"torch {torch.__version__} float8_e4m3fn and transformers {transformers.__version__}'s "
                      f"Fp8Dequantize (whole-block weight)")
    except ImportError:
        pass
    write_safetensors(os.path.join(out, "expected-bf16.safetensors"), {
        wa: ("BF16", ea.shape, ea.astype("<u2").tobytes()),
        wb: ("BF16", eb.shape, eb.astype("<u2").tobytes()),
        wg: ("BF16", g_bits.shape, g_bits.astype("<u2").tobytes()),
    })
    config = {
        "_comment": "Test checkpoint written by scripts/make-fp8-test-checkpoint.py: FP8 block quantization as the "
                    "Hub's DeepSeek-V3/R1 and Qwen3-*-FP8 config.json declare it.",
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
        "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                "weight_block_size": [BLOCK, BLOCK]},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    nan_a = int(np.isnan(bf16_bits_to_f32(ea)).sum())
    print(f"wrote {out}: decoder checked against {', '.join(checks)}; {nan_a} NaN elements in {wa}")


if __name__ == "__main__":
    main()
