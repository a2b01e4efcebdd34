package io.routingreplay.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.testing.Fixtures;
import org.junit.jupiter.api.Test;
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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate} end to end on the Hugging Face reference fixtures: the command's JSONL output (and .npy files)
 * must carry exactly the reference greedy tokens, logprobs within 1e-3, and the reference top-k expert ids at every
 * (token, MoE layer) whose reference margin is at least 1e-4 (below that a float32 engine may swap the boundary
 * expert; see fixtures/README.md).
 */
class GenerateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double LOGPROB_TOLERANCE = 1e-3;
    private static final double MARGIN_FOR_EXACT_IDS = 1e-4;
    private static final double WEIGHT_TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void reproducesTheReferenceFromTokenIds(String model) throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases(model);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            String line = greedyLine("case-" + i, "\"prompt_token_ids\":"
                    + JSON.writeValueAsString(cases.get(i).promptIds()), cases.get(i).outputIds().length);
            lines.add(line.replace("}", ",\"return_routing_weights\":true}"));
        }
        Run run = generate(model, lines, "--npy-dir", tmp.resolve("npy").toString());
        assertEquals(0, run.exitCode, run.stderr);
        assertEquals(cases.size(), run.results.size());
        for (int i = 0; i < cases.size(); i++) {
            JsonNode r = run.results.get(i);
            assertEquals("case-" + i, r.get("rid").asText(), "results keep input order");
            assertMatchesReference(cases.get(i), r, model + " case " + i);
            assertMoeLayers(model, ints(r.get("routing").get("moe_layer_indices")));
            assertWeightsMatchReference(cases.get(i), r.get("routing"), model + " case " + i);
            assertNpyMatchesJson(tmp.resolve("npy").resolve("case-" + i + ".npy"), r.get("routing"));
        }
    }

    /**
     * routing_start k returns rows k.. of the record generate returns with routing_start 0 (which the test above
     * checks against transformers), with num_tokens unchanged and the start in the result and the .npy file's name;
     * return_routing false returns routing null and writes no .npy file. Each case runs three ways in one batch.
     */
    @Test
    void routingStartReturnsTheFullRecordsRowsFromItAndReturnRoutingFalseNone() throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases("qwen3-moe-tiny");
        List<String> lines = new ArrayList<>();
        int[] starts = new int[cases.size()];
        for (int i = 0; i < cases.size(); i++) {
            Fixtures.Case c = cases.get(i);
            String prompt = "\"prompt_token_ids\":" + JSON.writeValueAsString(c.promptIds());
            int n = c.outputIds().length;
            starts[i] = i % 2 == 0 ? c.promptIds().length / 2 + 1 : c.promptIds().length; // mid-prompt, prompt end
            lines.add(greedyLine("full-" + i, prompt, n).replace("}", ",\"return_routing_weights\":true}"));
            lines.add(greedyLine("cut-" + i, prompt, n).replace("}", ",\"return_routing_weights\":true,"
                    + "\"routing_start\":" + starts[i] + "}"));
            lines.add(greedyLine("none-" + i, prompt, n).replace("}", ",\"return_routing\":false}"));
        }
        Path npy = tmp.resolve("npy");
        Run run = generate("qwen3-moe-tiny", lines, "--npy-dir", npy.toString());
        assertEquals(0, run.exitCode, run.stderr);
        for (int i = 0; i < cases.size(); i++) {
            JsonNode full = run.results.get(3 * i).get("routing");
            JsonNode cut = run.results.get(3 * i + 1).get("routing");
            JsonNode none = run.results.get(3 * i + 2);
            int k = starts[i];
            int numTokens = full.get("num_tokens").asInt();
            assertEquals(0, full.get("routing_start").asInt());
            assertEquals(numTokens, full.get("topk_ids").size());
            assertEquals(numTokens, cut.get("num_tokens").asInt(), "num_tokens stays the request's routed tokens");
            assertEquals(k, cut.get("routing_start").asInt());
            assertEquals(numTokens - k, cut.get("topk_ids").size(), "case " + i + " rows from " + k);
            assertTrue(numTokens - k > 0, "case " + i + " keeps some rows");
            for (int r = 0; r < numTokens - k; r++) {
                assertEquals(full.get("topk_ids").get(k + r), cut.get("topk_ids").get(r), "case " + i + " row " + r);
                assertEquals(full.get("topk_weights").get(k + r), cut.get("topk_weights").get(r),
                        "case " + i + " weights row " + r);
            }
            assertEquals(run.results.get(3 * i).get("output_token_ids"), run.results.get(3 * i + 1)
                    .get("output_token_ids"));
            assertNpyMatchesJson(npy.resolve("cut-" + i + "@" + k + ".npy"), cut);
            assertFalse(Files.exists(npy.resolve("cut-" + i + ".npy")), "the cut record is named by its start");
            assertTrue(none.has("routing") && none.get("routing").isNull(), none.toString());
            assertEquals(run.results.get(3 * i).get("output_token_ids"), none.get("output_token_ids"));
            assertFalse(Files.exists(npy.resolve("none-" + i + ".npy")), "no routing, no file");
        }
    }

    @Test
    void promptTextEncodesToTheReferencePrompt() throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases("qwen3-moe-tiny").subList(0, 3);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            String text = cases.get(i).promptText();
            assertTrue(text != null, "qwen case " + i + " has prompt_text");
            lines.add(greedyLine("text-" + i, "\"prompt_text\":" + JSON.writeValueAsString(text),
                    cases.get(i).outputIds().length));
        }
        Run run = generate("qwen3-moe-tiny", lines);
        assertEquals(0, run.exitCode, run.stderr);
        for (int i = 0; i < cases.size(); i++) {
            JsonNode r = run.results.get(i);
            assertArrayEquals(cases.get(i).promptIds(), ints(r.get("prompt_token_ids")), "prompt of case " + i);
            assertMatchesReference(cases.get(i), r, "text case " + i);
            assertTrue(r.get("output_text").isTextual(), "output_text present with a tokenizer");
        }
    }

    @Test
    void badLinesAreReportedAndTheRestStillRun() throws IOException {
        Fixtures.Case c = Fixtures.cases("mixtral-tiny").get(0);
        String prompt = "\"prompt_token_ids\":" + JSON.writeValueAsString(c.promptIds());
        List<String> lines = List.of(
                greedyLine("good-1", prompt, 3),
                "this is not json",
                "",
                greedyLine("good-1", prompt, 3),
                "{\"rid\":\"oov\",\"prompt_token_ids\":[1,1000]}",
                "{\"rid\":\"text\",\"prompt_text\":\"mixtral-tiny has no tokenizer\"}",
                "{\"rid\":\"hot\"," + prompt + ",\"temperature\":-1}",
                "{\"rid\":\"weights\"," + prompt + ",\"max_new_tokens\":2,\"temperature\":0,"
                        + "\"return_routing_weights\":true,\"some_future_field\":[1,2]}");
        Path rejected = tmp.resolve("rejected.jsonl");
        Run run = generate("mixtral-tiny", lines, "--rejected-output", rejected.toString());

        assertEquals(GenerateCommand.EXIT_REJECTED, run.exitCode, run.stderr);
        assertEquals(List.of("good-1", "weights"), run.results.stream().map(r -> r.get("rid").asText()).toList());
        assertArrayEquals(java.util.Arrays.copyOf(c.outputIds(), 3), ints(run.results.get(0).get("output_token_ids")));
        JsonNode weights = run.results.get(1).get("routing");
        assertEquals(weights.get("topk_ids").size(), weights.get("topk_weights").size());
        assertTrue(run.results.get(0).get("output_text").isNull(), "no tokenizer: output_text is null");
        assertTrue(!run.results.get(0).get("routing").has("topk_weights"), "weights only when asked");

        List<JsonNode> rejections = new ArrayList<>();
        for (String line : Files.readAllLines(rejected)) {
            rejections.add(JSON.readTree(line));
        }
        assertEquals(List.of(2, 4, 5, 6, 7), rejections.stream().map(r -> r.get("line").asInt()).toList());
        assertTrue(!rejections.get(0).has("rid"));
        assertEquals("good-1", rejections.get(1).get("rid").asText());
        assertTrue(rejections.get(1).get("reason").asText().contains("duplicate rid 'good-1' (first used on line 1)"));
        assertTrue(rejections.get(2).get("reason").asText().contains("outside the vocabulary"));
        assertTrue(rejections.get(3).get("reason").asText().contains("no tokenizer.json"));
        assertTrue(rejections.get(4).get("reason").asText().contains("temperature"));
        assertTrue(run.stderr.contains("line 2: rejected: not valid JSON"), run.stderr);
        assertTrue(run.stderr.contains("line 5 (rid 'oov'): rejected:"), run.stderr);
    }

    @Test
    void invalidUtf8LineIsRejectedAlone() throws IOException {
        Path input = tmp.resolve("in.jsonl");
        byte[] bad = "{\"rid\":\"x\",\"prompt_token_ids\":[1],\"note\":\"\u00ff\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] good = "{\"rid\":\"ok\",\"prompt_token_ids\":[1,2],\"max_new_tokens\":1}\r\n".getBytes(StandardCharsets.UTF_8);
        Files.write(input, concat(bad, good));
        Run run = generateFile("mixtral-tiny", input);
        assertEquals(GenerateCommand.EXIT_REJECTED, run.exitCode, run.stderr);
        assertTrue(run.stderr.contains("line 1: rejected: not valid UTF-8 text"), run.stderr);
        assertEquals(List.of("ok"), run.results.stream().map(r -> r.get("rid").asText()).toList());
    }

    @Test
    void outputThatIsTheInputIsRefusedBeforeTouchingIt() throws IOException {
        Path input = tmp.resolve("same.jsonl");
        Files.writeString(input, "{\"rid\":\"a\",\"prompt_token_ids\":[1]}\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[]{"generate", "--model", Fixtures.model("mixtral-tiny").toString(), "--input",
                        input.toString(), "--output", input.toString()}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(Main.EXIT_USAGE, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is the same file as"), err.toString());
        assertEquals("{\"rid\":\"a\",\"prompt_token_ids\":[1]}\n", Files.readString(input));
    }

    @Test
    void syntheticConfigIsCheckedBeforeAnyWeightIsMade() throws IOException {
        Path input = tmp.resolve("in.jsonl");
        Files.writeString(input, "{\"rid\":\"a\",\"prompt_token_ids\":[1]}\n");
        Path config = Fixtures.model("mixtral-tiny").resolve("config.json");
        String model = Fixtures.model("mixtral-tiny").toString();
        String[][] cases = {
                {"--synthetic-config", config.toString()}, // backend cpu (the default)
                {"--synthetic-config", config.toString(), "--backend", "cuda", "--model", model},
                {"--synthetic-config", tmp.resolve("missing.json").toString(), "--backend", "cuda"}};
        String[] expected = {"needs --backend cuda", "replaces --model", "is not a file"};
        for (int i = 0; i < cases.length; i++) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            List<String> argv = new java.util.ArrayList<>(List.of("generate", "--input", input.toString(), "--output",
                    tmp.resolve("out.jsonl").toString()));
            argv.addAll(List.of(cases[i]));
            int code = Main.run(argv.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(Main.EXIT_USAGE, code, String.join(" ", argv));
            assertTrue(err.toString(StandardCharsets.UTF_8).contains(expected[i]), err.toString(StandardCharsets.UTF_8));
            assertFalse(Files.exists(tmp.resolve("out.jsonl")));
        }
    }

    @Test
    void theSummaryCountsPrefixCacheHitsAndNoPrefixCacheTurnsTheCacheOff() throws IOException {
        int[] prompt = Fixtures.cases("qwen3-moe-tiny").get(2).promptIds(); // 115 tokens: 7 full blocks + 3
        String field = "\"prompt_token_ids\":" + JSON.writeValueAsString(prompt);
        List<String> lines = List.of(greedyLine("first", field, 4), greedyLine("second", field, 4));
        // One sequence at a time: the second is admitted after the first computed (and cached) the prompt.
        Run cached = generate("qwen3-moe-tiny", lines, "--max-batch", "1", "--prefix-cache");
        assertEquals(0, cached.exitCode, cached.stderr);
        assertTrue(cached.stderr.contains("prefix cache 112 hit / 118 missed positions (48.7 %)"), cached.stderr);
        Run cold = generate("qwen3-moe-tiny", lines, "--max-batch", "1", "--no-prefix-cache");
        assertEquals(0, cold.exitCode, cold.stderr);
        assertTrue(cold.stderr.contains("prefix cache 0 hit / 230 missed positions (0.0 %)"), cold.stderr);
        assertEquals(cold.results, cached.results, "the same records either way");
        Run both = generate("qwen3-moe-tiny", lines, "--prefix-cache", "--no-prefix-cache");
        assertEquals(Main.EXIT_USAGE, both.exitCode);
        assertTrue(both.stderr.contains("contradict each other"), both.stderr);
    }

    /**
     * --tensor-parallel / --expert-parallel run the sharded CPU reference: the records still match transformers; a
     * split the model's shape refuses fails with the numbers, one the options themselves contradict is a usage error.
     */
    @Test
    void tensorAndExpertParallelRunTheShardedReference() throws IOException {
        List<Fixtures.Case> cases = Fixtures.cases("deepseek-v3-tiny");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            lines.add(greedyLine("case-" + i, "\"prompt_token_ids\":" + JSON.writeValueAsString(cases.get(i).promptIds()),
                    cases.get(i).outputIds().length).replace("}", ",\"return_routing_weights\":true}"));
        }
        Run run = generate("deepseek-v3-tiny", lines, "--tensor-parallel", "4", "--expert-parallel", "2");
        assertEquals(0, run.exitCode, run.stderr);
        for (int i = 0; i < cases.size(); i++) {
            assertMatchesReference(cases.get(i), run.results.get(i), "deepseek-v3-tiny TP=4 EP=2 case " + i);
        }
        List<String> one = List.of(greedyLine("a", "\"prompt_token_ids\":[1]", 2));
        Run heads = generate("deepseek-v2-greedy-tiny", one, "--tensor-parallel", "2");
        assertEquals(Main.EXIT_FAILURE, heads.exitCode, heads.stderr);
        assertTrue(heads.stderr.contains("num_attention_heads (3) is not divisible by tensor-parallel (2)"),
                heads.stderr);
        Run groups = generate("deepseek-v3-tiny", one, "--tensor-parallel", "4",
                "--expert-parallel", "3");
        assertEquals(Main.EXIT_USAGE, groups.exitCode, groups.stderr);
        assertTrue(groups.stderr.contains("expertParallel (3) must divide tensorParallel (4)"), groups.stderr);
    }

    /**
     * A block-aligned prompt (112 tokens: 7 blocks) keeps its last position's logits row: the second request is served
     * all 7 blocks and the summary shows the row's memory (vocab × 4 B); --prompt-end-logits-mib 0 keeps none (the
     * last block is computed), with the same records; a negative budget is a usage error.
     */
    @Test
    void aBlockAlignedPromptIsServedWholeUnlessPromptEndLogitsAreTurnedOff() throws IOException {
        int[] prompt = java.util.Arrays.copyOf(Fixtures.cases("qwen3-moe-tiny").get(2).promptIds(), 112);
        String field = "\"prompt_token_ids\":" + JSON.writeValueAsString(prompt);
        List<String> lines = List.of(greedyLine("first", field, 4), greedyLine("second", field, 4));
        Run whole = generate("qwen3-moe-tiny", lines, "--max-batch", "1");
        assertEquals(0, whole.exitCode, whole.stderr);
        assertTrue(whole.stderr.contains("prefix cache 112 hit / 112 missed positions (50.0 %), 0.6 MiB of prompt-end "
                + "logits kept"), whole.stderr);
        Run off = generate("qwen3-moe-tiny", lines, "--max-batch", "1", "--prompt-end-logits-mib", "0");
        assertEquals(0, off.exitCode, off.stderr);
        assertTrue(off.stderr.contains("prefix cache 96 hit / 128 missed positions (42.9 %)\n"), off.stderr);
        assertEquals(off.results, whole.results, "the same records either way");
        Run bad = generate("qwen3-moe-tiny", lines, "--prompt-end-logits-mib", "-1");
        assertEquals(Main.EXIT_USAGE, bad.exitCode);
        assertTrue(bad.stderr.contains("--prompt-end-logits-mib must be a whole number of MiB >= 0"), bad.stderr);
    }

    /**
     * Six requests of 40 positions in a 64-position cache preempt one another: the summary counts the blocks swapped
     * out and back in with nothing recomputed; --swap-space-gib 0 recomputes instead, with the same records; a
     * negative size is a usage error.
     */
    @Test
    void preemptedRequestsAreSwappedAndTheSummarySaysSo() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int[] prompt = java.util.Arrays.copyOf(Fixtures.cases("qwen3-moe-tiny").get(i % 3).promptIds(), 20);
            prompt[0] = i;  // distinct prompts: no prefix sharing
            lines.add(greedyLine("r" + i, "\"prompt_token_ids\":" + JSON.writeValueAsString(prompt), 20));
        }
        Run swapped = generate("qwen3-moe-tiny", lines, "--kv-cache-tokens", "64", "--admission", "eager");
        assertEquals(0, swapped.exitCode, swapped.stderr);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(\\d+) preemptions for K/V space, (\\d+) blocks swapped out / (\\d+) in, (\\d+) positions recomputed")
                .matcher(swapped.stderr);
        assertTrue(m.find(), swapped.stderr);
        assertTrue(Long.parseLong(m.group(1)) > 0, "the test must preempt: " + m.group());
        assertTrue(Long.parseLong(m.group(3)) > 0, m.group());
        assertEquals("0", m.group(4), m.group());
        Run recomputed = generate("qwen3-moe-tiny", lines, "--kv-cache-tokens", "64", "--admission", "eager",
                "--swap-space-gib", "0");
        assertEquals(0, recomputed.exitCode, recomputed.stderr);
        assertTrue(recomputed.stderr.contains("0 blocks swapped out / 0 in"), recomputed.stderr);
        assertEquals(recomputed.results, swapped.results, "the same records either way");
        Run bad = generate("qwen3-moe-tiny", lines, "--swap-space-gib", "-1");
        assertEquals(Main.EXIT_USAGE, bad.exitCode);
        assertTrue(bad.stderr.contains("--swap-space-gib must be a number of GiB >= 0"), bad.stderr);
    }

    /** --gemm-inputs bf16 reaches the engine (the records differ from split's) and a value it does not know is a
     *  usage error naming the choices. */
    @Test
    void gemmInputsOptionReachesTheEngine() throws IOException {
        List<String> lines = List.of(greedyLine("r0", "\"prompt_token_ids\":"
                + JSON.writeValueAsString(Fixtures.cases("qwen3-moe-tiny").get(0).promptIds()), 6));
        Run split = generate("qwen3-moe-tiny", lines);
        Run bf16 = generate("qwen3-moe-tiny", lines, "--gemm-inputs", "bf16");
        assertEquals(0, bf16.exitCode, bf16.stderr);
        assertNotEquals(split.results.get(0).get("output_logprobs"), bf16.results.get(0).get("output_logprobs"));
        Run bad = generate("qwen3-moe-tiny", lines, "--gemm-inputs", "fp16");
        assertEquals(Main.EXIT_USAGE, bad.exitCode);
        assertTrue(bad.stderr.contains("--gemm-inputs: GEMM inputs must be one of split, bf16, got 'fp16'"), bad.stderr);
    }

    @Test
    void usageErrorsExitWithTwo() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(Main.EXIT_USAGE, Main.run(new String[]{"generate", "--input", "x"}, out, errStream));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("is not a readable file"));
        assertEquals(Main.EXIT_USAGE, Main.run(new String[]{"generate", "--bogus", "1"}, out, errStream));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option --bogus for 'generate'"));
        assertEquals(Main.EXIT_USAGE, Main.run(new String[]{"frobnicate"}, out, errStream));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown command 'frobnicate'"));
        assertEquals(0, Main.run(new String[]{"help", "bench"}, out, errStream));
    }

    private static String greedyLine(String rid, String promptField, int maxNewTokens) {
        return "{\"rid\":\"" + rid + "\"," + promptField + ",\"max_new_tokens\":" + maxNewTokens
                + ",\"temperature\":0,\"ignore_eos\":true}";
    }

    private static void assertMatchesReference(Fixtures.Case c, JsonNode r, String what) {
        assertArrayEquals(c.promptIds(), ints(r.get("prompt_token_ids")), what + " prompt");
        assertArrayEquals(c.outputIds(), ints(r.get("output_token_ids")), what + " output ids");
        assertEquals("length", r.get("finish_reason").asText(), what);
        JsonNode lps = r.get("output_logprobs");
        for (int i = 0; i < c.outputLogprobs().length; i++) {
            assertEquals(c.outputLogprobs()[i], lps.get(i).asDouble(), LOGPROB_TOLERANCE, what + " logprob " + i);
        }
        JsonNode routing = r.get("routing");
        int numTokens = c.promptIds().length + c.outputIds().length - 1;
        assertEquals(numTokens, routing.get("num_tokens").asInt(), what);
        JsonNode ids = routing.get("topk_ids");
        assertEquals(numTokens, ids.size(), what);
        int compared = 0;
        for (int t = 0; t < numTokens; t++) {
            for (int l = 0; l < c.topkIds()[t].length; l++) {
                if (c.topkMargin()[t][l] >= MARGIN_FOR_EXACT_IDS) {
                    assertArrayEquals(c.topkIds()[t][l], ints(ids.get(t).get(l)),
                            what + " experts at token " + t + ", MoE layer " + l);
                    compared++;
                }
            }
        }
        assertTrue(compared > numTokens, what + ": too few (token, layer) pairs above the margin: " + compared);
    }

    private static void assertWeightsMatchReference(Fixtures.Case c, JsonNode routing, String what) {
        JsonNode weights = routing.get("topk_weights");
        assertEquals(c.topkWeights().length, weights.size(), what);
        for (int t = 0; t < c.topkWeights().length; t++) {
            for (int l = 0; l < c.topkWeights()[t].length; l++) {
                if (c.topkMargin()[t][l] >= MARGIN_FOR_EXACT_IDS) {
                    for (int k = 0; k < c.topkWeights()[t][l].length; k++) {
                        assertEquals(c.topkWeights()[t][l][k], weights.get(t).get(l).get(k).asDouble(),
                                WEIGHT_TOLERANCE, what + " weight at token " + t + ", MoE layer " + l + ", k " + k);
                    }
                }
            }
        }
    }

    /** As many MoE layers as the reference routed, the ones it names; dense layers are left out. */
    private static void assertMoeLayers(String model, int[] moeLayerIndices) throws IOException {
        JsonNode ref = JSON.readTree(Fixtures.model(model).resolve("reference.json").toFile());
        assertEquals(ref.get("moe_layers").asInt(), moeLayerIndices.length, model);
        if (ref.has("moe_layer_indices")) {
            assertArrayEquals(ints(ref.get("moe_layer_indices")), moeLayerIndices, model + " moe_layer_indices");
        }
        if (model.equals("qwen3-moe-mixed-tiny")) {
            assertArrayEquals(new int[]{1, 2, 4}, moeLayerIndices, "mlp_only_layers [0, 3] of 5 layers");
        }
    }

    /** The .npy a trainer loads holds the same ids as the JSON result, in the dtype the JSON names. */
    private static void assertNpyMatchesJson(Path npy, JsonNode routing) throws IOException {
        byte[] file = Files.readAllBytes(npy);
        int dataOffset = 10 + ((file[8] & 0xff) | (file[9] & 0xff) << 8);
        String header = new String(file, 10, dataOffset - 10, StandardCharsets.US_ASCII);
        JsonNode ids = routing.get("topk_ids");
        int layers = ids.get(0).size();
        int k = ids.get(0).get(0).size();
        boolean wide = routing.get("dtype").asText().equals("uint16");
        assertEquals(routing.get("num_experts").asInt() > 256, wide, "uint16 exactly when ids exceed uint8");
        assertTrue(header.contains("'descr': '" + (wide ? "<u2" : "|u1") + "'") && header.contains("'shape': ("
                + ids.size() + ", " + layers + ", " + k + ")"), header);
        int i = dataOffset;
        for (JsonNode token : ids) {
            for (JsonNode layer : token) {
                for (JsonNode id : layer) {
                    int stored = wide ? (file[i] & 0xff) | (file[i + 1] & 0xff) << 8 : file[i] & 0xff;
                    i += wide ? 2 : 1;
                    assertEquals(id.asInt(), stored);
                }
            }
        }
        assertEquals(file.length, i);
    }

    /**
     * forced_routing (nested lists and the .npy path form) and prompt_logprobs through generate: scoring a sampled
     * result's prompt + output on its own recorded routing returns its output_logprobs (same JSON numbers) at the
     * output tokens, its routing, and a forced_routing report with no mismatch.
     */
    @Test
    void scoringOnTheRecordedRoutingReturnsTheSampledLogprobs() throws IOException {
        Fixtures.Case c = Fixtures.cases("qwen3-moe-tiny").get(0);
        Run first = generate("qwen3-moe-tiny", List.of("{\"rid\":\"s\",\"prompt_token_ids\":"
                + JSON.writeValueAsString(c.promptIds()) + ",\"max_new_tokens\":6,\"temperature\":1.2,\"seed\":3,"
                + "\"ignore_eos\":true}"), "--npy-dir", tmp.resolve("npy").toString());
        assertEquals(0, first.exitCode, first.stderr);
        JsonNode s = first.results.get(0);
        List<Integer> all = new ArrayList<>();
        s.get("prompt_token_ids").forEach(n -> all.add(n.asInt()));
        s.get("output_token_ids").forEach(n -> all.add(n.asInt()));
        String common = "\"prompt_token_ids\":" + JSON.writeValueAsString(all) + ",\"max_new_tokens\":0,"
                + "\"prompt_logprobs\":true";
        Run scored = generate("qwen3-moe-tiny", List.of(
                "{\"rid\":\"nested\"," + common + ",\"forced_routing\":" + s.get("routing").get("topk_ids") + "}",
                "{\"rid\":\"npy\"," + common + ",\"forced_routing_npy\":"
                        + JSON.writeValueAsString(tmp.resolve("npy").resolve("s.npy").toString()) + "}"));
        assertEquals(0, scored.exitCode, scored.stderr);
        int p = s.get("prompt_token_ids").size();
        for (JsonNode r : scored.results) {
            String rid = r.get("rid").asText();
            JsonNode lp = r.get("prompt_logprobs");
            assertEquals(all.size(), lp.size(), rid + ": one per prompt token");
            assertTrue(lp.get(0).isNull(), rid + ": the first token has no prefix");
            for (int j = 0; j < s.get("output_logprobs").size(); j++) {
                assertEquals(s.get("output_logprobs").get(j).toString(), lp.get(p + j).toString(), rid + " output " + j);
            }
            assertEquals(0, r.get("output_token_ids").size());
            assertEquals("length", r.get("finish_reason").asText());
            assertEquals(s.get("routing").get("topk_ids"), r.get("routing").get("topk_ids"), rid);
            JsonNode forced = r.get("forced_routing");
            assertEquals(all.size() - 1, forced.get("positions").asInt());
            forced.get("mismatched_positions").forEach(n -> assertEquals(0, n.asInt(), rid));
            assertEquals(forced.get("cells").asLong(), forced.get("cells_reproduced").asLong(), rid);
        }
    }

    private record Run(int exitCode, List<JsonNode> results, String stderr) {
    }

    private Run generate(String model, List<String> lines, String... extra) throws IOException {
        Path input = tmp.resolve("requests.jsonl");
        Files.write(input, lines, StandardCharsets.UTF_8);
        return generateFile(model, input, extra);
    }

    private Run generateFile(String model, Path input, String... extra) throws IOException {
        Path output = tmp.resolve("results.jsonl");
        List<String> args = new ArrayList<>(List.of("generate", "--model", Fixtures.model(model).toString(),
                "--input", input.toString(), "--output", output.toString(), "--threads", "2"));
        args.addAll(List.of(extra));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream(), true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        List<JsonNode> results = new ArrayList<>();
        if (Files.exists(output)) {
            for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
                results.add(JSON.readTree(line));
            }
        }
        return new Run(code, results, err.toString(StandardCharsets.UTF_8));
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
