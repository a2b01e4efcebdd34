package io.routingreplay.runtime.cli.request;

import com.fasterxml.jackson.databind.JsonNode;

/** Reads typed, optional fields of one JSON object; a value of the wrong type throws {@link BadField}. */
final class JsonFieldReader {
    private final JsonNode object;

    JsonFieldReader(JsonNode object) {
        this.object = object;
    }

    String string(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw wrongType(name, "a string", v);
        }
        return v.asText();
    }

    Integer integer(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!isExactIntegral(v) || !v.canConvertToInt()) {
            throw wrongType(name, "an integer", v);
        }
        return v.asInt();
    }

    Long longInteger(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!isExactIntegral(v) || !v.canConvertToLong()) {
            throw wrongType(name, "a 64-bit integer", v);
        }
        return v.asLong();
    }

    Float floatNumber(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw wrongType(name, "a number", v);
        }
        return (float) v.asDouble();
    }

    Boolean bool(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!v.isBoolean()) {
            throw wrongType(name, "true or false", v);
        }
        return v.asBoolean();
    }

    int[] intArray(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw wrongType(name, "an array of integers", v);
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!isExactIntegral(e) || !e.canConvertToInt()) {
                throw new BadField("\"" + name + "\"[" + i + "] must be an integer, got " + describe(e));
            }
            out[i] = e.asInt();
        }
        return out;
    }

    /** A rectangular list of lists of lists of integers ({@code [m][moe_layer][k]}); m may be 0. */
    RequestFields.NestedIds intArray3(String name) {
        JsonNode v = get(name);
        if (v == null) {
            return null;
        }
        if (!v.isArray()) {
            throw wrongType(name, "a list of [moe_layer][k] lists of integers", v);
        }
        int m = v.size();
        int layers = m == 0 ? 0 : v.get(0).size(), k = m == 0 || layers == 0 ? 0 : v.get(0).get(0).size();
        int[] out = new int[m * layers * k];
        for (int t = 0, i = 0; t < m; t++) {
            JsonNode row = v.get(t);
            if (!row.isArray() || row.size() != layers) {
                throw new BadField("\"" + name + "\"[" + t + "] must be a list of " + layers + " lists (one per MoE "
                        + "layer, as row 0), got " + describe(row));
            }
            for (int l = 0; l < layers; l++) {
                JsonNode ids = row.get(l);
                if (!ids.isArray() || ids.size() != k) {
                    throw new BadField("\"" + name + "\"[" + t + "][" + l + "] must be a list of " + k
                            + " expert ids (as row 0), got " + describe(ids));
                }
                for (int j = 0; j < k; j++) {
                    JsonNode e = ids.get(j);
                    if (!isExactIntegral(e) || !e.canConvertToInt()) {
                        throw new BadField("\"" + name + "\"[" + t + "][" + l + "][" + j + "] must be an integer, got "
                                + describe(e));
                    }
                    out[i++] = e.asInt();
                }
            }
        }
        return new RequestFields.NestedIds(new int[]{m, layers, k}, out);
    }

    private JsonNode get(String name) {
        JsonNode v = object.get(name);
        return v == null || v.isNull() ? null : v;
    }

    /** 16 and 16.0 are integers; 16.5, "16" and 1e400 are not. */
    private static boolean isExactIntegral(JsonNode v) {
        return v.isIntegralNumber() || (v.isFloatingPointNumber() && v.canConvertToExactIntegral());
    }

    private static BadField wrongType(String name, String expected, JsonNode got) {
        return new BadField("\"" + name + "\" must be " + expected + ", got " + describe(got));
    }

    private static String describe(JsonNode v) {
        String text = v.toString();
        return v.getNodeType().name().toLowerCase() + " " + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
    }

    /** A field of the wrong type; the message is the rejection reason. */
    static final class BadField extends RuntimeException {
        BadField(String message) {
            super(message, null, false, false);
        }
    }
}
