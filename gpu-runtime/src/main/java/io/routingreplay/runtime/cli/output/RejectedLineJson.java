package io.routingreplay.runtime.cli.output;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** One rejected input line as JSON: {@code {"line": n, "rid": "..." (when it could be read), "reason": "..."}}. */
public final class RejectedLineJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RejectedLineJson() {
    }

    public static String toLine(long lineNumber, String rid, String reason) {
        ObjectNode n = JSON.createObjectNode();
        n.put("line", lineNumber);
        if (rid != null) {
            n.put("rid", rid);
        }
        n.put("reason", reason);
        return n.toString();
    }
}
