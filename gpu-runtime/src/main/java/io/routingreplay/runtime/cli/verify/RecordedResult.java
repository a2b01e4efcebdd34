package io.routingreplay.runtime.cli.verify;

import com.fasterxml.jackson.databind.JsonNode;
import io.routingreplay.runtime.cli.output.NpyFileNames;
import io.routingreplay.runtime.cli.request.RoutingNpy;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.ReplayReport;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One line of a results file ({@link io.routingreplay.runtime.cli.output.ResultJson}) as {@code verify} reads it,
 * with the structural errors found on the way (a record with any is not run).
 *
 * @param ids                routing ids, {@code [row][moe_layer][k]} flattened (null when unreadable)
 * @param rows               rows of routing held
 * @param errors             structural errors, each a sentence; empty when the record can be replayed
 * @param promptLogprobs     the recorded logprobs of prompt tokens 1 .. prompt − 1 (scoring), or null
 * @param forcedUnreproduced forced ids of the record's own {@code forced_routing} the free router did not pick (its
 *                           report's cells − cells_reproduced): a replay finds exactly these cells unreproduced
 */
public record RecordedResult(String rid, int[] prompt, int[] output, float[] logprobs, int[] ids, int rows,
                             List<String> errors, float[] promptLogprobs, long forcedUnreproduced) {

    public RecordedResult(String rid, int[] prompt, int[] output, float[] logprobs, int[] ids, int rows,
                          List<String> errors) {
        this(rid, prompt, output, logprobs, ids, rows, errors, null, 0);
    }

    /** A line that is not a result at all (unreadable, not JSON). */
    public static RecordedResult unreadable(String where, String error) {
        return new RecordedResult(where, null, null, null, null, 0, List.of(error));
    }

    /**
     * An engine result as it was recorded (the streaming job's results, read back as {@link GenerationResult}),
     * with the same structural checks as a results line.
     */
    public static RecordedResult of(GenerationResult g, RoutingLayout model) {
        List<String> errors = new ArrayList<>();
        ReplayReport replay = g.replay();
        float[] promptLogprobs = replay == null ? null : replay.promptLogprobs();
        long unreproduced = replay == null || replay.forcedMismatches() == null ? 0
                : replay.forcedCells() - replay.forcedCellsReproduced();
        RoutingRecord routing = g.routing();
        if (routing == null) {
            errors.add("routing is null (return_routing false): nothing to replay");
            return new RecordedResult(g.rid(), g.promptTokenIds(), g.outputTokenIds(), g.outputLogprobs(), null, 0,
                    errors, promptLogprobs, unreproduced);
        }
        if (g.outputLogprobs().length != g.outputTokenIds().length) {
            errors.add("output_logprobs has " + g.outputLogprobs().length + " values for "
                    + g.outputTokenIds().length + " output tokens");
        }
        if (routing.firstPosition() != 0) {
            errors.add("routing starts at position " + routing.firstPosition()
                    + ": replay needs every routed position from 0");
        }
        RoutingLayout l = routing.layout();
        checkLayout(l.moeLayerIndices(), l.topK(), l.numExperts(), model, errors);
        int[] ids = null;
        if (errors.isEmpty()) {
            ids = RoutingRecord.unpack(l.dtype(), routing.ids());
            checkIds(ids, routing.numTokens(), g.numRoutedPositions(), model, errors);
        }
        return new RecordedResult(g.rid(), g.promptTokenIds(), g.outputTokenIds(), g.outputLogprobs(), ids,
                routing.numTokens(), errors, promptLogprobs, unreproduced);
    }

    /**
     * The request that replays this record: its prompt + output scored ({@code max_new_tokens} 0 with
     * prompt_logprobs), every recorded row forced, no routing returned (the report says what the router did).
     */
    public GenerationRequest replayRequest() {
        int[] tokens = new int[prompt.length + output.length];
        System.arraycopy(prompt, 0, tokens, 0, prompt.length);
        System.arraycopy(output, 0, tokens, prompt.length, output.length);
        return new GenerationRequest(rid, tokens, new SamplingParams(0, 1f, 1f, 0, null, List.of(), true, false),
                RoutingSelection.none(), new ForcedRouting(rows, ids), true);
    }

    public static RecordedResult parse(JsonNode line, RoutingLayout model, Path npyDir) {
        List<String> errors = new ArrayList<>();
        String rid = line.path("rid").asText(null);
        int[] prompt = ints(line.path("prompt_token_ids"));
        int[] output = ints(line.path("output_token_ids"));
        JsonNode lp = line.path("output_logprobs");
        float[] logprobs = new float[lp.size()];
        for (int i = 0; i < logprobs.length; i++) {
            // exact decimal to float (a float written by Float.toString reads back to the same bits)
            logprobs[i] = Float.parseFloat(lp.get(i).decimalValue().toString());
        }
        if (rid == null || prompt == null || output == null || !lp.isArray()) {
            errors.add("not a result line: rid, prompt_token_ids, output_token_ids and output_logprobs are needed");
            return new RecordedResult(rid, prompt, output, logprobs, null, 0, errors);
        }
        if (logprobs.length != output.length) {
            errors.add("output_logprobs has " + logprobs.length + " values for " + output.length + " output tokens");
        }
        JsonNode routing = line.path("routing");
        if (!routing.isObject()) {
            errors.add("routing is null (return_routing false): nothing to replay");
            return new RecordedResult(rid, prompt, output, logprobs, null, 0, errors);
        }
        int start = routing.path("routing_start").asInt(0);
        if (start != 0) {
            errors.add("routing starts at position " + start + ": replay needs every routed position from 0");
        }
        checkLayout(routing, model, errors);
        int[] ids = null;
        int rows = 0;
        int per = model.idsPerToken();
        if (npyDir != null) {
            Path file = npyDir.resolve(NpyFileNames.forRecord(rid, start));
            try {
                if (!Files.isRegularFile(file)) {
                    errors.add("no routing file " + file);
                } else {
                    RoutingNpy npy = RoutingNpy.read(file);
                    if (npy.shape()[1] != model.numMoeLayers() || npy.shape()[2] != model.topK()) {
                        errors.add(file + " has rows of [" + npy.shape()[1] + ", " + npy.shape()[2] + "], the model "
                                + "routes [" + model.numMoeLayers() + ", " + model.topK() + "]");
                    } else {
                        ids = npy.ids();
                        rows = npy.shape()[0];
                    }
                }
            } catch (IOException | IllegalArgumentException e) {
                errors.add("routing file " + file + ": " + e.getMessage());
            }
        } else if (routing.path("topk_ids").isArray()) {
            JsonNode t = routing.path("topk_ids");
            rows = t.size();
            ids = new int[rows * per];
            for (int r = 0; r < rows && ids != null; r++) {
                JsonNode row = t.get(r);
                if (row.size() != model.numMoeLayers()) {
                    errors.add("routing row " + r + " has " + row.size() + " MoE layers, the model has "
                            + model.numMoeLayers());
                    ids = null;
                    break;
                }
                for (int l = 0; l < model.numMoeLayers(); l++) {
                    if (row.get(l).size() != model.topK()) {
                        errors.add("routing row " + r + ", MoE layer " + l + " has " + row.get(l).size()
                                + " ids, top_k is " + model.topK());
                        ids = null;
                        break;
                    }
                    for (int k = 0; k < model.topK(); k++) {
                        ids[(r * model.numMoeLayers() + l) * model.topK() + k] = row.get(l).get(k).asInt(-1);
                    }
                }
            }
        } else {
            errors.add("routing has no topk_ids (written with --npy-dir? pass the same --npy-dir)");
        }
        if (ids != null) {
            checkIds(ids, rows, prompt.length + output.length - 1, model, errors);
        }
        return new RecordedResult(rid, prompt, output, logprobs, ids, rows, errors, promptLogprobs(line),
                forcedUnreproduced(line));
    }

    /** prompt_logprobs as generate writes them (null for token 0, then one per prompt token), without the null. */
    private static float[] promptLogprobs(JsonNode line) {
        JsonNode a = line.path("prompt_logprobs");
        if (!a.isArray() || a.size() < 1) {
            return null;
        }
        float[] out = new float[a.size() - 1];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = a.get(i + 1);
            out[i] = v.isNumber() ? Float.parseFloat(v.decimalValue().toString()) : Float.NaN;
        }
        return out;
    }

    private static long forcedUnreproduced(JsonNode line) {
        JsonNode f = line.path("forced_routing");
        return f.isObject() ? f.path("cells").asLong() - f.path("cells_reproduced").asLong() : 0;
    }

    private static void checkLayout(JsonNode routing, RoutingLayout model, List<String> errors) {
        checkLayout(ints(routing.path("moe_layer_indices")),
                routing.has("top_k") ? routing.path("top_k").asInt() : null,
                routing.has("num_experts") ? routing.path("num_experts").asInt() : null, model, errors);
    }

    /** A recorded layout (null: not given) against the model's. */
    private static void checkLayout(int[] layers, Integer topK, Integer numExperts, RoutingLayout model,
                                    List<String> errors) {
        if (layers != null && !java.util.Arrays.equals(layers, model.moeLayerIndices())) {
            errors.add("moe_layer_indices " + java.util.Arrays.toString(layers) + " are not the model's "
                    + java.util.Arrays.toString(model.moeLayerIndices()));
        }
        if (topK != null && topK != model.topK()) {
            errors.add("top_k " + topK + " is not the model's " + model.topK());
        }
        if (numExperts != null && numExperts != model.numExperts()) {
            errors.add("num_experts " + numExperts + " is not the model's " + model.numExperts());
        }
    }

    /** Row count, id range and distinct ids per top-k list; reports the first few problems of each kind. */
    private static void checkIds(int[] ids, int rows, int expectedRows, RoutingLayout model, List<String> errors) {
        if (rows != expectedRows) {
            errors.add("routing has " + rows + " rows, expected prompt + output − 1 = " + expectedRows);
        }
        int k = model.topK(), L = model.numMoeLayers();
        int outOfRange = 0, duplicates = 0;
        for (int row = 0; row < rows * L; row++) {
            for (int a = 0; a < k; a++) {
                int id = ids[row * k + a];
                String where = "position " + row / L + ", MoE layer " + row % L;
                if (id < 0 || id >= model.numExperts()) {
                    if (outOfRange++ < 3) {
                        errors.add("id " + id + " at " + where + " is outside the experts [0, " + model.numExperts()
                                + ")");
                    }
                    continue;
                }
                for (int b = 0; b < a; b++) {
                    if (ids[row * k + b] == id && duplicates++ < 3) {
                        errors.add("expert " + id + " appears twice at " + where);
                    }
                }
            }
        }
        if (outOfRange > 3) {
            errors.add((outOfRange - 3) + " more ids out of range");
        }
        if (duplicates > 3) {
            errors.add((duplicates - 3) + " more duplicate ids");
        }
    }

    private static int[] ints(JsonNode a) {
        if (!a.isArray()) {
            return null;
        }
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }
}
