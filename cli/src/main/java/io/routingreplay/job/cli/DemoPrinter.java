package io.routingreplay.job.cli;

import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.schemas.RoutingResult;
import java.util.List;

/** One line per answer as it arrives: rid, text, token counts, routing shape and the first token's experts. */
final class DemoPrinter {

    private DemoPrinter() {
    }

    static String describe(LocalPipeline.Answer a, AnswerWriter writer) {
        if (a.deadLetter() != null) {
            return "DEAD-LETTER rid=" + a.deadLetter().getRid() + " (" + a.deadLetter().getStage() + "): "
                    + a.deadLetter().getReason();
        }
        RoutingResult r = a.result();
        List<Integer> shape = r.getRoutingShape();
        int[] outputs = r.getOutputTokenIds().stream().mapToInt(Integer::intValue).toArray();
        String text = writer.text(outputs);
        long latency = r.getTimings().getAssembledAt() - r.getTimings().getAdmittedAt();
        return "rid=" + r.getRid()
                + "  prompt " + r.getPromptTokenIds().size() + " + output " + outputs.length + " tokens ("
                + r.getFinishReason() + ")"
                + (shape == null ? "  no routing (return_routing false)"
                        : "  routing " + shape + " " + r.getRoutingDtype()
                        + (r.getRoutingStart() == 0 ? "" : " from position " + r.getRoutingStart())
                        + "  token " + r.getRoutingStart() + " experts " + LocalCommand.excerpt(r))
                + "  " + latency + " ms"
                + (text == null ? "" : "\n    text: " + quote(text));
    }

    private static String quote(String s) {
        String t = s.replace("\n", "\\n");
        return "\"" + (t.length() > 120 ? t.substring(0, 120) + "..." : t) + "\"";
    }
}
