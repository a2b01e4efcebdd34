package io.routingreplay.job.cli;

import io.routingreplay.job.results.RoutingResults;
import io.routingreplay.runtime.cli.output.NpyFileNames;
import io.routingreplay.runtime.cli.output.NpyWriter;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * {@code routing-replay consume --bootstrap B --topic T --output results.jsonl [--npy-dir D]}: reads committed
 * results (read_committed, from the group's committed offsets, else the beginning) and writes each as
 * {@code generate} does, plus the routing ids as {@code D/<rid>.npy}. Stops after {@code --max} results or when
 * nothing arrived for {@code --idle-seconds}. Records are single-object Avro of any released RoutingResult version
 * ({@link SingleObjectCodec}); one without the header or of an unknown version is reported with its reason.
 */
final class ConsumeCommand {

    private ConsumeCommand() {
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(argv, 0, Set.of("bootstrap", "topic", "output", "npy-dir", "model", "idle-seconds", "max",
                "group", "kafka-config"), Set.of());
        Path output = Path.of(a.required("output"));
        Path npyDir = a.options.containsKey("npy-dir") ? Path.of(a.options.get("npy-dir")) : null;
        if (npyDir != null) {
            Files.createDirectories(npyDir);
        }
        long idleMs = Long.parseLong(a.options.getOrDefault("idle-seconds", "30")) * 1000;
        long max = Long.parseLong(a.options.getOrDefault("max", String.valueOf(Long.MAX_VALUE)));
        TextTokenizer tokenizer = a.options.containsKey("model")
                ? TextTokenizer.load(Path.of(a.options.get("model"))).orElse(null) : null;
        AnswerWriter writer = new AnswerWriter(tokenizer);

        Properties p = PublishCommand.security(a).applyTo(new Properties());
        p.put("bootstrap.servers", a.required("bootstrap"));
        p.put("group.id", a.options.getOrDefault("group", "routing-replay-consume"));
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        SingleObjectCodec<RoutingResult> codec = SingleObjectCodec.of(RoutingResult.class);
        long count = 0;
        long bad = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
             BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            consumer.subscribe(java.util.List.of(a.required("topic")));
            long lastArrival = System.currentTimeMillis();
            while (count < max && System.currentTimeMillis() - lastArrival < idleMs) {
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<byte[], byte[]> rec : recs) {
                    lastArrival = System.currentTimeMillis();
                    RoutingResult r;
                    try {
                        r = codec.decode(rec.value());
                    } catch (IOException e) {
                        bad++;
                        err.println("consume: skipping undecodable record " + rec.topic() + "/" + rec.partition()
                                + "@" + rec.offset() + ": " + e.getMessage());
                        continue;
                    }
                    w.write(writer.resultLine(r));
                    w.newLine();
                    if (npyDir != null) {
                        NpyWriter.write(npyDir.resolve(NpyFileNames.forRid(r.getRid())),
                                RoutingResults.toGenerationResult(r).routing());
                    }
                    count++;
                }
                w.flush();
                consumer.commitSync();
            }
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        out.println("consumed " + count + " result(s) into " + output + (bad > 0 ? " (" + bad + " undecodable)" : ""));
        return 0;
    }
}
