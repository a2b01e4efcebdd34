package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.cli.output.NpyFileNames;
import io.routingreplay.runtime.cli.output.NpyWriter;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.tokenizer.TextTokenizer;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Where finished results go, in generate's format: one JSON line each and, with an npy folder, the routing ids as
 * {@code <rid>.npy} (none for a result with routing null). Shared by {@code generate} and {@code multi-turn}.
 *
 * <p>Results are formatted and written on a thread of the sink's own, in the order {@link #write} was called: a
 * long rollout's routing is ~10^8 numbers of JSON, seconds of formatting that the engine's thread would otherwise
 * spend while the GPU waits. At most {@link #MAX_PENDING} results wait for the writer (beyond, {@link #write}
 * blocks), so memory stays bounded. A write that fails fails the next call to {@link #write}, {@link #drain} or
 * {@link #close}, and nothing after it is written.
 */
final class ResultSink implements Closeable {
    static final int MAX_PENDING = 64;

    private final TextTokenizer tokenizer;
    private final BufferedWriter out;
    private final Path npyDir;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "result-writer");
        t.setDaemon(true);
        return t;
    });
    private final Semaphore room = new Semaphore(MAX_PENDING);
    private volatile IOException failure;

    /**
     * @param tokenizer null: output_text is null
     * @param output    null: no JSON lines (only .npy files, when {@code npyDir} is given)
     * @param npyDir    null: no .npy files
     */
    ResultSink(TextTokenizer tokenizer, Path output, Path npyDir) throws IOException {
        this.tokenizer = tokenizer;
        this.npyDir = npyDir;
        this.out = output == null ? null : Files.newBufferedWriter(output, StandardCharsets.UTF_8);
    }

    /** Queues {@code r} for the writer thread (waits while {@link #MAX_PENDING} are queued). */
    void write(GenerationResult r) throws IOException {
        throwIfFailed();
        room.acquireUninterruptibly();
        writer.execute(() -> {
            try {
                if (failure == null) {
                    writeNow(r);
                }
            } catch (IOException e) {
                failure = e;
            } catch (RuntimeException e) {
                failure = new IOException("writing result " + r.rid() + ": " + e, e);
            } finally {
                room.release();
            }
        });
    }

    private void writeNow(GenerationResult r) throws IOException {
        if (out != null) {
            String text = tokenizer == null ? null : tokenizer.decode(r.outputTokenIds());
            out.write(ResultJson.toLine(r, text));
            out.write('\n');
        }
        if (npyDir != null && r.routing() != null) { // return_routing false: no file (the JSON line says null)
            NpyWriter.write(npyDir.resolve(NpyFileNames.forRecord(r.rid(), r.routing().firstPosition())),
                    r.routing());
        }
    }

    /** Queues a flush of the JSON lines written so far (finished work reaches the file during a long run). */
    void flush() throws IOException {
        throwIfFailed();
        if (out != null) {
            writer.execute(() -> {
                try {
                    if (failure == null) {
                        out.flush();
                    }
                } catch (IOException e) {
                    failure = e;
                }
            });
        }
    }

    /** Waits until every queued result is written and flushed; throws the first write's failure. */
    void drain() throws IOException {
        flush();
        try {
            writer.submit(() -> { }).get(); // one thread, in order: every write and the flush before it have run
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the result writer", e);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause());
        }
        throwIfFailed();
    }

    private void throwIfFailed() throws IOException {
        IOException f = failure;
        if (f != null) {
            throw new IOException("a result could not be written: " + f.getMessage(), f);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            drain();
        } finally {
            writer.shutdown();
            try {
                writer.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (out != null) {
                out.close();
            }
        }
    }
}
