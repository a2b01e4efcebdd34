package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/bad-requests.jsonl holds every JSON row of docs/bad-input.md plus good requests: through the job's
 * validation each good line (rid "ok-…", and the first "dup-1") is accepted exactly once and every other line is
 * dead-lettered with the table's reason.
 */
class BadRequestsExampleTest extends WithTableValidator {


    @Test
    void everyGoodLineIsAcceptedOnceAndEveryBadLineDeadLetteredWithTheTablesReason() throws Exception {
        List<String> lines = Files.readAllLines(BadInputTable.repoRoot().resolve("examples/bad-requests.jsonl"),
                StandardCharsets.UTF_8);
        Map<String, BadInputTable.Row> rowByRequest = new HashMap<>();
        for (BadInputTable.Row row : BadInputTable.rows()) {
            rowByRequest.put(new String(row.request(), StandardCharsets.UTF_8), row);
        }
        List<RawPrompt> sent = new ArrayList<>();
        for (String line : lines) {
            sent.add(RawPrompt.of(line.getBytes(StandardCharsets.UTF_8)));
        }
        List<Object> answers = BadInputTableTest.throughDuplicateFilter(validator, sent);
        assertEquals(lines.size(), answers.size(), "one answer per line");

        List<String> accepted = new ArrayList<>();
        int rowsSeen = 0;
        for (int i = 0; i < lines.size(); i++) {
            Object answer = answers.get(i);
            BadInputTable.Row row = rowByRequest.get(lines.get(i));
            if (answer instanceof InferenceRequest r) {
                accepted.add(r.getRid());
                assertTrue(row == null || row.expectAccepted() || row.sentTwice(), () -> "line accepted: " + r.getRid());
                continue;
            }
            DeadLetter d = (DeadLetter) answer;
            int lineNo = i + 1;
            assertTrue(row != null, () -> "line " + lineNo + " was dead-lettered but is not a row of the table: "
                    + d.getReason());
            rowsSeen++;
            if (row.prefix()) {
                assertTrue(d.getReason().startsWith(row.expectedReason()), d.getReason());
            } else {
                assertEquals(row.expectedReason(), d.getReason(), "line " + lineNo);
            }
        }
        assertEquals(List.of("ok-text-greedy", "ok-ids-greedy", "ok-context-length", "ok-text-seeded",
                "ok-ids-seeded", "dup-1",
                "ok-unknown", "ok-stop", "ok-meta", "ok-turn-2", "ok-eval"), accepted);
        long jsonRows = BadInputTable.rows().stream().filter(r -> !r.expectAccepted())
                .filter(r -> r.conf().isEmpty() && r.request().length > 0 && !r.binary()).count();
        assertEquals(jsonRows, rowsSeen, "every JSON row of the table is in the example file");
    }
}
