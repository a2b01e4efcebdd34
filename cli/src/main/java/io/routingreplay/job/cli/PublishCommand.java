package io.routingreplay.job.cli;

import io.routingreplay.job.security.KafkaClientSecurity;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * {@code routing-replay publish --bootstrap B --topic T requests.jsonl}: one record per request line, keyed by rid,
 * with an idempotent producer. Lines are sent as they are (JSON names its fields, so it needs no schema fingerprint;
 * Avro producers send single-object PromptEvents, see docs/streaming.md); the job validates them and dead-letters
 * bad ones.
 * Kafka TLS/SASL settings come from {@link KafkaClientSecurity} ({@code --kafka-config FILE}, environment).
 */
final class PublishCommand {

    private PublishCommand() {
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(argv, 0, Set.of("bootstrap", "topic", "kafka-config"), Set.of());
        if (a.positional.size() != 1) {
            throw new Args.UsageException("give exactly one requests.jsonl file");
        }
        RequestLines lines = RequestLines.read(Path.of(a.positional.get(0)));
        Properties p = security(a).applyTo(new Properties());
        p.put("bootstrap.servers", a.required("bootstrap"));
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        String topic = a.required("topic");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < lines.values.size(); i++) {
                String rid = lines.rids.get(i);
                acks.add(producer.send(new ProducerRecord<>(topic, null, System.currentTimeMillis(),
                        rid == null ? null : rid.getBytes(StandardCharsets.UTF_8), lines.values.get(i))));
            }
            int failed = 0;
            for (int i = 0; i < acks.size(); i++) {
                try {
                    acks.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    // One refused record (e.g. over the broker's message.max.bytes) must not stop the others.
                    failed++;
                    err.println("publish: line " + lines.lineNumbers.get(i) + " was not published: "
                            + e.getCause().getMessage());
                }
            }
            out.println("published " + (lines.values.size() - failed) + " request(s) to " + topic
                    + (failed > 0 ? "; " + failed + " refused by Kafka (see above)" : ""));
            return failed > 0 ? 1 : 0;
        }
    }

    static KafkaClientSecurity security(Args a) {
        KafkaClientSecurity s = KafkaClientSecurity.fromEnv(System.getenv());
        if (a.options.containsKey("kafka-config")) {
            s = s.overriddenBy(KafkaClientSecurity.fromPropertiesFile(Path.of(a.options.get("kafka-config"))));
        }
        return s;
    }
}
