package io.routingreplay.operators.validation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The "Cases" table of docs/bad-input.md, read as test data so the documentation and the tests cannot drift. */
final class BadInputTable {

    static final String MODEL_NAME = "qwen3-moe-tiny";

    /**
     * One row: the bytes to send (once, or twice for a duplicate; {@code binary} when given as hex, not as a JSON
     * line), the limits to use (the request cell's "with `key` = value" settings on top of the defaults), and the
     * expected answer.
     */
    record Row(int number, String caseName, byte[] request, boolean binary, boolean sentTwice,
               Map<String, String> conf, String expectedReason, boolean prefix) {
        boolean expectAccepted() {
            return expectedReason == null;
        }

        @Override
        public String toString() {
            return "#" + number + " " + caseName;
        }
    }

    private static final Pattern CODE = Pattern.compile("`([^`]*)`");
    private static final Pattern SETTING = Pattern.compile("with `([a-z.-]+)` = (\\d+)");
    private static final Pattern REPEAT = Pattern.compile("<'([^']*)' x (\\d+)>");

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("docs/bad-input.md"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("docs/bad-input.md not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /** The job's validator for the table's model with the default limits (close it after the tests). */
    static PromptValidator validator() {
        return PromptValidator.forModel(modelDir(), MODEL_NAME, ValidationLimits.defaults());
    }

    static Path modelDir() {
        return repoRoot().resolve("fixtures/qwen3-moe-tiny");
    }

    static List<Row> rows() throws IOException {
        List<String> lines = Files.readAllLines(repoRoot().resolve("docs/bad-input.md"), StandardCharsets.UTF_8);
        int start = lines.indexOf("## Cases");
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(start, lines.size())) {
            if (!line.matches("\\| \\d+ \\|.*")) {
                continue;
            }
            String[] cells = line.split("\\|");
            // cells: "", number, case, request, answer, ""
            int number = Integer.parseInt(cells[1].trim());
            String caseName = cells[2].trim();
            String requestCell = cells[3].trim();
            String answerCell = cells[4].trim();
            rows.add(new Row(number, caseName, requestBytes(requestCell), requestCell.contains("`<bytes "),
                    requestCell.startsWith("2x "), settings(requestCell),
                    answerCell.startsWith("accepted") ? null : stripEllipsis(lastCode(answerCell)),
                    lastCode(answerCell) != null && lastCode(answerCell).endsWith("…")));
        }
        return rows;
    }

    private static Map<String, String> settings(String requestCell) {
        Map<String, String> conf = new LinkedHashMap<>();
        Matcher m = SETTING.matcher(requestCell);
        while (m.find()) {
            conf.put(m.group(1), m.group(2));
        }
        return conf;
    }

    /** The JSON text of a row's request, expanded; null for rows that are not JSON text. */
    static String requestText(String requestCell) {
        Matcher m = CODE.matcher(requestCell);
        if (!m.find()) {
            throw new IllegalArgumentException("no request in " + requestCell);
        }
        String code = m.group(1);
        if (code.equals("<empty>") || code.startsWith("<bytes ")) {
            return null;
        }
        Matcher r = REPEAT.matcher(code);
        StringBuilder out = new StringBuilder();
        while (r.find()) {
            r.appendReplacement(out, Matcher.quoteReplacement(r.group(1).repeat(Integer.parseInt(r.group(2)))));
        }
        r.appendTail(out);
        return out.toString();
    }

    private static byte[] requestBytes(String requestCell) {
        Matcher m = CODE.matcher(requestCell);
        m.find();
        String code = m.group(1);
        if (code.equals("<empty>")) {
            return new byte[0];
        }
        if (code.startsWith("<bytes ")) {
            return HexFormat.of().parseHex(code.substring(7, code.length() - 1).replace(" ", ""));
        }
        return requestText(requestCell).getBytes(StandardCharsets.UTF_8);
    }

    private static String lastCode(String cell) {
        Matcher m = CODE.matcher(cell);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last;
    }

    private static String stripEllipsis(String s) {
        return s != null && s.endsWith("…") ? s.substring(0, s.length() - 1) : s;
    }

    private BadInputTable() {
    }
}
