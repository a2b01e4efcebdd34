package io.routingreplay.tests.robust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import io.routingreplay.operators.inference.EngineFactory;
import io.routingreplay.operators.inference.FailingEngines;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.schemas.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 13 item 1: failures that repeat are answered, not looped. Through a real Kafka broker and a MiniCluster
 * with checkpoints and fixed-delay restarts: requests that break the engine every time (a simulated CUDA error
 * whenever their token is in the batch) end as dead letters with the cause after {@code inference.max-attempts},
 * while every other request is answered exactly as the engine alone answers it; and an engine that cannot be made
 * at all (a native library "already loaded in another classloader") turns every request into a dead letter with
 * that cause instead of restarting the job forever.
 */
class EngineFailureDeadLetterITCase {

    private static final int POISON_TOKEN = 151_000; // the workload's prompts are ids 100..150,099
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @Test
    void requestsThatBreakTheEngineEveryTimeAreDeadLetteredWithTheCauseAndTheOthersAnswered() throws Exception {
        String prefix = "engine-poison";
        List<RobustWorkload.Request> good = RobustWorkload.generate(prefix, 40, 21, 3, 12, 2, 8);
        Map<String, GenerationResult> expected = RobustWorkload.offline(good);
        List<RobustWorkload.Request> all = new ArrayList<>(good);
        // Among the others, so they share micro-batches and engine steps with them.
        all.add(10, poison(prefix + "-poison-a"));
        all.add(30, poison(prefix + "-poison-b"));

        KafkaAnswers.Answers answers = run(prefix, all, FailingEngines.failingOnToken(POISON_TOKEN));

        Map<String, String> reasons = reasons(answers.deadLetters());
        assertEquals(List.of(prefix + "-poison-a", prefix + "-poison-b"), new ArrayList<>(reasons.keySet()),
                () -> "dead letters: " + answers.deadLetters());
        reasons.values().forEach(reason -> assertEngineFailure(reason, FailingEngines.CUDA_ERROR));
        ResultChecks.assertExactlyOnceAndIdentical(expected, answers.results());
    }

    @Test
    void anEngineThatCannotBeMadeDeadLettersEveryRequestWithTheCauseInsteadOfRestartingForever() throws Exception {
        String prefix = "engine-never";
        List<RobustWorkload.Request> requests = RobustWorkload.generate(prefix, 12, 22, 3, 12, 2, 8);

        KafkaAnswers.Answers answers = run(prefix, requests, FailingEngines.neverCreated());

        assertTrue(answers.results().isEmpty());
        Map<String, String> reasons = reasons(answers.deadLetters());
        assertEquals(requests.size(), reasons.size(), () -> "dead letters: " + answers.deadLetters());
        reasons.values().forEach(reason -> assertEngineFailure(reason,
                "java.lang.UnsatisfiedLinkError: " + FailingEngines.NATIVE_ALREADY_LOADED));
    }

    private static KafkaAnswers.Answers run(String prefix, List<RobustWorkload.Request> requests,
                                            EngineFactory engines) throws Exception {
        String[] topics = RobustJobConfig.topics(prefix);
        KAFKA.get().createTopics(1, topics[0]);
        KAFKA.get().createTopics(2, topics[1], topics[2]);
        KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topics[0], requests);
        Configuration conf = RobustJobConfig.create(KAFKA.get().bootstrapServers(), prefix);
        conf.set(JobOptions.MAX_ATTEMPTS, 3);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        RoutingReplayJob.onKafka(conf, false).withEngines(engines).addTo(env, conf);
        JobClient job = env.executeAsync(prefix);
        try {
            return KafkaAnswers.read(KAFKA.get().bootstrapServers(), topics[1], topics[2], requests.size(),
                    Duration.ofMinutes(3), Duration.ofSeconds(2));
        } finally {
            cancel(job);
        }
    }

    /** Cancels the job; one that already ended (it failed through all its restarts) leaves the answers to tell. */
    private static void cancel(JobClient job) {
        try {
            job.cancel().get(1, TimeUnit.MINUTES);
        } catch (Exception ended) {
            System.err.println("cancelling the job: " + ended);
        }
    }

    private static RobustWorkload.Request poison(String rid) {
        String json = "{\"rid\":\"" + rid + "\",\"prompt_token_ids\":[300," + POISON_TOKEN + ",400],"
                + "\"max_new_tokens\":4}";
        return new RobustWorkload.Request(rid, json.getBytes(StandardCharsets.UTF_8), null);
    }

    /** Reason by rid, each rid once. */
    private static Map<String, String> reasons(List<DeadLetter> deadLetters) {
        Map<String, String> byRid = new TreeMap<>();
        for (DeadLetter d : deadLetters) {
            assertEquals("inference", d.getStage(), d.toString());
            assertEquals(null, byRid.put(d.getRid(), d.getReason()), "one dead letter per rid: " + d.getRid());
        }
        return byRid;
    }

    private static void assertEngineFailure(String reason, String cause) {
        assertTrue(reason.startsWith("the engine failed 3 times while this request was in it "
                + "(inference.max-attempts = 3); last failure: "), reason);
        assertTrue(reason.contains(cause), reason);
    }
}
