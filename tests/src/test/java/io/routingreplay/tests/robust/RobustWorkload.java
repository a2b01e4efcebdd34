package io.routingreplay.tests.robust;

import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.sampler.SamplingParams;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Requests for the robustness tests, as JSON lines (what is published) and as engine requests (what the offline
 * engine, the oracle, runs): half greedy, half seeded sampling, short prompts of random ids and short outputs.
 */
final class RobustWorkload {

    /** One request in both forms. */
    record Request(String rid, byte[] json, GenerationRequest engineRequest) {
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("fixtures/qwen3-moe-tiny"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("fixtures/qwen3-moe-tiny not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    static Path modelDir() {
        return repoRoot().resolve("fixtures/qwen3-moe-tiny");
    }

    /**
     * {@code n} requests named {@code prefix-0..n-1}; prompts of {@code minPrompt..maxPrompt} ids and
     * {@code minOut..maxOut} new tokens (EOS ignored, so each runs to its length).
     */
    static List<Request> generate(String prefix, int n, long seed, int minPrompt, int maxPrompt, int minOut,
                                  int maxOut) {
        return generate(prefix, n, seed, 1, minPrompt, maxPrompt, minOut, maxOut);
    }

    /**
     * As {@link #generate(String, int, long, int, int, int, int)}, in groups of {@code groupSize} consecutive
     * requests sharing one prompt (GRPO samples: with prompts of a full K/V block or more, the prefix cache serves
     * the group's later samples).
     */
    static List<Request> generate(String prefix, int n, long seed, int groupSize, int minPrompt, int maxPrompt,
                                  int minOut, int maxOut) {
        Random rnd = new Random(seed);
        List<Request> out = new ArrayList<>(n);
        int[] prompt = null;
        for (int i = 0; i < n; i++) {
            String rid = prefix + "-" + i;
            if (i % groupSize == 0) {
                prompt = new int[minPrompt + rnd.nextInt(maxPrompt - minPrompt + 1)];
                for (int j = 0; j < prompt.length; j++) {
                    prompt[j] = 100 + rnd.nextInt(150_000);
                }
            }
            int maxNew = minOut + rnd.nextInt(maxOut - minOut + 1);
            boolean greedy = i % 2 == 0;
            float temperature = greedy ? 0f : 0.9f;
            float topP = greedy ? 1f : 0.95f;
            int topK = greedy ? 0 : 40;
            Long s = greedy ? null : 1_000L + i;
            StringBuilder json = new StringBuilder("{\"rid\":\"").append(rid).append("\",\"prompt_token_ids\":[");
            for (int j = 0; j < prompt.length; j++) {
                json.append(j == 0 ? "" : ",").append(prompt[j]);
            }
            json.append("],\"max_new_tokens\":").append(maxNew).append(",\"temperature\":").append(temperature)
                    .append(",\"top_p\":").append(topP).append(",\"top_k\":").append(topK)
                    .append(",\"ignore_eos\":true");
            if (s != null) {
                json.append(",\"seed\":").append(s);
            }
            json.append('}');
            SamplingParams params = new SamplingParams(maxNew, temperature, topP, topK, s, List.of(), true, false);
            out.add(new Request(rid, json.toString().getBytes(StandardCharsets.UTF_8),
                    new GenerationRequest(rid, prompt, params)));
        }
        return out;
    }

    /**
     * What the engine alone returns for each request, every prompt computed cold (no prefix cache): the
     * failure-free answer the job must reproduce.
     */
    static Map<String, GenerationResult> offline(List<Request> requests) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (Request r : requests) {
            reqs.add(r.engineRequest());
        }
        Map<String, GenerationResult> byRid = new LinkedHashMap<>();
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(modelDir()).threads(2).prefixCache(false)
                .build())) {
            for (GenerationResult g : engine.generate(reqs)) {
                byRid.put(g.rid(), g);
            }
        }
        return byRid;
    }

    /** Prompt positions an engine with the prefix cache on serves from it for these requests. */
    static long prefixCacheHits(List<Request> requests) {
        try (LLMEngine engine = LLMEngine.create(EngineConfig.builder(modelDir()).threads(2).build())) {
            engine.generate(requests.stream().map(Request::engineRequest).toList());
            return engine.stats().prefixCacheHits();
        }
    }

    private RobustWorkload() {
    }
}
