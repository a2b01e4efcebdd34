package io.routingreplay.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.operators.results.RoutingResults;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.RoutingResult;

/** Results as {@code generate} writes them (same JSON, via {@link ResultJson}); dead letters as small JSON lines. */
final class AnswerWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TextTokenizer tokenizer;

    AnswerWriter(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    String resultLine(RoutingResult r) {
        GenerationResult g = RoutingResults.toGenerationResult(r);
        return ResultJson.toLine(g, text(g.outputTokenIds()));
    }

    String text(int[] ids) {
        return tokenizer == null ? null : tokenizer.decode(ids);
    }

    static String deadLetterLine(DeadLetter d, Integer lineNumber) {
        ObjectNode n = JSON.createObjectNode();
        n.put("rid", d.getRid());
        n.put("reason", d.getReason());
        n.put("stage", d.getStage());
        if (lineNumber != null) {
            n.put("line", lineNumber);
        }
        if (d.getSourceTopic() != null) {
            n.put("source", d.getSourceTopic() + "/" + d.getSourcePartition() + "@" + d.getSourceOffset());
        }
        return n.toString();
    }
}
