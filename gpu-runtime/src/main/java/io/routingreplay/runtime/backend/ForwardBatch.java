package io.routingreplay.runtime.backend;

import java.util.List;

/** Everything one forward step computes: prefill chunks and decode tokens of several sequences together. */
public record ForwardBatch(List<SeqChunk> chunks) {

    public int numTokens() {
        int n = 0;
        for (SeqChunk c : chunks) {
            n += c.length();
        }
        return n;
    }
}
