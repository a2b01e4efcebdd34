package io.routingreplay.tests.robust;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import io.routingreplay.runtime.engine.GenerationResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5 item 2: the inference task is killed mid-generation several times (and once inside a checkpoint) while
 * hundreds of requests run; with fixed-delay restarts, a transactional sink and a read_committed reader, every
 * request's record appears exactly once and equals what the engine alone returns (greedy and seeded sampling).
 */
class ExactlyOnceUnderFailuresITCase {

    private static final int REQUESTS = 200;
    private static final int INITIAL = 140;
    private static final int WAVE = 15;
    private static final int PLANNED_FAILURES = 4;
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @Test
    void everyRecordExactlyOnceAndIdenticalThroughRepeatedTaskFailures() throws Exception {
        String prefix = "failures";
        KAFKA.get().createTopics(1, RobustJobConfig.topics(prefix)[0]);
        KAFKA.get().createTopics(2, RobustJobConfig.topics(prefix)[1], RobustJobConfig.topics(prefix)[2]);
        // GRPO-like groups of 4 samples sharing prompts of 17-40 ids (at least one full K/V block): the job's
        // engines serve siblings from the prefix cache, which a restore starts empty (it is not state); the oracle
        // computes every prompt cold.
        List<RobustWorkload.Request> requests = RobustWorkload.generate(prefix, REQUESTS, 5, 4, 17, 40, 2, 10);
        assertTrue(RobustWorkload.prefixCacheHits(requests) > 0, "the workload must be one the prefix cache serves");
        long t0 = System.nanoTime();
        Map<String, GenerationResult> expected = RobustWorkload.offline(requests);
        System.err.printf("offline oracle: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        // Most requests at once; the rest is a reserve, fed in small waves whenever an attempt that should fail on
        // token events has run out of work (on a fast machine the first wave can finish before the later
        // planned failures), and all of it once every planned failure happened.
        List<RobustWorkload.Request> reserve = requests.subList(INITIAL, REQUESTS);
        KafkaAnswers.publish(KAFKA.get().bootstrapServers(), prefix + "-prompts", requests.subList(0, INITIAL));

        // attempts 0, 1 and 3 fail the inference task mid-generation; attempt 2 fails inside a checkpoint
        FailureInjector.reset(new FailureInjector.Plan(new int[] {30, 90, 0, 50}, 2));
        Configuration conf = RobustJobConfig.create(KAFKA.get().bootstrapServers(), prefix);
        conf.set(JobOptions.MAX_NUM_SEQS, 16); // fewer sequences per step: generation spans many checkpoints
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        // unbounded, as in production: checkpoints keep coming until the last request is answered
        RoutingReplayJob.onKafka(conf, false).withTokenStream(new FailureInjector()).addTo(env, conf);
        JobClient job = env.executeAsync("exactly-once-under-failures");
        t0 = System.nanoTime();
        Thread feeder = new Thread(() -> feed(prefix + "-prompts", reserve), "reserve-feeder");
        feeder.start();
        KafkaAnswers.Answers answers;
        try {
            answers = KafkaAnswers.read(KAFKA.get().bootstrapServers(), prefix + "-results", prefix + "-dead-letters",
                    REQUESTS, Duration.ofMinutes(4), Duration.ofSeconds(3));
        } finally {
            feeder.interrupt();
            feeder.join();
            job.cancel().get(1, TimeUnit.MINUTES);
        }
        System.err.printf("job: %.1f s%n", (System.nanoTime() - t0) / 1e9);

        assertEquals(PLANNED_FAILURES, FailureInjector.FAILURES.get(), "every planned failure happened");
        assertEquals(1, FailureInjector.SNAPSHOT_FAILURES.get(), "one failure was inside a checkpoint");
        assertTrue(FailureInjector.RESUMED_EVENTS.get() > 0,
                "some requests were restored mid-generation and continued from their checkpointed position");

        assertTrue(answers.deadLetters().isEmpty(), () -> "dead letters: " + answers.deadLetters());
        ResultChecks.assertExactlyOnceAndIdentical(expected, answers.results());
    }

    /** Publishes the reserve: a wave whenever the armed attempt starves, everything once all failures happened. */
    private static void feed(String topic, List<RobustWorkload.Request> reserve) {
        int next = 0;
        try {
            while (next < reserve.size()) {
                if (FailureInjector.FAILURES.get() >= PLANNED_FAILURES) {
                    KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topic, reserve.subList(next, reserve.size()));
                    System.err.printf("reserve: the last %d requests published after every planned failure%n",
                            reserve.size() - next);
                    return;
                }
                if (FailureInjector.starving(TimeUnit.MILLISECONDS.toNanos(1500))) {
                    int end = Math.min(next + WAVE, reserve.size());
                    KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topic, reserve.subList(next, end));
                    System.err.printf("reserve: %d requests published to an attempt that ran out of work (%d "
                            + "failures so far)%n", end - next, FailureInjector.FAILURES.get());
                    next = end;
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException("publishing the reserve failed", e);
        }
    }
}
