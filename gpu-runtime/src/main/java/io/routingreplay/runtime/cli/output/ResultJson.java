package io.routingreplay.runtime.cli.output;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.ReplayReport;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * The JSON shape of one finished request, shared by {@code generate}, the local job and {@code consume}:
 * {@code rid, prompt_token_ids, output_token_ids, output_text, output_logprobs, finish_reason, routing = {num_tokens,
 * routing_start, moe_layer_indices, top_k, num_experts, dtype, topk_ids[token][moe_layer][k], topk_weights (only when
 * asked)}}. {@code topk_ids} holds routed positions {@code routing_start .. num_tokens − 1} (row r is position
 * routing_start + r); {@code routing} is null when the request asked for none ({@code return_routing} false).
 * Scoring and routing replay add {@code prompt_logprobs} (vLLM's layout: one per prompt token, null for the first)
 * and {@code forced_routing = {positions, mismatched_positions[moe_layer], cells, cells_reproduced}}.
 * Written with the streaming generator: a long request's routing is hundreds of thousands of ids.
 */
public final class ResultJson {
    private static final JsonFactory FACTORY = new JsonFactory();

    private ResultJson() {
    }

    /** One result as a single line of JSON (no trailing newline). {@code outputText} may be null (no tokenizer). */
    public static String toLine(GenerationResult result, String outputText) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, result, outputText);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    public static void write(JsonGenerator g, GenerationResult r, String outputText) throws IOException {
        g.writeStartObject();
        g.writeStringField("rid", r.rid());
        g.writeFieldName("prompt_token_ids");
        g.writeArray(r.promptTokenIds(), 0, r.promptTokenIds().length);
        g.writeFieldName("output_token_ids");
        g.writeArray(r.outputTokenIds(), 0, r.outputTokenIds().length);
        g.writeStringField("output_text", outputText);
        g.writeArrayFieldStart("output_logprobs");
        for (float lp : r.outputLogprobs()) {
            g.writeNumber(lp);
        }
        g.writeEndArray();
        g.writeStringField("finish_reason", r.finishReason() == null ? null : r.finishReason().wire());
        if (r.replay() != null) {
            writeReplay(g, r.replay());
        }
        g.writeFieldName("routing");
        if (r.routing() == null) {
            g.writeNull(); // return_routing false: no routing, rather than an empty record that reads as 0 tokens
        } else {
            writeRouting(g, r.routing());
        }
        g.writeEndObject();
    }

    /**
     * prompt_logprobs as vLLM lists them (one per prompt token, null for the first, which has no prefix) and the
     * forced-routing report: per MoE layer the forced positions where the free router would pick other experts.
     */
    private static void writeReplay(JsonGenerator g, ReplayReport replay) throws IOException {
        if (replay.promptLogprobs() != null) {
            g.writeArrayFieldStart("prompt_logprobs");
            g.writeNull();
            for (float lp : replay.promptLogprobs()) {
                g.writeNumber(lp);
            }
            g.writeEndArray();
        }
        if (replay.forcedMismatches() != null) {
            g.writeObjectFieldStart("forced_routing");
            g.writeNumberField("positions", replay.forcedPositions());
            g.writeFieldName("mismatched_positions");
            g.writeArray(replay.forcedMismatches(), 0, replay.forcedMismatches().length);
            g.writeNumberField("cells", replay.forcedCells());
            g.writeNumberField("cells_reproduced", replay.forcedCellsReproduced());
            g.writeEndObject();
        }
    }

    private static void writeRouting(JsonGenerator g, RoutingRecord routing) throws IOException {
        RoutingLayout layout = routing.layout();
        g.writeStartObject();
        g.writeNumberField("num_tokens", routing.endPosition());
        g.writeNumberField("routing_start", routing.firstPosition());
        g.writeFieldName("moe_layer_indices");
        g.writeArray(layout.moeLayerIndices(), 0, layout.numMoeLayers());
        g.writeNumberField("top_k", layout.topK());
        g.writeNumberField("num_experts", layout.numExperts());
        g.writeStringField("dtype", layout.dtype().wire);
        g.writeFieldName("topk_ids");
        g.writeRawValue(idsArray(routing));
        if (routing.weights() != null) {
            g.writeArrayFieldStart("topk_weights");
            for (int t = 0; t < routing.numTokens(); t++) {
                g.writeStartArray();
                for (int l = 0; l < layout.numMoeLayers(); l++) {
                    g.writeStartArray();
                    for (int k = 0; k < layout.topK(); k++) {
                        g.writeNumber(routing.weight(t, l, k));
                    }
                    g.writeEndArray();
                }
                g.writeEndArray();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    /**
     * topk_ids as JSON text, {@code [[[id, ...] per layer] per token]}: ids are small integers below num_experts,
     * written from a table of their decimal forms. The generator's per-number path cost ~30 ns an id, seconds for a
     * long rollout's ~10^8 ids; this is a few times faster and gives the same text.
     */
    static String idsArray(RoutingRecord routing) {
        RoutingLayout layout = routing.layout();
        String[] decimal = new String[layout.numExperts()];
        for (int i = 0; i < decimal.length; i++) {
            decimal[i] = Integer.toString(i);
        }
        int n = routing.numTokens(), layers = layout.numMoeLayers(), k = layout.topK();
        StringBuilder b = new StringBuilder(2 + n * (2 + layers * (3 + 4 * k)));
        b.append('[');
        for (int t = 0; t < n; t++) {
            b.append(t == 0 ? "[" : ",[");
            for (int l = 0; l < layers; l++) {
                b.append(l == 0 ? "[" : ",[");
                for (int j = 0; j < k; j++) {
                    if (j > 0) {
                        b.append(',');
                    }
                    int id = routing.id(t, l, j);
                    b.append(id >= 0 && id < decimal.length ? decimal[id] : Integer.toString(id));
                }
                b.append(']');
            }
            b.append(']');
        }
        return b.append(']').toString();
    }
}
