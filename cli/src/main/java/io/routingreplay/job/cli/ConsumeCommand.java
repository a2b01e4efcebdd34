package io.routingreplay.job.cli;

import io.routingreplay.operators.results.RoutingResults;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code routing-replay consume --bootstrap B --topic T --output results.jsonl [--npy-dir D]}: reads committed
 * results (read_committed, from the group's committed offsets, else the beginning) and writes each as
 * {@code generate} does, plus the routing ids as {@code D/<rid>.npy}. Stops after {@code --max} results or when
 * nothing arrived for {@code --idle-seconds}. Offsets are committed only past records written out. Records are
 * single-object Avro of any released RoutingResult version ({@link SingleObjectCodec}).
 *
 * <p>A record that is not a RoutingResult (no single-object header, an unknown schema version, bad bytes) is never
 * skipped silently (a trainer would lose a record and see success): by default consume stops there, names its
 * topic-partition, offset and rid, commits only what came before it, and exits {@value #EXIT_UNDECODABLE}, so the
 * next run starts at that record again. With {@code --undecodable-output FILE} it writes the record there (where it
 * was, why, its bytes), goes on, and exits {@value #EXIT_SOME_UNDECODABLE} if any was written.
 */
final class ConsumeCommand {

    /** Some records could not be decoded; they are in --undecodable-output, every other one was consumed. */
    static final int EXIT_SOME_UNDECODABLE = 3;
    /** Stopped at a record that could not be decoded; nothing from it on was committed. */
    static final int EXIT_UNDECODABLE = 4;

    private ConsumeCommand() {
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(argv, 0, Set.of("bootstrap", "topic", "output", "npy-dir", "model", "idle-seconds", "max",
                "group", "kafka-config", "undecodable-output"), Set.of());
        Path output = Path.of(a.required("output"));
        Path npyDir = a.options.containsKey("npy-dir") ? Path.of(a.options.get("npy-dir")) : null;
        if (npyDir != null) {
            Files.createDirectories(npyDir);
        }
        Path undecodableOutput = a.options.containsKey("undecodable-output")
                ? Path.of(a.options.get("undecodable-output")) : null;
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
        UndecodableRecord stoppedAt = null;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
             BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8);
             BufferedWriter badOut = undecodableOutput == null ? null
                     : Files.newBufferedWriter(undecodableOutput, StandardCharsets.UTF_8)) {
            consumer.subscribe(List.of(a.required("topic")));
            long lastArrival = System.currentTimeMillis();
            while (stoppedAt == null && count < max && System.currentTimeMillis() - lastArrival < idleMs) {
                ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(500));
                Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> rec : recs) {
                    lastArrival = System.currentTimeMillis();
                    RoutingResult r = null;
                    try {
                        r = decode(codec, rec);
                    } catch (IOException e) {
                        UndecodableRecord u = UndecodableRecord.of(rec, "not a RoutingResult: "
                                + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
                        if (badOut == null) {
                            stoppedAt = u;
                            break;
                        }
                        badOut.write(u.jsonLine());
                        badOut.newLine();
                        bad++;
                        err.println("consume: cannot decode " + u.where() + ": " + u.reason() + "; written to "
                                + undecodableOutput);
                    } finally {
                        if (stoppedAt == null) {
                            done.put(new TopicPartition(rec.topic(), rec.partition()),
                                    new OffsetAndMetadata(rec.offset() + 1));
                        }
                    }
                    if (r == null) {
                        continue;
                    }
                    w.write(writer.resultLine(r));
                    w.newLine();
                    io.routingreplay.runtime.routing.RoutingRecord routing =
                            RoutingResults.toGenerationResult(r).routing();
                    if (npyDir != null && routing != null) { // return_routing false: no file, the line says null
                        NpyWriter.write(npyDir.resolve(NpyFileNames.forRecord(r.getRid(), routing.firstPosition())),
                                routing);
                    }
                    count++;
                }
                // Written out first, then committed: a crash in between repeats records, never loses one.
                w.flush();
                if (badOut != null) {
                    badOut.flush();
                }
                if (!done.isEmpty()) {
                    consumer.commitSync(done);
                }
            }
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        if (stoppedAt != null) {
            err.println("consume: cannot decode the record at " + stoppedAt.where() + ": " + stoppedAt.reason()
                    + ". Stopped there: " + count + " result(s) before it were written to " + output
                    + " and committed; it and everything after it on that partition were not (written by another "
                    + "producer or with another schema?). Pass --undecodable-output FILE to write such records "
                    + "there and go on.");
            return EXIT_UNDECODABLE;
        }
        out.println("consumed " + count + " result(s) into " + output
                + (bad > 0 ? "; " + bad + " undecodable record(s) written to " + undecodableOutput : ""));
        return bad > 0 ? EXIT_SOME_UNDECODABLE : 0;
    }

    /** The record's RoutingResult; a null value (a tombstone) is undecodable too. */
    private static RoutingResult decode(SingleObjectCodec<RoutingResult> codec, ConsumerRecord<byte[], byte[]> rec)
            throws IOException {
        if (rec.value() == null) {
            throw new IOException("null value (a tombstone), not a RoutingResult");
        }
        return codec.decode(rec.value());
    }
}
