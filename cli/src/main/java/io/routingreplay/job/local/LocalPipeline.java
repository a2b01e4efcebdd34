package io.routingreplay.job.local;

import io.routingreplay.job.JobOptions;
import io.routingreplay.job.RoutingReplayJob;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * The whole streaming path on one machine: an {@link EmbeddedKafka}, the job on a Flink MiniCluster reading its
 * prompts topic, a producer for requests and a read_committed consumer for answers. Local mode and the end-to-end
 * tests both run on it.
 */
public final class LocalPipeline implements AutoCloseable {

    /** One request as published: its position in the input, Kafka offset and rid (null when unreadable). */
    public record Sent(int index, long offset, String rid) {
    }

    /** The answer to one published request: exactly one of result / deadLetter is set. */
    public record Answer(Sent request, RoutingResult result, DeadLetter deadLetter) {
    }

    private final EmbeddedKafka kafka;
    private final Configuration conf;
    private final JobClient job;
    private final KafkaProducer<byte[], byte[]> producer;
    private final List<Sent> sent = new ArrayList<>();

    private LocalPipeline(EmbeddedKafka kafka, Configuration conf, JobClient job) {
        this.kafka = kafka;
        this.conf = conf;
        this.job = job;
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.put("linger.ms", "2");
        p.put("max.request.size", String.valueOf(EmbeddedKafka.MAX_RECORD_BYTES));
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        this.producer = new KafkaProducer<>(p);
    }

    /**
     * Starts Kafka, creates the job's topics and submits the job. {@code jobConf} needs at least
     * {@link JobOptions#MODEL_DIR}; the bootstrap servers are filled in.
     */
    public static LocalPipeline start(Configuration jobConf) throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start();
        try {
            Configuration conf = new Configuration(jobConf);
            conf.set(JobOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            kafka.createTopics(1, conf.get(JobOptions.PROMPTS_TOPIC));
            // The job's topics take every record it may write (kafka.max-record-bytes), even above the broker default.
            Map<String, String> output = Map.of("max.message.bytes", String.valueOf(
                    Math.max(EmbeddedKafka.MAX_RECORD_BYTES, conf.get(JobOptions.MAX_RECORD_BYTES))));
            kafka.createTopics(2, output, conf.get(JobOptions.RESULTS_TOPIC), conf.get(JobOptions.DEAD_LETTER_TOPIC));
            if (!conf.get(JobOptions.TOKEN_STREAM_TOPIC).isEmpty()) {
                kafka.createTopics(2, output, conf.get(JobOptions.TOKEN_STREAM_TOPIC));
            }
            Configuration cluster = new Configuration();
            int slots = Math.max(1, conf.get(JobOptions.INFERENCE_PARALLELISM));
            cluster.setString("taskmanager.numberOfTaskSlots", String.valueOf(slots));
            cluster.setString("rest.bind-port", "0");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, cluster);
            RoutingReplayJob.onKafka(conf, false).addTo(env, conf);
            JobClient job = env.executeAsync("routing-replay-local");
            return new LocalPipeline(kafka, conf, job);
        } catch (Exception e) {
            kafka.close();
            throw e;
        }
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public Configuration conf() {
        return conf;
    }

    /** Publishes one request record (JSON or Avro bytes) keyed by {@code rid} (may be null). */
    public Sent publish(byte[] value, String rid) throws Exception {
        RecordMetadata m = producer.send(new ProducerRecord<>(conf.get(JobOptions.PROMPTS_TOPIC), null,
                System.currentTimeMillis(), rid == null ? null : rid.getBytes(StandardCharsets.UTF_8), value)).get();
        Sent s = new Sent(sent.size(), m.offset(), rid);
        sent.add(s);
        return s;
    }

    /** Publishes all values without waiting for each acknowledgement. */
    public List<Sent> publishAll(List<byte[]> values, List<String> rids) throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> acks = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            String rid = rids.get(i);
            acks.add(producer.send(new ProducerRecord<>(conf.get(JobOptions.PROMPTS_TOPIC), null,
                    System.currentTimeMillis(), rid == null ? null : rid.getBytes(StandardCharsets.UTF_8),
                    values.get(i))));
        }
        List<Sent> out = new ArrayList<>(values.size());
        for (int i = 0; i < acks.size(); i++) {
            Sent s = new Sent(sent.size(), acks.get(i).get().offset(), rids.get(i));
            sent.add(s);
            out.add(s);
        }
        return out;
    }

    /**
     * Reads results and dead letters (read_committed) until every published request is answered or {@code timeout}
     * passes; {@code onAnswer} sees each as it arrives. A rid answered twice would be reported twice (the tests
     * check it never happens). Returns the answers in arrival order.
     */
    public List<Answer> awaitAnswers(Duration timeout, Consumer<Answer> onAnswer) {
        Map<String, Sent> byRid = new HashMap<>();
        Map<Long, Sent> byOffset = new HashMap<>();
        for (Sent s : sent) {
            byOffset.put(s.offset(), s);
            if (s.rid() != null) {
                byRid.putIfAbsent(s.rid(), s);
            }
        }
        java.util.Set<Integer> open = new java.util.HashSet<>();
        for (Sent s : sent) {
            open.add(s.index());
        }
        List<Answer> answers = new ArrayList<>();
        SingleObjectCodec<RoutingResult> results = SingleObjectCodec.of(RoutingResult.class);
        SingleObjectCodec<DeadLetter> deadLetters = SingleObjectCodec.of(DeadLetter.class);
        String resultsTopic = conf.get(JobOptions.RESULTS_TOPIC);
        long start = System.nanoTime();
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer()) {
            while (!open.isEmpty() && System.nanoTime() - start < timeout.toNanos()) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
                    Answer a;
                    try {
                        if (rec.topic().equals(resultsTopic)) {
                            RoutingResult r = results.decode(rec.value());
                            a = new Answer(byRid.get(r.getRid()), r, null);
                        } else {
                            DeadLetter d = deadLetters.decode(rec.value());
                            Sent s = d.getSourceOffset() >= 0 ? byOffset.get(d.getSourceOffset())
                                    : d.getRid() == null ? null : byRid.get(d.getRid());
                            a = new Answer(s, null, d);
                        }
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException("undecodable record on " + rec.topic() + ": " + e.getMessage());
                    }
                    if (a.request() != null) {
                        open.remove(a.request().index());
                    }
                    answers.add(a);
                    onAnswer.accept(a);
                }
            }
        }
        return answers;
    }

    /**
     * Prints (hands to {@code onAnswer}) every result and dead letter committed from now on, for requests anyone
     * publishes, until the thread is interrupted. {@link Answer#request()} is null: they were not sent from here.
     */
    public void follow(Consumer<Answer> onAnswer) throws java.io.IOException {
        SingleObjectCodec<RoutingResult> results = SingleObjectCodec.of(RoutingResult.class);
        SingleObjectCodec<DeadLetter> deadLetters = SingleObjectCodec.of(DeadLetter.class);
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer()) {
            consumer.seekToEnd(consumer.assignment());
            while (!Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    onAnswer.accept(rec.topic().equals(conf.get(JobOptions.RESULTS_TOPIC))
                            ? new Answer(null, results.decode(rec.value()), null)
                            : new Answer(null, null, deadLetters.decode(rec.value())));
                }
            }
        }
    }

    /**
     * Every committed result and dead letter so far, read from the beginning until none arrived for {@code quiet}:
     * for checks that nothing was answered twice.
     */
    public List<Answer> drainAll(Duration quiet) throws java.io.IOException {
        SingleObjectCodec<RoutingResult> results = SingleObjectCodec.of(RoutingResult.class);
        SingleObjectCodec<DeadLetter> deadLetters = SingleObjectCodec.of(DeadLetter.class);
        List<Answer> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer()) {
            long last = System.nanoTime();
            while (System.nanoTime() - last < quiet.toNanos()) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
                    last = System.nanoTime();
                    out.add(rec.topic().equals(conf.get(JobOptions.RESULTS_TOPIC))
                            ? new Answer(null, results.decode(rec.value()), null)
                            : new Answer(null, null, deadLetters.decode(rec.value())));
                }
            }
        }
        return out;
    }

    private KafkaConsumer<byte[], byte[]> newConsumer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        List<TopicPartition> parts = new ArrayList<>();
        for (String topic : List.of(conf.get(JobOptions.RESULTS_TOPIC), conf.get(JobOptions.DEAD_LETTER_TOPIC))) {
            for (PartitionInfo pi : c.partitionsFor(topic)) {
                parts.add(new TopicPartition(topic, pi.partition()));
            }
        }
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    /** Cancels the job (its MiniCluster goes with it) and stops Kafka. */
    @Override
    public void close() throws Exception {
        try {
            producer.close(Duration.ofSeconds(5));
            job.cancel().get();
        } catch (Exception e) {
            // already finished or failed: nothing left to cancel
        } finally {
            kafka.close();
        }
    }
}
