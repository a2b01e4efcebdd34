package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.kvcache.BlockHash;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.util.ArrayList;
import java.util.List;

/**
 * One request's run-state inside the engine. {@code tokens} is prompt followed by outputs; the first
 * {@code numComputed} of them have their K/V in the cache. Routing for positions below {@code numEmitted} was
 * already handed out (before a preemption or a restore), so a recompute does not emit it again.
 */
public final class Sequence {
    public enum Status { WAITING, RUNNING, FINISHED }

    public final String rid;
    public final int[] prompt;
    public final SamplingParams params;
    public final long seed;
    public final long arrivalOrder;
    /** The most positions this sequence can ever feed (prompt + max_new_tokens − 1, within the model's length). */
    private final int maxFedPositions;
    final List<Integer> tokens = new ArrayList<>();
    final List<Float> logprobs = new ArrayList<>();
    final List<Integer> blockTable = new ArrayList<>();
    /** Hashes of the leading full blocks of {@code tokens}, grown on demand (tokens only ever grow). */
    private final List<BlockHash> blockHashes = new ArrayList<>();
    int numComputed;
    /** The most positions ever computed at once: feeding a position below it again is a recompute. */
    private int computedHighWater;
    int numEmitted;
    Status status = Status.WAITING;
    FinishReason finishReason;

    Sequence(String rid, int[] prompt, SamplingParams params, long seed, long arrivalOrder, int maxFedPositions) {
        this.rid = rid;
        this.maxFedPositions = maxFedPositions;
        this.prompt = prompt;
        this.params = params;
        this.seed = seed;
        this.arrivalOrder = arrivalOrder;
        for (int t : prompt) {
            tokens.add(t);
        }
    }

    public int maxFedPositions() {
        return maxFedPositions;
    }

    public int numTokens() {
        return tokens.size();
    }

    public int numOutputs() {
        return tokens.size() - prompt.length;
    }

    /** Tokens known but not yet fed through the model (the prompt's rest, or the last sampled token). */
    public int numUncomputed() {
        return tokens.size() - numComputed;
    }

    public int numComputed() {
        return numComputed;
    }

    /** Physical K/V block ids, grown by the scheduler through the block manager. */
    public List<Integer> blockTable() {
        return blockTable;
    }

    public Status status() {
        return status;
    }

    public void setStatus(Status status) {
        this.status = status;
    }

    /** After a preemption: the K/V is gone, everything is fed again (already-emitted routing is not re-emitted). */
    public void resetComputed() {
        numComputed = 0;
    }

    /** At (re-)admission: the first {@code hitPositions} positions were served from the prefix cache. */
    public void setCachedPositions(int hitPositions) {
        numComputed = hitPositions;
    }

    /**
     * Records that positions {@code [numComputed, numComputed + n)} were fed; returns how many of them had been
     * computed before (and lost to a preemption), i.e. were computed again.
     */
    int markComputed(int n) {
        int first = numComputed;
        numComputed += n;
        int recomputed = Math.max(0, Math.min(numComputed, computedHighWater) - first);
        computedHighWater = Math.max(computedHighWater, numComputed);
        return recomputed;
    }

    /**
     * The hashes of the first {@code n} full blocks of {@code blockSize} positions (each chained with its prefix's);
     * {@code n} must not exceed {@code numTokens() / blockSize}.
     */
    public List<BlockHash> blockHashes(int n, int blockSize) {
        while (blockHashes.size() < n) {
            int b = blockHashes.size();
            BlockHash parent = b == 0 ? BlockHash.ROOT : blockHashes.get(b - 1);
            blockHashes.add(BlockHash.chain(parent, tokenSlice(b * blockSize, blockSize), 0, blockSize));
        }
        return blockHashes.subList(0, n);
    }

    int[] outputTokens() {
        int[] out = new int[numOutputs()];
        for (int i = 0; i < out.length; i++) {
            out[i] = tokens.get(prompt.length + i);
        }
        return out;
    }

    float[] outputLogprobs() {
        float[] out = new float[logprobs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = logprobs.get(i);
        }
        return out;
    }

    int[] tokenSlice(int from, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = tokens.get(from + i);
        }
        return out;
    }

    int[] blockTableArray() {
        return blockTable.stream().mapToInt(Integer::intValue).toArray();
    }
}
