package io.routingreplay.runtime.routing;

import java.util.Arrays;

/** The shape every routing record of one model shares: which layers are MoE, top-k, expert count, id dtype. */
public record RoutingLayout(int[] moeLayerIndices, int topK, int numExperts, RoutingDtype dtype) {

    public RoutingLayout(int[] moeLayerIndices, int topK, int numExperts) {
        this(moeLayerIndices, topK, numExperts, RoutingDtype.forNumExperts(numExperts));
    }

    public int numMoeLayers() {
        return moeLayerIndices.length;
    }

    /** Ids per routed token: one per (MoE layer, k). */
    public int idsPerToken() {
        return moeLayerIndices.length * topK;
    }

    public int bytesPerToken() {
        return idsPerToken() * dtype.bytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingLayout l && Arrays.equals(moeLayerIndices, l.moeLayerIndices) && topK == l.topK
                && numExperts == l.numExperts && dtype == l.dtype;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(moeLayerIndices) * 31 + topK * 7 + numExperts;
    }
}
