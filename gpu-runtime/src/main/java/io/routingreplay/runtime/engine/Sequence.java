package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.kvcache.BlockHash;
import io.routingreplay.runtime.routing.ForcedRouting;
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
    /** Positions served from the prefix cache at the first admission; -1 until then. */
    private int cachedAtFirstAdmission = -1;
    Status status = Status.WAITING;
    FinishReason finishReason;
    /** Routing replay: the experts of positions 0 .. m − 1, or null. */
    final ForcedRouting forced;
    /** Per forced position and MoE layer: forced ids the free router would also have picked (rewritten on recompute). */
    final byte[] forcedReproduced;
    /** Scoring: log-probability of prompt token i + 1 at index i (rewritten, same bits, on recompute); or null. */
    final float[] promptLogprobs;

    Sequence(String rid, int[] prompt, SamplingParams params, long seed, long arrivalOrder, int maxFedPositions) {
        this(rid, prompt, params, seed, arrivalOrder, maxFedPositions, null, 0, false);
    }

    Sequence(String rid, int[] prompt, SamplingParams params, long seed, long arrivalOrder, int maxFedPositions,
             ForcedRouting forced, int numMoeLayers, boolean promptLogprobs) {
        this.rid = rid;
        this.forced = forced == null || forced.numPositions() == 0 ? null : forced;
        this.forcedReproduced = this.forced == null ? null : new byte[this.forced.numPositions() * numMoeLayers];
        this.promptLogprobs = promptLogprobs ? new float[prompt.length - 1] : null;
        if (this.promptLogprobs != null) {
            java.util.Arrays.fill(this.promptLogprobs, Float.NaN);
        }
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

    /**
     * Tokens known but not yet fed through the model (the prompt's rest, or the last sampled token). A scoring-only
     * request ({@code max_new_tokens} 0) feeds prompt − 1 positions: its last token is only scored, never fed.
     */
    public int numUncomputed() {
        return Math.min(tokens.size(), maxFedPositions) - numComputed;
    }

    /**
     * Whether admission may serve this sequence's leading blocks from the prefix cache: not when it scores its
     * prompt, which needs the logits of every prompt position (vLLM skips the cache for prompt_logprobs too), nor
     * when it is forced, whose report needs the free router's choice at every forced position. (Blocks it computes
     * are still registered, under hashes that include the forced ids, so no free request ever takes them.)
     */
    public boolean takesPrefixHits() {
        return promptLogprobs == null && forced == null;
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
        if (cachedAtFirstAdmission < 0) {
            cachedAtFirstAdmission = hitPositions;
        }
    }

    /** Positions served from the prefix cache when this sequence was first admitted (0 before that). */
    int cachedAtFirstAdmission() {
        return Math.max(0, cachedAtFirstAdmission);
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
            blockHashes.add(BlockHash.chain(parent, tokenSlice(b * blockSize, blockSize), 0, blockSize,
                    forcedIds(b * blockSize, blockSize)));
        }
        return blockHashes.subList(0, n);
    }

    /**
     * The forced ids of positions {@code [from, from + n)} that are forced (a leading part of the range; empty when
     * none is). They enter the block hash: a block's K/V and routing depend on them, so a forced block is shared
     * only with sequences forced the same way, never with a freely routed one.
     */
    int[] forcedIds(int from, int n) {
        if (forced == null || from >= forced.numPositions()) {
            return new int[0];
        }
        int per = forced.ids().length / forced.numPositions();
        int upTo = Math.min(from + n, forced.numPositions());
        return java.util.Arrays.copyOfRange(forced.ids(), from * per, upTo * per);
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

    int[] blockTableArray() { // every running sequence, every step: a plain loop (the stream took ~0.2 s in rl-long)
        int[] a = new int[blockTable.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = blockTable.get(i);
        }
        return a;
    }
}
