package io.routingreplay.job.local;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node Kafka (KRaft, broker and controller combined) inside this JVM, from Kafka's own test kit: what
 * local mode and the end-to-end tests run against, with no Docker. Transactions work (the state log is
 * single-replica), so exactly-once sinks and read_committed consumers behave as on a cluster.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** Largest record the local broker (and local producers) accept. */
    public static final int MAX_RECORD_BYTES = 16 * 1024 * 1024;

    private final KafkaClusterTestKit cluster;

    private EmbeddedKafka(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    public static EmbeddedKafka start() throws Exception {
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .build())
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", "4")
                .setConfigProp("transaction.state.log.num.partitions", "4")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                // Oversized requests must reach the job (which dead-letters them with a reason), not fail here.
                .setConfigProp("message.max.bytes", String.valueOf(MAX_RECORD_BYTES))
                .build();
        try {
            // The formatter prints its bootstrap metadata to stdout, which is the demo's output.
            java.io.PrintStream stdout = System.out;
            System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
            try {
                cluster.format();
            } finally {
                System.setOut(stdout);
            }
            cluster.startup();
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
        return new EmbeddedKafka(cluster);
    }

    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Creates each topic with {@code partitions} partitions (replication 1) and waits until they exist. */
    public void createTopics(int partitions, String... names) throws Exception {
        createTopics(partitions, Map.of(), names);
    }

    /** Creates each topic with {@code partitions} partitions, replication 1 and the topic {@code configs}. */
    public void createTopics(int partitions, Map<String, String> configs, String... names) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> topics = new ArrayList<>();
            for (String n : names) {
                topics.add(new NewTopic(n, partitions, (short) 1).configs(configs));
            }
            admin.createTopics(topics).all().get();
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
