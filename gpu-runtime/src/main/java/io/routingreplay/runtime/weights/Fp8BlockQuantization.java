package io.routingreplay.runtime.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code config.json}'s {@code quantization_config} for fp8 block quantization, the convention of the Hub's
 * DeepSeek-V3/R1 and Qwen3-*-FP8 releases: {@code {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme":
 * "dynamic", "weight_block_size": [128, 128]}}. Such weights are dequantized to bf16 when loaded (see
 * {@link BlockFp8Weight}); every other quantization is refused with a message that says what is supported.
 */
public record Fp8BlockQuantization(int blockRows, int blockCols) {
    static final String SUPPORTED = "supported: no quantization_config (bf16/fp16/fp32 weights), or quant_method"
            + " \"fp8\" with fmt \"e4m3\", activation_scheme \"dynamic\" and weight_block_size [rows, cols] (the"
            + " Hub's DeepSeek-V3/R1 and Qwen3-*-FP8 layout: float8_e4m3fn weights with <name>_scale_inv block"
            + " scales), which is dequantized to bf16 when loaded";

    public Fp8BlockQuantization {
        if (blockRows <= 0 || blockCols <= 0) {
            throw new IllegalArgumentException("weight_block_size must be two positive integers, got ["
                    + blockRows + ", " + blockCols + "]");
        }
    }

    /** The quantization of the checkpoint in {@code dir}: empty when its config.json has none (or there is none). */
    public static Optional<Fp8BlockQuantization> read(Path dir) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            return Optional.empty();
        }
        try {
            return fromConfig(new ObjectMapper().readTree(config.toFile()), config.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
        }
    }

    /** From a parsed config.json; {@code source} names it in messages. */
    public static Optional<Fp8BlockQuantization> fromConfig(JsonNode config, String source) {
        JsonNode q = config.get("quantization_config");
        if (q == null || q.isNull()) {
            return Optional.empty();
        }
        String where = source + ": quantization_config";
        if (!q.isObject()) {
            throw new IllegalArgumentException(where + " is not an object; " + SUPPORTED);
        }
        String method = text(q, "quant_method");
        if (!"fp8".equals(method)) {
            throw new IllegalArgumentException(where + ".quant_method " + quoted(method) + " is not supported; "
                    + SUPPORTED);
        }
        String fmt = text(q, "fmt");
        if (fmt != null && !fmt.equals("e4m3")) {
            throw new IllegalArgumentException(where + ".fmt " + quoted(fmt) + " is not supported (float8_e4m3fn"
                    + " only); " + SUPPORTED);
        }
        String activation = text(q, "activation_scheme");
        if (activation != null && !activation.equals("dynamic")) {
            throw new IllegalArgumentException(where + ".activation_scheme " + quoted(activation) + " is not"
                    + " supported (static per-tensor activation scales would be ignored); " + SUPPORTED);
        }
        String scaleFmt = text(q, "scale_fmt");
        // "ue8m0" (DeepSeek-V3.1) still stores float32 scales, only rounded to powers of two: they decode alike.
        if (scaleFmt != null && !Set.of("float", "ue8m0").contains(scaleFmt)) {
            throw new IllegalArgumentException(where + ".scale_fmt " + quoted(scaleFmt) + " is not supported"
                    + " (float or ue8m0); " + SUPPORTED);
        }
        JsonNode block = q.get("weight_block_size");
        if (block == null || block.isNull()) {
            throw new IllegalArgumentException(where + " has no weight_block_size: per-tensor fp8 is not supported; "
                    + SUPPORTED);
        }
        if (!block.isArray() || block.size() != 2 || !block.get(0).canConvertToInt() || !block.get(1).canConvertToInt()
                || !block.get(0).isIntegralNumber() || !block.get(1).isIntegralNumber()) {
            throw new IllegalArgumentException(where + ".weight_block_size " + block + " is not two integers; "
                    + SUPPORTED);
        }
        try {
            return Optional.of(new Fp8BlockQuantization(block.get(0).asInt(), block.get(1).asInt()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage() + "; " + SUPPORTED, e);
        }
    }

    private static String text(JsonNode q, String key) {
        JsonNode v = q.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static String quoted(String s) {
        return s == null ? "(missing)" : "\"" + s + "\"";
    }
}
