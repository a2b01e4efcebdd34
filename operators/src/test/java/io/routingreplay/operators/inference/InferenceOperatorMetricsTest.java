package io.routingreplay.operators.inference;

import static io.routingreplay.operators.metrics.MetricNames.DECODE_TOKENS;
import static io.routingreplay.operators.metrics.MetricNames.ENGINE_FAILURES;
import static io.routingreplay.operators.metrics.MetricNames.KV_CACHE_USAGE;
import static io.routingreplay.operators.metrics.MetricNames.PREFILL_TOKENS;
import static io.routingreplay.operators.metrics.MetricNames.PROMETHEUS_PREFIX;
import static io.routingreplay.operators.metrics.MetricNames.REQUESTS_FINISHED;
import static io.routingreplay.operators.metrics.MetricNames.REQUESTS_IN_FLIGHT;
import static io.routingreplay.operators.metrics.MetricNames.REQUEST_LATENCY_MS;
import static io.routingreplay.operators.metrics.MetricNames.ROUTING_BYTES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.metrics.RecordingMetricGroups;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.util.List;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The inference operator feeds its metrics from what the engine really did. */
class InferenceOperatorMetricsTest {

    @BeforeAll
    static void offline() {
        InferenceOperatorTest.generateOffline();
    }

    @Test
    void countersMatchTheGeneratedRequests() throws Exception {
        RecordingMetricGroups metrics = new RecordingMetricGroups();
        List<GenerationRequest> reqs = InferenceOperatorTest.requests.subList(0, 10);
        try (var h = new OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent>(
                new InferenceOperatorFactory(InferenceOperatorTest.SETTINGS, 64, 2, 3),
                new MockEnvironmentBuilder().setMetricGroup(metrics.task).build())) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(reqs)));
            h.endInput();
        }
        long outputs = 0;
        long routingBytes = 0;
        long prompts = 0;
        for (GenerationRequest r : reqs) {
            GenerationResult g = InferenceOperatorTest.offline.get(r.rid());
            outputs += g.outputTokenIds().length;
            routingBytes += g.routing().ids().length;
            prompts += r.promptTokenIds().length;
        }
        assertEquals(outputs, metrics.<Counter>get(PROMETHEUS_PREFIX + DECODE_TOKENS).getCount());
        // Prefill counts every fed token that sampled nothing: prompts and fed-back outputs, minus the decodes.
        assertEquals(prompts - reqs.size(), metrics.<Counter>get(PROMETHEUS_PREFIX + PREFILL_TOKENS).getCount());
        assertEquals(routingBytes, metrics.<Counter>get(PROMETHEUS_PREFIX + ROUTING_BYTES).getCount());
        assertEquals(reqs.size(), metrics.<Counter>get(PROMETHEUS_PREFIX + REQUESTS_FINISHED).getCount());
        assertEquals(reqs.size(), metrics.<Histogram>get(PROMETHEUS_PREFIX + REQUEST_LATENCY_MS).getCount());
        assertEquals(0, (Integer) metrics.<Gauge<Integer>>get(PROMETHEUS_PREFIX + REQUESTS_IN_FLIGHT).getValue());
        double kv = metrics.<Gauge<Double>>get(PROMETHEUS_PREFIX + KV_CACHE_USAGE).getValue();
        assertTrue(kv >= 0 && kv <= 1, "kv usage " + kv);
    }

    @Test
    void everyEngineThatCouldNotBeMadeIsCounted() throws Exception {
        RecordingMetricGroups metrics = new RecordingMetricGroups();
        // the first creation (in open) and the second (with the batch waiting) fail, the third engine serves it
        try (var h = new OneInputStreamOperatorTestHarness<PromptBatch, TokenRoutingEvent>(
                new InferenceOperatorFactory(InferenceOperatorTest.SETTINGS, 64, 2, 3, FailingEngines.failingFirst(2)),
                new MockEnvironmentBuilder().setMetricGroup(metrics.task).build())) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(InferenceOperatorTest.requests.subList(0, 4))));
            h.endInput();
        }
        assertEquals(2, metrics.<Counter>get(PROMETHEUS_PREFIX + ENGINE_FAILURES).getCount());
        assertEquals(4, metrics.<Counter>get(PROMETHEUS_PREFIX + REQUESTS_FINISHED).getCount());
    }
}
