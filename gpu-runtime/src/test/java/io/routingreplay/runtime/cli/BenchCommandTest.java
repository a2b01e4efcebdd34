package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench command runs and prints one table row per batch size; its figures are not checked (not a timed test). */
class BenchCommandTest {

    @Test
    void printsOneRowPerBatchSize() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[]{"bench", "--model", Fixtures.model("mixtral-tiny").toString(),
                        "--prompt-len", "5", "--output-len", "3", "--batch", "1,3", "--threads", "1"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        List<String> rows = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.matches("\\| \\d+ \\|.*")).toList();
        assertEquals(2, rows.size(), out.toString(StandardCharsets.UTF_8));
        assertTrue(rows.get(0).startsWith("| 1 |") && rows.get(1).startsWith("| 3 |"), rows.toString());
        for (String row : rows) {
            for (String cell : row.substring(1, row.length() - 1).split("\\|")) {
                assertTrue(Double.parseDouble(cell.trim()) > 0, row);
            }
        }
    }

    @Test
    void outputLengthBelowTwoIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[]{"bench", "--model", Fixtures.model("mixtral-tiny").toString(),
                "--output-len", "1"}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true,
                StandardCharsets.UTF_8));
        assertEquals(Main.EXIT_USAGE, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--output-len must be at least 2"));
    }
}
