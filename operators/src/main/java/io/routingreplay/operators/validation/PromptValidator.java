package io.routingreplay.operators.validation;

import io.routingreplay.operators.recordsize.ResultSizeBound;
import io.routingreplay.runtime.cli.request.ParsedRequest;
import io.routingreplay.runtime.cli.request.RequestFields;
import io.routingreplay.runtime.cli.request.RequestLimits;
import io.routingreplay.runtime.cli.request.RequestLineParser;
import io.routingreplay.runtime.cli.request.RequestValidator;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import io.routingreplay.runtime.tokenizer.TokenizerLoadException;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptEvent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;

/**
 * Turns one raw prompt record into a request the engine will accept, or a dead letter with a reason a person
 * understands. Flink-free; {@link PromptValidationFunction} runs it in the job. It never throws for any input:
 * every record gets exactly one {@link Verdict}.
 *
 * <p>The request rules are {@code generate}'s own ({@link RequestLineParser} for JSON lines, {@link RequestValidator}
 * for Avro PromptEvents), so the offline command and the job refuse the same requests with the same words. This
 * class adds what only the streaming path has: the request-bytes cap (checked before the bytes are read), Avro
 * decoding (with a PromptEvent's packed forced_routing, {@link AvroForcedRouting}), the model name, the prompt-token
 * cap, the streaming-only fields, and the size of the result: a request
 * whose result could exceed the Kafka record limit ({@link ResultSizeBound}) is refused here, before it costs any
 * compute, instead of failing the results sink's transaction (and so restarting the job, forever) when it is done.
 * Duplicate rids are caught after this, keyed by rid ({@link DuplicateRidFilter}).
 */
public final class PromptValidator implements AutoCloseable {

    private final ValidationLimits limits;
    private final String modelName;
    private final RequestValidator requestValidator;
    private final RequestLineParser lineParser;
    private final TextTokenizer tokenizer;
    private final String tokenizerProblem;
    private final ResultSizeBound resultSize;
    /** The model's: forced_routing arrives and is kept packed in its dtype. */
    private final RoutingLayout routingLayout;

    /**
     * @param modelName the model this job serves; requests naming another model are refused
     * @param tokenizer null when the model has none: then only prompt_token_ids are accepted
     */
    public PromptValidator(ValidationLimits limits, String modelName, ModelConfig model, TextTokenizer tokenizer) {
        this(limits, modelName, model, new RequestValidator(
                RequestLimits.forStream(model, limits.maxNewTokens()), tokenizer), tokenizer, null);
    }

    private PromptValidator(ValidationLimits limits, String modelName, ModelConfig model,
                            RequestValidator requestValidator, TextTokenizer tokenizer, String tokenizerProblem) {
        this.limits = limits;
        this.modelName = modelName;
        this.tokenizer = tokenizer;
        this.tokenizerProblem = tokenizerProblem;
        this.resultSize = ResultSizeBound.of(model);
        this.routingLayout = new RoutingLayout(model.moeLayerIndices, model.topK, model.numExperts);
        this.requestValidator = requestValidator;
        this.lineParser = new RequestLineParser(requestValidator);
    }

    /**
     * A validator for the checkpoint in {@code modelDir}, named {@code modelName}, with its tokenizer if it has one.
     * A tokenizer that is there but cannot be loaded does not fail this (a failed {@code open()} would restart the
     * job into the same failure, forever, e.g. a native library already loaded by another classloader): requests
     * with {@code prompt_text} are then refused with the load error as the reason, and token-id requests served.
     */
    public static PromptValidator forModel(Path modelDir, String modelName, ValidationLimits limits) {
        ModelConfig cfg = ModelConfigLoader.load(modelDir);
        RequestLimits requestLimits = RequestLimits.forStream(cfg, limits.maxNewTokens());
        TextTokenizer tok;
        try {
            tok = TextTokenizer.load(modelDir).orElse(null);
        } catch (TokenizerLoadException e) {
            String problem = "\"prompt_text\" cannot be tokenised here: " + e.getMessage()
                    + "; send \"prompt_token_ids\" instead, or fix the tokenizer";
            return new PromptValidator(limits, modelName, cfg, new RequestValidator(requestLimits, null, problem),
                    null, problem);
        }
        return new PromptValidator(limits, modelName, cfg, tok);
    }

    /** Why text prompts are refused when the model's tokenizer could not be loaded; empty when it loaded. */
    public Optional<String> tokenizerProblem() {
        return Optional.ofNullable(tokenizerProblem);
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
            return reject(raw, null, "empty record: expected a request (a JSON object or an Avro PromptEvent)",
                    DeadLetters.STAGE_DECODE, now);
        }
        if (bytes.length > limits.maxRequestBytes()) {
            return reject(raw, null, "request is " + bytes.length + " bytes, over the limit of "
                    + limits.maxRequestBytes() + " bytes (" + LimitOptions.MAX_REQUEST_BYTES.key() + ")",
                    DeadLetters.STAGE_DECODE, now);
        }
        try {
            return isJson(bytes) ? validateJson(raw, now) : validateAvro(raw, now);
        } catch (PromptDecodeException e) {
            return reject(raw, e.rid(), e.getMessage(), DeadLetters.STAGE_DECODE, now);
        } catch (RuntimeException e) {
            // A bug here (or in the tokenizer) must cost this request only, never restart the job.
            return reject(raw, null, "internal error while validating this request: " + e,
                    DeadLetters.STAGE_VALIDATE, now);
        }
    }

    private boolean isJson(byte[] bytes) {
        switch (limits.inputFormat()) {
            case JSON:
                return true;
            case AVRO:
                return false;
            default:
                // An Avro PromptEvent starts with the single-object header C3 01, which is neither '{' nor UTF-8
                // text. Other text gets JSON's (clearer) reason; other bytes are told what an Avro record must be.
                return bytes[0] == '{' || (!AvroPromptDecoder.isFramed(bytes) && looksLikeText(bytes));
        }
    }

    private Verdict validateJson(RawPrompt raw, long now) throws PromptDecodeException {
        String line = new String(raw.value, StandardCharsets.UTF_8);
        ParsedRequest parsed = lineParser.parse(line);
        if (!parsed.isAccepted()) {
            return reject(raw, parsed.rid(), parsed.rejectReason(), now);
        }
        return finish(raw, parsed.request(), PromptExtras.ofJson(line, parsed.rid()), now);
    }

    private Verdict validateAvro(RawPrompt raw, long now) throws PromptDecodeException {
        PromptEvent e = AvroPromptDecoder.decode(raw.value);
        RequestFields.NestedIds forced;
        try {
            forced = AvroForcedRouting.read(e.getForcedRouting(), e.getForcedRoutingShape(), routingLayout.dtype());
        } catch (IllegalArgumentException bad) {
            return reject(raw, e.getRid(), bad.getMessage(), now);
        }
        ParsedRequest parsed = requestValidator.validate(new RequestFields(e.getRid(), e.getPrompt(),
                toArray(e.getPromptTokenIds()), e.getMaxNewTokens(), e.getTemperature(), e.getTopP(), e.getTopK(),
                e.getSeed(), toArray(e.getStopTokenIds()), e.getIgnoreEos(), e.getReturnRoutingWeights(),
                e.getRoutingStart(), e.getReturnRouting(), forced, null, e.getPromptLogprobs()));
        if (!parsed.isAccepted()) {
            return reject(raw, parsed.rid(), parsed.rejectReason(), now);
        }
        return finish(raw, parsed.request(), PromptExtras.of(e), now);
    }

    /** The checks only the streaming path has, then the request as the window and inference operator take it. */
    private Verdict finish(RawPrompt raw, GenerationRequest req, PromptExtras extras, long now) {
        String rid = req.rid();
        if (extras.model() != null && modelName != null && !extras.model().equals(modelName)) {
            return reject(raw, rid, "model '" + extras.model() + "' is not served by this job (it serves '"
                    + modelName + "'); leave \"model\" out or send the request to that model's topic", now);
        }
        int promptTokens = req.promptTokenIds().length;
        if (promptTokens > limits.maxPromptTokens()) {
            return reject(raw, rid, "prompt has " + promptTokens + " tokens, over the limit of "
                    + limits.maxPromptTokens() + " (" + LimitOptions.MAX_PROMPT_TOKENS.key() + ")", now);
        }
        SamplingParams p = req.params();
        InferenceRequest request = InferenceRequest.newBuilder()
                .setRid(rid)
                .setModel(modelName != null ? modelName : (extras.model() != null ? extras.model() : ""))
                .setPromptTokenIds(toList(req.promptTokenIds()))
                .setMaxNewTokens(p.maxNewTokens())
                .setTemperature(p.temperature())
                .setTopP(p.topP())
                .setTopK(p.topK())
                .setSeed(p.seed())
                .setStopTokenIds(new ArrayList<>(p.stopTokenIds()))
                .setIgnoreEos(p.ignoreEos())
                .setReturnRoutingWeights(p.returnRoutingWeights())
                .setRoutingStart(req.routing().start())
                .setReturnRouting(req.routing().returned())
                // checked against the model by the request validator, so every id fits the dtype
                .setForcedRouting(req.forcedRouting() == null ? null : ByteBuffer.wrap(RoutingRecord.pack(
                        routingLayout, req.forcedRouting().ids(), 0, req.forcedRouting().ids().length)))
                .setPromptLogprobs(req.promptLogprobs())
                .setSubmittedAt(extras.submittedAt())
                .setMetadata(new HashMap<>(extras.metadata()))
                .setSourceTopic(raw.topic)
                .setSourcePartition(raw.partition)
                .setSourceOffset(raw.offset)
                .build();
        String tooLarge = resultTooLarge(request);
        return tooLarge == null ? new Verdict.Accepted(request) : reject(raw, rid, tooLarge, now);
    }

    /** Why the result of {@code r} might not fit in one Kafka record, or null when it always will. */
    private String resultTooLarge(InferenceRequest r) {
        ResultSizeBound.Estimate e = resultSize.estimate(r);
        int limit = limits.maxRecordBytes();
        if (e.recordBytes() <= limit) {
            return null;
        }
        int fits = resultSize.largestFittingMaxNewTokens(r, limit);
        String key = LimitOptions.MAX_RECORD_BYTES.key();
        return "the result could reach " + e.recordBytes() + " bytes (" + resultSize.describe(e) + "), over the limit "
                + "of " + limit + " bytes per Kafka record (" + key + "): "
                + (fits > 0 ? "lower max_new_tokens to at most " + fits : "shorten the prompt")
                + ", or raise " + key + " (and the results topic's max.message.bytes)";
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

    private static int[] toArray(List<Integer> list) {
        if (list == null) {
            return null;
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    /** Valid UTF-8 without control characters other than whitespace. */
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
