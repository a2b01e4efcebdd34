package io.routingreplay.operators.inference;

import io.routingreplay.runtime.engine.EngineStats;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.InvalidRequestException;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Drives one {@link LLMEngine} on its own thread, so generation never blocks the Flink task thread (checkpoint
 * barriers and watermarks keep flowing). The engine is touched only by this thread: the task thread sends
 * commands, and every step's events go back through {@link Listener}, which the operator turns into mailbox mails.
 * At most {@code maxPendingSteps} steps may wait to be emitted; beyond that the loop waits, so a backpressured task
 * bounds the memory the engine's output can take.
 *
 * <p>At most one step is in the task's mailbox at a time, and the next one is posted by another thread after the
 * previous was emitted, never by the mail itself: the mailbox then runs empty between steps. Flink needs that gap:
 * when a stop-with-savepoint ends the input, the task finishes its operators by running mails until none is left
 * before it takes the savepoint; with the engine's steps queued back to back it would run every in-flight request to
 * its end first instead of saving it at its position.
 */
final class EngineLoop implements Runnable {

    /** Called on the engine thread; implementations hand the work to the task thread. */
    interface Listener {
        /**
         * One step's events and the engine's counters right after it (read here, on the engine thread); the
         * listener must call {@link #stepEmitted()} once they are emitted.
         */
        void onEvents(List<StepEvent> events, EngineStats stats);

        void onRejected(String rid, String reason);

        void onFailure(Throwable t);
    }

    private sealed interface Command permits Admit, Abort {
    }

    private record Admit(GenerationRequest request, int[] outputsSoFar, float[] logprobsSoFar) implements Command {
    }

    private record Abort(String rid) implements Command {
    }

    private record Step(List<StepEvent> events, EngineStats stats) {
    }

    private static final long IDLE_POLL_MS = 20;

    private final LLMEngine engine;
    private final Listener listener;
    private final BlockingQueue<Command> commands = new LinkedBlockingQueue<>();
    private final Semaphore pendingSteps;
    /** Steps computed and not yet posted (guarded by itself); at most {@code maxPendingSteps}. */
    private final ArrayDeque<Step> computed = new ArrayDeque<>();
    /** Whether a step is in the task's mailbox (guarded by {@link #computed}). */
    private boolean stepPosted;
    /** Posts a step computed while the previous one was in the mailbox, once that one was emitted. */
    private final ExecutorService poster;
    private final Thread thread;
    private volatile boolean running = true;

    EngineLoop(LLMEngine engine, Listener listener, int maxPendingSteps, String threadName) {
        this.engine = engine;
        this.listener = listener;
        this.pendingSteps = new Semaphore(maxPendingSteps);
        this.thread = new Thread(this, threadName);
        this.thread.setDaemon(true);
        this.poster = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName + "-poster");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        thread.start();
    }

    /** Queues a new request ({@code outputsSoFar} empty) or one restored from a checkpoint. */
    void admit(GenerationRequest request, int[] outputsSoFar, float[] logprobsSoFar) {
        commands.add(new Admit(request, outputsSoFar, logprobsSoFar));
    }

    void abort(String rid) {
        commands.add(new Abort(rid));
    }

    /** The task thread emitted one step's events. */
    void stepEmitted() {
        boolean more;
        synchronized (computed) {
            stepPosted = false;
            more = !computed.isEmpty();
        }
        pendingSteps.release();
        if (more) {
            try {
                poster.execute(this::postNext);
            } catch (RejectedExecutionException stopped) {
                // the loop was stopped: its computed steps are recomputed by the next one
            }
        }
    }

    /** Engine or poster thread: posts the oldest computed step unless one is in the mailbox already. */
    private void postNext() {
        Step next;
        synchronized (computed) {
            if (stepPosted || computed.isEmpty()) {
                return;
            }
            next = computed.poll();
            stepPosted = true;
        }
        listener.onEvents(next.events(), next.stats());
    }

    @Override
    public void run() {
        try {
            while (running) {
                Command c = engine.hasUnfinished() ? commands.poll()
                        : commands.poll(IDLE_POLL_MS, TimeUnit.MILLISECONDS);
                while (c != null) {
                    apply(c);
                    c = commands.poll();
                }
                if (!engine.hasUnfinished()) {
                    continue;
                }
                pendingSteps.acquire();
                List<StepEvent> events = engine.step();
                if (events.isEmpty()) {
                    pendingSteps.release();
                } else {
                    synchronized (computed) {
                        computed.add(new Step(events, engine.stats()));
                    }
                    postNext();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            if (running) {
                listener.onFailure(t);
            }
        }
    }

    private void apply(Command c) {
        if (c instanceof Abort a) {
            engine.abort(a.rid());
            return;
        }
        Admit a = (Admit) c;
        try {
            if (a.outputsSoFar().length == 0) {
                engine.add(a.request());
            } else {
                engine.resume(a.request(), a.outputsSoFar(), a.logprobsSoFar());
            }
        } catch (InvalidRequestException e) {
            listener.onRejected(a.request().rid(), e.getMessage());
        }
    }

    /** Stops the thread and waits for it; the engine is closed by the owner afterwards. */
    void stop() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(10_000);
        poster.shutdownNow();
    }
}
