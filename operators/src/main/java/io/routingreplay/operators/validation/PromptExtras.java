package io.routingreplay.operators.validation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.schemas.PromptEvent;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The streaming-only fields of a request, beside the {@code generate} fields that
 * {@link io.routingreplay.runtime.cli.request.RequestLineParser} reads: {@code model}, {@code submitted_at} and
 * free {@code metadata}. In JSON they are optional; a wrong type is refused like any other field.
 */
public record PromptExtras(String model, long submittedAt, Map<String, String> metadata) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public PromptExtras {
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    public static PromptExtras of(PromptEvent e) {
        return new PromptExtras(e.getModel(), e.getSubmittedAt(), e.getMetadata());
    }

    /** Reads them from a request line that already parsed as a JSON object. */
    public static PromptExtras ofJson(String line, String rid) throws PromptDecodeException {
        JsonNode root;
        try {
            root = JSON.readTree(line);
        } catch (IOException e) {
            throw new PromptDecodeException("not valid JSON: " + e.getMessage(), rid);
        }
        String model = null;
        JsonNode m = root.get("model");
        if (m != null && !m.isNull()) {
            if (!m.isTextual()) {
                throw new PromptDecodeException("\"model\" must be a string, got " + m.getNodeType().name().toLowerCase()
                        + " " + m, rid);
            }
            model = m.textValue();
        }
        long submittedAt = 0;
        JsonNode s = root.get("submitted_at");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw new PromptDecodeException("\"submitted_at\" must be epoch milliseconds (an integer), got "
                        + s.getNodeType().name().toLowerCase() + " " + s, rid);
            }
            submittedAt = s.longValue();
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && !md.isNull()) {
            if (!md.isObject()) {
                throw new PromptDecodeException("\"metadata\" must be an object of strings, got "
                        + md.getNodeType().name().toLowerCase(), rid);
            }
            var it = md.fields();
            while (it.hasNext()) {
                var e = it.next();
                if (!e.getValue().isTextual()) {
                    throw new PromptDecodeException("\"metadata\".\"" + e.getKey() + "\" must be a string, got "
                            + e.getValue().getNodeType().name().toLowerCase() + " " + e.getValue(), rid);
                }
                metadata.put(e.getKey(), e.getValue().textValue());
            }
        }
        return new PromptExtras(model, submittedAt, metadata);
    }
}
