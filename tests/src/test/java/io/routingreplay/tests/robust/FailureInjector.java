package io.routingreplay.tests.robust;

import io.routingreplay.schemas.TokenRoutingEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chained right after the inference operator (same task), it fails that task at chosen points: in attempt {@code a}
 * it throws after the first checkpoint of the attempt has completed and {@code eventsAfterCheckpoint[a]} more token
 * events went by, so requests are mid-generation and the restore point holds them in flight. In attempt
 * {@link Plan#failSnapshotInAttempt} it throws inside a checkpoint instead. Counters are static because every
 * attempt runs in this JVM (MiniCluster); {@link #reset} starts a new plan.
 */
public class FailureInjector extends RichMapFunction<TokenRoutingEvent, TokenRoutingEvent>
        implements CheckpointedFunction, CheckpointListener {

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

    private transient int attempt;
    private transient boolean checkpointDone;
    private transient int eventsSinceCheckpoint;

    public static void reset(Plan p) {
        plan = p;
        FAILURES.set(0);
        SNAPSHOT_FAILURES.set(0);
        RESUMED_EVENTS.set(0);
    }

    @Override
    public void open(OpenContext ctx) {
        attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
    }

    @Override
    public TokenRoutingEvent map(TokenRoutingEvent e) {
        if (e.getAttempt() > 0) {
            RESUMED_EVENTS.incrementAndGet();
        }
        if (checkpointDone) {
            eventsSinceCheckpoint++;
        }
        Plan p = plan;
        if (attempt < p.attempts() && attempt != p.failSnapshotInAttempt() && checkpointDone
                && eventsSinceCheckpoint >= p.eventsAfterCheckpoint()[attempt]) {
            FAILURES.incrementAndGet();
            throw new InjectedFailure("injected failure of the inference task in attempt " + attempt + " after "
                    + eventsSinceCheckpoint + " events past a checkpoint (rid " + e.getRid() + ", position "
                    + e.getFirstPosition() + ")");
        }
        return e;
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) {
        if (attempt == plan.failSnapshotInAttempt() && checkpointDone) {
            FAILURES.incrementAndGet();
            SNAPSHOT_FAILURES.incrementAndGet();
            throw new InjectedFailure("injected failure during checkpoint " + ctx.getCheckpointId()
                    + " in attempt " + attempt);
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) {
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        checkpointDone = true;
    }
}
