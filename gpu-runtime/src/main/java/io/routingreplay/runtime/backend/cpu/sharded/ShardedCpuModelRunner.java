package io.routingreplay.runtime.backend.cpu.sharded;

import io.routingreplay.runtime.backend.ForwardBatch;
import io.routingreplay.runtime.backend.KvSwapSpace;
import io.routingreplay.runtime.backend.ModelRunner;
import io.routingreplay.runtime.backend.StepOutput;
import io.routingreplay.runtime.backend.cpu.CpuModelRunner;
import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.parallel.InProcessCollectives;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.parallel.RankShard;
import io.routingreplay.runtime.parallel.RankWeights;
import io.routingreplay.runtime.weights.SliceReader;
import io.routingreplay.runtime.weights.WeightStore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The CPU reference of a multi-GPU engine: the model split over {@link ParallelLayout#ranks()} ranks in this JVM,
 * one thread per rank (as a multi-GPU engine has one host thread per GPU), each holding only its slices of the
 * weights ({@link RankWeights}, read from the memory-mapped checkpoint) and its K/V heads, and computing the step
 * with the CPU backend's op sequence ({@link CpuModelRunner#rank}). The ranks meet only in {@link
 * InProcessCollectives}: all-gathers, and sums in rank order built on them. Every rank ends the step with the same
 * sampled tokens and routing (logical expert ids); the engine gets rank 0's.
 */
public final class ShardedCpuModelRunner implements ModelRunner {
    private final ModelConfig config;
    private final ParallelLayout layout;
    private final List<ModelRunner> ranks = new ArrayList<>();
    private final List<InProcessCollectives> comms;
    private final long[] bytesRead;
    private final ExecutorService threads;

    /** What a rank steps with, given its real runner: the runner itself, except where a test injects a fault. */
    interface RankWrapper {
        RankWrapper NONE = (rank, runner) -> runner;

        ModelRunner wrap(int rank, ModelRunner runner);
    }

    private ShardedCpuModelRunner(ModelConfig config, ParallelLayout layout, ModelWeights full, EngineConfig cfg,
                                  RankWrapper wrapper) {
        this.config = config;
        this.layout = layout;
        int n = layout.ranks();
        this.comms = InProcessCollectives.group(n);
        this.bytesRead = new long[n];
        int numBlocks = CpuModelRunner.kvBlocks(config, cfg.kvBlockSize(), cfg.kvCacheTokens());
        int threadsPerRank = Math.max(1, cfg.threads() / n);
        for (int r = 0; r < n; r++) {
            SliceReader reader = new SliceReader();
            RankShard shard = layout.shard(config, r);
            ModelWeights rankWeights = RankWeights.read(full, shard, reader);
            bytesRead[r] = reader.bytesRead();
            ranks.add(wrapper.wrap(r, CpuModelRunner.rank(config, rankWeights, shard, comms.get(r), threadsPerRank,
                    cfg.kvBlockSize(), numBlocks, cfg.kvCacheDtype(), cfg.gemmInputs())));
        }
        AtomicInteger made = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(n, task -> {
            Thread t = new Thread(task, "cpu-rank-thread-" + made.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    /** Loads {@code cfg}'s model split as its tensor-parallel / expert-parallel settings say; refuses a model the
     *  layout cannot split, with the numbers. */
    public static ShardedCpuModelRunner load(EngineConfig cfg) {
        return load(cfg, RankWrapper.NONE);
    }

    /** {@link #load(EngineConfig)} with each rank's runner passed through {@code wrapper} (a test's fault). */
    static ShardedCpuModelRunner load(EngineConfig cfg, RankWrapper wrapper) {
        ModelConfig mc = ModelConfigLoader.load(cfg.modelDir());
        ParallelLayout layout = new ParallelLayout(cfg.tensorParallel(), cfg.expertParallel());
        layout.check(mc);
        // Names and shapes only: the mapping is read where a rank reads its slices.
        ModelWeights full = ModelWeights.load(mc, WeightStore.open(cfg.modelDir()));
        return new ShardedCpuModelRunner(mc, layout, full, cfg, wrapper);
    }

    public ParallelLayout layout() {
        return layout;
    }

    /** Checkpoint bytes each rank read at load (its slices and what it replicates). */
    public long[] bytesReadPerRank() {
        return bytesRead.clone();
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public int kvBlockSize() {
        return ranks.get(0).kvBlockSize();
    }

    @Override
    public int numKvBlocks() {
        return ranks.get(0).numKvBlocks();
    }

    /** Every rank's share of a block (0 when a rank keeps no swap space: then none does). */
    @Override
    public long kvSwapBytesPerBlock() {
        long sum = 0;
        for (ModelRunner r : ranks) {
            if (r.kvSwapBytesPerBlock() <= 0) {
                return 0;
            }
            sum += r.kvSwapBytesPerBlock();
        }
        return sum;
    }

    /** One swap space per rank, each copying its own K/V heads of the same blocks into the same slots. */
    @Override
    public KvSwapSpace openKvSwapSpace(int slots) {
        List<KvSwapSpace> spaces = new ArrayList<>();
        for (ModelRunner r : ranks) {
            spaces.add(r.openKvSwapSpace(slots));
        }
        return new KvSwapSpace() {
            @Override
            public int numSlots() {
                return slots;
            }

            @Override
            public void copy(int[] outBlocks, int[] outSlots, int[] inSlots, int[] inBlocks) {
                for (KvSwapSpace s : spaces) {
                    s.copy(outBlocks, outSlots, inSlots, inBlocks);
                }
            }

            @Override
            public void close() {
                spaces.forEach(KvSwapSpace::close);
            }
        };
    }

    @Override
    public boolean supportsReplayInputs() {
        return true;
    }

    @Override
    public StepOutput forward(ForwardBatch batch) {
        CompletionService<StepOutput> finished = new ExecutorCompletionService<>(threads);
        List<Future<StepOutput>> steps = new ArrayList<>();
        for (ModelRunner rank : ranks) {
            steps.add(finished.submit(() -> rank.forward(batch)));
        }
        StepOutput[] out = new StepOutput[steps.size()];
        try {
            // In the order the ranks finish, not by rank: a rank that threw is done while the others still wait
            // for it in a collective (waiting on rank 0 first would hang), and the first failure is the thrower's
            // own, never a rank released by the abort that follows.
            for (int i = 0; i < out.length; i++) {
                finished.take().get();
            }
            for (int r = 0; r < out.length; r++) {
                out[r] = steps.get(r).get();
            }
        } catch (ExecutionException e) {
            stopAll(steps);
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            stopAll(steps);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the ranks stepped", e);
        }
        for (int r = 1; r < out.length; r++) {
            requireSame(out[0], out[r], r);
        }
        return out[0];
    }

    /** After one rank failed: release the others from their collectives until every rank has returned. */
    private void stopAll(List<Future<StepOutput>> steps) {
        for (Future<StepOutput> f : steps) {
            while (!f.isDone()) {
                comms.get(0).abort();
                try {
                    f.get(50, TimeUnit.MILLISECONDS);
                } catch (TimeoutException | ExecutionException ignored) {
                    // a rank still waiting, or one that failed too: the first failure is what is reported
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        comms.get(0).abort();
    }

    /** Every rank samples and routes from the same bits; a rank that disagrees is a broken collective. */
    private static void requireSame(StepOutput first, StepOutput other, int rank) {
        if (!Arrays.equals(first.sampledTokens(), other.sampledTokens())
                || !Arrays.deepEquals(first.routingIds(), other.routingIds())) {
            throw new IllegalStateException("rank " + rank + " sampled or routed differently from rank 0");
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
        for (ModelRunner r : ranks) {
            r.close();
        }
    }
}
