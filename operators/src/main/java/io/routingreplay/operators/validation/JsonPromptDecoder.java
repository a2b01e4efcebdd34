package io.routingreplay.operators.validation;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads one JSON request line (the request shape of {@code generate}: {@code rid}, {@code prompt_text} or
 * {@code prompt_token_ids}, {@code max_new_tokens}, {@code temperature}, {@code top_p}, {@code top_k}, {@code seed},
 * {@code stop_token_ids}, {@code ignore_eos}, {@code return_routing_weights}; plus {@code model},
 * {@code submitted_at}, {@code metadata}). Unknown fields are ignored; a known field of the wrong type is refused
 * with its name. {@code prompt} is accepted as another name for {@code prompt_text} (the PromptEvent field name).
 */
public final class JsonPromptDecoder {

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonPromptDecoder() {
    }

    public static PromptFields decode(byte[] bytes) throws PromptDecodeException {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new PromptDecodeException("not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw new PromptDecodeException("not valid JSON: " + e.getMessage(), null);
        }
        if (root == null || root.isMissingNode()) {
            throw new PromptDecodeException("empty request: expected a JSON object", null);
        }
        if (!root.isObject()) {
            throw new PromptDecodeException("a request must be a JSON object, got " + kind(root), null);
        }
        String rid = ridIfText(root);
        Fields f = new Fields(root, rid);
        String promptText = f.text("prompt_text");
        String promptAlias = f.text("prompt");
        if (promptText != null && promptAlias != null) {
            throw new PromptDecodeException("give the prompt text once: both prompt_text and prompt are set", rid);
        }
        return new PromptFields(
                f.text("rid"),
                promptText != null ? promptText : promptAlias,
                f.intArray("prompt_token_ids"),
                f.integer("max_new_tokens", PromptFields.DEFAULT_MAX_NEW_TOKENS),
                f.number("temperature", PromptFields.DEFAULT_TEMPERATURE),
                f.number("top_p", PromptFields.DEFAULT_TOP_P),
                f.integer("top_k", PromptFields.DEFAULT_TOP_K),
                f.longOrNull("seed"),
                f.intArray("stop_token_ids"),
                f.bool("ignore_eos"),
                f.bool("return_routing_weights"),
                f.text("model"),
                f.longOrNull("submitted_at") == null ? 0L : f.longOrNull("submitted_at"),
                f.stringMap("metadata"));
    }

    private static String ridIfText(JsonNode root) {
        JsonNode rid = root.get("rid");
        return rid != null && rid.isTextual() ? rid.textValue() : null;
    }

    private static String kind(JsonNode n) {
        if (n.isTextual()) return "a string";
        if (n.isIntegralNumber()) return "an integer (" + n.asText() + ")";
        if (n.isNumber()) return "a number (" + n.asText() + ")";
        if (n.isBoolean()) return "a boolean";
        if (n.isArray()) return "an array";
        if (n.isObject()) return "an object";
        return n.getNodeType().name().toLowerCase();
    }

    /** Typed reads of one object's fields; JSON null counts as absent. */
    private static final class Fields {
        private final JsonNode root;
        private final String rid;

        Fields(JsonNode root, String rid) {
            this.root = root;
            this.rid = rid;
        }

        private JsonNode get(String name) {
            JsonNode n = root.get(name);
            return n == null || n.isNull() ? null : n;
        }

        private PromptDecodeException wrong(String name, String expected, JsonNode n) {
            return new PromptDecodeException(name + " must be " + expected + ", got " + kind(n), rid);
        }

        String text(String name) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return null;
            if (!n.isTextual()) throw wrong(name, "a string", n);
            return n.textValue();
        }

        int integer(String name, int dflt) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return dflt;
            if (!n.isIntegralNumber()) throw wrong(name, "an integer", n);
            if (!n.canConvertToInt()) {
                throw new PromptDecodeException(name + " is out of range: " + n.asText(), rid);
            }
            return n.intValue();
        }

        Long longOrNull(String name) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return null;
            if (!n.isIntegralNumber()) throw wrong(name, "an integer", n);
            if (!n.canConvertToLong()) {
                throw new PromptDecodeException(name + " is out of range: " + n.asText(), rid);
            }
            return n.longValue();
        }

        float number(String name, float dflt) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return dflt;
            if (!n.isNumber()) throw wrong(name, "a number", n);
            return n.floatValue();
        }

        boolean bool(String name) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return false;
            if (!n.isBoolean()) throw wrong(name, "true or false", n);
            return n.booleanValue();
        }

        int[] intArray(String name) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return null;
            if (!n.isArray()) throw wrong(name, "an array of integers", n);
            int[] out = new int[n.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode e = n.get(i);
                if (!e.isIntegralNumber()) {
                    throw new PromptDecodeException(name + "[" + i + "] must be an integer, got " + kind(e), rid);
                }
                if (!e.canConvertToInt()) {
                    throw new PromptDecodeException(name + "[" + i + "] = " + e.asText()
                            + " is not a token id (out of range)", rid);
                }
                out[i] = e.intValue();
            }
            return out;
        }

        Map<String, String> stringMap(String name) throws PromptDecodeException {
            JsonNode n = get(name);
            if (n == null) return null;
            if (!n.isObject()) throw wrong(name, "an object of strings", n);
            Map<String, String> out = new LinkedHashMap<>();
            var it = n.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                    throw new PromptDecodeException(name + "." + e.getKey() + " must be a string, got "
                            + kind(e.getValue()), rid);
                }
                out.put(e.getKey(), e.getValue().asText());
            }
            return out;
        }
    }
}
