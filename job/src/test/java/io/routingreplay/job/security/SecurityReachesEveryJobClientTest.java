package io.routingreplay.job.security;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.SinkTransformation;
import org.apache.flink.streaming.api.transformations.SourceTransformation;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TLS/SASL settings of the Flink configuration reach every Kafka client the job creates: the source (its
 * consumer and the enumerator's admin client share these properties) and each exactly-once sink (results, dead
 * letters, per-token stream). The job graph is built as for a cluster and the clients' properties are read back.
 */
class SecurityReachesEveryJobClientTest {

    private static Path modelDir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("fixtures/qwen3-moe-tiny"))) {
            p = p.getParent();
        }
        return p.resolve("fixtures/qwen3-moe-tiny");
    }

    @Test
    void sourceAndEverySinkGetTheSecuritySettings() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.BOOTSTRAP_SERVERS, "broker-1:9093");
        conf.set(JobOptions.MODEL_DIR, modelDir().toString());
        conf.set(JobOptions.TOKEN_STREAM_TOPIC, "tokens");
        conf.set(KafkaSecurityOptions.SECURITY_PROTOCOL, "SASL_SSL");
        conf.set(KafkaSecurityOptions.SASL_MECHANISM, "SCRAM-SHA-512");
        conf.set(KafkaSecurityOptions.SASL_JAAS_CONFIG, KafkaClientSecurityTest.JAAS);
        conf.set(KafkaSecurityOptions.SSL_TRUSTSTORE_LOCATION, "/etc/kafka/ca.jks");
        conf.set(KafkaSecurityOptions.SSL_TRUSTSTORE_PASSWORD, "ts-pass");

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        RoutingReplayJob.onKafka(conf, false).addTo(env, conf);

        List<Properties> clients = new ArrayList<>();
        int sources = 0;
        int sinks = 0;
        for (Transformation<?> t : allTransformations(env)) {
            if (t instanceof SourceTransformation<?, ?, ?> st && st.getSource() instanceof KafkaSource<?> ks) {
                Method m = KafkaSource.class.getDeclaredMethod("getConfiguration");
                m.setAccessible(true);
                Properties p = new Properties();
                ((Configuration) m.invoke(ks)).toMap().forEach(p::setProperty);
                clients.add(p);
                sources++;
            }
            if (t instanceof SinkTransformation<?, ?> sk) {
                Sink<?> sink = sk.getSink();
                if (sink instanceof KafkaSink<?> kafkaSink) {
                    Method m = KafkaSink.class.getDeclaredMethod("getKafkaProducerConfig");
                    m.setAccessible(true);
                    clients.add((Properties) m.invoke(kafkaSink));
                    sinks++;
                }
            }
        }
        assertEquals(1, sources, "one Kafka source");
        assertEquals(3, sinks, "results, dead-letter and token-stream sinks");
        for (Properties p : clients) {
            assertEquals("SASL_SSL", p.getProperty("security.protocol"), p.toString());
            assertEquals("SCRAM-SHA-512", p.getProperty("sasl.mechanism"));
            assertEquals(KafkaClientSecurityTest.JAAS, p.getProperty("sasl.jaas.config"));
            assertEquals("/etc/kafka/ca.jks", p.getProperty("ssl.truststore.location"));
            assertEquals("ts-pass", p.getProperty("ssl.truststore.password"));
        }
    }

    @Test
    void flinkMasksTheSecretKeysWhenItLogsTheConfiguration() {
        // Flink hides values of sensitive keys in its logs and web UI; the secret settings are among them.
        for (String key : List.of("kafka.sasl.jaas.config", "kafka.ssl.truststore.password",
                "kafka.ssl.keystore.password", "kafka.ssl.key.password")) {
            assertTrue(org.apache.flink.configuration.GlobalConfiguration.isSensitive(key), key);
        }
        assertFalse(org.apache.flink.configuration.GlobalConfiguration.isSensitive("kafka.security.protocol"));
    }

    private static Set<Transformation<?>> allTransformations(StreamExecutionEnvironment env) throws Exception {
        Method m = StreamExecutionEnvironment.class.getDeclaredMethod("getTransformations");
        m.setAccessible(true);
        @SuppressWarnings("unchecked")
        List<Transformation<?>> roots = (List<Transformation<?>>) m.invoke(env);
        Set<Transformation<?>> all = new LinkedHashSet<>();
        for (Transformation<?> t : roots) {
            all.add(t);
            all.addAll(t.getTransitivePredecessors());
        }
        return all;
    }
}
