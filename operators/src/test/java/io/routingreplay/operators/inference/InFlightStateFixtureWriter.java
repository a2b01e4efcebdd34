package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OperatorSnapshotUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the committed state fixture {@code src/test/resources/inference-state/in-flight-v<N>.snapshot}: the
 * inference operator's snapshot, taken mid-generation of {@link InferenceOperatorTest#workload()}, as the state
 * serializer of this build ({@link InFlightRequestSerializer#VERSION} N) writes it. {@link InFlightStateRestoreTest}
 * restores every committed version, so a checkpoint or savepoint of an older job stays restorable.
 *
 * <p>Not part of the test run (the name is no {@code *Test}); when the state format changes, write the new
 * version's fixture once and commit it beside the old ones:
 * {@code mvn -pl operators -am test -Dtest=InFlightStateFixtureWriter -Dsurefire.failIfNoSpecifiedTests=false
 * -DwriteInFlightFixture=true}.
 */
class InFlightStateFixtureWriter {

    static Path fixture(int version) {
        return Path.of("src", "test", "resources", "inference-state", "in-flight-v" + version + ".snapshot");
    }

    @Test
    @EnabledIfSystemProperty(named = "writeInFlightFixture", matches = "true")
    void writeTheSnapshotOfThisBuildsStateVersion() throws Exception {
        try (var h = InferenceOperatorTest.harness(64)) {
            h.open();
            h.processElement(new StreamRecord<>(InferenceOperatorTest.batch(InferenceOperatorTest.workload())));
            InferenceOperatorTest.emitSteps(h, 3);
            assertTrue(((InferenceOperator) h.getOperator()).numInFlight() > 0, "requests mid-generation");
            OperatorSubtaskState snapshot = h.snapshot(1, 1);
            Path out = fixture(InFlightRequestSerializer.VERSION);
            Files.createDirectories(out.getParent());
            OperatorSnapshotUtil.writeStateHandle(snapshot, out.toString());
            System.err.println("wrote " + out.toAbsolutePath());
        }
    }
}
