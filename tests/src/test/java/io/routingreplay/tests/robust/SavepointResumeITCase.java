package io.routingreplay.tests.robust;

import io.routingreplay.job.RoutingReplayJob;
import io.routingreplay.runtime.engine.GenerationResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5 item 2, last part: the job is stopped with a savepoint while requests are in flight and a new job resumes
 * from it; every request's record appears exactly once (read_committed) and equals the engine's own answer.
 */
class SavepointResumeITCase {

    private static final int REQUESTS = 100;
    /**
     * Token events written before the savepoint is asked for. Until then each event costs the task
     * {@link #HOLD_PACE_NANOS}, so at most a few steps have run: every request taken is mid-generation (each asks for
     * 10 or more tokens) however fast the machine, and stays so while the savepoint barrier travels.
     */
    private static final int EVENTS_BEFORE_STOP = 60;
    private static final long HOLD_PACE_NANOS = 25_000_000;
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @Test
    void stoppedWithASavepointAndResumedEveryRecordExactlyOnce(@TempDir Path savepoints) throws Exception {
        String prefix = "savepoint";
        String[] topics = RobustJobConfig.topics(prefix);
        KAFKA.get().createTopics(1, topics[0]);
        KAFKA.get().createTopics(2, topics[1], topics[2]);
        List<RobustWorkload.Request> requests = RobustWorkload.generate(prefix, REQUESTS, 11, 3, 12, 10, 30);
        Map<String, GenerationResult> expected = RobustWorkload.offline(requests);
        KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topics[0], requests);
        FailureInjector.reset(new FailureInjector.Plan(new int[0], -1)); // a probe only: counts resumed events

        Configuration conf = RobustJobConfig.create(KAFKA.get().bootstrapServers(), prefix);
        conf.set(io.routingreplay.job.JobOptions.MAX_NUM_SEQS, 16);
        FailureInjector.pace(HOLD_PACE_NANOS);
        JobClient first = start(conf);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (FailureInjector.EVENTS.get() < EVENTS_BEFORE_STOP) {
            assertTrue(System.nanoTime() < deadline, "the first job wrote " + FailureInjector.EVENTS.get()
                    + " token events in 3 minutes");
            Thread.sleep(20);
        }
        String savepoint = first.stopWithSavepoint(false, savepoints.toUri().toString(),
                SavepointFormatType.CANONICAL).get(2, TimeUnit.MINUTES);
        assertEquals(0, FailureInjector.RESUMED_EVENTS.get(), "the first job resumed nothing");
        FailureInjector.pace(FailureInjector.DEFAULT_PACE_NANOS);

        Configuration resumed = new Configuration(conf);
        resumed.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        JobClient second = start(resumed);
        KafkaAnswers.Answers answers;
        try {
            answers = KafkaAnswers.read(KAFKA.get().bootstrapServers(), topics[1], topics[2], REQUESTS,
                    Duration.ofMinutes(4), Duration.ofSeconds(3));
        } finally {
            second.cancel().get(1, TimeUnit.MINUTES);
        }
        assertTrue(FailureInjector.RESUMED_EVENTS.get() > 0,
                "requests in flight at the savepoint continued from their saved position");
        assertTrue(answers.deadLetters().isEmpty(), () -> "dead letters: " + answers.deadLetters());
        ResultChecks.assertExactlyOnceAndIdentical(expected, answers.results());
    }

    private static JobClient start(Configuration conf) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        RoutingReplayJob.onKafka(conf, false).withTokenStream(new FailureInjector()).addTo(env, conf);
        return env.executeAsync("savepoint-resume");
    }
}
