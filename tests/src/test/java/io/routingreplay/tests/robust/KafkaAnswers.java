package io.routingreplay.tests.robust;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

/** Publishing requests and reading answers (read_committed, from the beginning) for the robustness tests. */
final class KafkaAnswers {

    /** Everything committed on the results and dead-letter topics. */
    record Answers(List<RoutingResult> results, List<DeadLetter> deadLetters) {
    }

    static void publish(String bootstrap, String topic, List<RobustWorkload.Request> requests) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.put("linger.ms", "5");
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            List<Future<?>> acks = new ArrayList<>();
            for (RobustWorkload.Request r : requests) {
                acks.add(producer.send(new ProducerRecord<>(topic, r.rid().getBytes(StandardCharsets.UTF_8), r.json())));
            }
            for (Future<?> f : acks) {
                f.get();
            }
        }
    }

    /**
     * Reads until {@code expected} answers (results + dead letters) are committed or {@code timeout} passes, then
     * keeps reading for {@code settle} to catch any duplicate that would come after.
     */
    static Answers read(String bootstrap, String resultsTopic, String deadLetterTopic, int expected,
                        Duration timeout, Duration settle) throws IOException {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("isolation.level", "read_committed");
        p.put("enable.auto.commit", "false");
        p.put("max.partition.fetch.bytes", String.valueOf(8 << 20));
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        SingleObjectCodec<RoutingResult> results = SingleObjectCodec.of(RoutingResult.class);
        SingleObjectCodec<DeadLetter> deadLetters = SingleObjectCodec.of(DeadLetter.class);
        List<RoutingResult> rs = new ArrayList<>();
        List<DeadLetter> ds = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : List.of(resultsTopic, deadLetterTopic)) {
                for (PartitionInfo pi : c.partitionsFor(topic)) {
                    parts.add(new TopicPartition(topic, pi.partition()));
                }
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + timeout.toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(200))) {
                    if (rec.topic().equals(resultsTopic)) {
                        rs.add(results.decode(rec.value()));
                    } else {
                        ds.add(deadLetters.decode(rec.value()));
                    }
                }
                if (settleUntil == Long.MAX_VALUE && rs.size() + ds.size() >= expected) {
                    settleUntil = System.nanoTime() + settle.toNanos();
                }
            }
        }
        return new Answers(rs, ds);
    }

    private KafkaAnswers() {
    }
}
