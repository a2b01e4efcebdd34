package io.routingreplay.operators.window;

import io.routingreplay.schemas.InferenceRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes {@code src/test/resources/window-state/micro-batch-request-v<N>.snapshot}: the micro-batch window's
 * snapshot holding the two {@link #buffered()} requests, with this build's InferenceRequest schema (version N, as
 * {@code avro-history/InferenceRequest} numbers it). v1 was written by this code at the commit before
 * engine_failures was added. Not part of the test run; when InferenceRequest changes, write the new version with
 * {@code mvn -pl operators -am test -Dtest=MicroBatchStateFixtureWriter -Dsurefire.failIfNoSpecifiedTests=false
 * -DwriteMicroBatchFixture=N} and add it to {@link MicroBatchStateRestoreTest}.
 */
class MicroBatchStateFixtureWriter {

    static Path fixture(int requestSchemaVersion) {
        return Path.of("src", "test", "resources", "window-state",
                "micro-batch-request-v" + requestSchemaVersion + ".snapshot");
    }

    /** Buffered at processing time 1,000 under key "m" (so flushed at 1,000 + WAIT). */
    static List<InferenceRequest> buffered() {
        return List.of(
                InferenceRequest.newBuilder().setRid("a").setModel("m").setPromptTokenIds(List.of(1, 2))
                        .setMaxNewTokens(4).setTemperature(0f).setTopP(1f).setTopK(0).setSeed(7L)
                        .setMetadata(Map.of("k", "v")).setSourceTopic("prompts").setSourcePartition(2)
                        .setSourceOffset(41L).build(),
                InferenceRequest.newBuilder().setRid("b").setModel("m").setPromptTokenIds(List.of(3))
                        .setMaxNewTokens(2).setTemperature(0.5f).setTopP(0.9f).setTopK(5).setMetadata(Map.of())
                        .build());
    }

    @Test
    @EnabledIfSystemProperty(named = "writeMicroBatchFixture", matches = "\\d+")
    void writeTheSnapshotOfThisBuildsRequestSchema() throws Exception {
        try (var h = MicroBatchWindowOperatorTest.newHarness()) {
            h.open();
            h.setProcessingTime(1_000);
            for (InferenceRequest r : buffered()) {
                h.processElement(new StreamRecord<>(r));
            }
            Path out = fixture(Integer.parseInt(System.getProperty("writeMicroBatchFixture")));
            Files.createDirectories(out.getParent());
            OperatorSnapshotUtil.writeStateHandle(h.snapshot(1, 1), out.toString());
        }
    }
}
