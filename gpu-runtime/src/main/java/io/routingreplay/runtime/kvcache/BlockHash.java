package io.routingreplay.runtime.kvcache;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The identity of one full K/V block: SHA-256 (first 128 bits) of its parent block's hash and its token ids. A
 * position's K/V depends on every token before it (causal attention) and on nothing else that varies inside one
 * engine (model, K/V dtype and block size are fixed per engine), so chaining the parent's hash makes equal hashes
 * mean equal K/V and equal routing. 128 bits: a collision is not a practical concern (vLLM offers SHA-256 too).
 */
public record BlockHash(long hi, long lo) {
    /** The parent of a sequence's first block. */
    public static final BlockHash ROOT = new BlockHash(0L, 0L);

    /** Hash of the block holding {@code tokens[from .. from + count)}, whose prefix hashes to {@code parent}. */
    public static BlockHash chain(BlockHash parent, int[] tokens, int from, int count) {
        return chain(parent, tokens, from, count, new int[0]);
    }

    /**
     * As {@link #chain(BlockHash, int[], int, int)}, for a block whose leading positions were routed by forced
     * expert ids ({@code forcedIds}, routing replay; empty when none): they are hashed after the tokens, so a forced
     * block never matches a free one (whose input is shorter) nor one forced differently.
     */
    public static BlockHash chain(BlockHash parent, int[] tokens, int from, int count, int[] forcedIds) {
        ByteBuffer b = ByteBuffer.allocate(16 + 4 * count + 4 * forcedIds.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(parent.hi).putLong(parent.lo);
        for (int i = 0; i < count; i++) {
            b.putInt(tokens[from + i]);
        }
        for (int id : forcedIds) {
            b.putInt(id);
        }
        byte[] d = sha256().digest(b.array());
        ByteBuffer r = ByteBuffer.wrap(d);
        return new BlockHash(r.getLong(), r.getLong());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
