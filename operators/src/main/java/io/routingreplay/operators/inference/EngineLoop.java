package io.routingreplay.operators.inference;

import io.routingreplay.runtime.engine.EngineStats;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.InvalidRequestException;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.StepEvent;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Drives one {@link LLMEngine} on its own thread, so generation never blocks the Flink task thread (checkpoint
 * barriers and watermarks keep flowing). The engine is touched only by this thread: the task thread sends
 * commands, and every step's events go back through {@link Listener}, which the operator turns into mailbox mails.
 * At most {@code maxPendingSteps} steps may wait to be emitted; beyond that the loop waits, so a backpressured task
 * bounds the memory the engine's output can take.
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

    private static final long IDLE_POLL_MS = 20;

    private final LLMEngine engine;
    private final Listener listener;
    private final BlockingQueue<Command> commands = new LinkedBlockingQueue<>();
    private final Semaphore pendingSteps;
    private final Thread thread;
    private volatile boolean running = true;

    EngineLoop(LLMEngine engine, Listener listener, int maxPendingSteps, String threadName) {
        this.engine = engine;
        this.listener = listener;
        this.pendingSteps = new Semaphore(maxPendingSteps);
        this.thread = new Thread(this, threadName);
        this.thread.setDaemon(true);
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
        pendingSteps.release();
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
                    listener.onEvents(events, engine.stats());
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
    }
}
