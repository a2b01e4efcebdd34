package io.routingreplay.job.kafka;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks, before the job is submitted, that topics take records of {@code kafka.max-record-bytes}: a results topic
 * whose {@code max.message.bytes} is smaller refuses a result the job has already admitted, which fails the sink's
 * transaction at the first large result instead of at start-up. Topics that do not exist yet (created
 * with the broker's defaults on first write) and a broker that cannot be reached from where the job is submitted
 * are logged, not refused: the check is advice the submitter can act on, never a new way for the job not to start.
 */
public final class TopicRecordLimits {
    private static final Logger LOG = LoggerFactory.getLogger(TopicRecordLimits.class);
    static final String MAX_MESSAGE_BYTES = "max.message.bytes";

    private TopicRecordLimits() {
    }

    /** Throws {@link IllegalArgumentException} naming each existing topic that is too small, and how to fix it. */
    public static void check(Properties adminConfig, Collection<String> topics, int maxRecordBytes,
                             long timeoutMs) {
        List<ConfigResource> resources = topics.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList();
        List<String> tooSmall = new ArrayList<>();
        try (Admin admin = Admin.create(adminConfig)) {
            for (ConfigResource r : resources) {
                Config config;
                try {
                    config = admin.describeConfigs(List.of(r)).all().get(timeoutMs, TimeUnit.MILLISECONDS).get(r);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        LOG.info("Topic {} does not exist yet: it will get the broker's message.max.bytes, which must "
                                + "be at least kafka.max-record-bytes = {}", r.name(), maxRecordBytes);
                        continue;
                    }
                    throw e;
                }
                ConfigEntry entry = config.get(MAX_MESSAGE_BYTES);
                long topicMax = Long.parseLong(entry.value());
                if (topicMax < maxRecordBytes) {
                    tooSmall.add("topic '" + r.name() + "' takes records of at most " + topicMax + " bytes ("
                            + MAX_MESSAGE_BYTES + ")");
                }
            }
        } catch (TimeoutException | ExecutionException e) {
            LOG.warn("Could not read the output topics' {} (the job is submitted anyway): {}", MAX_MESSAGE_BYTES,
                    e.toString());
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (!tooSmall.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", tooSmall) + ", below kafka.max-record-bytes = "
                    + maxRecordBytes + ": a result the job admits could not be written. Raise the topic's "
                    + MAX_MESSAGE_BYTES + " (kafka-configs.sh --alter --entity-type topics --entity-name TOPIC "
                    + "--add-config " + MAX_MESSAGE_BYTES + "=" + maxRecordBytes + ") or lower kafka.max-record-bytes");
        }
    }
}
