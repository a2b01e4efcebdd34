package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.tokenizer.TextTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns {@link RequestFields} into a {@link GenerationRequest}, or a reason a person understands. It applies the
 * same rules the engine enforces on admission (ids in the vocabulary, a prompt shorter than
 * max_position_embeddings, sampling values), so bad input is caught before it reaches an engine. Stateless and
 * thread-safe; duplicate rids are the caller's concern (they depend on what else is in flight).
 */
public final class RequestValidator {
    private final RequestLimits limits;
    private final TextTokenizer tokenizer;
    private final String noTokenizerReason;

    /** @param tokenizer null when the model has none: then only prompt_token_ids are accepted */
    public RequestValidator(RequestLimits limits, TextTokenizer tokenizer) {
        this(limits, tokenizer, "\"prompt_text\" given but the model folder has no tokenizer.json;"
                + " send \"prompt_token_ids\" instead");
    }

    /**
     * @param tokenizer         null when there is none: then only prompt_token_ids are accepted
     * @param noTokenizerReason the answer to a prompt_text when {@code tokenizer} is null
     */
    public RequestValidator(RequestLimits limits, TextTokenizer tokenizer, String noTokenizerReason) {
        this.limits = limits;
        this.tokenizer = tokenizer;
        this.noTokenizerReason = noTokenizerReason;
    }

    public ParsedRequest validate(RequestFields f) {
        String rid = f.rid();
        if (rid == null || rid.isBlank()) {
            return ParsedRequest.rejected(null, "missing rid (every request needs a non-empty string \"rid\")");
        }
        if (f.promptText() == null && f.promptTokenIds() == null) {
            return ParsedRequest.rejected(rid, "no prompt: give \"prompt_text\" or \"prompt_token_ids\"");
        }
        if (f.promptText() != null && f.promptTokenIds() != null) {
            return ParsedRequest.rejected(rid, "both \"prompt_text\" and \"prompt_token_ids\" given; send exactly one");
        }
        int[] prompt;
        if (f.promptText() != null) {
            if (tokenizer == null) {
                return ParsedRequest.rejected(rid, noTokenizerReason);
            }
            if (f.promptText().isEmpty()) {
                return ParsedRequest.rejected(rid, "\"prompt_text\" is empty");
            }
            prompt = tokenizer.encode(f.promptText());
            if (prompt.length == 0) {
                return ParsedRequest.rejected(rid, "\"prompt_text\" encodes to no tokens");
            }
        } else {
            prompt = f.promptTokenIds();
            if (prompt.length == 0) {
                return ParsedRequest.rejected(rid, "\"prompt_token_ids\" is empty");
            }
            String bad = firstOutsideVocab("prompt_token_ids", prompt);
            if (bad != null) {
                return ParsedRequest.rejected(rid, bad);
            }
        }
        int[] stop = f.stopTokenIds() == null ? new int[0] : f.stopTokenIds();
        String badStop = firstOutsideVocab("stop_token_ids", stop);
        if (badStop != null) {
            return ParsedRequest.rejected(rid, badStop);
        }
        SamplingParams params = new SamplingParams(
                orDefault(f.maxNewTokens(), RequestFields.DEFAULT_MAX_NEW_TOKENS),
                orDefault(f.temperature(), RequestFields.DEFAULT_TEMPERATURE),
                orDefault(f.topP(), RequestFields.DEFAULT_TOP_P),
                orDefault(f.topK(), RequestFields.DEFAULT_TOP_K),
                f.seed(), toList(stop),
                Boolean.TRUE.equals(f.ignoreEos()),
                Boolean.TRUE.equals(f.returnRoutingWeights()));
        boolean promptLogprobs = Boolean.TRUE.equals(f.promptLogprobs());
        String badParams = params.validate(limits.maxNewTokensCap(), promptLogprobs);
        if (badParams != null) {
            return ParsedRequest.rejected(rid, badParams);
        }
        String notOffered = replayInputsNotOffered(f);
        if (notOffered != null) {
            return ParsedRequest.rejected(rid, notOffered);
        }
        String tooLong = checkLength(prompt.length, params.maxNewTokens() == 0);
        if (tooLong != null) {
            return ParsedRequest.rejected(rid, tooLong);
        }
        RoutingSelection routing = new RoutingSelection(
                orDefault(f.routingStart(), RoutingSelection.DEFAULT_START),
                orDefault(f.returnRouting(), RoutingSelection.DEFAULT_RETURNED));
        String badRouting = routing.validate(prompt.length);
        if (badRouting != null) {
            return ParsedRequest.rejected(rid, badRouting);
        }
        ForcedRouting forced;
        try {
            forced = forcedRouting(f, prompt.length);
        } catch (IllegalArgumentException e) {
            return ParsedRequest.rejected(rid, e.getMessage());
        }
        GenerationRequest request = new GenerationRequest(rid, prompt, params, routing, forced, promptLogprobs);
        return request.scoringProblem() != null ? ParsedRequest.rejected(rid, request.scoringProblem())
                : ParsedRequest.accepted(request);
    }

    /**
     * Where the limits carry no routing layout, forced_routing and prompt_logprobs are refused rather than silently
     * dropped; where they read no local files (the streaming job), forced_routing_npy is refused before its path is
     * opened.
     */
    private String replayInputsNotOffered(RequestFields f) {
        if (limits.routing() != null) {
            return f.forcedRoutingNpy() == null || limits.readsLocalFiles() ? null
                    : "\"forced_routing_npy\" names a file, and the streaming job does not read files its requests "
                    + "name; send the ids themselves in \"forced_routing\" (a result's topk_ids rows)";
        }
        String field = f.forcedRouting() != null ? "forced_routing" : f.forcedRoutingNpy() != null
                ? "forced_routing_npy" : Boolean.TRUE.equals(f.promptLogprobs()) ? "prompt_logprobs" : null;
        return field == null ? null : "\"" + field + "\" is not offered here (no routing layout to check it "
                + "against); use routing-replay generate or verify";
    }

    /**
     * forced_routing (nested lists) or forced_routing_npy (a .npy path, relative to the working directory), shaped
     * [m][moe_layers][k] as the model routes and checked as the engine checks it; null when neither is given.
     */
    private ForcedRouting forcedRouting(RequestFields f, int promptLength) {
        if (f.forcedRouting() != null && f.forcedRoutingNpy() != null) {
            throw new IllegalArgumentException("both \"forced_routing\" and \"forced_routing_npy\" given; send one");
        }
        RequestFields.NestedIds nested = f.forcedRouting();
        String field = "forced_routing";
        if (f.forcedRoutingNpy() != null) {
            field = "forced_routing_npy";
            try {
                RoutingNpy npy = RoutingNpy.read(java.nio.file.Path.of(f.forcedRoutingNpy()));
                nested = new RequestFields.NestedIds(npy.shape(), npy.ids());
            } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
                throw new IllegalArgumentException("\"forced_routing_npy\" " + f.forcedRoutingNpy()
                        + " cannot be read: " + e.getMessage());
            }
        }
        if (nested == null) {
            return null;
        }
        int m = nested.shape()[0];
        if (limits.routing() != null && m > 0 && (nested.shape()[1] != limits.routing().numMoeLayers()
                || nested.shape()[2] != limits.routing().topK())) {
            throw new IllegalArgumentException("\"" + field + "\" rows are [" + nested.shape()[1] + "][" + nested.shape()[2]
                    + "]; the model routes " + limits.routing().numMoeLayers() + " MoE layers × top_k "
                    + limits.routing().topK() + " per position");
        }
        ForcedRouting forced = new ForcedRouting(m, nested.values());
        if (limits.routing() != null) {
            String bad = forced.validate(limits.routing(), promptLength);
            if (bad != null) {
                throw new IllegalArgumentException(bad);
            }
        }
        return forced;
    }

    /**
     * As the engine: the prompt must leave room for at least one new token; generation that would run past
     * max_position_embeddings stops there with finish_reason "length".
     */
    private String checkLength(int promptLen, boolean scoresOnly) {
        int maxPos = limits.maxPositionEmbeddings();
        if (promptLen >= maxPos + (scoresOnly ? 1 : 0)) {   // scoring feeds all but the last token
            return "prompt has " + promptLen + " tokens; the model allows at most " + (maxPos - 1)
                    + " (max_position_embeddings " + maxPos + " minus one to generate)";
        }
        return null;
    }

    private String firstOutsideVocab(String field, int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= limits.vocabSize()) {
                return "\"" + field + "\"[" + i + "] = " + ids[i] + " is outside the vocabulary (0.."
                        + (limits.vocabSize() - 1) + ")";
            }
        }
        return null;
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }

    private static List<Integer> toList(int[] ids) {
        List<Integer> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(id);
        }
        return out;
    }
}
