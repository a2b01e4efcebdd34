package io.routingreplay.operators.validation;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import io.routingreplay.schemas.InferenceRequest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Turns one raw prompt record into a request the engine will accept, or a dead letter with a reason a person
 * understands. Flink-free so the offline path and tests use the same rules; {@link PromptValidationFunction} runs
 * it in the job. It never throws for any input: every record gets exactly one {@link Verdict}.
 *
 * <p>Order of checks (the first failure is the reason): size cap (before reading the bytes), decoding (JSON or Avro,
 * field types), rid, model, prompt (present, non-empty, tokenised, ids in the vocabulary, prompt-token cap),
 * sampling values ({@link SamplingParams#validate}, the engine's own rules), stop token ids, and prompt +
 * max_new_tokens within the model's context. Duplicate rids are caught after this, keyed by rid
 * ({@link DuplicateRidFilter}).
 */
public final class PromptValidator implements AutoCloseable {

    private final ValidationLimits limits;
    private final String modelName;
    private final int vocabSize;
    private final int maxPositionEmbeddings;
    private final TextTokenizer tokenizer;

    /**
     * @param modelName the model this job serves; requests naming another model are refused
     * @param tokenizer null when the model has none: then only prompt_token_ids are accepted
     */
    public PromptValidator(ValidationLimits limits, String modelName, int vocabSize, int maxPositionEmbeddings,
                           TextTokenizer tokenizer) {
        this.limits = limits;
        this.modelName = modelName;
        this.vocabSize = vocabSize;
        this.maxPositionEmbeddings = maxPositionEmbeddings;
        this.tokenizer = tokenizer;
    }

    /** A validator for the checkpoint in {@code modelDir}, named {@code modelName}, with its tokenizer if it has one. */
    public static PromptValidator forModel(Path modelDir, String modelName, ValidationLimits limits) {
        ModelConfig cfg = ModelConfigLoader.load(modelDir);
        Optional<TextTokenizer> tok = TextTokenizer.load(modelDir);
        return new PromptValidator(limits, modelName, cfg.vocabSize, cfg.maxPositionEmbeddings, tok.orElse(null));
    }

    public ValidationLimits limits() {
        return limits;
    }

    public Verdict validate(RawPrompt raw) {
        return validate(raw, System.currentTimeMillis());
    }

    public Verdict validate(RawPrompt raw, long now) {
        byte[] bytes = raw.value;
        if (bytes == null || bytes.length == 0) {
            return reject(raw, null, "empty record: expected a request (JSON object or Avro PromptEvent)",
                    DeadLetters.STAGE_DECODE, now);
        }
        if (bytes.length > limits.maxRequestBytes()) {
            return reject(raw, null, "request is " + bytes.length + " bytes, over the limit of "
                    + limits.maxRequestBytes() + " bytes (" + LimitOptions.MAX_REQUEST_BYTES.key() + ")",
                    DeadLetters.STAGE_DECODE, now);
        }
        PromptFields f;
        try {
            f = decode(bytes);
        } catch (PromptDecodeException e) {
            return reject(raw, e.rid(), e.getMessage(), DeadLetters.STAGE_DECODE, now);
        }
        try {
            return check(raw, f, now);
        } catch (RuntimeException e) {
            // A bug here (or in the tokenizer) must cost this request only, never restart the job.
            return reject(raw, f.rid(), "internal error while validating this request: " + e,
                    DeadLetters.STAGE_VALIDATE, now);
        }
    }

    private PromptFields decode(byte[] bytes) throws PromptDecodeException {
        switch (limits.inputFormat()) {
            case JSON:
                return JsonPromptDecoder.decode(bytes);
            case AVRO:
                return AvroPromptDecoder.decode(bytes);
            default:
                if (bytes[0] == '{') { // an Avro PromptEvent never starts with 0x7B (it would be a negative length)
                    return JsonPromptDecoder.decode(bytes);
                }
                try {
                    return AvroPromptDecoder.decode(bytes);
                } catch (PromptDecodeException notAvro) {
                    if (looksLikeText(bytes)) {
                        return JsonPromptDecoder.decode(bytes); // throws with JSON's own, clearer reason
                    }
                    throw notAvro;
                }
        }
    }

    private Verdict check(RawPrompt raw, PromptFields f, long now) {
        String rid = f.rid();
        if (rid == null || rid.isBlank()) {
            return reject(raw, null, "missing rid: every request needs a non-empty \"rid\" (request id)", now);
        }
        if (f.model() != null && modelName != null && !f.model().equals(modelName)) {
            return reject(raw, rid, "model '" + f.model() + "' is not served by this job (it serves '" + modelName
                    + "'); leave model out or send it to that model's topic", now);
        }
        if (f.promptText() != null && f.promptTokenIds() != null) {
            return reject(raw, rid, "give either prompt_text or prompt_token_ids, not both", now);
        }
        if (f.promptText() == null && f.promptTokenIds() == null) {
            return reject(raw, rid, "no prompt: set prompt_text or prompt_token_ids", now);
        }
        int[] ids;
        if (f.promptText() != null) {
            if (f.promptText().isEmpty()) {
                return reject(raw, rid, "empty prompt: prompt_text is \"\"", now);
            }
            if (tokenizer == null) {
                return reject(raw, rid, "prompt_text given but the model has no tokenizer.json; send "
                        + "prompt_token_ids instead", now);
            }
            ids = tokenizer.encode(f.promptText());
            if (ids.length == 0) {
                return reject(raw, rid, "empty prompt: prompt_text encodes to no tokens", now);
            }
        } else {
            ids = f.promptTokenIds();
            if (ids.length == 0) {
                return reject(raw, rid, "empty prompt: prompt_token_ids is []", now);
            }
            String bad = firstOutsideVocab("prompt_token_ids", ids);
            if (bad != null) {
                return reject(raw, rid, bad, now);
            }
        }
        if (ids.length > limits.maxPromptTokens()) {
            return reject(raw, rid, "prompt has " + ids.length + " tokens, over the limit of "
                    + limits.maxPromptTokens() + " (" + LimitOptions.MAX_PROMPT_TOKENS.key() + ")", now);
        }
        SamplingParams params = new SamplingParams(f.maxNewTokens(), f.temperature(), f.topP(), f.topK(), f.seed(),
                toList(f.stopTokenIds()), f.ignoreEos(), f.returnRoutingWeights());
        String paramsReason = params.validate(limits.maxNewTokens());
        if (paramsReason != null) {
            return reject(raw, rid, paramsReason + (paramsReason.contains("cap")
                    ? " (" + LimitOptions.MAX_NEW_TOKENS.key() + ")" : ""), now);
        }
        String badStop = firstOutsideVocab("stop_token_ids", f.stopTokenIds());
        if (badStop != null) {
            return reject(raw, rid, badStop, now);
        }
        long total = (long) ids.length + f.maxNewTokens();
        if (total > maxPositionEmbeddings) {
            return reject(raw, rid, "prompt (" + ids.length + " tokens) + max_new_tokens (" + f.maxNewTokens()
                    + ") = " + total + " exceeds the model's context of " + maxPositionEmbeddings
                    + " positions (max_position_embeddings)", now);
        }
        return new Verdict.Accepted(InferenceRequest.newBuilder()
                .setRid(rid)
                .setModel(modelName != null ? modelName : (f.model() != null ? f.model() : ""))
                .setPromptTokenIds(toList(ids))
                .setMaxNewTokens(f.maxNewTokens())
                .setTemperature(f.temperature())
                .setTopP(f.topP())
                .setTopK(f.topK())
                .setSeed(f.seed())
                .setStopTokenIds(toList(f.stopTokenIds()))
                .setIgnoreEos(f.ignoreEos())
                .setReturnRoutingWeights(f.returnRoutingWeights())
                .setSubmittedAt(f.submittedAt())
                .setMetadata(new java.util.HashMap<>(f.metadata()))
                .setSourceTopic(raw.topic)
                .setSourcePartition(raw.partition)
                .setSourceOffset(raw.offset)
                .build());
    }

    private String firstOutsideVocab(String field, int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                return field + "[" + i + "] = " + ids[i] + " is outside the vocabulary [0, " + vocabSize + ")";
            }
        }
        return null;
    }

    private Verdict reject(RawPrompt raw, String rid, String reason, long now) {
        return reject(raw, rid, reason, DeadLetters.STAGE_VALIDATE, now);
    }

    private Verdict reject(RawPrompt raw, String rid, String reason, String stage, long now) {
        return new Verdict.Rejected(DeadLetters.of(raw, rid, reason, stage, limits.deadLetterRawBytes(), now));
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> out = new ArrayList<>(a.length);
        for (int v : a) {
            out.add(v);
        }
        return out;
    }

    /** Valid UTF-8 without control characters other than whitespace: worth a JSON reason rather than an Avro one. */
    private static boolean looksLikeText(byte[] bytes) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        if (s.indexOf('\uFFFD') >= 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
