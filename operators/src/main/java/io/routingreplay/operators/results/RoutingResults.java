package io.routingreplay.operators.results;

import io.routingreplay.runtime.engine.FinishReason;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.routing.RoutingDtype;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A {@link RoutingResult} off the results topic as the engine's {@link GenerationResult}, so consumers write it
 * with the same code (and byte for byte the same JSON) as {@code generate}, prompt_logprobs and the forced-routing
 * report included; the audit stage replays it as {@code verify} replays a results line.
 */
public final class RoutingResults {

    private RoutingResults() {
    }

    public static GenerationResult toGenerationResult(RoutingResult r) {
        RoutingLayoutInfo l = r.getLayout();
        RoutingLayout layout = new RoutingLayout(ints(l.getMoeLayerIndices()), l.getTopK(), l.getNumExperts(),
                RoutingDtype.fromWire(l.getDtype()));
        RoutingRecord routing = null; // null routing_ids: the request asked for none (return_routing false)
        if (r.getRoutingIds() != null) {
            ByteBuffer b = r.getRoutingIds().duplicate();
            byte[] ids = new byte[b.remaining()];
            b.get(ids);
            float[] weights = r.getRoutingWeights() == null ? null : floats(r.getRoutingWeights());
            // rows hold positions routing_start .. num_tokens - 1
            routing = new RoutingRecord(layout, r.getRoutingStart(), r.getNumTokens() - r.getRoutingStart(), ids,
                    weights);
        }
        return new GenerationResult(r.getRid(), ints(r.getPromptTokenIds()), ints(r.getOutputTokenIds()),
                floats(r.getOutputLogprobs()), FinishReason.fromWire(r.getFinishReason()), routing,
                ReplayReports.fromWire(r.getPromptLogprobs(), r.getForcedRouting()));
    }

    private static int[] ints(List<Integer> list) {
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    private static float[] floats(List<Float> list) {
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }
}
