package io.routingreplay.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.routingreplay.job.JobOptions;
import io.routingreplay.job.local.LocalPipeline;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import io.routingreplay.schemas.RoutingResult;
import java.io.BufferedWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.Configuration;

/**
 * {@code routing-replay local}: the streaming pipeline on this machine (in-process Kafka + Flink MiniCluster).
 * Publishes the requests, waits until each is answered (result or dead letter), writes the answers and exits 0; with
 * {@code --follow} it keeps the job and broker up for other producers. With no input, a demo on the bundled model.
 */
final class LocalCommand {

    static final String DEMO_MODEL = "fixtures/qwen3-moe-tiny";
    private static final List<String> DEMO_PROMPTS = List.of(
            "The capital of France is",
            "def fibonacci(n):",
            "Mixture-of-experts models route each token to",
            "路由重放让强化学习的更新");

    private LocalCommand() {
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(argv, 0, Set.of("model", "input", "output", "dead-letter-output", "timeout"),
                Set.of("follow"));
        boolean demo = !a.options.containsKey("input");
        if (!demo && !a.options.containsKey("output")) {
            throw new Args.UsageException("--input needs --output (where the results go)");
        }
        if (demo && (a.options.containsKey("output") || a.options.containsKey("dead-letter-output"))) {
            throw new Args.UsageException("--output and --dead-letter-output need --input");
        }
        Path model = a.options.containsKey("model") ? Path.of(a.options.get("model")) : RepoHome.find().resolve(DEMO_MODEL);
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException("model folder " + model + " has no config.json"
                    + (a.options.containsKey("model") ? "" : "; pass --model DIR"));
        }
        RequestLines requests = demo ? demoRequests() : RequestLines.read(Path.of(a.options.get("input")));
        Duration timeout = Duration.ofSeconds(Long.parseLong(a.options.getOrDefault("timeout", "1800")));

        Configuration conf = new Configuration();
        conf.set(JobOptions.MODEL_DIR, model.toAbsolutePath().toString());
        conf.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(JobOptions.ENGINE_THREADS, Math.max(1, Runtime.getRuntime().availableProcessors()));
        conf.addAll(Configuration.fromMap(a.conf));

        TextTokenizer tokenizer = TextTokenizer.load(model).orElse(null);
        AnswerWriter writer = new AnswerWriter(tokenizer);
        err.println("routing-replay local: starting Kafka and Flink, model " + model);
        try (LocalPipeline pipeline = LocalPipeline.start(conf)) {
            err.println("routing-replay local: Kafka at " + pipeline.bootstrapServers() + ", publishing "
                    + requests.values.size() + " request(s) to '" + conf.get(JobOptions.PROMPTS_TOPIC) + "'");
            List<LocalPipeline.Sent> sent = pipeline.publishAll(requests.values, requests.rids);
            int[] done = {0};
            List<LocalPipeline.Answer> answers = pipeline.awaitAnswers(timeout, ans -> {
                done[0]++;
                if (demo) {
                    out.println(DemoPrinter.describe(ans, writer));
                } else if (done[0] % 50 == 0 || done[0] == sent.size()) {
                    err.println("routing-replay local: " + done[0] + "/" + sent.size() + " answered");
                }
            });
            int unanswered = sent.size() - countAnswered(answers);
            if (!demo) {
                write(answers, requests, sent, writer, Path.of(a.options.get("output")),
                        a.options.containsKey("dead-letter-output") ? Path.of(a.options.get("dead-letter-output")) : null);
            }
            if (unanswered > 0) {
                err.println("routing-replay local: " + unanswered + " request(s) not answered within " + timeout);
                return 1;
            }
            if (a.flag("follow")) {
                err.println("routing-replay local: following; publish more requests to "
                        + pipeline.bootstrapServers() + " topic '" + conf.get(JobOptions.PROMPTS_TOPIC)
                        + "', results on '" + conf.get(JobOptions.RESULTS_TOPIC) + "'. Ctrl-C stops.");
                pipeline.follow(ans -> out.println(DemoPrinter.describe(ans, writer)));
            }
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        return 0;
    }

    private static int countAnswered(List<LocalPipeline.Answer> answers) {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (LocalPipeline.Answer a : answers) {
            if (a.request() != null) {
                seen.add(a.request().index());
            }
        }
        return seen.size();
    }

    /** Results in input order (as generate writes them); dead letters in input order with their line numbers. */
    private static void write(List<LocalPipeline.Answer> answers, RequestLines requests, List<LocalPipeline.Sent> sent,
                              AnswerWriter writer, Path output, Path deadLetterOutput) throws Exception {
        String[] resultLines = new String[sent.size()];
        List<List<String>> dlLines = new ArrayList<>();
        for (int i = 0; i < sent.size(); i++) {
            dlLines.add(new ArrayList<>());
        }
        List<String> unmatched = new ArrayList<>();
        for (LocalPipeline.Answer a : answers) {
            Integer idx = a.request() == null ? null : a.request().index();
            if (a.result() != null) {
                String line = writer.resultLine(a.result());
                if (idx != null && resultLines[idx] == null) {
                    resultLines[idx] = line;
                }
            } else if (idx != null) {
                dlLines.get(idx).add(AnswerWriter.deadLetterLine(a.deadLetter(), requests.lineNumbers.get(idx)));
            } else {
                unmatched.add(AnswerWriter.deadLetterLine(a.deadLetter(), null));
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            for (String line : resultLines) {
                if (line != null) {
                    w.write(line);
                    w.newLine();
                }
            }
        }
        if (deadLetterOutput != null) {
            try (BufferedWriter w = Files.newBufferedWriter(deadLetterOutput, StandardCharsets.UTF_8)) {
                for (List<String> lines : dlLines) {
                    for (String line : lines) {
                        w.write(line);
                        w.newLine();
                    }
                }
                for (String line : unmatched) {
                    w.write(line);
                    w.newLine();
                }
            }
        }
    }

    private static RequestLines demoRequests() {
        ObjectMapper json = new ObjectMapper();
        RequestLines r = new RequestLines();
        for (int i = 0; i < DEMO_PROMPTS.size(); i++) {
            ObjectNode n = json.createObjectNode();
            n.put("rid", "demo-" + (i + 1));
            n.put("prompt_text", DEMO_PROMPTS.get(i));
            n.put("max_new_tokens", 12);
            n.put("seed", i + 1); // sampled at the default temperature, the same every run
            r.add(n.toString(), i + 1);
        }
        return r;
    }

    /**
     * The first routed token's experts per MoE layer, e.g. {@code [3 7 1 12] [0 5 9 2] ...} (the first row the
     * record holds: position routing_start).
     */
    static String excerpt(RoutingResult r) {
        if (r.getRoutingShape() == null || r.getRoutingShape().get(0) == 0) {
            return "none";
        }
        int layers = r.getRoutingShape().get(1);
        int k = r.getRoutingShape().get(2);
        io.routingreplay.runtime.routing.RoutingRecord rec =
                io.routingreplay.operators.results.RoutingResults.toGenerationResult(r).routing();
        StringBuilder s = new StringBuilder();
        for (int l = 0; l < Math.min(layers, 4); l++) {
            s.append(l == 0 ? "[" : " [");
            for (int j = 0; j < k; j++) {
                s.append(j == 0 ? "" : " ").append(rec.id(0, l, j));
            }
            s.append(']');
        }
        return s.append(layers > 4 ? " ..." : "").toString();
    }
}
