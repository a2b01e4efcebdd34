package io.routingreplay.tests.streaming;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.operators.results.RoutingResults;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.ReplayReport;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
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
 * {@code forced_routing} and {@code prompt_logprobs} through the whole streaming path (in-process Kafka broker,
 * Flink MiniCluster, exactly-once sinks), every request sent once as a JSON line and once as an Avro PromptEvent v4.
 * For each of a few greedy first runs ("base") the job gets:
 * <ul>
 *   <li>{@code replay}: the base's prompt + output scored ({@code max_new_tokens} 0, prompt_logprobs) with the
 *       base's own record forced;</li>
 *   <li>{@code resume}: a partial rollout resumed: prompt + the first half of the outputs as the prompt, the base's
 *       rows of those positions forced, the remaining outputs to generate;</li>
 *   <li>{@code score}: the same tokens scored with free routing;</li>
 *   <li>{@code plp}: the base request again, generating, with prompt_logprobs;</li>
 *   <li>{@code shifted}: the prompt with other experts forced (each id + 1 mod 16), so the free router disagrees.</li>
 * </ul>
 * The oracle is the engine ({@code generate}): each result, written as {@code generate} writes results, is byte for
 * byte the line {@code generate} writes for the same request (tokens, logprobs, routing, prompt_logprobs, the
 * forced-routing report). On top, the done-when properties hold on the job's own results: a record re-run
 * with its own routing forced reproduces its logprobs bit for bit, its ids, and every cell is the free router's; the
 * resumed rollout equals the uninterrupted one. The audit stage runs on every result ({@code audit.fraction} 1) and
 * changes none of them.
 */
class ReplayInputsITCase {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();
    static final int BASES = 4;

    @Test
    void forcedRoutingAndPromptLogprobsRequestsAreAnsweredAsGenerateAnswersThem() throws Exception {
        Random rnd = new Random(18);
        List<GenerationResult> bases = new ArrayList<>();
        List<GenerationRequest> requests = new ArrayList<>();
        Map<String, String> expected = new HashMap<>();
        RoutingLayout layout;
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(MODEL).threads(2).build())) {
            layout = engine.routingLayout();
            List<GenerationRequest> first = new ArrayList<>();
            for (int b = 0; b < BASES; b++) {
                first.add(new GenerationRequest("b" + b, RoutingStartITCase.tokens(rnd, 5 + rnd.nextInt(20)),
                        RoutingStartITCase.greedy(6 + b)));
            }
            bases.addAll(engine.generate(first));
            for (GenerationResult base : bases) {
                for (String form : List.of("json", "avro")) {
                    requests.addAll(derived(base, first.get(bases.indexOf(base)), form));
                }
            }
            for (GenerationResult r : engine.generate(requests)) {
                expected.put(r.rid(), ResultJson.toLine(r, null));
            }
        }

        ObjectMapper json = new ObjectMapper();
        SingleObjectCodec<PromptEvent> avro = SingleObjectCodec.of(PromptEvent.class);
        List<byte[]> values = new ArrayList<>();
        List<String> rids = new ArrayList<>();
        for (GenerationRequest r : requests) {
            values.add(r.rid().endsWith("-avro") ? avro.encode(promptEvent(r, layout)) : jsonLine(json, r));
            rids.add(r.rid());
        }
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.ENGINE_THREADS, 2);
        // every result also goes through the audit stage: what the results topic gets is what it gets without it
        conf.set(JobOptions.AUDIT_FRACTION, 1.0);
        List<LocalPipeline.Answer> answers;
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            pipeline.publishAll(values, rids);
            answers = pipeline.awaitAnswers(Duration.ofMinutes(4), a -> { });
        }
        Map<String, GenerationResult> byRid = new HashMap<>();
        for (LocalPipeline.Answer a : answers) {
            assertNotNull(a.result(), () -> "dead letter: " + a.deadLetter());
            RoutingResult r = a.result();
            assertEquals(null, byRid.put(r.getRid(), RoutingResults.toGenerationResult(r)), "answered once");
        }
        assertEquals(requests.size(), byRid.size(), "every request answered");
        for (GenerationRequest r : requests) {
            assertEquals(expected.get(r.rid()), ResultJson.toLine(byRid.get(r.rid()), null),
                    r.rid() + " as generate writes it");
        }

        for (GenerationResult base : bases) {
            for (String form : List.of("json", "avro")) {
                String b = base.rid() + "-";
                assertReplayReproducesTheRecord(base, byRid.get(b + "replay-" + form));
                assertResumeEqualsTheUninterruptedRun(base, byRid.get(b + "resume-" + form));
                GenerationResult shifted = byRid.get(b + "shifted-" + form);
                assertTrue(shifted.replay().forcedCellsReproduced() < shifted.replay().forcedCells(),
                        shifted.rid() + ": other experts than the free router's were forced");
                assertTrue(expected.get(shifted.rid()).contains("\"forced_routing\":{\"positions\":"),
                        expected.get(shifted.rid()));
                assertTrue(expected.get(b + "plp-" + form).contains("\"prompt_logprobs\":[null,"));
            }
        }
    }

    /** The done-when property: the base's own record forced over its prompt + output reproduces it bit for bit. */
    static void assertReplayReproducesTheRecord(GenerationResult base, GenerationResult replay) {
        String what = replay.rid();
        ReplayReport rep = replay.replay();
        int p = base.promptTokenIds().length;
        float[] outputs = Arrays.copyOfRange(rep.promptLogprobs(), p - 1, p - 1 + base.outputTokenIds().length);
        assertArrayEquals(bits(base.outputLogprobs()), bits(outputs), what + ": recomputed logprobs, bit for bit");
        assertArrayEquals(base.routing().ids(), replay.routing().ids(), what + ": the record's ids");
        assertEquals(rep.forcedCells(), rep.forcedCellsReproduced(), what + ": every forced cell is the router's");
        assertEquals(0, replay.outputTokenIds().length, what + ": scoring only");
    }

    /** The done-when property: resumed on its first half's routing, the rollout is the uninterrupted one. */
    static void assertResumeEqualsTheUninterruptedRun(GenerationResult base, GenerationResult resume) {
        String what = resume.rid();
        int half = base.outputTokenIds().length / 2;
        assertArrayEquals(Arrays.copyOfRange(base.outputTokenIds(), half, base.outputTokenIds().length),
                resume.outputTokenIds(), what + ": tokens");
        assertArrayEquals(bits(Arrays.copyOfRange(base.outputLogprobs(), half, base.outputLogprobs().length)),
                bits(resume.outputLogprobs()), what + ": logprobs");
        assertArrayEquals(base.routing().ids(), resume.routing().ids(), what + ": the full record");
    }

    /** The requests derived from one base run, tagged with the form they are sent in. */
    static List<GenerationRequest> derived(GenerationResult base, GenerationRequest baseRequest, String form) {
        String b = base.rid() + "-";
        String f = "-" + form;
        int[] prompt = base.promptTokenIds();
        int[] all = RoutingStartITCase.concat(prompt, base.outputTokenIds());
        int half = base.outputTokenIds().length / 2;
        int[] resumePrompt = Arrays.copyOf(all, prompt.length + half);
        SamplingParams score = new SamplingParams(0, 0f, 1f, 0, null, List.of(), true, false);
        List<GenerationRequest> out = new ArrayList<>();
        out.add(new GenerationRequest(b + "replay" + f, all, score, RoutingSelection.ALL,
                ForcedRouting.of(base.routing(), base.numRoutedPositions()), true));
        out.add(new GenerationRequest(b + "resume" + f, resumePrompt,
                RoutingStartITCase.greedy(base.outputTokenIds().length - half), RoutingSelection.ALL,
                ForcedRouting.of(base.routing(), resumePrompt.length), false));
        out.add(new GenerationRequest(b + "score" + f, all, score, RoutingSelection.ALL, null, true));
        out.add(new GenerationRequest(b + "plp" + f, prompt, baseRequest.params(), RoutingSelection.ALL, null, true));
        ForcedRouting own = ForcedRouting.of(base.routing(), prompt.length);
        int[] shiftedIds = own.ids().clone();
        for (int i = 0; i < shiftedIds.length; i++) {
            shiftedIds[i] = (shiftedIds[i] + 1) % 16;
        }
        out.add(new GenerationRequest(b + "shifted" + f, prompt, baseRequest.params(), RoutingSelection.ALL,
                new ForcedRouting(prompt.length, shiftedIds), false));
        return out;
    }

    static byte[] jsonLine(ObjectMapper json, GenerationRequest r) {
        ObjectNode n = json.createObjectNode().put("rid", r.rid())
                .put("max_new_tokens", r.params().maxNewTokens()).put("temperature", 0).put("ignore_eos", true);
        ArrayNode ids = n.putArray("prompt_token_ids");
        for (int t : r.promptTokenIds()) {
            ids.add(t);
        }
        if (r.promptLogprobs()) {
            n.put("prompt_logprobs", true);
        }
        ForcedRouting forced = r.forcedRouting();
        if (forced != null) {
            ArrayNode rows = n.putArray("forced_routing");
            int per = forced.ids().length / forced.numPositions();
            for (int t = 0, i = 0; t < forced.numPositions(); t++) {
                ArrayNode row = rows.addArray();
                for (int l = 0; l < per / 4; l++) {
                    ArrayNode layer = row.addArray();
                    for (int k = 0; k < 4; k++) {
                        layer.add(forced.ids()[i++]);
                    }
                }
            }
        }
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** forced_routing as a trainer sends a result's rows: packed in the record's dtype, with their shape. */
    static PromptEvent promptEvent(GenerationRequest r, RoutingLayout layout) {
        PromptEvent.Builder e = PromptEvent.newBuilder().setRid(r.rid())
                .setPromptTokenIds(RoutingStartITCase.ints(r.promptTokenIds()))
                .setMaxNewTokens(r.params().maxNewTokens()).setTemperature(0f).setIgnoreEos(true)
                .setPromptLogprobs(r.promptLogprobs());
        ForcedRouting forced = r.forcedRouting();
        if (forced != null) {
            e.setForcedRouting(ByteBuffer.wrap(RoutingRecord.pack(layout, forced.ids(), 0, forced.ids().length)))
                    .setForcedRoutingShape(List.of(forced.numPositions(), layout.numMoeLayers(), layout.topK()));
        }
        return e.build();
    }

    static int[] bits(float[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Float.floatToIntBits(a[i]);
        }
        return out;
    }
}
