package io.routingreplay.operators.recordsize;

import io.routingreplay.operators.assembly.RoutingAssembler;
import io.routingreplay.operators.assembly.TimeoutClock;
import io.routingreplay.operators.inference.EngineSettings;
import io.routingreplay.operators.inference.InferenceOperatorFactory;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;

/**
 * Real results of the bundled tiny Qwen3-MoE (4 MoE layers, top-4 of 16 experts, vocabulary 151,936, 4,096
 * positions): requests through the job's inference operator and assembler, as the results sink receives them.
 */
public final class EngineResults {

    public static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();
    public static final String MODEL_NAME = "qwen3-moe-tiny";

    /** The engine the results come from (the audit tests replay them on one made the same way). */
    public static final EngineSettings SETTINGS = new EngineSettings(MODEL.toString(), "cpu", 16, 512, 0,
            KvCacheDtype.FP32, 4096, 2, true, AdmissionPolicy.EAGER, 1, 1);

    public static List<RoutingResult> run(List<InferenceRequest> requests) throws Exception {
        EngineSettings settings = SETTINGS;
        List<TokenRoutingEvent> events;
        try (var inference = new OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent>(
                new InferenceOperatorFactory(settings, 64, 4, 3))) {
            inference.open();
            inference.processElement(new StreamRecord<>(new PromptBatch(MODEL_NAME + "#0", requests)));
            inference.endInput();
            events = new ArrayList<>(inference.extractOutputValues());
        }
        try (var assembler = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new RoutingAssembler(60_000, TimeoutClock.PROCESSING)),
                TokenRoutingEvent::getRid, Types.STRING)) {
            assembler.open();
            for (TokenRoutingEvent e : events) {
                assembler.processElement(new StreamRecord<>(e, e.getEmittedAt()));
            }
            List<RoutingResult> results = new ArrayList<>(assembler.extractOutputValues());
            if (results.size() != requests.size()) {
                throw new AssertionError("expected " + requests.size() + " results, got " + results.size()
                        + "; dead letters: " + assembler.getSideOutput(io.routingreplay.operators.validation.DeadLetters.TAG));
            }
            return results;
        }
    }

    private EngineResults() {
    }
}
