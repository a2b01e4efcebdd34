package io.routingreplay.runtime.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The Hugging Face reference fixtures shipped in the repository's {@code fixtures/} folder. */
public final class Fixtures {
    private Fixtures() {
    }

    /**
     * Every reference fixture the CPU backend runs, one line each: the conformance, invariance, prefix-cache and
     * generate-command tests run on all of them ({@code @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")}).
     */
    public static final List<String> CPU = List.of(
            "qwen3-moe-tiny",
            "mixtral-tiny",
            "olmoe-tiny",
            "qwen3-moe-mixed-tiny",
            "deepseek-v3-tiny",
            "deepseek-v2-tiny",
            "deepseek-v2-greedy-tiny",
            "glm4-moe-tiny",
            "qwen2-moe-tiny");

    public static java.util.stream.Stream<String> cpu() {
        return CPU.stream();
    }

    /** The fixture's vocabulary size (for random prompts). */
    public static int vocabSize(String name) {
        try {
            return new ObjectMapper().readTree(model(name).resolve("config.json").toFile()).get("vocab_size").asInt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("fixtures/qwen3-moe-tiny"))) {
                return p.resolve("fixtures");
            }
            p = p.getParent();
        }
        throw new IllegalStateException("fixtures/ not found above " + Path.of("").toAbsolutePath());
    }

    public static Path model(String name) {
        return root().resolve(name);
    }

    /** One reference case: the prompt and what transformers computed. */
    public record Case(int[] promptIds, int[] outputIds, double[] outputLogprobs, int[][][] topkIds,
                       double[][][] topkWeights, double[][] topkMargin, String promptText) {
    }

    public static List<Case> cases(String name) {
        try {
            JsonNode ref = new ObjectMapper().readTree(model(name).resolve("reference.json").toFile());
            List<Case> out = new ArrayList<>();
            for (JsonNode c : ref.get("cases")) {
                out.add(new Case(ints(c.get("prompt_ids")), ints(c.get("output_ids")),
                        doubles(c.get("output_logprobs")), ints3(c.get("topk_ids")), doubles3(c.get("topk_weights")),
                        doubles2(c.get("topk_margin")), c.hasNonNull("prompt_text") ? c.get("prompt_text").asText() : null));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One greedy request per reference case ("case-i"), as long as its reference output, EOS ignored. */
    public static List<GenerationRequest> greedyRequests(String name) {
        List<Case> cases = cases(name);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            reqs.add(new GenerationRequest("case-" + i, c.promptIds(), new SamplingParams(c.outputIds().length, 0f, 1f,
                    0, null, List.of(), true, true)));
        }
        return reqs;
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    private static double[] doubles(JsonNode a) {
        double[] r = new double[a.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = a.get(i).asDouble();
        }
        return r;
    }

    private static int[][][] ints3(JsonNode a) {
        int[][][] r = new int[a.size()][][];
        for (int i = 0; i < r.length; i++) {
            r[i] = new int[a.get(i).size()][];
            for (int j = 0; j < r[i].length; j++) {
                r[i][j] = ints(a.get(i).get(j));
            }
        }
        return r;
    }

    private static double[][][] doubles3(JsonNode a) {
        double[][][] r = new double[a.size()][][];
        for (int i = 0; i < r.length; i++) {
            r[i] = new double[a.get(i).size()][];
            for (int j = 0; j < r[i].length; j++) {
                r[i][j] = doubles(a.get(i).get(j));
            }
        }
        return r;
    }

    private static double[][] doubles2(JsonNode a) {
        double[][] r = new double[a.size()][];
        for (int i = 0; i < r.length; i++) {
            r[i] = doubles(a.get(i));
        }
        return r;
    }
}
