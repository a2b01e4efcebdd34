package io.routingreplay.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
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
        assertEquals(List.of("p0", "p1", "p2", "p3", "p4", "p5"), assembledRids(conf(MODEL)));
    }

    /** engine.tensor-parallel / engine.expert-parallel reach the engine: the job runs on the sharded backend. */
    @Test
    void aShardedEngineServesTheJob() throws Exception {
        Configuration conf = conf(MODEL);
        conf.set(JobOptions.TENSOR_PARALLEL, 4);
        conf.set(JobOptions.EXPERT_PARALLEL, 2);
        EngineConfig engine = RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig();
        assertEquals(4, engine.tensorParallel());
        assertEquals(2, engine.expertParallel());
        assertEquals(List.of("p0", "p1", "p2", "p3", "p4", "p5"), assembledRids(conf));
    }

    /** engine.swap-space-gib reaches the engine (unset: the backend's default); a negative size fails at submission. */
    @Test
    void theSwapSpaceOptionReachesTheEngine() {
        Configuration conf = conf(MODEL);
        assertEquals(EngineConfig.builder(MODEL).build().swapSpaceBytes(),
                RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig().swapSpaceBytes());
        conf.set(JobOptions.SWAP_SPACE_GIB, 0.5);
        assertEquals(1L << 29, RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig().swapSpaceBytes());
        conf.set(JobOptions.SWAP_SPACE_GIB, 0.0);
        assertEquals(0, RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig().swapSpaceBytes());
        conf.set(JobOptions.SWAP_SPACE_GIB, -1.0);
        String m = assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayPipeline.engineSettings(conf, MODEL, 64)).getMessage();
        assertTrue(m.contains("engine.swap-space-gib must be a number of GiB >= 0"), m);
    }

    /** engine.gemm-inputs reaches the engine (unset: split); a value it does not know fails at submission. */
    @Test
    void theGemmInputsOptionReachesTheEngine() {
        Configuration conf = conf(MODEL);
        assertEquals(GemmInputs.SPLIT, RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig().gemmInputs());
        conf.set(JobOptions.GEMM_INPUTS, "bf16");
        assertEquals(GemmInputs.BF16, RoutingReplayPipeline.engineSettings(conf, MODEL, 64).toEngineConfig().gemmInputs());
        conf.set(JobOptions.GEMM_INPUTS, "fp8");
        String m = assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayPipeline.engineSettings(conf, MODEL, 64)).getMessage();
        assertTrue(m.contains("engine.gemm-inputs: GEMM inputs must be one of split, bf16, got 'fp8'"), m);
    }

    /** A split the model cannot take fails at submission, naming the options and the numbers. */
    @Test
    void aSplitTheModelRefusesFailsAtSubmission() {
        Configuration heads = conf(MODEL.resolveSibling("deepseek-v2-greedy-tiny"));  // 3 attention heads
        heads.set(JobOptions.TENSOR_PARALLEL, 2);
        String m = assertThrows(IllegalArgumentException.class, () -> RoutingReplayPipeline.wire(
                StreamExecutionEnvironment.getExecutionEnvironment().fromData(List.of(RawPrompt.of(new byte[]{'{', '}'})),
                        TypeInformation.of(RawPrompt.class)), heads)).getMessage();
        assertTrue(m.contains("engine.tensor-parallel") && m.contains("num_attention_heads (3) is not divisible by "
                + "tensor-parallel (2)"), m);
        Configuration groups = conf(MODEL);
        groups.set(JobOptions.TENSOR_PARALLEL, 4);
        groups.set(JobOptions.EXPERT_PARALLEL, 3);
        m = assertThrows(IllegalArgumentException.class, () -> RoutingReplayPipeline.wire(
                StreamExecutionEnvironment.getExecutionEnvironment().fromData(List.of(RawPrompt.of(new byte[]{'{', '}'})),
                        TypeInformation.of(RawPrompt.class)), groups)).getMessage();
        assertTrue(m.contains("expertParallel (3) must divide tensorParallel (4)"), m);
    }

    private static Configuration conf(Path model) {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, model.toString());
        conf.set(JobOptions.ENGINE_THREADS, 1);
        conf.set(JobOptions.ASSEMBLER_TIMEOUT_CLOCK, "event");
        return conf;
    }

    /** Six greedy prompts through the pipeline; the rids of the assembled results, sorted. */
    private static List<String> assembledRids(Configuration conf) throws Exception {
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
        return rids;
    }

    /** The audit replays with forced routing, which both backends take: an audit on cuda is accepted when submitted
     *  (it was refused before the CUDA backend ran forced routing), a fraction outside [0, 1] is not. */
    @Test
    void anAuditOnTheCudaBackendIsAcceptedAndABadFractionRefusedAtSubmission() {
        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, MODEL.toString());
        conf.set(JobOptions.BACKEND, "cuda");
        conf.set(JobOptions.AUDIT_FRACTION, 0.1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataStream<RawPrompt> in = env.fromData(List.of(RawPrompt.of(new byte[] {'{', '}'})),
                TypeInformation.of(RawPrompt.class));
        RoutingReplayPipeline.wire(in, conf);
        conf.set(JobOptions.BACKEND, "cpu");
        conf.set(JobOptions.AUDIT_FRACTION, 1.5);
        assertEquals("audit.fraction must be in [0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> RoutingReplayPipeline.wire(in, conf)).getMessage());
    }
}
