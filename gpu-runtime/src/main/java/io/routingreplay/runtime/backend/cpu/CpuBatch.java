package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.SeqChunk;

import java.util.List;

/** One forward step's tokens flattened: token t of the step belongs to chunk {@code chunkOf[t]} at {@code pos[t]}. */
final class CpuBatch {
    final List<SeqChunk> chunks;
    final int numTokens;
    final int[] tok;
    final int[] pos;
    final int[] chunkOf;
    final int[] chunkStart;

    CpuBatch(ForwardBatch batch) {
        chunks = batch.chunks();
        numTokens = batch.numTokens();
        tok = new int[numTokens];
        pos = new int[numTokens];
        chunkOf = new int[numTokens];
        chunkStart = new int[chunks.size()];
        for (int ci = 0, t = 0; ci < chunks.size(); ci++) {
            SeqChunk ch = chunks.get(ci);
            chunkStart[ci] = t;
            for (int i = 0; i < ch.length(); i++, t++) {
                tok[t] = ch.tokens()[i];
                pos[t] = ch.startPos() + i;
                chunkOf[t] = ci;
            }
        }
    }

    int[] blockTable(int t) {
        return chunks.get(chunkOf[t]).blockTable();
    }
}
