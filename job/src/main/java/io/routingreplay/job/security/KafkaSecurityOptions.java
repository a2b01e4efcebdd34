package io.routingreplay.job.security;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Kafka TLS/SASL settings in the Flink configuration. Any Flink key {@code kafka.security.protocol},
 * {@code kafka.ssl.*} or {@code kafka.sasl.*} is passed, without the {@code kafka.} prefix, to every Kafka client the
 * job creates; the constants below are the common ones, named so they show up in documentation and IDEs.
 * Flink itself hides values of keys containing "password" or "jaas.config" in its logs and web UI.
 */
public final class KafkaSecurityOptions {

    /** Prefix of the pass-through keys in the Flink configuration. */
    public static final String FLINK_PREFIX = "kafka.";

    public static final ConfigOption<String> SECURITY_PROTOCOL = ConfigOptions.key("kafka.security.protocol")
            .stringType().noDefaultValue()
            .withDescription("PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; unset means the Kafka default (PLAINTEXT).");

    public static final ConfigOption<String> SASL_MECHANISM = ConfigOptions.key("kafka.sasl.mechanism")
            .stringType().noDefaultValue()
            .withDescription("For example PLAIN, SCRAM-SHA-512, OAUTHBEARER or GSSAPI.");

    public static final ConfigOption<String> SASL_JAAS_CONFIG = ConfigOptions.key("kafka.sasl.jaas.config")
            .stringType().noDefaultValue()
            .withDescription("The JAAS login line; a secret: prefer the ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG "
                    + "environment variable filled from a Kubernetes Secret.");

    public static final ConfigOption<String> SSL_TRUSTSTORE_LOCATION = ConfigOptions.key("kafka.ssl.truststore.location")
            .stringType().noDefaultValue()
            .withDescription("Trust store file that holds the brokers' CA.");

    public static final ConfigOption<String> SSL_TRUSTSTORE_PASSWORD = ConfigOptions.key("kafka.ssl.truststore.password")
            .stringType().noDefaultValue()
            .withDescription("Trust store password (a secret).");

    public static final ConfigOption<String> SSL_KEYSTORE_LOCATION = ConfigOptions.key("kafka.ssl.keystore.location")
            .stringType().noDefaultValue()
            .withDescription("Key store file for mutual TLS.");

    public static final ConfigOption<String> SSL_KEYSTORE_PASSWORD = ConfigOptions.key("kafka.ssl.keystore.password")
            .stringType().noDefaultValue()
            .withDescription("Key store password (a secret).");

    public static final ConfigOption<String> SSL_KEY_PASSWORD = ConfigOptions.key("kafka.ssl.key.password")
            .stringType().noDefaultValue()
            .withDescription("Private key password (a secret).");

    private KafkaSecurityOptions() {
    }
}
