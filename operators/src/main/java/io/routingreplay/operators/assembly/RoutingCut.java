package io.routingreplay.operators.assembly;

import io.routingreplay.schemas.AssemblyProgress;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of a request's routing its result returns ({@code routing_start}, {@code return_routing}, from its
 * header), applied to each event as the assembler stores it: positions before the start, or all of them when no
 * routing is returned, lose their routing ids and weights there, so they cost no state and never reach the result.
 * The event keeps its positions ({@code first_position}, {@code num_routed_tokens}): the assembler still checks
 * that every position arrived, once, in order.
 */
record RoutingCut(int start, boolean returned) {

    static RoutingCut of(AssemblyProgress p) {
        return new RoutingCut(p.getRoutingStart(), p.getReturnRouting());
    }

    /** Rows of routing an event of positions [first, first + count) keeps. */
    int keptRows(int first, int count) {
        return returned ? count - skippedRows(first, count) : 0;
    }

    private int skippedRows(int first, int count) {
        return Math.min(count, Math.max(0, start - first));
    }

    /** Rows of the result's routing for a request of {@code numTokens} routed positions. */
    int resultRows(int numTokens) {
        return returned ? Math.max(0, numTokens - start) : 0;
    }

    /**
     * {@code e} holding only the routing it keeps (itself when it keeps all). The sizes per position are the
     * event's own (its bytes and weights over its positions); an event whose routing does not divide into its
     * positions is returned as it is, for {@link RoutingResultBuilder} to report with the layout's sizes.
     */
    TokenRoutingEvent apply(TokenRoutingEvent e) {
        int count = e.getNumRoutedTokens();
        int kept = keptRows(e.getFirstPosition(), count);
        if (kept == count) {
            return e;
        }
        int skipped = count - kept;
        ByteBuffer ids = e.getRoutingIds().duplicate();
        List<Float> weights = e.getRoutingWeights();
        if (ids.remaining() % count != 0 || (weights != null && weights.size() % count != 0)) {
            return e;
        }
        int bytesPerToken = ids.remaining() / count;
        ids.position(ids.position() + skipped * bytesPerToken);
        ByteBuffer keptIds = ByteBuffer.allocate(kept * bytesPerToken);
        keptIds.put(ids).flip();
        TokenRoutingEvent.Builder b = TokenRoutingEvent.newBuilder(e).setRoutingIds(keptIds);
        if (weights != null) {
            int weightsPerToken = weights.size() / count;
            b.setRoutingWeights(returned
                    ? new ArrayList<>(weights.subList(skipped * weightsPerToken, weights.size())) : null);
        }
        return b.build();
    }
}
