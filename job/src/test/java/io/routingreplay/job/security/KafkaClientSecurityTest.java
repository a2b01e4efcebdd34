package io.routingreplay.job.security;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KafkaClientSecurityTest {

    static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required "
            + "username=\"alice\" password=\"s3cr3t-pw\";";

    @Test
    void flinkConfigKeysUnderTheKafkaPrefixArePassedWithoutIt() {
        Configuration conf = new Configuration();
        conf.set(KafkaSecurityOptions.SECURITY_PROTOCOL, "sasl_ssl");
        conf.set(KafkaSecurityOptions.SASL_MECHANISM, "PLAIN");
        conf.set(KafkaSecurityOptions.SASL_JAAS_CONFIG, JAAS);
        conf.setString("kafka.ssl.truststore.location", "/etc/kafka/truststore.jks");
        conf.setString("kafka.bootstrap.servers", "broker:9093"); // not a security setting: not taken from here
        conf.setString("parallelism.default", "2");

        KafkaClientSecurity s = KafkaClientSecurity.fromFlinkConfig(conf);
        assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "PLAIN", "sasl.jaas.config", JAAS,
                "ssl.truststore.location", "/etc/kafka/truststore.jks"), s.settings());
    }

    @Test
    void envVariablesNameTheSettingInUpperCase() {
        KafkaClientSecurity s = KafkaClientSecurity.fromEnv(Map.of(
                "ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG", JAAS,
                "ROUTING_REPLAY_KAFKA_SSL_KEYSTORE_PASSWORD", "ks-pass",
                "PATH", "/usr/bin"));
        assertEquals(Map.of("sasl.jaas.config", JAAS, "ssl.keystore.password", "ks-pass"), s.settings());
    }

    @Test
    void laterSourcesOverrideEarlierOnes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(file, "security.protocol=SSL\nssl.truststore.location=/a.jks\n");
        KafkaClientSecurity s = KafkaClientSecurity.fromPropertiesFile(file)
                .overriddenBy(KafkaClientSecurity.fromEnv(Map.of("ROUTING_REPLAY_KAFKA_SSL_TRUSTSTORE_LOCATION", "/b.jks")))
                .overriddenBy(KafkaClientSecurity.fromCliProperties(List.of("security.protocol=SASL_SSL",
                        "sasl.mechanism=SCRAM-SHA-512")));
        assertEquals(Map.of("security.protocol", "SASL_SSL", "ssl.truststore.location", "/b.jks",
                "sasl.mechanism", "SCRAM-SHA-512"), s.settings());
    }

    @Test
    void everyClientConfigReceivesTheSettings() {
        KafkaClientSecurity s = KafkaClientSecurity.of(Map.of("security.protocol", "SASL_SSL",
                "sasl.jaas.config", JAAS));
        Properties producer = new Properties();
        producer.setProperty("bootstrap.servers", "b:9093");
        producer.setProperty("security.protocol", "PLAINTEXT"); // a stale default is overridden
        s.applyTo(producer);
        assertEquals("SASL_SSL", producer.getProperty("security.protocol"));
        assertEquals(JAAS, producer.getProperty("sasl.jaas.config"));
        assertEquals("b:9093", producer.getProperty("bootstrap.servers"));

        Map<String, Object> admin = new HashMap<>();
        s.applyTo(admin);
        assertEquals("SASL_SSL", admin.get("security.protocol"));
        assertEquals(JAAS, admin.get("sasl.jaas.config"));
    }

    @Test
    void toStringAndScrubHideSecrets() {
        KafkaClientSecurity s = KafkaClientSecurity.of(Map.of("security.protocol", "SASL_SSL",
                "sasl.mechanism", "PLAIN", "sasl.jaas.config", JAAS, "ssl.truststore.password", "ts-pass",
                "ssl.truststore.location", "/t.jks", "sasl.some.future.setting", "tok"));
        String shown = s.toString();
        assertFalse(shown.contains("s3cr3t-pw"), shown);
        assertFalse(shown.contains("ts-pass"), shown);
        assertFalse(shown.contains("tok"), shown);
        assertTrue(shown.contains("security.protocol=SASL_SSL"), shown);
        assertTrue(shown.contains("ssl.truststore.location=/t.jks"), shown);
        assertTrue(shown.contains("sasl.jaas.config=" + SecretMasking.MASK), shown);

        String error = "login failed for " + JAAS + " with ts-pass";
        String scrubbed = s.scrub(error);
        assertFalse(scrubbed.contains("s3cr3t-pw") || scrubbed.contains("ts-pass"), scrubbed);
    }

    @Test
    void mistakesAreRefusedWithAHowToFixMessage() {
        IllegalArgumentException notSecurity = assertThrows(IllegalArgumentException.class,
                () -> KafkaClientSecurity.fromCliProperties(List.of("acks=all")));
        assertTrue(notSecurity.getMessage().contains("only security.protocol, ssl.* and sasl.*"));

        IllegalArgumentException protocol = assertThrows(IllegalArgumentException.class,
                () -> KafkaClientSecurity.of(Map.of("security.protocol", "TLS")));
        assertTrue(protocol.getMessage().contains("SASL_SSL"), protocol.getMessage());

        IllegalArgumentException noEquals = assertThrows(IllegalArgumentException.class,
                () -> KafkaClientSecurity.fromCliProperties(List.of("sasl.jaas.config")));
        assertFalse(noEquals.getMessage().contains("sasl.jaas.config") && noEquals.getMessage().contains(JAAS));

        IllegalArgumentException badValue = assertThrows(IllegalArgumentException.class,
                () -> KafkaClientSecurity.fromCliProperties(List.of("sasl.jaas.config" + JAAS)));
        assertFalse(badValue.getMessage().contains("s3cr3t-pw"), badValue.getMessage());
    }
}
