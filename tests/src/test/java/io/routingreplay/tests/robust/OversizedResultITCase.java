package io.routingreplay.tests.robust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import io.routingreplay.operators.recordsize.OversizedResultFilter;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, "records of any size": with {@code kafka.max-record-bytes} = 20,000, a request whose result can grow past
 * it (300 prompt + 1,200 new tokens on the tiny Qwen3-MoE: up to 33,507 bytes) used to fail the results sink's
 * transaction on every attempt, so the job restarted forever and the small requests sent with it were never answered
 * either. Now it is dead-lettered at validation; a result that still gets too large (admitted under a larger limit,
 * then restored with a smaller one) is dead-lettered before the sink; and a dead letter keeping more of its record
 * than the limit allows is cut to fit. Every other request is answered exactly once.
 */
class OversizedResultITCase {

    private static final int LIMIT = 20_000;
    private static final String LARGE = "{\"rid\":\"large\",\"prompt_text\":\"" + " hello".repeat(300)
            + "\",\"max_new_tokens\":1200,\"temperature\":0,\"ignore_eos\":true}";
    private static final List<String> SMALL = List.of(
            "{\"rid\":\"small-1\",\"prompt_text\":\"The capital of France is\",\"max_new_tokens\":8}",
            "{\"rid\":\"small-2\",\"prompt_token_ids\":[9707,11,1879],\"max_new_tokens\":6,\"seed\":3}");

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @Test
    void anOversizedRequestIsDeadLetteredAtAdmissionAndTheOthersAreAnsweredOnce() throws Exception {
        String prefix = "oversized";
        String[] topics = createTopics(prefix);
        byte[] garbage = new byte[30_000]; // not a request; its dead letter would keep all 30,000 bytes
        new Random(1).nextBytes(garbage);
        garbage[0] = 0x06;
        List<RobustWorkload.Request> requests = new ArrayList<>(requests(SMALL.get(0), LARGE, SMALL.get(1)));
        requests.add(new RobustWorkload.Request("garbage", garbage, null));
        KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topics[0], requests);

        Configuration conf = RobustJobConfig.create(KAFKA.get().bootstrapServers(), prefix);
        conf.set(JobOptions.MAX_RECORD_BYTES, LIMIT);
        JobClient job = start(conf);
        KafkaAnswers.Answers answers;
        try {
            answers = KafkaAnswers.read(KAFKA.get().bootstrapServers(), topics[1], topics[2], 4,
                    Duration.ofMinutes(2), Duration.ofSeconds(3));
            assertSmallOnesAnsweredOnce(answers);
            assertEquals(JobStatus.RUNNING, job.getJobStatus().get(), "the job never failed for good");
        } finally {
            job.cancel().get(1, TimeUnit.MINUTES);
        }
        Map<String, DeadLetter> dead = byRid(answers.deadLetters());
        assertEquals(2, answers.deadLetters().size(), () -> "dead letters: " + answers.deadLetters());
        DeadLetter large = dead.get("large");
        assertEquals(DeadLetters.STAGE_VALIDATE, large.getStage());
        assertEquals("the result could reach 33522 bytes (prompt 300 + up to 1200 new tokens; routing 1499 tokens × 4 "
                + "MoE layers × top-4 × 1 byte), over the limit of 20000 bytes per Kafka record "
                + "(kafka.max-record-bytes): lower max_new_tokens to at most 612, or raise kafka.max-record-bytes "
                + "(and the results topic's max.message.bytes)", large.getReason());
        DeadLetter junk = dead.get(null);
        assertTrue(junk.getReason().startsWith("undecodable bytes"), junk.getReason());
        assertTrue(junk.getReason().matches(".*\\[raw record cut to its first \\d+ of 30000 bytes so the dead letter "
                + "fits kafka.max-record-bytes = 20000]"), junk.getReason());
        assertTrue(junk.getRaw().remaining() > 19_000 && junk.getRaw().remaining() < LIMIT,
                "kept as much of the record as fits: " + junk.getRaw().remaining());
    }

    @Test
    void aResultAdmittedUnderALargerLimitIsDeadLetteredBeforeTheSinkAfterARestore(@TempDir Path savepoints)
            throws Exception {
        String prefix = "oversized-restore";
        String[] topics = createTopics(prefix);
        KafkaAnswers.publish(KAFKA.get().bootstrapServers(), topics[0], requests(SMALL.get(0), LARGE, SMALL.get(1)));

        // Admitted under the default limit, then held in the micro-batch window until the savepoint is taken.
        Configuration conf = RobustJobConfig.create(KAFKA.get().bootstrapServers(), prefix);
        conf.set(JobOptions.WINDOW_MAX_WAIT, Duration.ofSeconds(15));
        JobClient first = start(conf);
        awaitCommittedOffset(prefix, new TopicPartition(topics[0], 0), 3, Duration.ofSeconds(60));
        String savepoint = first.stopWithSavepoint(false, savepoints.toUri().toString(),
                SavepointFormatType.CANONICAL).get(2, TimeUnit.MINUTES);

        Configuration smaller = new Configuration(conf);
        smaller.set(JobOptions.MAX_RECORD_BYTES, LIMIT);
        smaller.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        JobClient second = start(smaller);
        KafkaAnswers.Answers answers;
        try {
            answers = KafkaAnswers.read(KAFKA.get().bootstrapServers(), topics[1], topics[2], 3,
                    Duration.ofMinutes(2), Duration.ofSeconds(3));
            assertSmallOnesAnsweredOnce(answers);
            assertEquals(JobStatus.RUNNING, second.getJobStatus().get(), "the job never failed for good");
        } finally {
            second.cancel().get(1, TimeUnit.MINUTES);
        }
        assertEquals(1, answers.deadLetters().size(), () -> "dead letters: " + answers.deadLetters());
        DeadLetter large = answers.deadLetters().get(0);
        assertEquals("large", large.getRid());
        assertEquals(OversizedResultFilter.STAGE, large.getStage());
        assertTrue(large.getReason().matches("rid 'large': the result is \\d+ bytes as a Kafka record \\(prompt 300 \\+ "
                + "1200 output tokens, 23984 bytes of routing ids\\), over the limit of 20000 bytes "
                + "\\(kafka.max-record-bytes\\), so it was not published: .*"), large.getReason());
    }

    private static void assertSmallOnesAnsweredOnce(KafkaAnswers.Answers answers) {
        List<String> rids = new ArrayList<>();
        for (RoutingResult r : answers.results()) {
            rids.add(r.getRid());
            assertEquals(r.getPromptTokenIds().size() + r.getOutputTokenIds().size() - 1, r.getNumTokens());
        }
        rids.sort(String::compareTo);
        assertEquals(List.of("small-1", "small-2"), rids, "each small request answered exactly once");
    }

    private static Map<String, DeadLetter> byRid(List<DeadLetter> deadLetters) {
        Map<String, DeadLetter> out = new TreeMap<>((a, b) -> a == null ? (b == null ? 0 : -1)
                : b == null ? 1 : a.compareTo(b));
        for (DeadLetter d : deadLetters) {
            out.put(d.getRid() == null ? null : d.getRid().toString(), d);
        }
        return out;
    }

    private static List<RobustWorkload.Request> requests(String... json) {
        List<RobustWorkload.Request> out = new ArrayList<>();
        for (String j : json) {
            String rid = j.substring(8, j.indexOf('"', 8));
            out.add(new RobustWorkload.Request(rid, j.getBytes(StandardCharsets.UTF_8), null));
        }
        return out;
    }

    private static String[] createTopics(String prefix) throws Exception {
        String[] topics = RobustJobConfig.topics(prefix);
        KAFKA.get().createTopics(1, topics[0]);
        KAFKA.get().createTopics(2, topics[1], topics[2]);
        return topics;
    }

    /** Waits until the job's source has committed {@code offset} (its checkpoint holds every record before it). */
    private static void awaitCommittedOffset(String group, TopicPartition tp, long offset, Duration timeout)
            throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", KAFKA.get().bootstrapServers());
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(p)) {
            while (System.nanoTime() < deadline) {
                OffsetAndMetadata m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                        .get(tp);
                if (m != null && m.offset() >= offset) {
                    return;
                }
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the job did not commit offset " + offset + " of " + tp + " within " + timeout);
    }

    private static JobClient start(Configuration conf) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
        RoutingReplayJob.onKafka(conf, false).addTo(env, conf);
        return env.executeAsync("oversized-result");
    }
}
