package io.routingreplay.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.cli.output.NpyFileNames;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code multi-turn} on the tiny Qwen3-MoE: every conversation's turns run in one engine, so turn n+1 is served
 * from the prefix cache every full block turn n computed (its prompt + output − 1 positions); each turn's prompt
 * is the previous one's prompt + output + the new tokens, sent with routing_start = the previous turn's routed
 * positions, and the table's byte columns are what the records hold.
 */
class MultiTurnCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "qwen3-moe-tiny";
    private static final int BLOCK = 16; // the engine's default kvBlockSize
    private static final int CONVERSATIONS = 3, TURNS = 4, FIRST_PROMPT = 40, NEW_PER_TURN = 16, MAX_NEW = 9;

    @TempDir
    Path tmp;

    private record Run(int code, List<String[]> rows, Map<String, JsonNode> results, String stdout, String stderr) {
        String[] row(int turn) {
            return rows.get(turn - 1);
        }
    }

    private Run multiTurn(String... extra) throws IOException {
        return multiTurn(FIRST_PROMPT, extra);
    }

    private Run multiTurn(int firstPrompt, String... extra) throws IOException {
        Path output = tmp.resolve("results.jsonl");
        List<String> args = new ArrayList<>(List.of("multi-turn", "--model", Fixtures.model(MODEL).toString(),
                "--threads", "2", "--conversations", "" + CONVERSATIONS, "--turns", "" + TURNS, "--first-prompt",
                "" + firstPrompt, "--new-per-turn", "" + NEW_PER_TURN, "--max-new-tokens", "" + MAX_NEW,
                "--output", output.toString(), "--npy-dir", tmp.resolve("npy").toString()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String stdout = out.toString(StandardCharsets.UTF_8);
        List<String[]> rows = new ArrayList<>();
        boolean inTable = false;
        for (String line : stdout.split("\n")) {
            if (line.equals(MultiTurnTable.HEADER)) {
                inTable = true;
            } else if (inTable && line.matches("\\s*\\d+ .*")) {
                rows.add(line.trim().split("\\s+"));
            }
        }
        Map<String, JsonNode> results = new HashMap<>();
        if (Files.exists(output)) {
            for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
                JsonNode r = JSON.readTree(line);
                results.put(r.get("rid").asText(), r);
            }
        }
        return new Run(code, rows, results, stdout, err.toString(StandardCharsets.UTF_8));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static int bytesPerRow(JsonNode routing) {
        return routing.get("moe_layer_indices").size() * routing.get("top_k").asInt()
                * (routing.get("dtype").asText().equals("uint16") ? 2 : 1);
    }

    @Test
    void laterTurnsAreServedTheirConversationsHistoryFromThePrefixCache() throws IOException {
        Run run = multiTurn();
        assertEquals(0, run.code, run.stderr);
        assertEquals(TURNS, run.rows.size(), run.stdout);
        assertEquals(CONVERSATIONS * TURNS, run.results.size());
        for (int t = 1; t <= TURNS; t++) {
            long expectedCached = 0, returned = 0, full = 0;
            for (int c = 0; c < CONVERSATIONS; c++) {
                JsonNode r = run.results.get("mt" + c + "t" + t);
                JsonNode routing = r.get("routing");
                int[] prompt = ints(r.get("prompt_token_ids"));
                assertEquals(MAX_NEW, r.get("output_token_ids").size(), "ignore_eos: every turn samples max_new_tokens");
                if (t == 1) {
                    assertEquals(FIRST_PROMPT, prompt.length);
                    assertEquals(0, routing.get("routing_start").asInt());
                } else {
                    JsonNode prev = run.results.get("mt" + c + "t" + (t - 1));
                    int[] history = concat(ints(prev.get("prompt_token_ids")), ints(prev.get("output_token_ids")));
                    assertEquals(history.length + NEW_PER_TURN, prompt.length);
                    assertArrayEquals(history, Arrays.copyOf(prompt, history.length), "the turn extends the last one");
                    int routedBefore = prev.get("routing").get("num_tokens").asInt();
                    assertEquals(history.length - 1, routedBefore);
                    assertEquals(routedBefore, routing.get("routing_start").asInt(), "routing_start = last turn's");
                    expectedCached += (long) routedBefore / BLOCK * BLOCK; // every full block turn t − 1 computed
                }
                int rows = routing.get("num_tokens").asInt() - routing.get("routing_start").asInt();
                assertEquals(rows, routing.get("topk_ids").size());
                assertTrue(Files.isRegularFile(tmp.resolve("npy").resolve(NpyFileNames.forRecord("mt" + c + "t" + t,
                        routing.get("routing_start").asInt()))), "the routing went to --npy-dir");
                returned += (long) rows * bytesPerRow(routing);
                full += (long) routing.get("num_tokens").asInt() * bytesPerRow(routing);
            }
            String[] row = run.row(t);
            assertEquals(t, Integer.parseInt(row[0]));
            assertEquals(CONVERSATIONS, Integer.parseInt(row[1]));
            assertEquals(expectedCached, Long.parseLong(row[4]), "turn " + t + ": prompt positions from the cache\n"
                    + run.stdout);
            if (t > 1) {
                assertTrue(expectedCached > 0, "each later turn reuses its conversation's history");
            }
            assertEquals(returned / 1024.0, Double.parseDouble(row[6]), 0.05, "KiB returned with routing_start");
            assertEquals(full / 1024.0, Double.parseDouble(row[7]), 0.05, "KiB with routing_start 0");
        }
    }

    @Test
    void withoutThePrefixCacheNoTurnIsServedFromIt() throws IOException {
        Run run = multiTurn("--no-prefix-cache");
        assertEquals(0, run.code, run.stderr);
        assertEquals(TURNS, run.rows.size(), run.stdout);
        for (int t = 1; t <= TURNS; t++) {
            assertEquals(0, Long.parseLong(run.row(t)[4]), run.stdout);
        }
    }

    @Test
    void aWorkloadLongerThanTheModelsContextIsAUsageError() throws IOException {
        Run run = multiTurn(100_000);
        assertEquals(Main.EXIT_USAGE, run.code);
        assertTrue(run.stderr.contains("the last turn reaches"), run.stderr);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
