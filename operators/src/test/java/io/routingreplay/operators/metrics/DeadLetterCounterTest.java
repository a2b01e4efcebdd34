package io.routingreplay.operators.metrics;

import io.routingreplay.schemas.DeadLetter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.StreamMap;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.routingreplay.operators.metrics.MetricNames.*;
import static org.junit.jupiter.api.Assertions.*;

class DeadLetterCounterTest {

    private static DeadLetter deadLetter(String rid, String stage) {
        return DeadLetter.newBuilder().setRid(rid).setReason("why " + rid).setStage(stage).setFailedAt(0).build();
    }

    @Test
    void countsEachDeadLetterByStageAndPassesItThrough() throws Exception {
        RecordingMetricGroups groups = new RecordingMetricGroups();
        try (OneInputStreamOperatorTestHarness<DeadLetter, DeadLetter> h = new OneInputStreamOperatorTestHarness<>(
                new StreamMap<>(new DeadLetterCounter()),
                new MockEnvironmentBuilder().setMetricGroup(groups.task).build())) {
            h.open();
            List<DeadLetter> in = List.of(deadLetter("a", "decode"), deadLetter("b", "validate"),
                    deadLetter("c", "validate"), deadLetter("d", "assemble"));
            for (DeadLetter d : in) {
                h.processElement(new StreamRecord<>(d, 1));
            }
            assertEquals(in, h.extractOutputValues());
        }
        String name = PROMETHEUS_PREFIX + DEAD_LETTER_REASON_KEY + "_" + DEAD_LETTERS;
        assertEquals(1, groups.<Counter>get(name + "{reason=decode}").getCount());
        assertEquals(2, groups.<Counter>get(name + "{reason=validate}").getCount());
        assertEquals(1, groups.<Counter>get(name + "{reason=assemble}").getCount());
    }
}
