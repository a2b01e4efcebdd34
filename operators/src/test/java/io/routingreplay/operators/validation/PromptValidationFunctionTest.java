package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PromptValidationFunctionTest {

    private static RawPrompt json(String s, long offset) {
        return new RawPrompt(s.getBytes(StandardCharsets.UTF_8), "prompts", 0, offset);
    }

    @Test
    void goodRequestsGoOnAndBadOnesToTheSideOutputWithoutFailingTheTask() throws Exception {
        var fn = new PromptValidationFunction(BadInputTable.modelDir(), BadInputTable.MODEL_NAME,
                ValidationLimits.defaults());
        try (var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(fn))) {
            h.open();
            h.processElement(new StreamRecord<>(json("{\"rid\":\"g1\",\"prompt_token_ids\":[1,2]}", 0)));
            h.processElement(new StreamRecord<>(json("not json", 1)));
            h.processElement(new StreamRecord<>(new RawPrompt(null, "prompts", 0, 2)));
            h.processElement(new StreamRecord<>(json("{\"rid\":\"g2\",\"prompt_text\":\"Hello\"}", 3)));
            h.processElement(new StreamRecord<>(json("{\"rid\":\"b1\",\"prompt_token_ids\":[1],\"top_p\":0}", 4)));

            List<ValidatedPrompt> accepted = h.extractOutputValues();
            assertEquals(List.of("g1", "g2"), accepted.stream().map(p -> p.request.getRid())
                    .collect(Collectors.toList()));
            // each goes on with its record's bytes, for the duplicate filter's dead letter
            assertArrayEquals(json("{\"rid\":\"g2\",\"prompt_text\":\"Hello\"}", 3).value, accepted.get(1).raw);
            List<Long> deadOffsets = h.getSideOutput(DeadLetters.TAG).stream()
                    .map(StreamRecord::getValue).map(DeadLetter::getSourceOffset).collect(Collectors.toList());
            assertEquals(List.of(1L, 2L, 4L), deadOffsets);
        }
    }
}
