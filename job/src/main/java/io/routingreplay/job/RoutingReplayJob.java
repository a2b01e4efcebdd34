package io.routingreplay.job;

import io.routingreplay.job.kafka.AvroRecordSerializer;
import io.routingreplay.job.kafka.RawPromptDeserializer;
import io.routingreplay.job.security.KafkaClientSecurity;
import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.TokenRoutingEvent;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The streaming job on Kafka: {@code KafkaSource} (prompts, Avro or JSON bytes) → {@link RoutingReplayPipeline} →
 * exactly-once {@code KafkaSink}s for results, dead letters and (optionally) the per-token stream, all keyed by rid.
 * Run it on a cluster with {@code --kafka.bootstrap-servers B --model.dir D [--key value ...]} (any
 * {@link JobOptions} key).
 */
public final class RoutingReplayJob {

    private RoutingReplayJob() {
    }

    public static void main(String[] args) throws Exception {
        Configuration conf = fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        build(env, conf, false);
        env.execute("routing-replay");
    }

    /** {@code --key value} pairs (any {@link JobOptions} key) as a configuration. */
    static Configuration fromArgs(String[] args) {
        java.util.Map<String, String> map = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got '" + args[i] + "'");
            }
            map.put(args[i].substring(2), args[++i]);
        }
        return Configuration.fromMap(map);
    }

    /**
     * Adds the job to {@code env}. {@code bounded}: read the prompts present at start and finish (tests, batch
     * replays); otherwise read forever.
     */
    public static void build(StreamExecutionEnvironment env, ReadableConfig conf, boolean bounded) {
        String bootstrap = conf.getOptional(JobOptions.BOOTSTRAP_SERVERS).orElseThrow(() ->
                new IllegalArgumentException(JobOptions.BOOTSTRAP_SERVERS.key() + " is required"));
        env.enableCheckpointing(conf.get(JobOptions.CHECKPOINT_INTERVAL).toMillis());
        KafkaClientSecurity security = KafkaClientSecurity.fromFlinkConfig(Configuration.fromMap(conf.toMap()));

        Properties consumer = security.applyTo(new Properties());
        consumer.setProperty("isolation.level", "read_committed");
        var source = KafkaSource.<RawPrompt>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(conf.get(JobOptions.PROMPTS_TOPIC))
                .setGroupId(conf.get(JobOptions.GROUP_ID))
                .setStartingOffsets(OffsetsInitializer.committedOffsets(
                        org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawPromptDeserializer())
                .setProperties(consumer);
        if (bounded) {
            source.setBounded(OffsetsInitializer.latest());
        }
        DataStream<RawPrompt> prompts = env.fromSource(source.build(), WatermarkStrategy.noWatermarks(), "prompts")
                .uid("prompts-source");

        RoutingReplayPipeline.Outputs out = RoutingReplayPipeline.wire(prompts, conf);
        out.results().sinkTo(sink(conf, security, bootstrap, "results",
                new AvroRecordSerializer<>(conf.get(JobOptions.RESULTS_TOPIC), RoutingResult.class,
                        RoutingResult::getRid))).name("results-sink").uid("results-sink");
        out.deadLetters().sinkTo(sink(conf, security, bootstrap, "dead-letters",
                new AvroRecordSerializer<>(conf.get(JobOptions.DEAD_LETTER_TOPIC), DeadLetter.class,
                        DeadLetter::getRid))).name("dead-letter-sink").uid("dead-letter-sink");
        String tokenTopic = conf.get(JobOptions.TOKEN_STREAM_TOPIC);
        if (!tokenTopic.isEmpty()) {
            out.tokenEvents().sinkTo(sink(conf, security, bootstrap, "token-stream",
                    new AvroRecordSerializer<>(tokenTopic, TokenRoutingEvent.class, TokenRoutingEvent::getRid)))
                    .name("token-stream-sink").uid("token-stream-sink");
        }
    }

    private static <T> KafkaSink<T> sink(ReadableConfig conf, KafkaClientSecurity security, String bootstrap,
                                         String name,
                                         org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema<T> ser) {
        Properties producer = security.applyTo(new Properties());
        // Flink's default (1 h) is above the brokers' default transaction.max.timeout.ms (15 min): producers would
        // be refused and the job would restart forever.
        producer.setProperty("transaction.timeout.ms",
                String.valueOf(conf.get(JobOptions.TRANSACTION_TIMEOUT).toMillis()));
        return KafkaSink.<T>builder()
                .setBootstrapServers(bootstrap)
                .setRecordSerializer(ser)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(conf.get(JobOptions.TRANSACTIONAL_ID_PREFIX) + "-" + name)
                .setKafkaProducerConfig(producer)
                .build();
    }
}
