package io.routingreplay.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.schemas.RoutingResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;

/** The pipeline with a plugged-in source and collected output (no Kafka), on the event-time timeout clock. */
class RoutingReplayPipelineTest {

    static final Path MODEL = Path.of("..", "fixtures", "qwen3-moe-tiny").toAbsolutePath().normalize();

    @Test
    void everyRequestFromAnyBoundedSourceIsAssembledOnTheEventTimeClock() throws Exception {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.ENGINE_THREADS, 1);
        conf.set(JobOptions.ASSEMBLER_TIMEOUT_CLOCK, "event");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        List<RawPrompt> prompts = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            prompts.add(RawPrompt.of(("{\"rid\":\"p" + i + "\",\"prompt_token_ids\":[" + (100 + i) + ",7],"
                    + "\"max_new_tokens\":" + (1 + i) + ",\"temperature\":0}").getBytes(StandardCharsets.UTF_8)));
        }
        DataStream<RawPrompt> in = env.fromData(prompts, TypeInformation.of(RawPrompt.class));
        RoutingReplayPipeline.Outputs out = RoutingReplayPipeline.wire(in, conf);
        List<String> rids = new ArrayList<>();
        try (CloseableIterator<RoutingResult> it = out.results().executeAndCollect()) {
            while (it.hasNext()) {
                RoutingResult r = it.next();
                assertEquals(2 + r.getOutputTokenIds().size() - 1, r.getNumTokens());
                rids.add(r.getRid());
            }
        }
        rids.sort(String::compareTo);
        assertEquals(List.of("p0", "p1", "p2", "p3", "p4", "p5"), rids);
    }

    /** The audit replays with forced routing, which the cuda backend does not take yet: refused when submitted. */
    @Test
    void anAuditOnABackendWithoutForcedRoutingIsRefusedAtSubmission() {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.BACKEND, "cuda");
        conf.set(JobOptions.AUDIT_FRACTION, 0.1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataStream<RawPrompt> in = env.fromData(List.of(RawPrompt.of(new byte[] {'{', '}'})),
                TypeInformation.of(RawPrompt.class));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayPipeline.wire(in, conf));
        assertEquals("audit.fraction 0.1 needs engine.backend cpu: the cuda backend does not take forced_routing "
                + "yet, and the audit replays each result with its routing forced", e.getMessage());
        conf.set(JobOptions.BACKEND, "cpu");
        conf.set(JobOptions.AUDIT_FRACTION, 1.5);
        assertEquals("audit.fraction must be in [0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayPipeline.wire(in, conf)).getMessage());
    }
}
