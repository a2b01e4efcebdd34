package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.FinishReason;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.routing.RoutingDtype;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.routing.RoutingRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ResultSinkTest {

    private static GenerationResult result(int i, RoutingRecord routing) {
        return new GenerationResult("r-" + i, new int[]{i, i + 1}, new int[]{i + 2}, new float[]{-0.5f * i},
                FinishReason.LENGTH, routing);
    }

    /** The writer thread writes every queued result, in the order queued, as ResultJson formats each alone. */
    @Test
    void writesEveryResultInOrder(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.jsonl");
        List<String> expected = new ArrayList<>();
        try (ResultSink sink = new ResultSink(null, file, null)) {
            for (int i = 0; i < 3 * ResultSink.MAX_PENDING; i++) { // more than the queue holds: write() waits
                GenerationResult r = result(i, null);
                expected.add(ResultJson.toLine(r, null));
                sink.write(r);
            }
            sink.drain();
            assertEquals(expected, Files.readAllLines(file), "drain() returns with every line in the file");
        }
        assertEquals(expected, Files.readAllLines(file));
    }

    /** A write that fails (here: the npy folder is a file) fails close(), and no later result is written. */
    @Test
    void aFailedWriteFailsCloseAndStopsTheWriter(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.jsonl");
        Path notADir = Files.writeString(dir.resolve("not-a-dir"), "x");
        RoutingLayout layout = new RoutingLayout(new int[]{0}, 1, 4, RoutingDtype.UINT8);
        RoutingRecord routing = new RoutingRecord(layout, 1, RoutingRecord.pack(layout, new int[]{3}, 0, 1), null);
        ResultSink sink = new ResultSink(null, file, notADir);
        sink.write(result(0, routing));
        assertThrows(IOException.class, () -> {
            for (int i = 1; i < 100; i++) { // a write after the failure is noticed throws; the rest close() reports
                sink.write(result(i, null));
            }
            sink.close();
        });
        assertThrows(IOException.class, sink::close, "closing again reports the failure (and releases the file)");
        assertEquals(1, Files.readAllLines(file).size(), "only the failed result's JSON line, written before its npy");
    }
}
