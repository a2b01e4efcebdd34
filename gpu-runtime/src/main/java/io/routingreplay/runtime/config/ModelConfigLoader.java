package io.routingreplay.runtime.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a Hugging Face {@code config.json} (and {@code generation_config.json} for extra EOS ids), accepting both
 * spellings users bring: transformers 5 ({@code num_local_experts}, {@code rope_parameters.rope_theta},
 * {@code dtype}) and vendor checkpoints ({@code num_experts}, top-level {@code rope_theta}, {@code torch_dtype}).
 */
public final class ModelConfigLoader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelConfigLoader() {
    }

    public static ModelConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no config.json in model folder " + modelDir);
        }
        try {
            JsonNode c = JSON.readTree(file.toFile());
            Path gen = modelDir.resolve("generation_config.json");
            JsonNode g = Files.isRegularFile(gen) ? JSON.readTree(gen.toFile()) : null;
            return parse(c, g);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses an already-read config (and optional generation config); exposed for synthetic configs and tests. */
    public static ModelConfig parse(JsonNode c, JsonNode generationConfig) {
        String modelType = text(c, "model_type", null);
        if (modelType == null) {
            throw new IllegalArgumentException("config.json has no model_type");
        }
        Architecture arch = Architecture.fromModelType(modelType);
        int hidden = intReq(c, "hidden_size");
        int heads = intReq(c, "num_attention_heads");
        int kvHeads = intOpt(c, "num_key_value_heads", heads);
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        int experts = c.hasNonNull("num_experts") ? c.get("num_experts").asInt() : intOpt(c, "num_local_experts", 0);
        int topK = intReq(c, "num_experts_per_tok");
        int intermediate = intOpt(c, "intermediate_size", 0);

        int moeIntermediate;
        int denseIntermediate;
        boolean normTopk;
        QkNorm qkNorm;
        Set<Integer> mlpOnly = new LinkedHashSet<>();
        int sparseStep = 1;
        boolean tieDefault = false;
        switch (arch) {
            case QWEN3_MOE -> {
                moeIntermediate = intReq(c, "moe_intermediate_size");
                denseIntermediate = intermediate;
                normTopk = bool(c, "norm_topk_prob", false);
                qkNorm = QkNorm.PER_HEAD;
                if (c.hasNonNull("mlp_only_layers")) {
                    c.get("mlp_only_layers").forEach(n -> mlpOnly.add(n.asInt()));
                }
                sparseStep = intOpt(c, "decoder_sparse_step", 1);
            }
            case MIXTRAL -> {
                moeIntermediate = intermediate;
                denseIntermediate = 0;
                normTopk = true; // Mixtral softmaxes over the selected logits: the same as renormalising
                qkNorm = QkNorm.NONE;
            }
            case OLMOE -> {
                if (c.hasNonNull("clip_qkv")) {
                    throw new IllegalArgumentException("unsupported clip_qkv " + c.get("clip_qkv")
                            + " in config.json (OLMoE with q/k/v clipping); only clip_qkv: null is implemented");
                }
                moeIntermediate = intermediate;
                denseIntermediate = 0;
                normTopk = bool(c, "norm_topk_prob", false);
                qkNorm = QkNorm.FULL;
            }
            default -> throw new IllegalStateException(arch.toString());
        }
        double ropeTheta = 10000.0;
        if (c.hasNonNull("rope_theta")) {
            ropeTheta = c.get("rope_theta").asDouble();
        } else if (c.hasNonNull("rope_parameters") && c.get("rope_parameters").hasNonNull("rope_theta")) {
            ropeTheta = c.get("rope_parameters").get("rope_theta").asDouble();
        }
        JsonNode scaling = c.hasNonNull("rope_scaling") ? c.get("rope_scaling")
                : c.hasNonNull("rope_parameters") ? c.get("rope_parameters") : null;
        if (scaling != null && scaling.hasNonNull("rope_type") && !"default".equals(scaling.get("rope_type").asText())) {
            throw new IllegalArgumentException("unsupported rope_type '" + scaling.get("rope_type").asText()
                    + "' in config.json; only the default RoPE is implemented");
        }
        if (bool(c, "attention_bias", false)) {
            throw new IllegalArgumentException("unsupported attention_bias: true in config.json; only bias-free "
                    + "q/k/v/o projections are implemented");
        }
        int maxPos = intOpt(c, "max_position_embeddings", 4096);
        boolean slidingOn = c.has("use_sliding_window") ? bool(c, "use_sliding_window", false)
                : c.hasNonNull("sliding_window");
        if (slidingOn && c.hasNonNull("sliding_window") && c.get("sliding_window").asInt() < maxPos) {
            throw new IllegalArgumentException("unsupported sliding_window " + c.get("sliding_window")
                    + " in config.json; only full attention is implemented");
        }
        String dtype = text(c, "dtype", text(c, "torch_dtype", "bfloat16"));
        List<Integer> eos = new ArrayList<>();
        addIds(eos, c.get("eos_token_id"));
        if (generationConfig != null) {
            addIds(eos, generationConfig.get("eos_token_id"));
        }
        return new ModelConfig(arch, intReq(c, "vocab_size"), hidden, intReq(c, "num_hidden_layers"), heads, kvHeads,
                headDim, denseIntermediate, moeIntermediate, experts, topK, normTopk,
                (float) (c.hasNonNull("rms_norm_eps") ? c.get("rms_norm_eps").asDouble() : 1e-6),
                ropeTheta, maxPos,
                bool(c, "tie_word_embeddings", tieDefault), qkNorm, mlpOnly, sparseStep, eos, dtype);
    }

    private static void addIds(List<Integer> out, JsonNode n) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.isArray()) {
            n.forEach(x -> addIds(out, x));
        } else if (!out.contains(n.asInt())) {
            out.add(n.asInt());
        }
    }

    private static int intReq(JsonNode c, String key) {
        if (!c.hasNonNull(key)) {
            throw new IllegalArgumentException("config.json is missing '" + key + "'");
        }
        return c.get(key).asInt();
    }

    private static int intOpt(JsonNode c, String key, int dflt) {
        return c.hasNonNull(key) ? c.get(key).asInt() : dflt;
    }

    private static boolean bool(JsonNode c, String key, boolean dflt) {
        return c.hasNonNull(key) ? c.get(key).asBoolean() : dflt;
    }

    private static String text(JsonNode c, String key, String dflt) {
        return c.hasNonNull(key) ? c.get(key).asText() : dflt;
    }
}
