package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every row of the table in docs/bad-input.md, through the job's validation (validator + duplicate filter). */
class BadInputTableTest extends WithTableValidator {


    static List<BadInputTable.Row> rows() throws IOException {
        return BadInputTable.rows();
    }

    @Test
    void theTableHasEveryCaseOfTheIssue() throws IOException {
        String cases = rows().stream().map(BadInputTable.Row::caseName).collect(Collectors.joining("\n"));
        for (String needed : List.of("not JSON", "undecodable Avro bytes", "missing rid", "no prompt",
                "empty prompt text", "negative token id", "token id outside the vocabulary",
                "longer than the model allows", "`max_new_tokens` = 0", "above the cap", "temperature < 0",
                "top_p = 0", "top_p > 1", "not an integer", "a megabyte of text", "the same rid twice",
                "unknown fields")) {
            assertTrue(cases.contains(needed), "docs/bad-input.md has no row for: " + needed);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void everyRowIsAnsweredAsDocumented(BadInputTable.Row row) throws Exception {
        PromptValidator v = validator;
        if (!row.conf().isEmpty()) {
            v = PromptValidator.forModel(BadInputTable.modelDir(), BadInputTable.MODEL_NAME,
                    ValidationLimits.from(Configuration.fromMap(row.conf())));
        }
        List<RawPrompt> sent = new ArrayList<>();
        sent.add(RawPrompt.of(row.request()));
        if (row.sentTwice()) {
            sent.add(RawPrompt.of(row.request()));
        }
        List<Object> answers = throughDuplicateFilter(v, sent);

        if (row.expectAccepted()) {
            assertEquals(1, answers.size());
            assertInstanceOf(InferenceRequest.class, answers.get(0), () -> "expected acceptance, got " + answers);
            return;
        }
        if (row.sentTwice()) {
            assertEquals(2, answers.size());
            assertInstanceOf(InferenceRequest.class, answers.get(0), "the first of two equal rids is answered");
        }
        DeadLetter dl = assertInstanceOf(DeadLetter.class, answers.get(answers.size() - 1),
                () -> "expected a dead letter, got " + answers);
        if (row.request().length <= ValidationLimits.defaults().deadLetterRawBytes()) {
            assertArrayEquals(row.request(), dl.getRaw() == null ? null : dl.getRaw().array(),
                    "every dead letter carries the record's bytes");
        }
        if (row.prefix()) {
            assertTrue(dl.getReason().startsWith(row.expectedReason()),
                    () -> "reason '" + dl.getReason() + "' does not start with '" + row.expectedReason() + "'");
        } else {
            assertEquals(row.expectedReason(), dl.getReason());
        }
    }

    /**
     * Each record through {@code validator}, then the accepted ones through the job's keyed duplicate filter; the
     * answers in the order they came out.
     */
    static List<Object> throughDuplicateFilter(PromptValidator validator, List<RawPrompt> sent) throws Exception {
        ValidationLimits limits = ValidationLimits.defaults();
        List<Object> answers = new ArrayList<>();
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new DuplicateRidFilter(limits)), ValidatedPrompt::rid, Types.STRING)) {
            h.open();
            for (RawPrompt raw : sent) {
                Verdict verdict = validator.validate(raw);
                if (verdict instanceof Verdict.Rejected r) {
                    answers.add(r.deadLetter());
                    continue;
                }
                h.processElement(new StreamRecord<>(
                        new ValidatedPrompt(((Verdict.Accepted) verdict).request(), raw.value)));
                answers.addAll(h.extractOutputValues());
                h.getOutput().clear();
                var side = h.getSideOutput(DeadLetters.TAG);
                if (side != null) {
                    for (StreamRecord<DeadLetter> d : side) {
                        answers.add(d.getValue());
                    }
                    side.clear();
                }
            }
        }
        return answers;
    }
}
