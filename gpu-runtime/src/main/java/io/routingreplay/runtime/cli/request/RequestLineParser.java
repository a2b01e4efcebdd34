package io.routingreplay.runtime.cli.request;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Parses one JSONL request line ({@code rid}, {@code prompt_text} or {@code prompt_token_ids}, {@code max_new_tokens},
 * {@code temperature}, {@code top_p}, {@code top_k}, {@code seed}, {@code stop_token_ids}, {@code ignore_eos},
 * {@code return_routing_weights}, {@code routing_start}, {@code return_routing}, {@code forced_routing} |
 * {@code forced_routing_npy}, {@code prompt_logprobs}) into a {@link ParsedRequest}. Unknown fields are ignored; a
 * JSON null counts as absent; a value of the wrong type is rejected (a string "16" is not a number). Thread-safe.
 */
public final class RequestLineParser {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final RequestValidator validator;

    public RequestLineParser(RequestValidator validator) {
        this.validator = validator;
    }

    public ParsedRequest parse(String line) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            return ParsedRequest.rejected(null, "not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            return ParsedRequest.rejected(null, "not a JSON object (each line must be one {...} request)");
        }
        String rid = node.path("rid").isTextual() ? node.get("rid").asText() : null;
        try {
            return validator.validate(fields(new JsonFieldReader(node)));
        } catch (JsonFieldReader.BadField e) {
            return ParsedRequest.rejected(rid, e.getMessage());
        }
    }

    private static RequestFields fields(JsonFieldReader r) {
        return new RequestFields(
                r.string("rid"),
                r.string("prompt_text"),
                r.intArray("prompt_token_ids"),
                r.integer("max_new_tokens"),
                r.floatNumber("temperature"),
                r.floatNumber("top_p"),
                r.integer("top_k"),
                r.longInteger("seed"),
                r.intArray("stop_token_ids"),
                r.bool("ignore_eos"),
                r.bool("return_routing_weights"),
                r.integer("routing_start"),
                r.bool("return_routing"),
                r.intArray3("forced_routing"),
                r.string("forced_routing_npy"),
                r.bool("prompt_logprobs"));
    }
}
