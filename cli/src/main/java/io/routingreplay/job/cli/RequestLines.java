package io.routingreplay.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The request lines of a JSONL file as records to publish: each non-blank line as it is (the job validates it and
 * dead-letters a bad one with its reason), keyed by its rid when one can be read.
 */
final class RequestLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    final List<byte[]> values = new ArrayList<>();
    final List<String> rids = new ArrayList<>();
    /** 1-based line number of each record in the file. */
    final List<Integer> lineNumbers = new ArrayList<>();

    static RequestLines read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("request file " + file + " does not exist");
        }
        RequestLines r = new RequestLines();
        int n = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            n++;
            if (!line.isBlank()) {
                r.add(line, n);
            }
        }
        return r;
    }

    void add(String line, int lineNumber) {
        values.add(line.getBytes(StandardCharsets.UTF_8));
        rids.add(ridOf(line));
        lineNumbers.add(lineNumber);
    }

    static String ridOf(String line) {
        try {
            JsonNode n = JSON.readTree(line);
            return n != null && n.path("rid").isTextual() ? n.get("rid").asText() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
