package io.routingreplay.tests.streaming;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.operators.results.RoutingResults;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * {@code routing_start} and {@code return_routing} through the whole streaming path (in-process Kafka broker, Flink
 * MiniCluster, exactly-once sinks): second turns of conversations, each sent with {@code routing_start} = the first
 * turn's routed tokens (the first position its trainer does not hold) and again with 0, half as JSON lines, half as
 * Avro PromptEvent v3, and evaluation requests with {@code return_routing} false.
 *
 * <p>The oracle is the full record: the cut one must be exactly its rows from routing_start on, and its first rows
 * must be the first turn's whole record (what the trainer already holds), so turn 1's rows + turn 2's cut rows are
 * turn 2's full record. Each result is also byte for byte the JSON {@code generate} writes for the same request.
 */
class RoutingStartITCase {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();
    static final int CONVERSATIONS = 8;
    static final int BYTES_PER_TOKEN = 4 * 4; // 4 MoE layers × top-4, uint8

    @Test
    void secondTurnsReturnTheRowsFromTheirStartAndEvaluationRequestsNoRouting() throws Exception {
        Random rnd = new Random(15);
        ObjectMapper json = new ObjectMapper();
        SingleObjectCodec<PromptEvent> avro = SingleObjectCodec.of(PromptEvent.class);
        Map<String, String> expected = new HashMap<>();
        List<int[]> turn1Prompts = new ArrayList<>();
        List<GenerationResult> turn1 = new ArrayList<>();
        List<GenerationRequest> turn2 = new ArrayList<>();
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(MODEL).threads(2).build())) {
            List<GenerationRequest> first = new ArrayList<>();
            for (int c = 0; c < CONVERSATIONS; c++) {
                int[] prompt = tokens(rnd, 10 + rnd.nextInt(30));
                turn1Prompts.add(prompt);
                first.add(new GenerationRequest("c" + c + "-t1", prompt, greedy(4 + c % 5)));
            }
            turn1.addAll(engine.generate(first));
            for (int c = 0; c < CONVERSATIONS; c++) {
                GenerationResult t1 = turn1.get(c);
                int[] prompt = concat(concat(t1.promptTokenIds(), t1.outputTokenIds()), tokens(rnd, 8));
                int start = t1.numRoutedPositions(); // turn 1's last output is routed for the first time here
                turn2.add(new GenerationRequest("c" + c + "-t2", prompt, greedy(6), RoutingSelection.from(start)));
                turn2.add(new GenerationRequest("c" + c + "-t2-full", prompt, greedy(6)));
                turn2.add(new GenerationRequest("c" + c + "-eval", turn1Prompts.get(c), greedy(4 + c % 5),
                        RoutingSelection.none()));
            }
            for (GenerationResult r : engine.generate(turn2)) {
                expected.put(r.rid(), ResultJson.toLine(r, null));
            }
        }

        List<byte[]> values = new ArrayList<>();
        List<String> rids = new ArrayList<>();
        for (int i = 0; i < turn2.size(); i++) {
            GenerationRequest r = turn2.get(i);
            boolean asAvro = i % 2 == 1;
            values.add(asAvro ? avro.encode(promptEvent(r)) : jsonLine(json, r));
            rids.add(r.rid());
        }

        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.ENGINE_THREADS, 2);
        List<LocalPipeline.Answer> answers;
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            pipeline.publishAll(values, rids);
            answers = pipeline.awaitAnswers(Duration.ofMinutes(4), a -> { });
        }

        Map<String, RoutingResult> byRid = new HashMap<>();
        for (LocalPipeline.Answer a : answers) {
            assertNotNull(a.result(), () -> "dead letter: " + a.deadLetter());
            byRid.put(a.result().getRid(), a.result());
        }
        assertEquals(turn2.size(), byRid.size(), "every request answered");
        for (int c = 0; c < CONVERSATIONS; c++) {
            RoutingResult cut = byRid.get("c" + c + "-t2");
            RoutingResult full = byRid.get("c" + c + "-t2-full");
            RoutingResult eval = byRid.get("c" + c + "-eval");
            int start = turn1.get(c).numRoutedPositions();
            String what = "conversation " + c + " (routing_start " + start + ")";

            assertEquals(0, full.getRoutingStart());
            assertEquals(full.getNumTokens(), cut.getNumTokens(), what + ": num_tokens is the request's");
            assertEquals(start, cut.getRoutingStart(), what);
            assertEquals(List.of(full.getNumTokens() - start, 4, 4), cut.getRoutingShape(), what);
            byte[] fullIds = bytes(full.getRoutingIds());
            assertArrayEquals(Arrays.copyOfRange(fullIds, start * BYTES_PER_TOKEN, fullIds.length),
                    bytes(cut.getRoutingIds()), what + ": the cut record is the full record's rows from its start");
            assertArrayEquals(turn1.get(c).routing().ids(), Arrays.copyOf(fullIds, start * BYTES_PER_TOKEN),
                    what + ": the rows before the start are turn 1's record, which the trainer holds");
            assertEquals(full.getOutputTokenIds(), cut.getOutputTokenIds(), what);

            assertNull(eval.getRoutingIds(), "return_routing false: no routing ids");
            assertNull(eval.getRoutingShape(), "return_routing false: no shape that reads as 0 tokens");
            assertNull(eval.getRoutingWeights());
            assertEquals(turn1.get(c).numRoutedPositions(), eval.getNumTokens());
            assertEquals(ints(turn1.get(c).outputTokenIds()), eval.getOutputTokenIds(), "eval output " + c);
        }
        for (RoutingResult r : byRid.values()) {
            assertEquals(expected.get(r.getRid()), ResultJson.toLine(RoutingResults.toGenerationResult(r), null),
                    "rid " + r.getRid() + " as generate writes it");
        }
        assertTrue(expected.get("c0-eval").endsWith("\"routing\":null}"), expected.get("c0-eval"));
    }

    static SamplingParams greedy(int maxNewTokens) {
        return new SamplingParams(maxNewTokens, 0f, 1f, 0, null, List.of(), true, false);
    }

    static byte[] jsonLine(ObjectMapper json, GenerationRequest r) {
        ObjectNode n = json.createObjectNode().put("rid", r.rid())
                .put("max_new_tokens", r.params().maxNewTokens()).put("temperature", 0).put("ignore_eos", true);
        var ids = n.putArray("prompt_token_ids");
        for (int t : r.promptTokenIds()) {
            ids.add(t);
        }
        if (r.routing().start() != 0) {
            n.put("routing_start", r.routing().start());
        }
        if (!r.routing().returned()) {
            n.put("return_routing", false);
        }
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    static PromptEvent promptEvent(GenerationRequest r) {
        return PromptEvent.newBuilder().setRid(r.rid()).setPromptTokenIds(ints(r.promptTokenIds()))
                .setMaxNewTokens(r.params().maxNewTokens()).setTemperature(0f).setIgnoreEos(true)
                .setRoutingStart(r.routing().start()).setReturnRouting(r.routing().returned()).build();
    }

    static int[] tokens(Random rnd, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = rnd.nextInt(150_000);
        }
        return out;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static List<Integer> ints(int[] a) {
        List<Integer> out = new ArrayList<>(a.length);
        for (int v : a) {
            out.add(v);
        }
        return out;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
