package io.routingreplay.tests.robust;

import io.routingreplay.schemas.TokenRoutingEvent;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.Collection;
import java.util.List;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A per-token-stream sink that is chained right after the inference operator (same task) and fails that task at
 * chosen points. In attempt {@code a} it throws once the attempt has taken {@link #CHECKPOINTS_BEFORE_FAILING}
 * checkpoints and {@code eventsAfterCheckpoint[a]} more token events went by, so requests are mid-generation and
 * the restore point holds them in flight. In attempt {@link Plan#failSnapshotInAttempt} it throws inside a
 * checkpoint instead (a stateful writer's {@code snapshotState} runs as the barrier passes). Counters are static
 * because every attempt runs in this JVM (MiniCluster); {@link #reset} starts a new plan.
 */
public class FailureInjector implements Sink<TokenRoutingEvent>, SupportsWriterState<TokenRoutingEvent, Integer> {

    static final int CHECKPOINTS_BEFORE_FAILING = 2;

    /**
     * Every token event costs the task this long. It paces generation (the engine thread waits on the task
     * through its bounded pending-steps queue) to at most ~500 events/s whatever the machine's speed, so each
     * attempt sees its checkpoints and planned events well before the last request is done: without it a fast
     * machine finishes all requests before the later planned failures and the test would prove less than it says.
     */
    static final long DEFAULT_PACE_NANOS = 2_000_000;
    /** The pace now in force; a test slows it to hold requests mid-generation while it acts (e.g. a savepoint). */
    private static volatile long paceNanos = DEFAULT_PACE_NANOS;

    /** The failure plan of one run. */
    public record Plan(int[] eventsAfterCheckpoint, int failSnapshotInAttempt) {
        int attempts() {
            return eventsAfterCheckpoint.length;
        }
    }

    /** A failure this test asked for (so a log reader can tell it from a real one). */
    public static final class InjectedFailure extends RuntimeException {
        InjectedFailure(String message) {
            super(message);
        }
    }

    private static volatile Plan plan = new Plan(new int[0], -1);
    static final AtomicInteger FAILURES = new AtomicInteger();
    static final AtomicInteger SNAPSHOT_FAILURES = new AtomicInteger();
    /** Events of requests resumed from a checkpoint (attempt > 0 in the event): proof that restores were mid-request. */
    static final AtomicInteger RESUMED_EVENTS = new AtomicInteger();
    /** Token events written, every attempt and job together. */
    static final AtomicInteger EVENTS = new AtomicInteger();
    /** Set while the running attempt is armed (past its checkpoints) to fail on token events. */
    private static volatile boolean armed;
    private static volatile long lastEventNanos = System.nanoTime();

    public static void reset(Plan p) {
        plan = p;
        FAILURES.set(0);
        SNAPSHOT_FAILURES.set(0);
        RESUMED_EVENTS.set(0);
        EVENTS.set(0);
        paceNanos = DEFAULT_PACE_NANOS;
        armed = false;
        lastEventNanos = System.nanoTime();
    }

    /** Sets what every token event costs the task from now on. */
    static void pace(long nanos) {
        paceNanos = nanos;
    }

    /**
     * Whether the running attempt waits for token events to fail but has seen none for {@code quietNanos}: its
     * requests all finished before the planned failure. A test then publishes more requests, so every planned
     * failure happens however fast the machine generates.
     */
    static boolean starving(long quietNanos) {
        return armed && System.nanoTime() - lastEventNanos > quietNanos;
    }

    @Override
    public StatefulSinkWriter<TokenRoutingEvent, Integer> createWriter(WriterInitContext context) {
        return new Writer(context.getTaskInfo().getAttemptNumber());
    }

    @Override
    public StatefulSinkWriter<TokenRoutingEvent, Integer> restoreWriter(WriterInitContext context,
                                                                      Collection<Integer> state) {
        return createWriter(context);
    }

    /** The writer keeps no state; the interface is implemented to be called inside every checkpoint. */
    @Override
    public SimpleVersionedSerializer<Integer> getWriterStateSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Integer v) {
                return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) (int) v};
            }

            @Override
            public Integer deserialize(int version, byte[] b) {
                return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
            }
        };
    }

    private static final class Writer implements StatefulSinkWriter<TokenRoutingEvent, Integer> {
        private final int attempt;
        private int checkpoints;
        private int eventsSinceCheckpoint;

        Writer(int attempt) {
            this.attempt = attempt;
        }

        @Override
        public void write(TokenRoutingEvent e, Context context) {
            LockSupport.parkNanos(paceNanos);
            EVENTS.incrementAndGet();
            if (e.getAttempt() > 0) {
                RESUMED_EVENTS.incrementAndGet();
            }
            if (checkpoints >= CHECKPOINTS_BEFORE_FAILING) {
                eventsSinceCheckpoint++;
            }
            lastEventNanos = System.nanoTime();
            Plan p = plan;
            if (attempt < p.attempts() && attempt != p.failSnapshotInAttempt()
                    && checkpoints >= CHECKPOINTS_BEFORE_FAILING
                    && eventsSinceCheckpoint >= p.eventsAfterCheckpoint()[attempt]) {
                FAILURES.incrementAndGet();
                armed = false;
                throw new InjectedFailure("injected failure of the inference task in attempt " + attempt + " after "
                        + eventsSinceCheckpoint + " events past a checkpoint (rid " + e.getRid() + ", position "
                        + e.getFirstPosition() + ")");
            }
        }

        @Override
        public void flush(boolean endOfInput) {
        }

        @Override
        public List<Integer> snapshotState(long checkpointId) {
            checkpoints++;
            Plan p = plan;
            boolean arm = attempt < p.attempts() && attempt != p.failSnapshotInAttempt()
                    && checkpoints >= CHECKPOINTS_BEFORE_FAILING;
            if (arm && !armed) {
                lastEventNanos = System.nanoTime(); // quiet time counts from arming
            }
            armed = arm;

            if (attempt == plan.failSnapshotInAttempt() && checkpoints >= CHECKPOINTS_BEFORE_FAILING) {
                FAILURES.incrementAndGet();
                SNAPSHOT_FAILURES.incrementAndGet();
                throw new InjectedFailure("injected failure during checkpoint " + checkpointId + " in attempt "
                        + attempt);
            }
            return List.of();
        }

        @Override
        public void close() {
        }
    }
}
