package io.routingreplay.tests.robust;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.job.cli.Main;
import io.routingreplay.operators.validation.PromptValidator;
import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.operators.validation.ValidationLimits;
import io.routingreplay.operators.validation.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 5's "done when": {@code routing-replay local --input examples/bad-requests.jsonl --output …
 * --dead-letter-output …} exits 0, returns each good request exactly once and dead-letters each bad line with the
 * reason validation gives it (the reasons themselves are checked against docs/bad-input.md in operators).
 */
class BadRequestsLocalModeITCase {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyGoodRequestOnceEveryBadOneDeadLetteredWithItsReason(@TempDir Path dir) throws Exception {
        Path input = RobustWorkload.repoRoot().resolve("examples/bad-requests.jsonl");
        Path output = dir.resolve("results.jsonl");
        Path deadLetters = dir.resolve("dead-letters.jsonl");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(new String[] {"local", "--model", RobustWorkload.modelDir().toString(),
                "--input", input.toString(), "--output", output.toString(),
                "--dead-letter-output", deadLetters.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, () -> "exit status; stderr:\n" + err.toString(StandardCharsets.UTF_8));

        List<String> lines = Files.readAllLines(input, StandardCharsets.UTF_8);
        Map<Integer, String> expectedReasons = new HashMap<>();
        Set<String> goodRids = new HashSet<>();
        Set<String> seenRids = new HashSet<>();
        try (PromptValidator v = PromptValidator.forModel(RobustWorkload.modelDir(),
                RobustWorkload.modelDir().getFileName().toString(), ValidationLimits.defaults())) {
            for (int i = 0; i < lines.size(); i++) {
                Verdict verdict = v.validate(RawPrompt.of(lines.get(i).getBytes(StandardCharsets.UTF_8)));
                if (verdict instanceof Verdict.Rejected r) {
                    expectedReasons.put(i + 1, r.reason());
                } else {
                    String rid = ((Verdict.Accepted) verdict).request().getRid();
                    if (!seenRids.add(rid)) {
                        expectedReasons.put(i + 1, "duplicate rid '" + rid + "'");
                    } else {
                        goodRids.add(rid);
                    }
                }
            }
        }

        List<String> resultRids = new ArrayList<>();
        for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
            JsonNode r = JSON.readTree(line);
            resultRids.add(r.get("rid").asText());
            int routed = r.get("prompt_token_ids").size() + r.get("output_token_ids").size() - 1;
            if (r.get("rid").asText().equals("ok-eval")) { // return_routing false
                assertTrue(r.get("routing").isNull(), line);
                continue;
            }
            assertEquals(routed, r.get("routing").get("num_tokens").asInt(), line);
            int start = r.get("rid").asText().equals("ok-turn-2") ? 4 : 0; // its routing_start
            assertEquals(start, r.get("routing").get("routing_start").asInt(), line);
            assertEquals(routed - start, r.get("routing").get("topk_ids").size(), line);
        }
        assertEquals(goodRids.size(), resultRids.size(), "one result per good request: " + resultRids);
        assertEquals(goodRids, new HashSet<>(resultRids));

        Map<Integer, String> reasons = new HashMap<>();
        for (String line : Files.readAllLines(deadLetters, StandardCharsets.UTF_8)) {
            JsonNode d = JSON.readTree(line);
            assertNotNull(d.get("line"), "every dead letter names its input line: " + line);
            assertTrue(reasons.put(d.get("line").asInt(), d.get("reason").asText()) == null, "one per line: " + line);
        }
        assertEquals(expectedReasons.keySet(), reasons.keySet(), "exactly the bad lines are dead-lettered");
        expectedReasons.forEach((lineNo, reason) -> assertTrue(reasons.get(lineNo).startsWith(reason),
                "line " + lineNo + ": '" + reasons.get(lineNo) + "' should be '" + reason + "'"));
    }
}
