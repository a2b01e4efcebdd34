package io.routingreplay.runtime.config;

import com.fasterxml.jackson.databind.JsonNode;

/** Typed reads of {@code config.json} keys with the loader's error messages (shared by every architecture). */
public final class ConfigJson {
    private ConfigJson() {
    }

    public static int intReq(JsonNode c, String key) {
        if (!c.hasNonNull(key)) {
            throw new IllegalArgumentException("config.json is missing '" + key + "'");
        }
        return c.get(key).asInt();
    }

    public static int intOpt(JsonNode c, String key, int dflt) {
        return c.hasNonNull(key) ? c.get(key).asInt() : dflt;
    }

    public static double doubleOpt(JsonNode c, String key, double dflt) {
        return c.hasNonNull(key) ? c.get(key).asDouble() : dflt;
    }

    public static boolean bool(JsonNode c, String key, boolean dflt) {
        return c.hasNonNull(key) ? c.get(key).asBoolean() : dflt;
    }

    public static String text(JsonNode c, String key, String dflt) {
        return c.hasNonNull(key) ? c.get(key).asText() : dflt;
    }

    /** The expert count in either spelling: vendors' {@code num_experts}, transformers 5's {@code num_local_experts}
     *  (DeepSeek's {@code n_routed_experts} is read by its architecture). */
    public static int numExperts(JsonNode c) {
        return c.hasNonNull("num_experts") ? c.get("num_experts").asInt() : intOpt(c, "num_local_experts", 0);
    }
}
