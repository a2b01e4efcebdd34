package io.routingreplay.job.security;

import org.apache.flink.configuration.Configuration;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The Kafka TLS/SASL settings ({@code security.protocol}, {@code ssl.*}, {@code sasl.*}) that every Kafka client of
 * the job and the CLI receives: the source, the sinks, admin clients and the local/publish/consume clients all call
 * {@link #applyTo(Properties)} on the properties they build, so one place decides what reaches them.
 *
 * <p>Sources, later ones overriding earlier ones: the Flink configuration ({@code kafka.<setting>}, see
 * {@link KafkaSecurityOptions}), a Kafka client properties file, environment variables
 * ({@code ROUTING_REPLAY_KAFKA_SASL_JAAS_CONFIG} → {@code sasl.jaas.config}) and CLI flags
 * ({@code --kafka-property sasl.mechanism=PLAIN}). {@link #toString()} masks secrets.
 */
public final class KafkaClientSecurity implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Environment variables with this prefix name a setting: upper case, '.' written as '_'. */
    public static final String ENV_PREFIX = "ROUTING_REPLAY_KAFKA_";

    private static final List<String> PROTOCOLS = List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");

    private static final KafkaClientSecurity NONE = new KafkaClientSecurity(Map.of());

    private final TreeMap<String, String> settings;

    private KafkaClientSecurity(Map<String, String> settings) {
        this.settings = new TreeMap<>(settings);
    }

    /** No settings: clients use Kafka's defaults (PLAINTEXT). */
    public static KafkaClientSecurity none() {
        return NONE;
    }

    /** Validated settings given directly by their Kafka names. */
    public static KafkaClientSecurity of(Map<String, String> kafkaSettings) {
        Map<String, String> out = new TreeMap<>();
        kafkaSettings.forEach((k, v) -> put(out, k, v, "setting"));
        return new KafkaClientSecurity(out);
    }

    /** The {@code kafka.security.protocol}, {@code kafka.ssl.*} and {@code kafka.sasl.*} keys of a Flink configuration. */
    public static KafkaClientSecurity fromFlinkConfig(Configuration conf) {
        Map<String, String> out = new TreeMap<>();
        conf.toMap().forEach((key, value) -> {
            if (key.startsWith(KafkaSecurityOptions.FLINK_PREFIX)) {
                String kafkaKey = key.substring(KafkaSecurityOptions.FLINK_PREFIX.length());
                if (isSecuritySetting(kafkaKey)) {
                    put(out, kafkaKey, value, "Flink option " + key);
                }
            }
        });
        return new KafkaClientSecurity(out);
    }

    /** Variables {@code ROUTING_REPLAY_KAFKA_<SETTING>}, e.g. {@code ROUTING_REPLAY_KAFKA_SECURITY_PROTOCOL=SASL_SSL}. */
    public static KafkaClientSecurity fromEnv(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX)) {
                String kafkaKey = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                put(out, kafkaKey, value, "environment variable " + name);
            }
        });
        return new KafkaClientSecurity(out);
    }

    /**
     * The security settings of a Kafka client properties file (the usual {@code client.properties}); other settings
     * in it are refused so a user notices they would be ignored.
     */
    public static KafkaClientSecurity fromPropertiesFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read Kafka client properties file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> out = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> put(out, k, p.getProperty(k), "setting in " + file));
        return new KafkaClientSecurity(out);
    }

    /** Values of repeated {@code --kafka-property KEY=VALUE} flags. */
    public static KafkaClientSecurity fromCliProperties(List<String> keyValues) {
        Map<String, String> out = new TreeMap<>();
        for (String kv : keyValues) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--kafka-property expects KEY=VALUE, e.g. --kafka-property "
                        + "security.protocol=SASL_SSL; got '" + (eq < 0 ? SecretMasking.MASK : kv.substring(0, eq + 1) + SecretMasking.MASK) + "'");
            }
            put(out, kv.substring(0, eq).trim(), kv.substring(eq + 1), "--kafka-property");
        }
        return new KafkaClientSecurity(out);
    }

    /** Settings of {@code this} overridden by those of {@code later}. */
    public KafkaClientSecurity overriddenBy(KafkaClientSecurity later) {
        if (later.settings.isEmpty()) {
            return this;
        }
        Map<String, String> out = new TreeMap<>(settings);
        out.putAll(later.settings);
        return new KafkaClientSecurity(out);
    }

    /** Copies every setting into a client's properties (overriding what is there) and returns them. */
    public Properties applyTo(Properties clientProperties) {
        settings.forEach(clientProperties::setProperty);
        return clientProperties;
    }

    /** Copies every setting into a client's config map (overriding what is there) and returns it. */
    public Map<String, Object> applyTo(Map<String, Object> clientConfig) {
        clientConfig.putAll(settings);
        return clientConfig;
    }

    /** The settings by Kafka name; contains secrets: never log this, log {@link #toString()}. */
    public Map<String, String> settings() {
        return Collections.unmodifiableMap(settings);
    }

    public boolean isEmpty() {
        return settings.isEmpty();
    }

    /** {@code text} with every secret value of these settings masked, for error messages and dead letters. */
    public String scrub(String text) {
        return SecretMasking.scrub(text, settings);
    }

    /** Secret values masked: safe for logs. */
    @Override
    public String toString() {
        return "KafkaClientSecurity" + SecretMasking.masked(settings);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KafkaClientSecurity other && settings.equals(other.settings);
    }

    @Override
    public int hashCode() {
        return settings.hashCode();
    }

    static boolean isSecuritySetting(String kafkaKey) {
        return kafkaKey.equals("security.protocol") || kafkaKey.startsWith("ssl.") || kafkaKey.startsWith("sasl.");
    }

    private static void put(Map<String, String> out, String kafkaKey, String value, String where) {
        if (!kafkaKey.matches("[a-z][a-z0-9.\\-]*")) {
            // not echoed: a malformed KEY=VALUE may have put part of a secret into the key
            throw new IllegalArgumentException(where + ": a setting name has characters no Kafka setting has "
                    + "(expected e.g. sasl.jaas.config=VALUE)");
        }
        if (!isSecuritySetting(kafkaKey)) {
            throw new IllegalArgumentException(where + ": '" + kafkaKey + "' is not a Kafka security setting; only "
                    + "security.protocol, ssl.* and sasl.* are passed to the Kafka clients here");
        }
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(where + ": " + kafkaKey + " is empty; remove it or give it a value");
        }
        String v = value.trim();
        if (kafkaKey.equals("security.protocol")) {
            v = v.toUpperCase(Locale.ROOT);
            if (!PROTOCOLS.contains(v)) {
                throw new IllegalArgumentException(where + ": security.protocol must be one of " + PROTOCOLS
                        + ", got '" + value.trim() + "'");
            }
        }
        out.put(kafkaKey, v);
    }
}
