package io.routingreplay.runtime.sampler;

/**
 * Host-side sampling from one row of logits: greedy, or temperature → top-k → top-p → one draw from
 * {@link SeededUniform}. Ties go to the lower token id, so results are reproducible everywhere.
 */
public final class Sampler {
    private Sampler() {
    }

    /** A sampled token and log-softmax of the raw logits at it. */
    public record Sample(int token, float logprob) {
    }

    public static Sample sample(float[] logits, int offset, int vocab, SamplingParams p, long seed, int index) {
        int token = p.isGreedy() ? argmax(logits, offset, vocab) : draw(logits, offset, vocab, p, seed, index);
        return new Sample(token, logprob(logits, offset, vocab, token));
    }

    static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float bestV = logits[offset];
        for (int i = 1; i < vocab; i++) {
            float v = logits[offset + i];
            if (v > bestV) {
                bestV = v;
                best = i;
            }
        }
        return best;
    }

    /** log_softmax(logits)[token], reduced in double so it does not depend on the vocabulary order of sums. */
    public static float logprob(float[] logits, int offset, int vocab, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return (float) (logits[offset + token] - max - Math.log(sum));
    }

    private static int draw(float[] logits, int offset, int vocab, SamplingParams p, long seed, int index) {
        int[] order = candidates(logits, offset, vocab, p.topK() > 0 ? Math.min(p.topK(), vocab) : vocab);
        int keep = order.length;
        double[] probs = new double[keep];
        double max = logits[offset + order[0]] / (double) p.temperature();
        double total = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = Math.exp(logits[offset + order[i]] / (double) p.temperature() - max);
            total += probs[i];
        }
        if (p.topP() < 1f) {
            double cum = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cum += probs[i] / total;
                if (cum >= p.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            total = 0;
            for (int i = 0; i < keep; i++) {
                total += probs[i];
            }
        }
        double target = SeededUniform.draw(seed, index) * total;
        double cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += probs[i];
            if (target < cum) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /**
     * The {@code k} best token ids, by logit descending and id ascending on ties. Keys pack an order-preserving
     * transform of the logit's bits above the id, so one primitive sort does it (no boxing).
     */
    static int[] candidates(float[] logits, int offset, int vocab, int k) {
        long[] keys = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            int bits = Float.floatToIntBits(logits[offset + i]);
            int sortable = bits ^ ((bits >> 31) & 0x7fffffff); // monotonic in the float value
            keys[i] = ((long) ~sortable << 32) | i;             // ascending key = descending logit, then id
        }
        if (k < vocab) {
            // Partial selection: keep the k smallest keys in a bounded max-heap.
            java.util.PriorityQueue<Long> heap = new java.util.PriorityQueue<>(k + 1, java.util.Comparator.reverseOrder());
            for (long key : keys) {
                if (heap.size() < k) {
                    heap.add(key);
                } else if (key < heap.peek()) {
                    heap.poll();
                    heap.add(key);
                }
            }
            keys = heap.stream().mapToLong(Long::longValue).toArray();
        }
        java.util.Arrays.sort(keys);
        int[] out = new int[keys.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }
}
