package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The duplicate-rid dead letter is like every other: the duplicate's own record bytes and where it came from. */
class DuplicateRidFilterTest extends WithTableValidator {


    private static final byte[] FIRST = "{\"rid\":\"d\",\"prompt_token_ids\":[1,2]}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] SECOND = "{ \"rid\": \"d\", \"prompt_token_ids\": [1, 2], \"max_new_tokens\": 3 }"
            .getBytes(StandardCharsets.UTF_8);

    /** What the validation operator hands the filter for this record: the request and the record's bytes. */
    private static ValidatedPrompt validated(byte[] value, int partition, long offset) {
        RawPrompt raw = new RawPrompt(value, "prompts", partition, offset);
        Verdict.Accepted a = (Verdict.Accepted) validator.validate(raw);
        return new ValidatedPrompt(a.request(), raw.value);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ValidatedPrompt, InferenceRequest> harness(
            ValidationLimits limits) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new DuplicateRidFilter(limits)),
                ValidatedPrompt::rid, Types.STRING);
    }

    private static List<DeadLetter> deadLetters(KeyedOneInputStreamOperatorTestHarness<?, ?, ?> h) {
        var side = h.getSideOutput(DeadLetters.TAG);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).toList();
    }

    private static byte[] rawOf(DeadLetter d) {
        return d.getRaw() == null ? null : d.getRaw().array();
    }

    @Test
    void theDuplicatesDeadLetterCarriesItsOwnRecordBytesAndOrigin() throws Exception {
        try (var h = harness(ValidationLimits.defaults())) {
            h.open();
            h.processElement(new StreamRecord<>(validated(FIRST, 0, 10L)));
            h.processElement(new StreamRecord<>(validated(SECOND, 1, 11L)));

            List<InferenceRequest> passed = h.extractOutputValues();
            assertEquals(1, passed.size());
            assertEquals(10L, passed.get(0).getSourceOffset(), "the first is answered");
            DeadLetter d = deadLetters(h).get(0);
            assertEquals("d", d.getRid());
            assertTrue(d.getReason().startsWith("duplicate rid 'd': a request with this rid was already accepted "
                    + "(from prompts/0@10)"), d.getReason());
            assertEquals(DeadLetters.STAGE_VALIDATE, d.getStage());
            assertEquals(1, d.getSourcePartition());
            assertEquals(11L, d.getSourceOffset());
            assertArrayEquals(SECOND, rawOf(d));
        }
    }

    @Test
    void afterARestoreADuplicateIsStillRefusedWithItsBytes() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness(ValidationLimits.defaults())) {
            h.open();
            h.processElement(new StreamRecord<>(validated(FIRST, 0, 10L)));
            snapshot = h.snapshot(1L, 1L);
        }
        try (var h = harness(ValidationLimits.defaults())) {
            h.initializeState(snapshot);
            h.open();
            h.processElement(new StreamRecord<>(validated(SECOND, 0, 12L)));
            assertTrue(h.extractOutputValues().isEmpty());
            assertArrayEquals(SECOND, rawOf(deadLetters(h).get(0)));
        }
    }

    @Test
    void aDuplicateOverTheDeadLetterByteCapKeepsItsFirstBytes() throws Exception {
        Configuration conf = new Configuration();
        conf.set(LimitOptions.DEAD_LETTER_RAW_BYTES, 16);
        try (var h = harness(ValidationLimits.from(conf))) {
            h.open();
            h.processElement(new StreamRecord<>(validated(FIRST, 0, 10L)));
            h.processElement(new StreamRecord<>(validated(SECOND, 0, 11L)));
            DeadLetter d = deadLetters(h).get(0);
            assertArrayEquals(Arrays.copyOf(SECOND, 16), rawOf(d));
            assertTrue(d.getReason().endsWith("[raw record cut to its first 16 of " + SECOND.length + " bytes]"),
                    d.getReason());
        }
    }

    @Test
    void aRequestWithoutRecordBytesGivesADeadLetterWithoutThem() throws Exception {
        try (var h = harness(ValidationLimits.defaults())) {
            h.open();
            h.processElement(new StreamRecord<>(validated(FIRST, 0, 10L)));
            h.processElement(new StreamRecord<>(new ValidatedPrompt(validated(SECOND, 0, 11L).request, null)));
            assertNull(deadLetters(h).get(0).getRaw());
        }
    }
}
