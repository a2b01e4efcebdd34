package io.routingreplay.job;

import io.routingreplay.job.kafka.AvroRecordSerializer;
import io.routingreplay.job.kafka.RawPromptDeserializer;
import io.routingreplay.job.kafka.TopicRecordLimits;
import io.routingreplay.job.security.KafkaClientSecurity;
import io.routingreplay.operators.inference.EngineFactory;
import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The streaming job: a prompts source → {@link RoutingReplayPipeline} → sinks for results, dead letters and
 * (optionally) the per-token stream. The source and sinks are parameters, so tests plug in their own;
 * {@link #onKafka} gives the production ones: {@code KafkaSource} (Avro or JSON bytes, read_committed) and
 * exactly-once {@code KafkaSink}s keyed by rid. Run it on a cluster with
 * {@code --kafka.bootstrap-servers B --model.dir D [--key value ...]} (any {@link JobOptions} key).
 */
public final class RoutingReplayJob {

    private final Source<RawPrompt, ?, ?> prompts;
    private final Sink<RoutingResult> results;
    private final Sink<DeadLetter> deadLetters;
    private final Sink<TokenRoutingEvent> tokenStream;
    private final EngineFactory engines;

    /** @param tokenStream null: no per-token stream */
    public RoutingReplayJob(Source<RawPrompt, ?, ?> prompts, Sink<RoutingResult> results,
                            Sink<DeadLetter> deadLetters, Sink<TokenRoutingEvent> tokenStream) {
        this(prompts, results, deadLetters, tokenStream, EngineFactory.FROM_SETTINGS);
    }

    private RoutingReplayJob(Source<RawPrompt, ?, ?> prompts, Sink<RoutingResult> results,
                             Sink<DeadLetter> deadLetters, Sink<TokenRoutingEvent> tokenStream,
                             EngineFactory engines) {
        this.prompts = prompts;
        this.results = results;
        this.deadLetters = deadLetters;
        this.tokenStream = tokenStream;
        this.engines = engines;
    }

    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(fromArgs(args));
        // The cluster's configuration (a FlinkDeployment's flinkConfiguration) with the --key value arguments on top.
        Configuration conf = Configuration.fromMap(env.getConfiguration().toMap());
        checkOutputTopics(conf);
        onKafka(conf, false).addTo(env, conf);
        env.execute("routing-replay");
    }

    /**
     * Refuses to submit when the results topic exists and cannot take a record of {@code kafka.max-record-bytes}:
     * results are admitted up to that size. (Dead letters are cut to {@code validation.dead-letter-raw-bytes} of
     * raw input, far below it, so smaller dead-letter and token-stream topics are fine.)
     */
    public static void checkOutputTopics(ReadableConfig conf) {
        Properties admin = KafkaClientSecurity.forJob(conf).applyTo(new Properties());
        admin.setProperty("bootstrap.servers", conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).orElseThrow(() ->
                new IllegalArgumentException(JobOptions.BOOTSTRAP_SERVERS.key() + " is required")));
        TopicRecordLimits.check(admin, List.of(conf.get(JobOptions.RESULTS_TOPIC)),
                conf.get(JobOptions.MAX_RECORD_BYTES), 10_000);
    }

    /** {@code --key value} pairs (any {@link JobOptions} key) as a configuration. */
    static Configuration fromArgs(String[] args) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got '" + args[i] + "'");
            }
            map.put(args[i].substring(2), args[++i]);
        }
        return Configuration.fromMap(map);
    }

    /** The same job with {@code sink} as its per-token stream (tests attach probes there). */
    public RoutingReplayJob withTokenStream(Sink<TokenRoutingEvent> sink) {
        return new RoutingReplayJob(prompts, results, deadLetters, sink, engines);
    }

    /** The same job with its inference subtasks' engines made by {@code factory} (tests plug in failing ones). */
    public RoutingReplayJob withEngines(EngineFactory factory) {
        return new RoutingReplayJob(prompts, results, deadLetters, tokenStream, factory);
    }

    /** Adds the job's operators to {@code env} and enables checkpointing (the sinks commit on checkpoints). */
    public void addTo(StreamExecutionEnvironment env, ReadableConfig conf) {
        env.enableCheckpointing(conf.get(JobOptions.CHECKPOINT_INTERVAL).toMillis());
        DataStream<RawPrompt> in = env.fromSource(prompts, WatermarkStrategy.noWatermarks(), "prompts")
                .uid("prompts-source");
        RoutingReplayPipeline.Outputs out = RoutingReplayPipeline.wire(in, conf, engines);
        out.results().sinkTo(results).name("results-sink").uid("results-sink");
        out.deadLetters().sinkTo(deadLetters).name("dead-letter-sink").uid("dead-letter-sink");
        if (tokenStream != null) {
            out.tokenEvents().sinkTo(tokenStream).name("token-stream-sink").uid("token-stream-sink");
        }
    }

    /**
     * The job on Kafka, as {@link JobOptions} configure it. {@code bounded}: read the prompts present at start and
     * finish (batch replays, tests); otherwise read forever.
     */
    public static RoutingReplayJob onKafka(ReadableConfig conf, boolean bounded) {
        String bootstrap = conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).orElseThrow(() ->
                new IllegalArgumentException(JobOptions.BOOTSTRAP_SERVERS.key() + " is required"));
        KafkaClientSecurity security = KafkaClientSecurity.forJob(conf);

        Properties consumer = security.applyTo(new Properties());
        consumer.setProperty("isolation.level", "read_committed");
        KafkaSourceBuilder<RawPrompt> source = KafkaSource.<RawPrompt>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(conf.get(JobOptions.PROMPTS_TOPIC))
                .setGroupId(conf.get(JobOptions.GROUP_ID))
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawPromptDeserializer())
                .setProperties(consumer);
        if (bounded) {
            source.setBounded(OffsetsInitializer.latest());
        }
        String tokenTopic = conf.get(JobOptions.TOKEN_STREAM_TOPIC);
        return new RoutingReplayJob(source.build(),
                kafkaSink(conf, security, bootstrap, "results", new AvroRecordSerializer<>(
                        conf.get(JobOptions.RESULTS_TOPIC), RoutingResult.class, RoutingResult::getRid)),
                kafkaSink(conf, security, bootstrap, "dead-letters", new AvroRecordSerializer<>(
                        conf.get(JobOptions.DEAD_LETTER_TOPIC), DeadLetter.class, DeadLetter::getRid)),
                tokenTopic.isEmpty() ? null : kafkaSink(conf, security, bootstrap, "token-stream",
                        new AvroRecordSerializer<>(tokenTopic, TokenRoutingEvent.class, TokenRoutingEvent::getRid)));
    }

    private static <T> KafkaSink<T> kafkaSink(ReadableConfig conf, KafkaClientSecurity security, String bootstrap,
                                              String name, KafkaRecordSerializationSchema<T> serializer) {
        Properties producer = security.applyTo(new Properties());
        // Flink's default (1 h) is above the brokers' default transaction.max.timeout.ms (15 min): producers would
        // be refused and the job would restart forever.
        producer.setProperty("transaction.timeout.ms",
                String.valueOf(conf.get(JobOptions.TRANSACTION_TIMEOUT).toMillis()));
        int maxRecordBytes = conf.get(JobOptions.MAX_RECORD_BYTES);
        producer.setProperty("max.request.size", String.valueOf(maxRecordBytes));
        // The producer also refuses a record larger than its whole buffer (32 MiB by default).
        producer.setProperty("buffer.memory", String.valueOf(Math.max(32L << 20, 2L * maxRecordBytes)));
        return KafkaSink.<T>builder()
                .setBootstrapServers(bootstrap)
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(conf.get(JobOptions.TRANSACTIONAL_ID_PREFIX) + "-" + name)
                .setKafkaProducerConfig(producer)
                .build();
    }
}
