package io.routingreplay.runtime.routing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The routing of one request: for each routed token (prompt + output − 1) from {@code firstPosition} on, and each
 * MoE layer, the top-k logical expert ids sorted by router probability, descending. Ids are packed little-endian as
 * {@code [token][moe_layer][k]} in the layout's dtype; {@code weights} (same order, float32) only when asked for.
 * Row {@code t} is routed position {@code firstPosition + t}; {@code numTokens} counts the rows held (a request's
 * {@code routing_start} leaves the first positions out: a multi-turn trainer already holds them).
 */
public record RoutingRecord(RoutingLayout layout, int firstPosition, int numTokens, byte[] ids, float[] weights) {

    /** A record of every routed position (from position 0). */
    public RoutingRecord(RoutingLayout layout, int numTokens, byte[] ids, float[] weights) {
        this(layout, 0, numTokens, ids, weights);
    }

    public RoutingRecord {
        if (firstPosition < 0) {
            throw new IllegalArgumentException("routing record starts at position " + firstPosition);
        }
        if (ids.length != (long) numTokens * layout.bytesPerToken()) {
            throw new IllegalArgumentException("routing ids hold " + ids.length + " bytes, expected " + numTokens
                    + " tokens × " + layout.bytesPerToken());
        }
        if (weights != null && weights.length != numTokens * layout.idsPerToken()) {
            throw new IllegalArgumentException("routing weights hold " + weights.length + " values, expected "
                    + numTokens * layout.idsPerToken());
        }
    }

    /** One past the last routed position held: the request's routed positions when the record reaches its end. */
    public int endPosition() {
        return firstPosition + numTokens;
    }

    /** Row {@code token} is routed position {@code firstPosition + token}. */
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

    /** The ids of {@code packed} ({@link #pack}'s inverse): every id, in order, as ints. */
    public static int[] unpack(RoutingDtype dtype, byte[] packed) {
        int[] out = new int[packed.length / dtype.bytes];
        if (dtype == RoutingDtype.UINT8) {
            for (int i = 0; i < out.length; i++) {
                out[i] = packed[i] & 0xff;
            }
        } else {
            ByteBuffer b = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < out.length; i++) {
                out[i] = b.getShort(i * 2) & 0xffff;
            }
        }
        return out;
    }
}
