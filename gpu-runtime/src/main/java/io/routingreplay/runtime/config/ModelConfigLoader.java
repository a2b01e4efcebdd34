package io.routingreplay.runtime.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.model.Architecture;
import io.routingreplay.runtime.model.Architectures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.routingreplay.runtime.config.ConfigJson.bool;
import static io.routingreplay.runtime.config.ConfigJson.intOpt;
import static io.routingreplay.runtime.config.ConfigJson.intReq;
import static io.routingreplay.runtime.config.ConfigJson.text;

/**
 * Reads a Hugging Face {@code config.json} (and {@code generation_config.json} for extra EOS ids): the keys every
 * architecture shares here, the rest ({@code model_type}'s attention, router, experts, dense layers and RoPE) by its
 * {@link Architecture}. Both spellings users bring are accepted: transformers 5 ({@code num_local_experts},
 * {@code rope_parameters}, {@code dtype}) and vendor checkpoints ({@code num_experts}, top-level
 * {@code rope_theta}/{@code rope_scaling}, {@code torch_dtype}).
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
        Architecture arch = Architectures.forModelType(modelType);
        ModelConfig.Builder b = new ModelConfig.Builder();
        b.architecture = arch;
        b.vocabSize = intReq(c, "vocab_size");
        b.hiddenSize = intReq(c, "hidden_size");
        b.numLayers = intReq(c, "num_hidden_layers");
        b.numHeads = intReq(c, "num_attention_heads");
        b.numKvHeads = intOpt(c, "num_key_value_heads", b.numHeads);
        b.headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : b.hiddenSize / b.numHeads;
        b.topK = intReq(c, "num_experts_per_tok");
        b.rmsNormEps = (float) (c.hasNonNull("rms_norm_eps") ? c.get("rms_norm_eps").asDouble() : 1e-6);
        b.maxPositionEmbeddings = intOpt(c, "max_position_embeddings", 4096);
        b.tieWordEmbeddings = bool(c, "tie_word_embeddings", false);
        boolean slidingOn = c.has("use_sliding_window") ? bool(c, "use_sliding_window", false)
                : c.hasNonNull("sliding_window");
        if (slidingOn && c.hasNonNull("sliding_window") && c.get("sliding_window").asInt() < b.maxPositionEmbeddings) {
            throw new IllegalArgumentException("unsupported sliding_window " + c.get("sliding_window")
                    + " in config.json; only full attention is implemented");
        }
        b.dtype = text(c, "dtype", text(c, "torch_dtype", "bfloat16"));
        List<Integer> eos = new ArrayList<>();
        addIds(eos, c.get("eos_token_id"));
        if (generationConfig != null) {
            addIds(eos, generationConfig.get("eos_token_id"));
        }
        b.eosTokenIds = eos;
        arch.readConfig(c, b);
        return b.build();
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
}
