package io.routingreplay.tests.robust;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The job refuses to be submitted when the results topic exists and cannot take a record of kafka.max-record-bytes
 * (it would admit a result the topic then refuses, failing the sink's transaction), and says which topic and how to
 * fix it; a results topic large enough, or not created yet, passes, and a smaller dead-letter topic (dead letters are
 * cut far below the limit) is not refused. A real in-process broker.
 */
class OutputTopicLimitsITCase {

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    private static Configuration conf(String results, String deadLetters, int maxRecordBytes) {
        Configuration c = new Configuration();
        c.set(JobOptions.BOOTSTRAP_SERVERS, KAFKA.get().bootstrapServers());
        c.set(JobOptions.RESULTS_TOPIC, results);
        c.set(JobOptions.DEAD_LETTER_TOPIC, deadLetters);
        c.set(JobOptions.MAX_RECORD_BYTES, maxRecordBytes);
        return c;
    }

    @Test
    void anExistingResultsTopicThatTakesLessThanTheLimitIsRefusedWithTheFix() throws Exception {
        KAFKA.get().createTopics(1, Map.of("max.message.bytes", "10000"), "small-results");
        KAFKA.get().createTopics(1, Map.of("max.message.bytes", "50000"), "large-dead-letters");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayJob.checkOutputTopics(conf("small-results", "large-dead-letters", 20000)));
        String m = e.getMessage();
        assertTrue(m.startsWith("topic 'small-results' takes records of at most 10000 bytes (max.message.bytes), "
                + "below kafka.max-record-bytes = 20000"), m);
        assertTrue(m.contains("--add-config max.message.bytes=20000") && !m.contains("large-dead-letters"), m);
    }

    @Test
    void aResultsTopicLargeEnoughOrNotCreatedYetPassesWhateverTheDeadLetterTopic() throws Exception {
        KAFKA.get().createTopics(1, Map.of("max.message.bytes", "20000"), "exact-results");
        KAFKA.get().createTopics(1, Map.of("max.message.bytes", "10000"), "small-dead-letters");
        assertDoesNotThrow(() -> RoutingReplayJob.checkOutputTopics(conf("exact-results", "small-dead-letters", 20000)));
        assertDoesNotThrow(() -> RoutingReplayJob.checkOutputTopics(conf("no-such-results", "small-dead-letters", 20000)));
    }
}
