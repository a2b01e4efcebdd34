package io.routingreplay.operators.recordsize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real results at a limit exactly at, and one byte under, the largest one's Kafka record. */
class OversizedResultFilterTest {

    static List<RoutingResult> results;
    static RoutingResult largest;
    static long largestBytes;

    @BeforeAll
    static void generate() throws Exception {
        Random rnd = new Random(5);
        results = EngineResults.run(List.of(
                ResultSizeBoundTest.request("small-a", ResultSizeBoundTest.prompt(rnd, 8), 4, 0f, true, false, Map.of()),
                ResultSizeBoundTest.request("large", ResultSizeBoundTest.prompt(rnd, 40), 60, 0f, true, true, Map.of()),
                ResultSizeBoundTest.request("small-b", ResultSizeBoundTest.prompt(rnd, 5), 3, 0f, true, false, Map.of())));
        SingleObjectCodec<RoutingResult> codec = SingleObjectCodec.of(RoutingResult.class);
        largest = results.stream().max(Comparator.comparingInt(r -> codec.encode(r).length)).orElseThrow();
        largestBytes = KafkaRecordFraming.recordBytes(largest.getRid().getBytes(StandardCharsets.UTF_8).length,
                codec.encode(largest).length);
        assertEquals("large", largest.getRid());
    }

    @Test
    void aResultThatFitsExactlyPasses() throws Exception {
        List<Object> out = filter((int) largestBytes);
        assertEquals(3, out.size());
        assertTrue(out.stream().allMatch(o -> o instanceof RoutingResult), out::toString);
    }

    @Test
    void aResultOneByteOverIsDeadLetteredAndTheOthersPass() throws Exception {
        List<Object> out = filter((int) largestBytes - 1);
        List<String> passed = new ArrayList<>();
        List<DeadLetter> dead = new ArrayList<>();
        for (Object o : out) {
            if (o instanceof RoutingResult r) {
                passed.add(r.getRid());
            } else {
                dead.add((DeadLetter) o);
            }
        }
        passed.sort(String::compareTo); // results come in the order the engine finished them
        assertEquals(List.of("small-a", "small-b"), passed);
        assertEquals(1, dead.size());
        DeadLetter d = dead.get(0);
        assertEquals("large", d.getRid());
        assertEquals(OversizedResultFilter.STAGE, d.getStage());
        assertEquals("rid 'large': the result is " + largestBytes + " bytes as a Kafka record (prompt 40 + 60 output "
                + "tokens, 1584 bytes of routing ids and 1584 routing weights), over the limit of " + (largestBytes - 1)
                + " bytes (kafka.max-record-bytes), so it was not published: send the request again with a lower "
                + "max_new_tokens, or raise kafka.max-record-bytes (and the results topic's max.message.bytes)",
                d.getReason());
        assertNull(d.getRaw());
    }

    /** Everything the filter emits, results and dead letters, in order. */
    static List<Object> filter(int limit) throws Exception {
        List<Object> out = new ArrayList<>();
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new OversizedResultFilter(limit)))) {
            h.open();
            for (RoutingResult r : results) {
                h.processElement(new StreamRecord<>(r));
                out.addAll(h.extractOutputValues());
                h.getOutput().clear();
                var side = h.getSideOutput(DeadLetters.TAG);
                if (side != null) {
                    side.forEach(d -> out.add(d.getValue()));
                    side.clear();
                }
            }
        }
        return out;
    }
}
