package io.routingreplay.runtime.scheduler;

import io.routingreplay.runtime.engine.Sequence;
import io.routingreplay.runtime.kvcache.BlockHash;
import io.routingreplay.runtime.kvcache.BlockManager;
import io.routingreplay.runtime.kvcache.SwappedBlocks;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Continuous batching: waiting and running queues; {@link #schedule()} returns what runs next. Running sequences go
 * first (decodes and unfinished prefills, oldest first), then waiting ones are admitted FIFO while the step's token
 * budget, the sequence limit and the K/V cache allow. A waiting sequence is admitted only when blocks for all its
 * known tokens are free (no thrashing); when a running sequence cannot grow, the newest running one is preempted
 * (its blocks released, recomputed later: the engine suppresses routing it already emitted).
 *
 * <p>With prefix caching, an admitted sequence starts with the cached blocks that match its leading full blocks,
 * and only the rest is fed. The block holding its last known position is taken only when its known tokens end
 * exactly on that block and the block carries the raw logits row of its last position
 * ({@link BlockManager#promptEndLogits}), kept by the request whose prompt ended there, and the backend can sample
 * from such a row ({@code fullPromptHits}): the sequence then computes nothing and its first step samples from that
 * row (a chunk of no tokens). Otherwise that block is computed, for the logits its next token is sampled from. A
 * preempted sequence's full blocks stay cached when released, so its re-admission is mostly a hit. A waiting
 * sequence whose next uncached block a running sequence is computing right now waits a step for it.
 *
 * <p>Under {@link AdmissionPolicy#RESERVE} a waiting sequence is admitted only when the blocks for its largest
 * possible length fit beside what the running ones may still grow into, so the preemption above does not happen
 * (the engine refuses a request that could not fit the cache alone, so the first one is always admitted).
 *
 * <p>With a host swap space ({@link SwappedBlocks}), a preempted sequence's computed blocks are also copied to host
 * slots, all of them (its cached blocks are the first the growing survivors evict: kept only in the prefix cache
 * they would mostly be computed again); at re-admission, the blocks after its prefix-cache hits come back from
 * those slots into the freshly allocated blocks, and only positions past the copy are computed. The copies are
 * listed in a {@link SwapPlan} the engine runs before the step's forward ({@link #takeSwapPlan()}).
 */
public final class Scheduler {
    private final BlockManager blocks;
    private final int maxNumSeqs;
    private final int maxBatchTokens;
    private final AdmissionPolicy admission;
    /** Whether a sequence may take the cached block holding its last known position (see the class comment). */
    private final boolean fullPromptHits;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    /** Host copies of preempted sequences' blocks; null without a swap space. */
    private final SwappedBlocks swap;
    private SwapPlan swapPlan = SwapPlan.empty();
    private long swappedOutBlocks;
    private long swappedInBlocks;
    private long swappedInPositions;
    private long preemptions;
    private long cacheHitPositions;
    private long cacheMissPositions;

    public Scheduler(BlockManager blocks, int maxNumSeqs, int maxBatchTokens, AdmissionPolicy admission) {
        this(blocks, maxNumSeqs, maxBatchTokens, admission, false);
    }

    /**
     * @param fullPromptHits the backend samples from a kept logits row, so a sequence whose known tokens end on a
     *                       cached block carrying one is served whole
     */
    public Scheduler(BlockManager blocks, int maxNumSeqs, int maxBatchTokens, AdmissionPolicy admission,
                     boolean fullPromptHits) {
        this(blocks, maxNumSeqs, maxBatchTokens, admission, fullPromptHits, null);
    }

    /** @param swap host slots for preempted sequences' blocks (null: a preempted sequence is computed again) */
    public Scheduler(BlockManager blocks, int maxNumSeqs, int maxBatchTokens, AdmissionPolicy admission,
                     boolean fullPromptHits, SwappedBlocks swap) {
        this.swap = swap;
        this.fullPromptHits = fullPromptHits;
        this.blocks = blocks;
        this.maxNumSeqs = maxNumSeqs;
        this.maxBatchTokens = maxBatchTokens;
        this.admission = admission;
    }

    public void add(Sequence s) {
        waiting.addLast(s);
    }

    public List<ScheduledChunk> schedule() {
        List<ScheduledChunk> out = new ArrayList<>();
        int budget = maxBatchTokens;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence s = running.get(i);
            int n = Math.min(s.numUncomputed(), budget);
            int target = s.numComputed() + n;
            boolean preemptedSelf = false;
            while (!blocks.canAllocate(s.blockTable(), target)) {
                Sequence victim = running.get(running.size() - 1);
                preempt(victim);
                if (victim == s) {
                    preemptedSelf = true;
                    break;
                }
            }
            if (preemptedSelf) {
                break;
            }
            blocks.allocate(s.blockTable(), target);
            out.add(new ScheduledChunk(s, n));
            budget -= n;
        }
        while (!waiting.isEmpty() && running.size() < maxNumSeqs && budget > 0) {
            Sequence s = waiting.peekFirst();
            List<Integer> hits = List.of();
            if (blocks.prefixCaching() && s.takesPrefixHits()) {
                List<BlockHash> hashes = s.blockHashes(shareableBlocks(s), blocks.blockSize());
                hits = blocks.match(hashes);
                if (hits.size() == hashes.size() && endsOnBlock(s)
                        && blocks.promptEndLogits(hits.get(hits.size() - 1)) == null) {
                    hits = hits.subList(0, hits.size() - 1); // no logits kept at its end: computes its last block
                }
                if (hits.size() < hashes.size() && beingComputed(hashes.get(hits.size()))) {
                    break; // a running sequence computes this prefix now: admitted next step, it shares it
                }
            }
            boolean fits = admission == AdmissionPolicy.RESERVE
                    ? blocks.canAdmit(hits, s.maxFedPositions(), reservedGrowth())
                    : blocks.canAdmit(hits, s.numTokens(), 0);
            if (!fits) {
                break;
            }
            waiting.pollFirst();
            blocks.acquire(s.blockTable(), hits);
            blocks.allocate(s.blockTable(), s.numTokens());
            int cachedPositions = hits.size() * blocks.blockSize();
            int restored = swapIn(s, hits.size());
            s.setCachedPositions(cachedPositions + restored);
            cacheHitPositions += cachedPositions;
            cacheMissPositions += s.numTokens() - cachedPositions - restored;
            s.setStatus(Sequence.Status.RUNNING);
            running.add(s);
            int n = Math.min(s.numUncomputed(), budget);
            out.add(new ScheduledChunk(s, n));
            budget -= n;
        }
        return out;
    }

    /**
     * The leading full blocks of {@code s} that admission may serve from the cache: all of them when its known tokens
     * end on a block boundary and the backend samples from kept rows, else those before its last known position.
     */
    private int shareableBlocks(Sequence s) {
        return endsOnBlock(s) ? s.numTokens() / blocks.blockSize() : (s.numTokens() - 1) / blocks.blockSize();
    }

    private boolean endsOnBlock(Sequence s) {
        return fullPromptHits && s.numTokens() % blocks.blockSize() == 0;
    }

    /** Blocks the running sequences may still take before they finish (at most max_new_tokens each). */
    private int reservedGrowth() {
        int growth = 0;
        for (Sequence r : running) {
            growth += Math.max(0, blocks.blocksFor(r.maxFedPositions()) - r.blockTable().size());
        }
        return growth;
    }

    /**
     * Whether a running sequence is computing the block with this hash (it has not fed all its positions yet):
     * a GRPO group or batch of conversations submitted together would otherwise all be admitted in one step, each
     * computing the shared prefix itself.
     */
    private boolean beingComputed(BlockHash h) {
        int bs = blocks.blockSize();
        for (Sequence r : running) {
            int full = r.numTokens() / bs;
            int from = r.numComputed() / bs;
            if (from < full && r.blockHashes(full, bs).subList(from, full).contains(h)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Plans the copy back of {@code s}'s swapped blocks after its {@code hits} cached ones (into the blocks just
     * allocated for them); returns the positions restored past the hits (0 without a copy).
     */
    private int swapIn(Sequence s, int hits) {
        SwappedBlocks.Copy copy = swap == null ? null : swap.take(s);
        if (copy == null) {
            return 0;
        }
        int bs = blocks.blockSize();
        for (int i = hits; i < copy.slots().length; i++) {
            swapPlan.ins().add(new SwapPlan.In(s, i, copy.slots()[i], s.blockTable().get(i),
                    (i + 1) * bs <= copy.positions()));
            swappedInBlocks++;
        }
        int restored = Math.max(0, copy.positions() - hits * bs);
        swappedInPositions += restored;
        return restored;
    }

    /** Plans the copy of {@code victim}'s computed blocks to host slots, while they still hold its K/V. */
    private void swapOut(Sequence victim) {
        SwappedBlocks.Copy copy = swap == null || victim.numComputed() == 0 ? null
                : swap.store(victim, victim.numComputed());
        if (copy == null) {
            return;
        }
        for (int i = 0; i < copy.slots().length; i++) {
            int b = victim.blockTable().get(i);
            swapPlan.outs().add(new SwapPlan.Out(b, copy.slots()[i], blocks.promptEndLogits(b)));
            swappedOutBlocks++;
        }
    }

    /** The copies planned since the last call (this step's), for the engine to run before the forward. */
    public SwapPlan takeSwapPlan() {
        SwapPlan p = swapPlan;
        swapPlan = SwapPlan.empty();
        return p;
    }

    private void preempt(Sequence victim) {
        running.remove(victim);
        swapOut(victim);
        blocks.free(victim.blockTable()); // its full blocks stay cached (evictable) for its re-admission
        victim.resetComputed();
        victim.setStatus(Sequence.Status.WAITING);
        waiting.addFirst(victim);
        preemptions++;
    }

    /** Removes a finished or aborted sequence and frees its blocks. */
    public void remove(Sequence s) {
        running.remove(s);
        waiting.remove(s);
        if (swap != null) {
            swap.release(s);
        }
        blocks.free(s.blockTable());
    }

    public int numWaiting() {
        return waiting.size();
    }

    public int numRunning() {
        return running.size();
    }

    /** Positions known at admission (prompt, plus outputs for a preempted sequence) served from the prefix cache. */
    public long cacheHitPositions() {
        return cacheHitPositions;
    }

    /** Positions known at admission that had to be computed (not in the prefix cache). */
    public long cacheMissPositions() {
        return cacheMissPositions;
    }

    public long preemptions() {
        return preemptions;
    }

    /** Blocks of preempted sequences copied to host swap slots. */
    public long swappedOutBlocks() {
        return swappedOutBlocks;
    }

    /** Blocks copied back from host swap slots at re-admission (instead of being computed again). */
    public long swappedInBlocks() {
        return swappedInBlocks;
    }

    /** Host swap slots holding a copy now (0 without a swap space). */
    public int swapSlotsInUse() {
        return swap == null ? 0 : swap.numUsed();
    }

    /** Positions restored from host swap slots at re-admission. */
    public long swappedInPositions() {
        return swappedInPositions;
    }

    public boolean isEmpty() {
        return waiting.isEmpty() && running.isEmpty();
    }
}
