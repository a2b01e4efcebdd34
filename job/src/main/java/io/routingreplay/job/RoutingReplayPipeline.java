package io.routingreplay.job;

import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.parallel.ParallelLayout;
import io.routingreplay.runtime.scheduler.AdmissionPolicy;
import io.routingreplay.operators.assembly.RoutingAssembler;
import io.routingreplay.operators.audit.ResultAuditSink;
import io.routingreplay.operators.assembly.TimeoutClock;
import io.routingreplay.operators.inference.EngineFactory;
import io.routingreplay.operators.inference.EngineSettings;
import io.routingreplay.operators.inference.InferenceOperatorFactory;
import io.routingreplay.operators.metrics.DeadLetterCounter;
import io.routingreplay.operators.recordsize.DeadLetterFitter;
import io.routingreplay.operators.recordsize.OversizedResultFilter;
import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.operators.validation.DuplicateRidFilter;
import io.routingreplay.operators.validation.LimitOptions;
import io.routingreplay.operators.validation.PromptValidationFunction;
import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.operators.validation.ValidatedPrompt;
import io.routingreplay.operators.validation.ValidationLimits;
import io.routingreplay.operators.window.MicroBatchWindowOperator;
import io.routingreplay.operators.window.ShardKey;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptBatch;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.nio.file.Files;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import java.nio.file.Path;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The job's operators, independent of where prompts come from and results go (Kafka in {@link RoutingReplayJob},
 * anything in tests): raw prompts → validation → dedup by rid → keyed micro-batch window → inference →
 * keyBy(rid) → assembler → size check. Dead letters of every stage are merged into one stream. Every record either
 * output carries fits in one Kafka record of {@code kafka.max-record-bytes}: a result that would not is a dead letter
 * ({@link OversizedResultFilter}), a dead letter that would not is cut to fit ({@link DeadLetterFitter}).
 */
public final class RoutingReplayPipeline {

    /** What the pipeline produces. {@code tokenEvents} is the per-step stream (for the optional token topic). */
    public record Outputs(DataStream<RoutingResult> results, DataStream<DeadLetter> deadLetters,
                          DataStream<TokenRoutingEvent> tokenEvents) {
    }

    private RoutingReplayPipeline() {
    }

    public static Outputs wire(DataStream<RawPrompt> prompts, ReadableConfig conf) {
        return wire(prompts, conf, EngineFactory.FROM_SETTINGS);
    }

    /** @param engines how each inference subtask makes its engine (tests pass engines that fail) */
    public static Outputs wire(DataStream<RawPrompt> prompts, ReadableConfig conf, EngineFactory engines) {
        Path modelDir = modelDir(conf);
        String modelName = modelName(conf);
        ValidationLimits limits = ValidationLimits.from(conf);
        int inferenceParallelism = conf.get(JobOptions.INFERENCE_PARALLELISM);

        SingleOutputStreamOperator<ValidatedPrompt> validated = prompts
                .process(new PromptValidationFunction(modelDir, modelName, limits))
                .name("validate").uid("validate")
                .returns(TypeInformation.of(ValidatedPrompt.class));
        SingleOutputStreamOperator<InferenceRequest> unique = validated
                .keyBy(ValidatedPrompt::rid, Types.STRING)
                .process(new DuplicateRidFilter(limits))
                .name("dedup-rid").uid("dedup-rid")
                .returns(new AvroTypeInfo<>(InferenceRequest.class));

        int shards = inferenceParallelism * conf.get(JobOptions.WINDOW_SHARDS);
        SingleOutputStreamOperator<PromptBatch> batches = unique
                .keyBy(new ShardKey(shards), Types.STRING)
                .transform("micro-batch", new AvroTypeInfo<>(PromptBatch.class),
                        new MicroBatchWindowOperator(conf.get(JobOptions.WINDOW_MAX_BATCH),
                                conf.get(JobOptions.WINDOW_MAX_WAIT).toMillis()))
                .uid("micro-batch")
                .setParallelism(inferenceParallelism);

        EngineSettings engine = engineSettings(conf, modelDir, limits.maxNewTokens());
        SingleOutputStreamOperator<TokenRoutingEvent> events = batches
                .forward()
                .transform("inference", new AvroTypeInfo<>(TokenRoutingEvent.class),
                        new InferenceOperatorFactory(engine, conf.get(LimitOptions.MAX_IN_FLIGHT_PER_SUBTASK),
                                conf.get(JobOptions.MAX_PENDING_STEPS), conf.get(JobOptions.MAX_ATTEMPTS), engines))
                .uid("inference")
                .setParallelism(inferenceParallelism);

        TimeoutClock clock = TimeoutClock.parse(conf.get(JobOptions.ASSEMBLER_TIMEOUT_CLOCK));
        DataStream<TokenRoutingEvent> timed = events;
        if (clock == TimeoutClock.EVENT) {
            // Event time = when the inference operator emitted the event; the source has no watermarks of its own.
            timed = events.assignTimestampsAndWatermarks(WatermarkStrategy
                    .<TokenRoutingEvent>forBoundedOutOfOrderness(Duration.ofSeconds(1))
                    .withTimestampAssigner((e, ts) -> e.getEmittedAt()))
                    .name("event-time").uid("event-time");
        }
        SingleOutputStreamOperator<RoutingResult> assembled = timed
                .keyBy(TokenRoutingEvent::getRid, Types.STRING)
                .process(new RoutingAssembler(conf.get(JobOptions.ASSEMBLER_TIMEOUT).toMillis(), clock))
                .name("assemble").uid("assemble")
                .returns(new AvroTypeInfo<>(RoutingResult.class));
        SingleOutputStreamOperator<RoutingResult> results = assembled
                .process(new OversizedResultFilter(limits.maxRecordBytes()))
                .name("result-size").uid("result-size")
                .returns(new AvroTypeInfo<>(RoutingResult.class));
        double auditFraction = conf.get(JobOptions.AUDIT_FRACTION);
        if (auditFraction > 0) {
            results.sinkTo(new ResultAuditSink(engine, engines, auditFraction(auditFraction)))
                    .name("audit").uid("audit").setParallelism(inferenceParallelism);
        }

        DataStream<DeadLetter> deadLetters = validated.getSideOutput(DeadLetters.TAG)
                .union(unique.getSideOutput(DeadLetters.TAG), events.getSideOutput(DeadLetters.TAG),
                        assembled.getSideOutput(DeadLetters.TAG), results.getSideOutput(DeadLetters.TAG))
                .map(new DeadLetterFitter(limits.maxRecordBytes())).name("dead-letter-size").uid("dead-letter-size")
                .map(new DeadLetterCounter()).name("count-dead-letters").uid("count-dead-letters");
        return new Outputs(results, deadLetters, events);
    }

    /**
     * The audit replays results with their routing forced on the job's backend (bit for bit is a same-backend
     * promise); both backends, cpu and cuda, take forced routing and scoring.
     */
    static double auditFraction(double fraction) {
        if (!(fraction <= 1)) {
            throw new IllegalArgumentException(JobOptions.AUDIT_FRACTION.key() + " must be in [0, 1], got " + fraction);
        }
        return fraction;
    }

    /** The engine every inference subtask builds, checked here: a bad setting fails at submission, naming the
     *  setting to fix, not on the task managers. */
    static EngineSettings engineSettings(ReadableConfig conf, Path modelDir, int maxNewTokens) {
        EngineSettings engine = new EngineSettings(modelDir.toString(), conf.get(JobOptions.BACKEND),
                conf.get(JobOptions.MAX_NUM_SEQS), conf.get(JobOptions.MAX_BATCH_TOKENS),
                conf.get(JobOptions.KV_CACHE_TOKENS), kvCacheDtype(conf), gemmInputs(conf), maxNewTokens,
                conf.get(JobOptions.ENGINE_THREADS), conf.get(JobOptions.PREFIX_CACHE), admission(conf),
                conf.get(JobOptions.TENSOR_PARALLEL), conf.get(JobOptions.EXPERT_PARALLEL), swapSpaceBytes(conf));
        engine.toEngineConfig();
        checkParallelLayout(conf, modelDir);
        return engine;
    }

    /** A split the model's shape refuses (heads, K/V heads, experts) fails at submission, naming the options. */
    private static void checkParallelLayout(ReadableConfig conf, Path modelDir) {
        int tp = conf.get(JobOptions.TENSOR_PARALLEL), ep = conf.get(JobOptions.EXPERT_PARALLEL);
        if (tp == 1) {
            return;
        }
        try {
            new ParallelLayout(tp, ep).check(ModelConfigLoader.load(modelDir));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(JobOptions.TENSOR_PARALLEL.key() + " / "
                    + JobOptions.EXPERT_PARALLEL.key() + ": " + e.getMessage(), e);
        }
    }

    static Path modelDir(ReadableConfig conf) {
        String dir = conf.getOptional(JobOptions.MODEL_DIR).orElseThrow(() -> new IllegalArgumentException(
                JobOptions.MODEL_DIR.key() + " is required: the model checkpoint folder"));
        Path p = Path.of(dir).toAbsolutePath();
        if (!Files.isRegularFile(p.resolve("config.json"))) {
            throw new IllegalArgumentException(JobOptions.MODEL_DIR.key() + " = " + dir
                    + " is not a model folder (no config.json there)");
        }
        return p;
    }

    static String modelName(ReadableConfig conf) {
        return conf.getOptional(JobOptions.MODEL_NAME).orElse(modelDir(conf).getFileName().toString());
    }

    private static KvCacheDtype kvCacheDtype(ReadableConfig conf) {
        try {
            return KvCacheDtype.parse(conf.get(JobOptions.KV_CACHE_DTYPE));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(JobOptions.KV_CACHE_DTYPE.key() + ": " + e.getMessage(), e);
        }
    }

    private static GemmInputs gemmInputs(ReadableConfig conf) {
        try {
            return GemmInputs.parse(conf.get(JobOptions.GEMM_INPUTS));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(JobOptions.GEMM_INPUTS.key() + ": " + e.getMessage(), e);
        }
    }

    /** engine.swap-space-gib in bytes; null when unset (the backend's default). */
    static Long swapSpaceBytes(ReadableConfig conf) {
        Double gib = conf.getOptional(JobOptions.SWAP_SPACE_GIB).orElse(null);
        if (gib == null) {
            return null;
        }
        if (!(gib >= 0) || gib > (1L << 33)) {
            throw new IllegalArgumentException(JobOptions.SWAP_SPACE_GIB.key() + " must be a number of GiB >= 0, got "
                    + gib);
        }
        return (long) (gib * (1L << 30));
    }

    private static AdmissionPolicy admission(ReadableConfig conf) {
        try {
            return AdmissionPolicy.parse(conf.get(JobOptions.ADMISSION));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(JobOptions.ADMISSION.key() + ": " + e.getMessage(), e);
        }
    }
}
