package io.routingreplay.runtime.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** A fixed pool of worker threads for data-parallel loops; small loops run inline (dispatch costs more). */
final class Parallel implements AutoCloseable {
    /** Multiply-adds below which a loop is not worth spreading over threads. */
    static final long MIN_PARALLEL_WORK = 1 << 16;

    private final ForkJoinPool pool;
    private final int threads;

    Parallel(int threads) {
        this.threads = threads;
        this.pool = threads > 1 ? new ForkJoinPool(threads) : null;
    }

    /** Runs body(i) for i in [0, n); in parallel when {@code work} (total multiply-adds) is large enough. */
    void forRange(int n, long work, IntConsumer body) {
        if (pool == null || n == 1 || work < MIN_PARALLEL_WORK) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        int chunks = Math.min(n, threads * 4);
        pool.submit(() -> IntStream.range(0, chunks).parallel().forEach(c -> {
            int from = (int) ((long) n * c / chunks);
            int to = (int) ((long) n * (c + 1) / chunks);
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
        })).join();
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
