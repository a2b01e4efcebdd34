package io.routingreplay.job;

import io.routingreplay.operators.validation.LimitOptions;
import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every setting of the streaming job. Request caps and validation settings are in
 * {@link io.routingreplay.operators.validation.LimitOptions}; Kafka TLS/SASL in
 * {@link io.routingreplay.job.security.KafkaSecurityOptions}.
 */
public final class JobOptions {

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("kafka.bootstrap-servers")
            .stringType().noDefaultValue()
            .withDescription("Kafka bootstrap servers, host:port[,host:port].");

    public static final ConfigOption<String> PROMPTS_TOPIC = ConfigOptions.key("topics.prompts")
            .stringType().defaultValue("prompts")
            .withDescription("Topic the job reads requests from (Avro PromptEvent or one JSON request per record).");

    public static final ConfigOption<String> RESULTS_TOPIC = ConfigOptions.key("topics.results")
            .stringType().defaultValue("results")
            .withDescription("Topic of complete routing records (Avro RoutingResult, key = rid), written exactly once.");

    public static final ConfigOption<String> DEAD_LETTER_TOPIC = ConfigOptions.key("topics.dead-letters")
            .stringType().defaultValue("dead-letters")
            .withDescription("Topic of requests the job could not answer (Avro DeadLetter with a reason).");

    public static final ConfigOption<String> TOKEN_STREAM_TOPIC = ConfigOptions.key("topics.token-stream")
            .stringType().defaultValue("")
            .withDescription("Optional topic of per-step TokenRoutingEvents (partial routing as it is produced); "
                    + "empty disables it.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("kafka.group-id")
            .stringType().defaultValue("routing-replay")
            .withDescription("Consumer group of the prompts source (offsets are committed on checkpoints).");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions
            .key("kafka.transactional-id-prefix").stringType().defaultValue("routing-replay")
            .withDescription("Prefix of the exactly-once sinks' transactional ids; unique per job on one cluster.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = ConfigOptions.key("kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("transaction.timeout.ms of the sinks' producers. Must be at most the brokers' "
                    + "transaction.max.timeout.ms (15 min by default) and longer than a checkpoint interval.");

    /** {@code kafka.max-record-bytes}: defined in {@link LimitOptions} because validation checks results against it. */
    public static final ConfigOption<Integer> MAX_RECORD_BYTES = LimitOptions.MAX_RECORD_BYTES;

    public static final ConfigOption<Double> AUDIT_FRACTION = ConfigOptions.key("audit.fraction")
            .doubleType().defaultValue(0.0)
            .withDescription("Share of results (0..1, chosen by rid hash) the audit stage replays with their own "
                    + "routing forced on an engine of its own, checking logprobs bit for bit and every routing cell "
                    + "(routing-replay verify's check); counts audited_results, audit_mismatches, audit_skipped. "
                    + "0 (default) leaves the stage out. CPU backend only for now.");

    public static final ConfigOption<String> MODEL_DIR = ConfigOptions.key("model.dir")
            .stringType().noDefaultValue()
            .withDescription("Hugging Face checkpoint folder (config.json + safetensors [+ tokenizer.json]).");

    public static final ConfigOption<String> MODEL_NAME = ConfigOptions.key("model.name")
            .stringType().noDefaultValue()
            .withDescription("Name of the served model; requests naming another model are dead-lettered. Defaults "
                    + "to the model folder's name.");

    public static final ConfigOption<String> BACKEND = ConfigOptions.key("engine.backend")
            .stringType().defaultValue("cpu")
            .withDescription("'cpu' or 'cuda'.");

    public static final ConfigOption<Integer> MAX_NUM_SEQS = ConfigOptions.key("engine.max-num-seqs")
            .intType().defaultValue(64)
            .withDescription("Most sequences one engine step runs (continuous batching width).");

    public static final ConfigOption<Integer> MAX_BATCH_TOKENS = ConfigOptions.key("engine.max-batch-tokens")
            .intType().defaultValue(2048)
            .withDescription("Most tokens one engine step runs; longer prompts are prefilled in chunks.");

    public static final ConfigOption<Integer> KV_CACHE_TOKENS = ConfigOptions.key("engine.kv-cache-tokens")
            .intType().defaultValue(0)
            .withDescription("K/V cache capacity in positions per engine (0: sized by the backend).");

    public static final ConfigOption<String> KV_CACHE_DTYPE = ConfigOptions.key("engine.kv-cache-dtype")
            .stringType().defaultValue("fp32")
            .withDescription("K/V cache element type: 'fp32' (exact, what conformance checks), 'bf16' (half the "
                    + "bytes, twice the positions) or 'fp8' (e4m3, a quarter of the bytes).");

    public static final ConfigOption<String> GEMM_INPUTS = ConfigOptions.key("engine.gemm-inputs")
            .stringType().defaultValue("split")
            .withDescription("What the matrix products multiply the bf16 weights by: 'split' (the fp32 activation as "
                    + "bf16 hi + lo, close to fp32: what conformance checks) or 'bf16' (rounded to bf16 as a bf16 "
                    + "engine does: half the tensor-core work; tokens and routing may differ from 'split').");

    public static final ConfigOption<Boolean> PREFIX_CACHE = ConfigOptions.key("engine.prefix-cache")
            .booleanType().defaultValue(true)
            .withDescription("Share the K/V and routing of equal prompt prefixes between requests (GRPO samples, "
                    + "multi-turn conversations) and keep a preempted request's blocks for its return; records are "
                    + "bit for bit those computed without it. The cache is not state: a restored job rebuilds it.");

    public static final ConfigOption<Double> SWAP_SPACE_GIB = ConfigOptions.key("engine.swap-space-gib")
            .doubleType().noDefaultValue()
            .withDescription("Host memory (GiB) a preempted request's K/V blocks are copied to and restored from when "
                    + "it resumes, instead of being computed again (vLLM's swap_space). Unset: 16 on cuda (pinned "
                    + "as used), an eighth of the heap (at most 16) on cpu; 0: none, preempted work is recomputed. "
                    + "Records are bit for bit the same either way.");

    public static final ConfigOption<String> ADMISSION = ConfigOptions.key("engine.admission")
            .stringType().defaultValue("eager")
            .withDescription("When a waiting request starts: 'eager' as soon as its prompt fits (most at once; the "
                    + "newest is preempted when the K/V cache is full), 'reserve' only when its prompt + "
                    + "max_new_tokens fit beside what the running requests may still need (never preempts).");

    public static final ConfigOption<Integer> TENSOR_PARALLEL = ConfigOptions.key("engine.tensor-parallel")
            .intType().defaultValue(1)
            .withDescription("Ranks (GPUs of one TaskManager) each inference subtask's model is split over: attention "
                    + "heads, dense and shared MLPs and the vocabulary divided among them. The TaskManager must have "
                    + "that many GPUs (k8s/overlays/gpu-multi). Today only the CPU backend runs it, as in-process "
                    + "ranks (the sharded reference, docs/multi-gpu.md); 1 = unsharded.");

    public static final ConfigOption<Integer> EXPERT_PARALLEL = ConfigOptions.key("engine.expert-parallel")
            .intType().defaultValue(1)
            .withDescription("Groups of whole routed experts (by expert id) over the engine.tensor-parallel ranks; "
                    + "must divide it; the ranks of a group split each expert's width. Routing is recorded with the "
                    + "checkpoint's expert ids whatever the split.");

    public static final ConfigOption<Integer> ENGINE_THREADS = ConfigOptions.key("engine.threads")
            .intType().defaultValue(Runtime.getRuntime().availableProcessors())
            .withDescription("CPU backend worker threads per engine.");

    public static final ConfigOption<Integer> INFERENCE_PARALLELISM = ConfigOptions.key("inference.parallelism")
            .intType().defaultValue(1)
            .withDescription("Inference subtasks (one engine, one GPU each).");

    public static final ConfigOption<Integer> MAX_PENDING_STEPS = ConfigOptions.key("inference.max-pending-steps")
            .intType().defaultValue(8)
            .withDescription("Engine steps computed but not yet emitted before the engine waits for the task.");

    public static final ConfigOption<Integer> MAX_ATTEMPTS = ConfigOptions.key("inference.max-attempts")
            .intType().defaultValue(3)
            .withDescription("Engine failures (a failed step, or an engine that cannot be made) a request may be in "
                    + "before it is dead-lettered with the failure's cause instead of being tried again.");

    public static final ConfigOption<Integer> WINDOW_MAX_BATCH = ConfigOptions.key("window.max-batch-size")
            .intType().defaultValue(32)
            .withDescription("The micro-batch window flushes after this many prompts...");

    public static final ConfigOption<Duration> WINDOW_MAX_WAIT = ConfigOptions.key("window.max-wait")
            .durationType().defaultValue(Duration.ofMillis(20))
            .withDescription("...or this long after the first prompt of the batch, whichever comes first.");

    public static final ConfigOption<Integer> WINDOW_SHARDS = ConfigOptions.key("window.shards-per-subtask")
            .intType().defaultValue(4)
            .withDescription("Window keys per inference subtask (model#shard), so prompts spread over subtasks.");

    public static final ConfigOption<Duration> ASSEMBLER_TIMEOUT = ConfigOptions.key("assembler.timeout")
            .durationType().defaultValue(Duration.ofMinutes(5))
            .withDescription("A request whose events stop coming for this long is dead-lettered as incomplete.");

    public static final ConfigOption<String> ASSEMBLER_TIMEOUT_CLOCK = ConfigOptions.key("assembler.timeout-clock")
            .stringType().defaultValue("processing")
            .withDescription("'processing' (wall clock) or 'event' (timestamps and watermarks of the events).");

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("job.checkpoint-interval")
            .durationType().defaultValue(Duration.ofSeconds(2))
            .withDescription("How often the job checkpoints; the exactly-once sinks commit on each checkpoint, so "
                    + "this bounds the latency results become visible to read_committed consumers.");

    private JobOptions() {
    }
}
