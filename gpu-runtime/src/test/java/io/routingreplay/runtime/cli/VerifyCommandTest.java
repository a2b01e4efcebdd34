package io.routingreplay.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
 * {@code verify} end to end: a results file written by {@code generate} (greedy and temperature-sampled requests)
 * verifies clean, from its JSON ids and from its .npy files; one id altered in one cell is caught with the changed
 * logprob reported; structurally broken records (a row missing, an id out of range, a duplicate id) are caught.
 */
class VerifyCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "qwen3-moe-tiny";

    @TempDir
    static Path tmp;
    static Path results;
    static List<String> lines;

    @BeforeAll
    static void generate() throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases(MODEL);
        List<String> requests = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String sampling = i == 0 ? "\"temperature\":0" : "\"temperature\":1.2,\"top_p\":0.9,\"seed\":" + (7 + i);
            requests.add("{\"rid\":\"r" + i + "\",\"prompt_token_ids\":" + JSON.writeValueAsString(cases.get(i).promptIds())
                    + ",\"max_new_tokens\":8,\"ignore_eos\":true," + sampling + "}");
        }
        Path input = tmp.resolve("requests.jsonl");
        Files.write(input, requests, StandardCharsets.UTF_8);
        results = tmp.resolve("results.jsonl");
        Run gen = run("generate", "--input", input.toString(), "--output", results.toString(), "--npy-dir",
                tmp.resolve("npy").toString());
        assertEquals(0, gen.code, gen.out);
        lines = Files.readAllLines(results, StandardCharsets.UTF_8);
    }

    private record Run(int code, String out) {
    }

    private static Run run(String command, String... args) {
        List<String> argv = new ArrayList<>(List.of(command, "--model", Fixtures.model(MODEL).toString(),
                "--threads", "2"));
        argv.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(argv.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8));
    }

    private static Run verify(List<String> resultLines, String... extra) throws IOException {
        Path file = tmp.resolve("edited.jsonl");
        Files.write(file, resultLines, StandardCharsets.UTF_8);
        List<String> args = new ArrayList<>(List.of("--results", file.toString()));
        args.addAll(List.of(extra));
        return run("verify", args.toArray(String[]::new));
    }

    private static String lineOf(Run r, String rid) {
        return r.out.lines().filter(l -> l.startsWith("verify " + rid + ":")).findFirst().orElseThrow();
    }

    /** Result {@code i} with {@code edit} applied to its routing. */
    private static List<String> edited(int i, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        List<String> out = new ArrayList<>(lines);
        ObjectNode r = (ObjectNode) JSON.readTree(lines.get(i));
        edit.accept((ObjectNode) r.get("routing"));
        out.set(i, JSON.writeValueAsString(r));
        return out;
    }

    @Test
    void resultsFromGenerateVerifyCleanFromJsonAndFromNpy() throws IOException {
        for (Run r : List.of(verify(lines), verify(lines, "--npy-dir", tmp.resolve("npy").toString()))) {
            assertEquals(0, r.code, r.out);
            for (int i = 0; i < 3; i++) {
                String line = lineOf(r, "r" + i);
                assertTrue(line.contains(": OK logprobs 8/8 identical"), line);
                assertTrue(line.contains("(100.000 %)"), line);
            }
            assertTrue(r.out.contains("verify: 3 results: 3 ok, 0 mismatched, 0 structural errors"), r.out);
        }
    }

    @Test
    void oneAlteredIdIsCaughtAndTheChangedLogprobReported() throws IOException {
        JsonNode r1 = JSON.readTree(lines.get(1));
        int p = r1.get("prompt_token_ids").size();
        int row = p + 2;   // position p + 2 is fed output 2; its logits give output 3
        List<String> altered = edited(1, routing -> {
            ArrayNode cell = (ArrayNode) routing.get("topk_ids").get(row).get(0);
            int taken0 = cell.get(0).asInt(), taken1 = cell.get(1).asInt();
            int other = 0;
            while (other == taken0 || other == taken1 || containsId(cell, other)) {
                other++;
            }
            cell.set(0, other);
        });
        Run r = verify(altered);
        assertEquals(4, r.code, r.out);
        String line = lineOf(r, "r1");
        // outputs 0..2 come before the altered position and keep their bits; output 3 is the first it changes
        assertTrue(line.contains(": MISMATCH logprobs 3/8 identical"), line);
        assertTrue(line.contains("first at output 3: recorded " + r1.get("output_logprobs").get(3).floatValue()
                + " recomputed "), line);
        assertTrue(line.contains("positions differing per MoE layer ["), line);   // the altered cell at least
        assertTrue(lineOf(r, "r0").contains(": OK"), r.out);
        assertTrue(lineOf(r, "r2").contains(": OK"), r.out);
        assertTrue(r.out.contains("3 results: 2 ok, 1 mismatched, 0 structural errors"), r.out);
    }

    private static boolean containsId(ArrayNode cell, int id) {
        for (JsonNode n : cell) {
            if (n.asInt() == id) {
                return true;
            }
        }
        return false;
    }

    @Test
    void structurallyBrokenRecordsAreCaught() throws IOException {
        List<String> broken = new ArrayList<>(lines);
        broken.set(0, edited(0, routing -> ((ArrayNode) routing.get("topk_ids")).remove(3)).get(0));
        broken.set(1, edited(1, routing -> ((ArrayNode) routing.get("topk_ids").get(5).get(1)).set(0, 999)).get(1));
        broken.set(2, edited(2, routing -> {
            ArrayNode cell = (ArrayNode) routing.get("topk_ids").get(0).get(0);
            cell.set(1, cell.get(0).asInt());
        }).get(2));
        Run r = verify(broken);
        assertEquals(4, r.code, r.out);
        assertTrue(lineOf(r, "r0").contains("ERROR routing has"), r.out);
        assertTrue(lineOf(r, "r0").contains("rows, expected prompt + output − 1"), r.out);
        assertTrue(lineOf(r, "r1").contains("ERROR id 999 at position 5, MoE layer 1 is outside the experts"), r.out);
        assertTrue(lineOf(r, "r2").contains("ERROR expert "), r.out);
        assertTrue(lineOf(r, "r2").contains("appears twice at position 0, MoE layer 0"), r.out);
        assertTrue(r.out.contains("3 results: 0 ok, 0 mismatched, 3 structural errors"), r.out);
    }

    /**
     * A result of a request with forced_routing holds ids the free router would not pick, and says how many in its
     * report: verify expects exactly those cells unreproduced (no false alarm), and checks a result's recorded
     * prompt_logprobs bit for bit too.
     */
    @Test
    void forcedAndScoredResultsVerifyAgainstTheirOwnReports() throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases(MODEL);
        String prompt = JSON.writeValueAsString(cases.get(0).promptIds());
        String row = "[[15,14,13,12],[11,10,9,8],[7,6,5,4],[3,2,1,0]]";
        Path input = tmp.resolve("replay-requests.jsonl");
        Files.write(input, List.of(
                "{\"rid\":\"forced\",\"prompt_token_ids\":" + prompt + ",\"max_new_tokens\":5,\"temperature\":0,"
                        + "\"ignore_eos\":true,\"forced_routing\":[" + row + "," + row + "]}",
                "{\"rid\":\"scored\",\"prompt_token_ids\":" + prompt + ",\"max_new_tokens\":4,\"temperature\":0,"
                        + "\"ignore_eos\":true,\"prompt_logprobs\":true}"), StandardCharsets.UTF_8);
        Path out = tmp.resolve("replay-results.jsonl");
        Run gen = run("generate", "--input", input.toString(), "--output", out.toString());
        assertEquals(0, gen.code, gen.out);
        List<String> replayLines = Files.readAllLines(out, StandardCharsets.UTF_8);
        JsonNode forced = JSON.readTree(replayLines.get(0)).get("forced_routing");
        assertTrue(forced.get("cells_reproduced").asLong() < forced.get("cells").asLong(), forced.toString());

        Run r = verify(replayLines);
        assertEquals(0, r.code, r.out);
        assertTrue(lineOf(r, "forced").contains(": OK"), r.out);
        assertTrue(lineOf(r, "forced").contains("the record's own forced_routing reported"), r.out);
        String scored = lineOf(r, "scored");
        int p = cases.get(0).promptIds().length;
        assertTrue(scored.contains(": OK logprobs " + (4 + p - 1) + "/" + (4 + p - 1) + " identical"), scored);

        ObjectNode s = (ObjectNode) JSON.readTree(replayLines.get(1));
        ArrayNode plp = (ArrayNode) s.get("prompt_logprobs");
        plp.set(2, Float.intBitsToFloat(Float.floatToIntBits(plp.get(2).floatValue()) ^ 1));
        Run bad = verify(List.of(replayLines.get(0), JSON.writeValueAsString(s)));
        assertEquals(4, bad.code, bad.out);
        assertTrue(lineOf(bad, "scored").contains(": MISMATCH"), bad.out);
        assertTrue(lineOf(bad, "scored").contains("prompt_logprobs differ from prompt token 2"), bad.out);
    }
}
