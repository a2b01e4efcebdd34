package io.routingreplay.runtime.cli.request;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class JsonlLinesTest {

    private static List<JsonlLines.Line> read(byte[] bytes) throws IOException {
        List<JsonlLines.Line> out = new ArrayList<>();
        try (JsonlLines lines = new JsonlLines(new ByteArrayInputStream(bytes))) {
            for (JsonlLines.Line l = lines.next(); l != null; l = lines.next()) {
                out.add(l);
            }
        }
        return out;
    }

    @Test
    void splitsOnNewlinesStripsCrAndBomAndKeepsLineNumbers() throws IOException {
        byte[] bytes = "\uFEFFa\r\n\nb\u00e9\nlast".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(List.of(new JsonlLines.Line(1, "a", null), new JsonlLines.Line(2, "", null),
                new JsonlLines.Line(3, "b\u00e9", null), new JsonlLines.Line(4, "last", null)), read(bytes));
    }

    @Test
    void badBytesSpoilOnlyTheirLine() throws IOException {
        byte[] bytes = {'x', (byte) 0xC3, '\n', 'y', '\n'};
        assertEquals(List.of(new JsonlLines.Line(1, null, "not valid UTF-8 text"), new JsonlLines.Line(2, "y", null)),
                read(bytes));
    }

    @Test
    void emptyInputHasNoLines() throws IOException {
        assertEquals(List.of(), read(new byte[0]));
    }
}
