package io.routingreplay.operators.assembly;

import io.routingreplay.schemas.AssemblyProgress;
import io.routingreplay.schemas.RequestHeader;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.Timings;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * Concatenates one request's stored chunks (in position order) into its result, allocating the routing bytes once,
 * and checks the record is whole before it goes out. The chunks hold the routing the request returns only
 * ({@link RoutingCut}): rows from its {@code routing_start}, or none.
 */
final class RoutingResultBuilder {

    record Built(RoutingResult result, String problem) {
    }

    private final String rid;
    private final RequestHeader header;
    private final List<TokenRoutingEvent> chunks;

    RoutingResultBuilder(String rid, RequestHeader header, int expectedChunks) {
        this.rid = rid;
        this.header = header;
        this.chunks = new ArrayList<>(expectedChunks);
    }

    void add(TokenRoutingEvent chunk) {
        chunks.add(chunk);
    }

    Built build(AssemblyProgress p, long assembledAt) {
        RoutingLayoutInfo layout = header.getLayout();
        int idsPerToken = layout.getMoeLayerIndices().size() * layout.getTopK();
        int bytesPerId = "uint16".equals(layout.getDtype()) ? 2 : 1;
        int numTokens = p.getNextPosition();
        int promptLen = header.getPromptTokenIds().size();
        if (numTokens != promptLen + p.getNumOutputs() - 1) {
            return problem("routed " + numTokens + " tokens, but prompt " + promptLen + " + outputs "
                    + p.getNumOutputs() + " − 1 = " + (promptLen + p.getNumOutputs() - 1));
        }
        RoutingCut cut = RoutingCut.of(p);
        int rows = cut.resultRows(numTokens);
        byte[] ids = new byte[rows * idsPerToken * bytesPerId];
        List<Integer> outputs = new ArrayList<>(p.getNumOutputs());
        List<Float> logprobs = new ArrayList<>(p.getNumOutputs());
        List<Float> weights = null;
        TokenRoutingEvent last = null;
        int at = 0;
        for (TokenRoutingEvent c : chunks) {
            last = c;
            ByteBuffer b = c.getRoutingIds().duplicate();
            int n = b.remaining();
            int keptRows = cut.keptRows(c.getFirstPosition(), c.getNumRoutedTokens());
            if (n != keptRows * idsPerToken * bytesPerId || at + n > ids.length) {
                return problem("the event at position " + c.getFirstPosition() + " holds " + n
                        + " routing bytes for " + keptRows + " tokens of " + idsPerToken + " ids");
            }
            b.get(ids, at, n);
            at += n;
            if (c.getRoutingWeights() != null && cut.returned()) {
                if (weights == null) {
                    weights = new ArrayList<>(rows * idsPerToken);
                }
                weights.addAll(c.getRoutingWeights());
            }
            if (c.getSampledToken() >= 0) {
                outputs.add(c.getSampledToken());
                logprobs.add(c.getLogprob());
            }
        }
        if (at != ids.length) {
            return problem("routing holds " + at + " bytes, expected " + ids.length);
        }
        RoutingResult r = RoutingResult.newBuilder()
                .setRid(rid)
                .setModel(header.getModel())
                .setPromptTokenIds(header.getPromptTokenIds())
                .setOutputTokenIds(outputs)
                .setOutputLogprobs(logprobs)
                .setFinishReason(p.getFinishReason())
                .setNumTokens(numTokens)
                // return_routing false: null, so the result cannot be read as a record of 0 tokens
                .setRoutingIds(cut.returned() ? ByteBuffer.wrap(ids) : null)
                .setRoutingShape(cut.returned()
                        ? List.of(rows, layout.getMoeLayerIndices().size(), layout.getTopK()) : null)
                .setRoutingStart(cut.returned() ? cut.start() : 0)
                .setRoutingDtype(layout.getDtype())
                .setLayout(layout)
                .setRoutingWeights(weights)
                .setSeed(header.getSeed())
                .setTimings(Timings.newBuilder()
                        .setSubmittedAt(header.getSubmittedAt())
                        .setAdmittedAt(header.getAdmittedAt())
                        .setFirstTokenAt(p.getFirstTokenAt())
                        .setFinishedAt(p.getFinishedAt())
                        .setAssembledAt(assembledAt)
                        .build())
                .setMetadata(new HashMap<>(header.getMetadata()))
                // what forced_routing / prompt_logprobs produced comes with the final event
                .setPromptLogprobs(last == null ? null : last.getPromptLogprobs())
                .setForcedRouting(last == null ? null : last.getForcedRouting())
                .build();
        return new Built(r, null);
    }

    private static Built problem(String reason) {
        return new Built(null, reason);
    }
}
