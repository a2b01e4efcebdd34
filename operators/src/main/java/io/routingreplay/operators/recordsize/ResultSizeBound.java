package io.routingreplay.operators.recordsize;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.engine.FinishReason;
import io.routingreplay.runtime.routing.RoutingDtype;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.io.Serializable;
import java.util.List;

/**
 * The largest Kafka record the result of a request can become, known before it runs: the request's own fields
 * (rid, model name, prompt ids, metadata) exactly, and for what generation adds the worst case the model allows —
 * {@code min(max_new_tokens, max_position_embeddings − prompt)} outputs, each a token id below the vocabulary size
 * and a float logprob, and of the prompt + outputs − 1 routed tokens those the result returns (from the request's
 * {@code routing_start}; none with {@code return_routing} false) × MoE layers × top-k ids at the routing dtype (and
 * as many float weights with {@code return_routing_weights}), the longest finish reason, a full-width seed and timings,
 * then the key (the rid) and Kafka's framing ({@link KafkaRecordFraming}). Every field of {@code RoutingResult.avsc}
 * is counted at its largest Avro encoding, so the bound is never below the real record ({@code ResultSizeBoundTest}
 * checks it against encoded results of the engine) and, with the ids dominating, rarely more than a few per cent
 * above it for a request that runs to its max_new_tokens. Scoring adds a float per prompt token after the first
 * ({@code prompt_logprobs}), routing replay its report ({@code forced_routing}: a count per MoE layer). The result has
 * no text: consumers decode it.
 */
public final class ResultSizeBound implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final int TIMINGS_FIELDS = 5;
    private static final int LONGEST_FINISH_REASON = longestFinishReason();

    private final int maxTokenIdBytes;
    private final int maxPositions;
    private final int[] moeLayerIndices;
    private final int topK;
    private final int numExperts;
    private final RoutingDtype dtype;

    /** The bound of one request: the record bytes and what went into them, for a reason a person can act on. */
    /**
     * @param routedTokens the request's routed positions at most (prompt + outputs − 1)
     * @param routingRows  the rows of routing its result returns at most: routedTokens − routing_start, or 0
     */
    public record Estimate(long recordBytes, int promptTokens, int maxNewTokens, int maxOutputs, int routedTokens,
                           int routingRows, int routingStart, boolean routingReturned, boolean weights) {
    }

    ResultSizeBound(int vocabSize, int maxPositions, RoutingLayout layout) {
        this.maxTokenIdBytes = AvroSizes.varint(vocabSize - 1L);
        this.maxPositions = maxPositions;
        this.moeLayerIndices = layout.moeLayerIndices().clone();
        this.topK = layout.topK();
        this.numExperts = layout.numExperts();
        this.dtype = layout.dtype();
    }

    public static ResultSizeBound of(ModelConfig model) {
        return new ResultSizeBound(model.vocabSize, model.maxPositionEmbeddings,
                new RoutingLayout(model.moeLayerIndices, model.topK, model.numExperts));
    }

    public Estimate estimate(InferenceRequest r) {
        return estimate(r, r.getMaxNewTokens());
    }

    /** The bound of {@code r} as if it asked for {@code maxNewTokens}. */
    public Estimate estimate(InferenceRequest r, int maxNewTokens) {
        List<Integer> prompt = r.getPromptTokenIds();
        int promptTokens = prompt.size();
        // The engine stops at max_new_tokens or when prompt + outputs reaches max_position_embeddings.
        int outputs = Math.max(0, Math.min(maxNewTokens, maxPositions - promptTokens));
        int routed = Math.max(0, promptTokens + outputs - 1);
        // Only the rows the result returns count: a multi-turn request with routing_start is not refused for rows
        // it will never carry.
        boolean returned = r.getReturnRouting();
        int start = returned ? r.getRoutingStart() : 0;
        int rows = returned ? Math.max(0, routed - start) : 0;
        long ids = (long) rows * moeLayerIndices.length * topK;
        boolean weights = returned && r.getReturnRoutingWeights();

        long promptIds = 0;
        for (int id : prompt) {
            promptIds += AvroSizes.varint(id);
        }
        long layerIndices = 0;
        for (int l : moeLayerIndices) {
            layerIndices += AvroSizes.varint(l);
        }
        long value = SingleObjectCodec.HEADER_BYTES                                          // C3 01 + fingerprint
                + AvroSizes.string(r.getRid())                                             // rid
                + AvroSizes.string(r.getModel())                                             // model
                + AvroSizes.array(promptTokens, promptIds)                                   // prompt_token_ids
                + AvroSizes.array(outputs, (long) outputs * maxTokenIdBytes)                 // output_token_ids
                + AvroSizes.array(outputs, (long) outputs * AvroSizes.FLOAT)                 // output_logprobs
                + AvroSizes.string(LONGEST_FINISH_REASON)                                    // finish_reason
                + AvroSizes.varint(routed)                                                   // num_tokens
                + AvroSizes.UNION_INDEX + (returned ? AvroSizes.bytes(ids * dtype.bytes) : 0) // routing_ids
                + AvroSizes.UNION_INDEX + (returned ? AvroSizes.array(3, AvroSizes.varint(rows)
                        + AvroSizes.varint(moeLayerIndices.length) + AvroSizes.varint(topK)) : 0) // routing_shape
                + AvroSizes.string(dtype.wire.length())                                      // routing_dtype
                + AvroSizes.array(moeLayerIndices.length, layerIndices) + AvroSizes.varint(topK)
                        + AvroSizes.varint(numExperts) + AvroSizes.string(dtype.wire.length()) // layout
                + AvroSizes.UNION_INDEX + (weights
                        ? AvroSizes.array(ids, ids * AvroSizes.FLOAT) : 0)                   // routing_weights
                + AvroSizes.UNION_INDEX + AvroSizes.MAX_LONG                                 // seed
                + (long) TIMINGS_FIELDS * AvroSizes.MAX_LONG                                 // timings
                + AvroSizes.stringMap(r.getMetadata())                                       // metadata
                + AvroSizes.varint(start)                                                    // routing_start
                + AvroSizes.UNION_INDEX + (r.getPromptLogprobs() ? AvroSizes.array(
                        Math.max(0, promptTokens - 1), Math.max(0, promptTokens - 1L) * AvroSizes.FLOAT) : 0) // prompt_logprobs
                + AvroSizes.UNION_INDEX + (r.getForcedRouting() != null
                        ? forcedRoutingReport(r.getForcedRouting().remaining()) : 0);      // forced_routing
        long record = KafkaRecordFraming.recordBytes(AvroSizes.utf8Length(r.getRid()), value);
        return new Estimate(record, promptTokens, maxNewTokens, outputs, routed, rows, start, returned, weights);
    }

    /** A ForcedRoutingReport of the forced positions that {@code forcedBytes} packed ids hold. */
    private long forcedRoutingReport(int forcedBytes) {
        int positions = forcedBytes / (moeLayerIndices.length * topK * dtype.bytes);
        return AvroSizes.varint(positions)                                                   // positions
                + AvroSizes.array(moeLayerIndices.length, (long) moeLayerIndices.length * AvroSizes.varint(positions))
                + 2L * AvroSizes.MAX_LONG;                                                   // cells, cells_reproduced
    }

    /** The largest max_new_tokens (at most the request's) whose bound fits in {@code limit}; 0 when none does. */
    public int largestFittingMaxNewTokens(InferenceRequest r, long limit) {
        int lo = 0;
        int hi = r.getMaxNewTokens();
        while (lo < hi) { // the bound grows with max_new_tokens: find the last one that fits
            int mid = lo + (hi - lo + 1) / 2;
            if (estimate(r, mid).recordBytes() <= limit) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** What the bound is made of, e.g. "prompt 300 + up to 1200 new tokens; routing 1499 tokens × 4 MoE layers × top-4 × 1 byte". */
    public String describe(Estimate e) {
        if (!e.routingReturned()) {
            return "prompt " + e.promptTokens() + " + up to " + e.maxOutputs() + " new tokens; no routing";
        }
        return "prompt " + e.promptTokens() + " + up to " + e.maxOutputs() + " new tokens; routing "
                + e.routingRows() + " tokens"
                + (e.routingStart() > 0 ? " (positions " + e.routingStart() + " on)" : "") + " × " + moeLayerIndices.length + " MoE layers × top-" + topK + " × "
                + dtype.bytes + (dtype.bytes == 1 ? " byte" : " bytes")
                + (e.weights() ? ", and as many 4-byte routing weights" : "");
    }

    private static int longestFinishReason() {
        int n = 0;
        for (FinishReason f : FinishReason.values()) {
            n = Math.max(n, f.wire().length());
        }
        return n;
    }
}
