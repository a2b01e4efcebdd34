package io.routingreplay.job.security;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Decides which Kafka client settings may be shown in logs, error messages, dead letters and manifests.
 * Everything is masked except an allow-list of settings that name a mechanism or a file, never a secret:
 * a new, unknown setting is therefore hidden by default rather than leaked.
 */
public final class SecretMasking {

    public static final String MASK = "******";

    private static final Set<String> SHOWN = Set.of(
            "bootstrap.servers",
            "security.protocol",
            "sasl.mechanism",
            "sasl.kerberos.service.name",
            "sasl.login.callback.handler.class",
            "sasl.client.callback.handler.class",
            "sasl.oauthbearer.token.endpoint.url",
            "ssl.protocol",
            "ssl.enabled.protocols",
            "ssl.endpoint.identification.algorithm",
            "ssl.keystore.type",
            "ssl.keystore.location",
            "ssl.truststore.type",
            "ssl.truststore.location");

    private SecretMasking() {
    }

    /** True when the value of {@code key} must never be printed. */
    public static boolean isSecret(String key) {
        return !SHOWN.contains(key);
    }

    /** The value as it may be printed: itself for allow-listed keys, {@link #MASK} otherwise. */
    public static String printable(String key, String value) {
        return isSecret(key) ? MASK : value;
    }

    /** A sorted copy of {@code settings} that is safe to log. */
    public static Map<String, String> masked(Map<String, String> settings) {
        Map<String, String> out = new TreeMap<>();
        settings.forEach((k, v) -> out.put(k, printable(k, v)));
        return out;
    }

    /** {@code text} with every secret value of {@code settings} replaced by {@link #MASK}, e.g. in an exception message. */
    public static String scrub(String text, Map<String, String> settings) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (isSecret(e.getKey()) && e.getValue() != null && !e.getValue().isEmpty()) {
                out = out.replace(e.getValue(), MASK);
            }
        }
        return out;
    }
}
