package io.routingreplay.runtime.routing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The complete routing of one request: for each routed token (prompt + output − 1) and each MoE layer, the top-k
 * logical expert ids sorted by router probability, descending. Ids are packed little-endian as
 * {@code [token][moe_layer][k]} in the layout's dtype; {@code weights} (same order, float32) only when asked for.
 */
public record RoutingRecord(RoutingLayout layout, int numTokens, byte[] ids, float[] weights) {

    public RoutingRecord {
        if (ids.length != (long) numTokens * layout.bytesPerToken()) {
            throw new IllegalArgumentException("routing ids hold " + ids.length + " bytes, expected " + numTokens
                    + " tokens × " + layout.bytesPerToken());
        }
        if (weights != null && weights.length != numTokens * layout.idsPerToken()) {
            throw new IllegalArgumentException("routing weights hold " + weights.length + " values, expected "
                    + numTokens * layout.idsPerToken());
        }
    }

    public int id(int token, int moeLayer, int k) {
        int idx = (token * layout.numMoeLayers() + moeLayer) * layout.topK() + k;
        return layout.dtype() == RoutingDtype.UINT8 ? ids[idx] & 0xff
                : ByteBuffer.wrap(ids).order(ByteOrder.LITTLE_ENDIAN).getShort(idx * 2) & 0xffff;
    }

    public float weight(int token, int moeLayer, int k) {
        return weights[(token * layout.numMoeLayers() + moeLayer) * layout.topK() + k];
    }

    /** Packs ids (already in [token][layer][k] order) into the layout's dtype. */
    public static byte[] pack(RoutingLayout layout, int[] ids, int from, int count) {
        byte[] out = new byte[count * layout.dtype().bytes];
        if (layout.dtype() == RoutingDtype.UINT8) {
            for (int i = 0; i < count; i++) {
                out[i] = (byte) ids[from + i];
            }
        } else {
            ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                b.putShort((short) ids[from + i]);
            }
        }
        return out;
    }
}
