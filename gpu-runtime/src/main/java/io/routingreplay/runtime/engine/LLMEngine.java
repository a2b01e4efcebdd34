package io.routingreplay.runtime.engine;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.KvSwapSpace;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.ModelRunners;
import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.kvcache.BlockHash;
import io.routingreplay.runtime.kvcache.BlockManager;
import io.routingreplay.runtime.kvcache.BlockRouting;
import io.routingreplay.runtime.kvcache.SwappedBlocks;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.scheduler.ScheduledChunk;
import io.routingreplay.runtime.scheduler.Scheduler;
import io.routingreplay.runtime.scheduler.SwapPlan;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine: {@link #add} queues requests, {@link #step()} is schedule → forward → postprocess, and returns the
 * routing and tokens each running request produced. Not thread-safe: one thread drives it.
 *
 * <p>Prefix caching ({@link EngineConfig#prefixCache()}): each full K/V block a sequence computes is registered
 * under its chained token hash together with its positions' routing ({@link BlockRouting}); a later sequence with
 * the same leading tokens starts from those blocks and is handed their stored routing, which is the routing it
 * would have computed itself, bit for bit, because the backend's outputs do not depend on batching or chunking.
 * When the backend {@linkplain ModelRunner#supportsPromptEndLogits keeps prompt-end logits}, a prompt that ends on
 * a block boundary also leaves the raw logits row of its last position with that block, and a later request with
 * the same whole prompt (a GRPO group's later samples) is served every block and samples its first token from that
 * row: it computes no prompt position at all.
 *
 * <p>Host swap space ({@link EngineConfig#swapSpaceBytes()}, where the backend {@linkplain
 * ModelRunner#kvSwapBytesPerBlock offers one}): a preempted request's computed blocks are copied to host memory
 * with what each block carries here (its positions' routing, a prompt-end logits row), and copied back at its
 * re-admission instead of being computed again ({@link Scheduler}); the blocks hold the very bytes they held, so its
 * record is the unpreempted one, bit for bit.
 */
public final class LLMEngine implements AutoCloseable {
    private final EngineConfig config;
    private final ModelRunner runner;
    private final ModelConfig model;
    private final RoutingLayout layout;
    private final BlockManager blocks;
    /** Routing of each block's positions, kept for blocks served from the prefix cache; null with caching off. */
    private final BlockRouting blockRouting;
    private final Scheduler scheduler;
    /** The backend's host swap space, or null (none configured, or the backend has none). */
    private final KvSwapSpace swapSpace;
    /** Per swap slot in use, what its block carried beside K/V: routing (with the prefix cache), a prompt-end row. */
    private final Map<Integer, Carried> carried = new HashMap<>();
    /** Prefix cache on and the backend keeps / samples from prompt-end logits rows. */
    private final boolean promptEndLogits;
    private final Map<String, Sequence> live = new HashMap<>();
    private final SecureRandom seeds = new SecureRandom();
    private long arrivals;
    private long prefillTokens;
    private long decodeTokens;
    private long steps;
    /** Host-side time per part of the steps (HostTimes). */
    private long scheduleNanos, swapNanos, prepareNanos, postprocessNanos, observeNanos;
    private long routingBytes;
    private long recomputedPositions;
    private int lastBatchSize;
    private StepObserver observer;

    private LLMEngine(EngineConfig config, ModelRunner runner) {
        this.config = config;
        this.runner = runner;
        this.model = runner.config();
        this.layout = new RoutingLayout(model.moeLayerIndices, model.topK, model.numExperts);
        this.promptEndLogits = config.prefixCache() && runner.supportsPromptEndLogits()
                && config.promptEndLogitsBytes() > 0;
        this.blocks = new BlockManager(runner.numKvBlocks(), runner.kvBlockSize(), config.prefixCache(),
                promptEndLogits ? config.promptEndLogitsBytes() : 0L);
        this.blockRouting = config.prefixCache()
                ? new BlockRouting(runner.numKvBlocks(), runner.kvBlockSize(), layout) : null;
        int slots = swapSlots(config.swapSpaceBytes(), runner.kvSwapBytesPerBlock());
        this.swapSpace = slots > 0 ? runner.openKvSwapSpace(slots) : null;
        this.scheduler = new Scheduler(blocks, config.maxNumSeqs(), config.maxBatchTokens(), config.admission(),
                promptEndLogits, slots > 0 ? new SwappedBlocks(slots, runner.kvBlockSize()) : null);
    }

    /** Whole blocks that fit {@code bytes} of swap space (0 when the backend has none). */
    static int swapSlots(long bytes, long bytesPerBlock) {
        return bytes <= 0 || bytesPerBlock <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE / 2, bytes / bytesPerBlock);
    }

    public static LLMEngine create(EngineConfig config) {
        return new LLMEngine(config, ModelRunners.create(config));
    }

    public static LLMEngine create(EngineConfig config, ModelRunner runner) {
        return new LLMEngine(config, runner);
    }

    public EngineConfig config() {
        return config;
    }

    public ModelConfig modelConfig() {
        return model;
    }

    public RoutingLayout routingLayout() {
        return layout;
    }

    /** Sees every step's batch and output (one observer; null removes it). */
    public void observeSteps(StepObserver o) {
        observer = o;
    }

    /** The backend's measured copy bandwidth, where it has a device (see {@link ModelRunner#copyBandwidthGBs}). */
    public java.util.OptionalDouble copyBandwidthGBs() {
        return runner.copyBandwidthGBs();
    }

    public void add(GenerationRequest r) {
        admit(r, new int[0], new float[0]);
    }

    /**
     * Re-admits a request restored from a checkpoint after it produced {@code outputSoFar}: the prompt and those
     * outputs are prefilled again, routing already emitted (positions below prompt + outputs − 1) is not emitted
     * again, and sampling continues at output index {@code outputSoFar.length}.
     */
    public void resume(GenerationRequest r, int[] outputSoFar, float[] logprobsSoFar) {
        if (outputSoFar.length != logprobsSoFar.length) {
            throw new IllegalArgumentException("outputSoFar and logprobsSoFar differ in length");
        }
        admit(r, outputSoFar, logprobsSoFar);
    }

    private void admit(GenerationRequest r, int[] outputs, float[] logprobs) {
        String reason = validate(r, outputs);
        if (reason != null) {
            throw new InvalidRequestException(reason);
        }
        long seed = r.params().seed() != null ? r.params().seed() : seeds.nextLong();
        // the last sampled token is never fed: at most prompt + max_new_tokens - 1 positions hold K/V
        int maxFed = Math.min(r.promptTokenIds().length + r.params().maxNewTokens(), model.maxPositionEmbeddings) - 1;
        Sequence s = new Sequence(r.rid(), r.promptTokenIds().clone(), r.params(), seed, arrivals++, maxFed,
                r.forcedRouting(), layout.numMoeLayers(), r.promptLogprobs());
        for (int i = 0; i < outputs.length; i++) {
            s.tokens.add(outputs[i]);
            s.logprobs.add(logprobs[i]);
        }
        s.numEmitted = outputs.length == 0 ? 0 : s.numTokens() - 1;
        live.put(r.rid(), s);
        scheduler.add(s);
    }

    private String validate(GenerationRequest r, int[] outputs) {
        if (r.rid() == null || r.rid().isEmpty()) {
            return "rid is missing or empty";
        }
        if (live.containsKey(r.rid())) {
            return "rid '" + r.rid() + "' is already in flight";
        }
        int[] prompt = r.promptTokenIds();
        if (prompt == null || prompt.length == 0) {
            return "the prompt is empty";
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= model.vocabSize) {
                return "prompt token id " + prompt[i] + " at index " + i + " is outside the vocabulary [0, "
                        + model.vocabSize + ")";
            }
        }
        // a scoring-only request feeds all but its last token, so its prompt may fill the context
        if (prompt.length >= model.maxPositionEmbeddings + (r.scoresOnly() && r.promptLogprobs() ? 1 : 0)) {
            return "the prompt has " + prompt.length + " tokens; the model allows at most "
                    + (model.maxPositionEmbeddings - 1) + " (max_position_embeddings " + model.maxPositionEmbeddings
                    + " minus one to generate)";
        }
        String p = r.params().validate(config.maxNewTokensCap(), r.promptLogprobs());
        if (p != null) {
            return p;
        }
        String replay = validateReplayInputs(r);
        if (replay != null) {
            return replay;
        }
        String cut = r.routing().validate(prompt.length);
        if (cut != null) {
            return cut;
        }
        int worst = Math.min(prompt.length + r.params().maxNewTokens(), model.maxPositionEmbeddings);
        if (blocks.blocksFor(worst) > blocks.numBlocks()) {
            return "prompt + max_new_tokens (" + worst + " positions) exceeds the K/V cache capacity of "
                    + blocks.numBlocks() * blocks.blockSize() + " positions";
        }
        if (outputs.length > 0 && outputs.length >= r.params().maxNewTokens()) {
            return "restored request already has " + outputs.length + " of max_new_tokens outputs";
        }
        return null;
    }

    /** forced_routing and prompt_logprobs: a backend that offers them, a forced routing that fits, a prompt to score. */
    private String validateReplayInputs(GenerationRequest r) {
        boolean forced = r.forcedRouting() != null && r.forcedRouting().numPositions() > 0;
        if ((forced || r.promptLogprobs()) && !runner.supportsReplayInputs()) {
            return (forced ? "forced_routing" : "prompt_logprobs") + " is not supported on the " + config.backend()
                    + " backend yet (use --backend cpu)";
        }
        if (r.scoringProblem() != null) {
            return r.scoringProblem();
        }
        return r.forcedRouting() == null ? null : r.forcedRouting().validate(layout, r.promptTokenIds().length);
    }

    /** One step: schedule, run the batch, turn its output into events. Empty when there is nothing to do. */
    public List<StepEvent> step() {
        long t0 = System.nanoTime();
        List<ScheduledChunk> plan = scheduler.schedule();
        long t1 = System.nanoTime();
        runSwaps(scheduler.takeSwapPlan());
        long t2 = System.nanoTime();
        scheduleNanos += t1 - t0;
        swapNanos += t2 - t1;
        if (plan.isEmpty()) {
            if (!scheduler.isEmpty()) {
                throw new IllegalStateException("scheduler made no progress with " + scheduler.numWaiting()
                        + " waiting and " + scheduler.numRunning() + " running: K/V cache too small");
            }
            return List.of();
        }
        List<SeqChunk> chunks = new ArrayList<>(plan.size());
        for (ScheduledChunk c : plan) {
            Sequence s = c.seq();
            boolean sample = s.numComputed + c.numTokens() == s.numTokens();
            chunks.add(new SeqChunk(s.tokenSlice(s.numComputed, c.numTokens()), s.numComputed, s.blockTableArray(),
                    sample, s.params, s.seed, s.numOutputs(), forcedIds(s, c.numTokens()), scoreTokens(s, c.numTokens()),
                    keepsPromptEndLogits(s, c.numTokens(), sample), keptRowToSampleFrom(s, c.numTokens())));
        }
        ForwardBatch batch = new ForwardBatch(chunks);
        long start = System.nanoTime();
        prepareNanos += start - t2;
        StepOutput out = runner.forward(batch);
        long forwardNanos = System.nanoTime() - start;
        if (observer != null) {
            long o = System.nanoTime();
            observer.onStep(batch, out, forwardNanos);
            observeNanos += System.nanoTime() - o;
        }
        steps++;
        lastBatchSize = plan.size();
        long post = System.nanoTime();
        List<StepEvent> events = new ArrayList<>(plan.size());
        for (int i = 0; i < plan.size(); i++) {
            StepEvent e = postprocess(plan.get(i), chunks.get(i), out, i);
            if (e != null) {
                events.add(e);
            }
        }
        postprocessNanos += System.nanoTime() - post;
        return events;
    }

    /**
     * Copies the step's swapped blocks out and back in (before its forward), with their routing and prompt-end
     * rows, and registers the blocks that came back whole in the prefix cache again.
     */
    private void runSwaps(SwapPlan swaps) {
        if (swaps.isEmpty()) {
            return;
        }
        for (SwapPlan.Out o : swaps.outs()) {
            carried.put(o.slot(), new Carried(blockRouting == null ? null : blockRouting.idsCopy(o.block()),
                    blockRouting == null ? null : blockRouting.weightsCopy(o.block()), o.promptEndLogits()));
        }
        swapSpace.copy(swaps.outBlocks(), swaps.outSlots(), swaps.inSlots(), swaps.inBlocks());
        int bs = blocks.blockSize();
        for (SwapPlan.In in : swaps.ins()) {
            Carried c = carried.remove(in.slot());
            if (blockRouting != null) {
                blockRouting.restore(in.block(), c.routingIds(), c.routingWeights());
                if (in.full()) {
                    BlockHash hash = in.seq().blockHashes(in.index() + 1, bs).get(in.index());
                    blocks.register(in.block(), hash);
                    if (c.promptEndLogits() != null) {
                        blocks.keepPromptEndLogits(hash, c.promptEndLogits());
                    }
                }
            }
        }
    }

    /** What a swapped block carries beside its K/V (routing null with the prefix cache off; row usually null). */
    private record Carried(byte[] routingIds, float[] routingWeights, float[] promptEndLogits) {
    }

    /**
     * Whether this chunk's sampled logits row is kept with the block its last position completes: it computes the
     * last position of a prompt that ends on a block boundary (not a forced one: blocks routed by forced ids are
     * never served to a request that could use the row).
     */
    private boolean keepsPromptEndLogits(Sequence s, int n, boolean sample) {
        return promptEndLogits && sample && n > 0 && s.numOutputs() == 0 && s.forced == null
                && s.numTokens() % blocks.blockSize() == 0;
    }

    /**
     * A chunk of no tokens: admission served every known position from the cache, the last block with its kept
     * logits row, which the chunk samples from; null for a chunk that computes.
     */
    private float[] keptRowToSampleFrom(Sequence s, int n) {
        if (n > 0) {
            return null;
        }
        float[] row = blocks.promptEndLogits(s.blockTable.get((s.numTokens() - 1) / blocks.blockSize()));
        if (row == null) {
            throw new IllegalStateException("rid " + s.rid + " was admitted with every position cached but its last"
                    + " block keeps no logits row");
        }
        return row;
    }

    /** The forced ids of the chunk's leading forced positions, or null when none of them is forced. */
    private static int[] forcedIds(Sequence s, int n) {
        int[] ids = s.forcedIds(s.numComputed, n);
        return ids.length == 0 ? null : ids;
    }

    /** Scoring: at each fed position p below prompt − 1, the prompt token p + 1 (-1 elsewhere); null when not asked. */
    private static int[] scoreTokens(Sequence s, int n) {
        if (s.promptLogprobs == null || s.numComputed >= s.prompt.length - 1) {
            return null;
        }
        int[] targets = new int[n];
        for (int i = 0; i < n; i++) {
            int p = s.numComputed + i;
            targets[i] = p < s.prompt.length - 1 ? s.prompt[p + 1] : -1;
        }
        return targets;
    }

    private StepEvent postprocess(ScheduledChunk c, SeqChunk chunk, StepOutput out, int i) {
        Sequence s = c.seq();
        int first = s.numComputed;
        int n = c.numTokens();
        recomputedPositions += s.markComputed(n);
        keepReplayOutputs(s, first, chunk, out.scoreLogprobs()[i], out.forcedReproduced()[i]);
        if (chunk.sample()) {
            decodeTokens++;
        } else {
            prefillTokens += n;
        }
        if (chunk.sample() && n > 1) {
            prefillTokens += n - 1;
        }
        int per = layout.idsPerToken();
        byte[] packed = blockRouting == null ? null : RoutingRecord.pack(layout, out.routingIds()[i], 0, n * per);
        if (blockRouting != null) {
            keepForPrefixCache(s, first, n, packed, out.routingWeights()[i]);
            if (chunk.keepLogits() && out.keptLogits()[i] != null) { // before the sampled token joins s.tokens
                int bs = blocks.blockSize();
                blocks.keepPromptEndLogits(s.blockHashes(s.numTokens() / bs, bs).get(s.numTokens() / bs - 1),
                        out.keptLogits()[i]);
            }
        }
        // Routing of positions not yet emitted: those served from the prefix cache (below first) come from their
        // blocks; a recompute after preemption or restore skips what was already emitted.
        int emitFrom = s.numEmitted;
        int emitCount = first + n - emitFrom;
        byte[] ids = new byte[0];
        float[] weights = null;
        if (emitCount > 0) {
            int cached = Math.max(0, first - emitFrom);
            int fresh = emitCount - cached;
            int freshFrom = emitFrom + cached - first;
            // the prefix cache copied what it keeps: the chunk's packed ids are the record's when all are fresh
            byte[] freshIds = packed != null && freshFrom == 0 && fresh == n ? packed
                    : RoutingRecord.pack(layout, out.routingIds()[i], freshFrom * per, fresh * per);
            ids = freshIds;
            if (cached > 0) {
                ids = concat(blockRouting.readIds(s.blockTable, emitFrom, cached), freshIds);
            }
            if (s.params.returnRoutingWeights()) {
                weights = Arrays.copyOfRange(out.routingWeights()[i], freshFrom * per, (freshFrom + fresh) * per);
                if (cached > 0) {
                    weights = concat(blockRouting.readWeights(s.blockTable, emitFrom, cached), weights);
                }
            }
            s.numEmitted = emitFrom + emitCount;
            routingBytes += ids.length;
        }
        int token = -1;
        float logprob = 0f;
        int outputIndex = -1;
        if (chunk.sample()) {
            token = out.sampledTokens()[i];
            logprob = out.logprobs()[i];
            outputIndex = s.numOutputs();
            s.tokens.add(token);
            s.logprobs.add(logprob);
            s.finishReason = finishReason(s, token);
            if (s.finishReason != null) {
                s.setStatus(Sequence.Status.FINISHED);
                scheduler.remove(s);
                live.remove(s.rid);
            }
        }
        if (s.maxFedPositions() < s.prompt.length && s.numComputed == s.maxFedPositions()) {
            s.finishReason = FinishReason.LENGTH;          // scoring only: every position is fed, nothing to sample
            s.setStatus(Sequence.Status.FINISHED);
            scheduler.remove(s);
            live.remove(s.rid);
        }
        if (emitCount <= 0 && token < 0 && s.finishReason == null) {
            return null;
        }
        return new StepEvent(s.rid, emitFrom, Math.max(emitCount, 0), ids, weights, token, logprob, outputIndex,
                s.finishReason, s.finishReason == null ? null : replayReport(s),
                s.finishReason == null ? 0 : s.cachedAtFirstAdmission());
    }

    /** Scores and forced-routing counts of the positions just fed (a recompute writes the same values again). */
    private void keepReplayOutputs(Sequence s, int first, SeqChunk chunk, float[] scores, byte[] reproduced) {
        if (chunk.scoreTokens() != null) {
            for (int i = 0; i < chunk.length(); i++) {
                if (chunk.scoreTokens()[i] >= 0) {
                    s.promptLogprobs[first + i] = scores[i];
                }
            }
        }
        if (chunk.forcedIds() != null) {
            System.arraycopy(reproduced, 0, s.forcedReproduced, first * layout.numMoeLayers(), reproduced.length);
        }
    }

    /** The report of a finished request with replay inputs; null when it had none. */
    private ReplayReport replayReport(Sequence s) {
        if (s.forced == null && s.promptLogprobs == null) {
            return null;
        }
        int[] mismatches = null;
        long reproducedCells = 0;
        if (s.forced != null) {
            int L = layout.numMoeLayers();
            mismatches = new int[L];
            for (int i = 0; i < s.forcedReproduced.length; i++) {
                reproducedCells += s.forcedReproduced[i];
                if (s.forcedReproduced[i] < layout.topK()) {
                    mismatches[i % L]++;
                }
            }
        }
        return new ReplayReport(s.promptLogprobs == null ? null : s.promptLogprobs.clone(),
                s.forced == null ? 0 : s.forced.numPositions(), mismatches,
                s.forced == null ? 0 : (long) s.forced.ids().length, reproducedCells);
    }

    /**
     * Stores the routing of positions {@code [first, first + n)} with their blocks and registers every block these
     * positions completed, so later sequences with the same prefix can share it (K/V and routing).
     */
    private void keepForPrefixCache(Sequence s, int first, int n, byte[] packedIds, float[] weights) {
        blockRouting.write(s.blockTable, first, n, packedIds, weights);
        int bs = blocks.blockSize();
        int fullBefore = first / bs;
        int fullAfter = (first + n) / bs;
        if (fullAfter > fullBefore) {
            List<BlockHash> hashes = s.blockHashes(fullAfter, bs);
            for (int b = fullBefore; b < fullAfter; b++) {
                blocks.register(s.blockTable.get(b), hashes.get(b));
            }
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private FinishReason finishReason(Sequence s, int token) {
        if (!s.params.ignoreEos() && model.eosTokenIds.contains(token)) {
            return FinishReason.STOP;
        }
        if (s.params.stopTokenIds().contains(token)) {
            return FinishReason.STOP;
        }
        if (s.numOutputs() >= s.params.maxNewTokens() || s.numTokens() >= model.maxPositionEmbeddings) {
            return FinishReason.LENGTH;
        }
        return null;
    }

    public boolean hasUnfinished() {
        return !scheduler.isEmpty();
    }

    public int numWaiting() {
        return scheduler.numWaiting();
    }

    public int numRunning() {
        return scheduler.numRunning();
    }

    /** Host-side time of the steps so far, by part (what the GPU waits for between forward calls). */
    public HostTimes hostTimes() {
        return new HostTimes(scheduleNanos, swapNanos, prepareNanos, postprocessNanos, observeNanos);
    }

    public EngineStats stats() {
        return new EngineStats(prefillTokens, decodeTokens, steps, lastBatchSize, config.maxNumSeqs(),
                blocks.numUsed(), blocks.numBlocks(), scheduler.numWaiting(), scheduler.numRunning(), routingBytes,
                scheduler.preemptions(), recomputedPositions, scheduler.cacheHitPositions(),
                scheduler.cacheMissPositions(), blocks.promptEndLogitsBytes(), scheduler.swappedOutBlocks(),
                scheduler.swappedInBlocks());
    }

    /** The engine's K/V block manager (reference counts and prefix cache), for tests and diagnostics. */
    BlockManager blockManager() {
        return blocks;
    }

    /** Host swap slots holding a preempted request's blocks now, for tests. */
    int swapSlotsInUse() {
        return scheduler.swapSlotsInUse();
    }

    /** Drops a request wherever it is; it produces no further events. Unknown rids are ignored. */
    public void abort(String rid) {
        Sequence s = live.remove(rid);
        if (s != null) {
            s.finishReason = FinishReason.ABORT;
            s.setStatus(Sequence.Status.FINISHED);
            scheduler.remove(s);
        }
    }

    /** Offline: runs the requests to completion and returns results in input order. */
    public List<GenerationResult> generate(List<GenerationRequest> requests) {
        Map<String, ResultBuilder> builders = new LinkedHashMap<>();
        for (GenerationRequest r : requests) {
            add(r);
            builders.put(r.rid(), new ResultBuilder(r, layout));
        }
        while (hasUnfinished()) {
            for (StepEvent e : step()) {
                builders.get(e.rid()).accept(e);
            }
        }
        List<GenerationResult> results = new ArrayList<>(requests.size());
        for (ResultBuilder b : builders.values()) {
            results.add(b.build());
        }
        return results;
    }

    @Override
    public void close() {
        if (swapSpace != null) {
            swapSpace.close();
        }
        runner.close();
    }
}
