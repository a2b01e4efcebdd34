package io.routingreplay.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.testing.RunnableFixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code verify} on every fixture's architecture (VerifyCommandTest covers the command's output in detail on one):
 * a greedy result written by {@code generate} verifies clean, and the same result with the top-ranked expert of one
 * cell (first MoE layer, the position that yields output 2) replaced by another is caught, its changed logprob
 * reported.
 */
class VerifyEveryFixtureTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static List<String> fixtures() {
        return RunnableFixtures.names();
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void aCleanResultVerifiesAndOneAlteredCellIsCaught(String fixture) throws IOException {
        int[] prompt = Fixtures.cases(fixture).get(0).promptIds();
        Path input = tmp.resolve("requests.jsonl"), results = tmp.resolve("results.jsonl");
        Files.writeString(input, "{\"rid\":\"r0\",\"prompt_token_ids\":" + JSON.writeValueAsString(prompt)
                + ",\"max_new_tokens\":5,\"ignore_eos\":true,\"temperature\":0}\n");
        String gen = run(fixture, "generate", "--input", input.toString(), "--output", results.toString());
        String line = Files.readAllLines(results, StandardCharsets.UTF_8).get(0);
        assertTrue(verify(fixture, line).contains("verify r0: OK logprobs 5/5 identical"), gen);

        ObjectNode r = (ObjectNode) JSON.readTree(line);
        int row = prompt.length + 1;        // fed output 1; its logits give output 2
        ArrayNode cell = (ArrayNode) r.get("routing").get("topk_ids").get(row).get(0);
        int other = 0;
        while (contains(cell, other)) {
            other++;
        }
        cell.set(0, other);
        String out = verify(fixture, JSON.writeValueAsString(r));
        assertTrue(out.contains("verify r0: MISMATCH logprobs 2/5 identical"), out);
        assertTrue(out.contains("first at output 2: recorded "), out);
    }

    private String verify(String fixture, String resultLine) throws IOException {
        Path file = tmp.resolve("verify.jsonl");
        Files.writeString(file, resultLine + "\n");
        return run(fixture, "verify", "--results", file.toString());
    }

    private static String run(String fixture, String command, String... args) {
        List<String> argv = new ArrayList<>(List.of(command, "--model", Fixtures.model(fixture).toString(),
                "--threads", "2"));
        argv.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        int code = Main.run(argv.toArray(String[]::new), ps, ps);
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(command.equals("verify") && text.contains("MISMATCH") ? 4 : 0, code, text);
        return text;
    }

    private static boolean contains(ArrayNode cell, int id) {
        for (JsonNode n : cell) {
            if (n.asInt() == id) {
                return true;
            }
        }
        return false;
    }
}
