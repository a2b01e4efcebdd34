package io.routingreplay.runtime.backend.cuda;

import io.routingreplay.runtime.backend.SeqChunk;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.engine.EngineConfig;
import io.routingreplay.runtime.engine.GemmInputs;
import io.routingreplay.runtime.kvcache.KvCacheDtype;
import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.engine.LLMEngine;
import io.routingreplay.runtime.engine.ReplayReport;
import io.routingreplay.runtime.routing.ForcedRouting;
import io.routingreplay.runtime.routing.RoutingRecord;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.testing.TieAwareConformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * The GPU checks of the CUDA backend, runnable without Maven on the GPU machine ({@code scripts/gpu-test.sh}
 * calls {@link #main}) and from JUnit ({@link CudaBackendTest}, skipped where no GPU is present):
 * <ol>
 *   <li>conformance: both fixtures reproduce transformers (exact greedy tokens, logprobs within 1e-3, top-k ids
 *       equal where the reference margin is at least 1e-4), except downstream of a reference near-tie the GPU ran the
 *       other way, which is replayed with the reference's routing where the backend can ({@link
 *       io.routingreplay.runtime.testing.TieAwareConformance});</li>
 *   <li>invariance: each request alone, all together, and with prefill split into 7-token chunks give
 *       bit-identical tokens, logprobs and routing;</li>
 *   <li>agreement: 100 random requests (greedy and seeded top-k/top-p sampling) give the CPU backend's tokens (or,
 *       at the first difference, one the CPU chooses with that token's logit moved by 1e-4: {@link TokenTies}),
 *       and its top-k ids wherever the gap to the neighbouring expert is at least 1e-4; and the same bits with the
 *       K-split GEMMs only as with the persistent and tiled ones their batches select. Sampled requests use
 *       top_k 1..50: sampling the whole 151,936-token vocabulary of a random-weight model walks an inverse CDF over
 *       ~10^5 near-equal probabilities, where a 1e-5 logit difference between two float32 backends (each within
 *       1e-4 of transformers) legitimately moves the draw to another token.</li>
 *   <li>prefix cache: every fixture prompt's greedy record and three seeded samples of it (GRPO-like), served
 *       from the prefix cache (whole batches and 7-token chunks), equal the records computed cold (cache off,
 *       each request alone) bit for bit, including the routing of the cached positions.</li>
 *   <li>prompt-end logits: a GRPO group of one block-aligned prompt, whose later samples are served the whole
 *       prompt from the cache and draw their first token from the logits row the first sample kept (alone, batched,
 *       beside a computed row, in chunks), equal their cold records bit for bit.</li>
 *   <li>swap space: a 96-position K/V cache preempts seeded sampled requests; their blocks go to pinned host memory
 *       and come back ({@link CudaKvSwap}'s kernels, the host memory pinned in 2-slot chunks so copies cross
 *       chunks), nothing is recomputed, the kernels copied exactly the engine's pairs, and every record equals the
 *       unpreempted one bit for bit (and so does the recompute path, swap space 0).</li>
 *   <li>replay (routing replay and scoring, issue 18; fp32 K/V): {@link #replay}.</li>
 * </ol>
 * Each check returns a list of failures (empty when it passes) and prints a one-line summary.
 */
public final class CudaChecks {
    /** The conformance rule's tolerances, one definition for every check here. */
    static final double LOGPROB_TOL = TieAwareConformance.LOGPROB_TOL, MARGIN = TieAwareConformance.MARGIN;

    /** The numerics of every engine the checks build, CUDA and CPU alike (fp32 K/V and split GEMM inputs unless
     *  --kv-cache-dtype / --gemm-inputs say otherwise). */
    static Numerics numerics = Numerics.EXACT;

    /** {@code [--kv-cache-dtype fp32|bf16|fp8] [--gemm-inputs split|bf16]}: fp32 K/V with split inputs runs every
     *  check against transformers; a rounded cache or bf16 inputs report how far they move greedy tokens, logprobs
     *  and routing from transformers and from the CPU backend in the same numerics (both reported, not failures), and
     *  must pass invariance and the K-split comparison bit for bit. */
    public static void main(String[] args) {
        if (args.length > 0 && args[0].startsWith("--") && !args[0].endsWith("-only")) {
            numerics = parseNumerics(args);
        } else if (args.length == 1 && args[0].equals("--prefix-cache-only")) {
            // the prefix-cache and prompt-end logits checks alone, on every accepted fixture (a short device lease)
            List<String> failures = new ArrayList<>();
            for (String fixture : acceptedFixtures()) {
                failures.addAll(prefixCache(fixture));
                failures.addAll(promptEndLogits(fixture));
            }
            failures.forEach(f -> System.out.println("FAIL " + f));
            System.out.println(failures.isEmpty() ? "PREFIX CACHE CHECK PASSED" : failures.size() + " FAILURES");
            System.exit(failures.isEmpty() ? 0 : 1);
        } else if (args.length == 1 && args[0].equals("--replay-only")) {
            // routing replay and scoring alone (a short device lease)
            List<String> failures = new ArrayList<>();
            for (String fixture : acceptedFixtures()) {
                failures.addAll(replay(fixture));
            }
            failures.forEach(f -> System.out.println("FAIL " + f));
            System.out.println(failures.isEmpty() ? "REPLAY CHECK PASSED" : failures.size() + " FAILURES");
            System.exit(failures.isEmpty() ? 0 : 1);
        } else if (args.length == 1 && args[0].equals("--swap-only")) {
            // the swap-space check alone (a short device lease)
            List<String> failures = new ArrayList<>(swapSpace("qwen3-moe-tiny"));
            failures.addAll(swapSpace("mixtral-tiny"));
            failures.forEach(f -> System.out.println("FAIL " + f));
            System.out.println(failures.isEmpty() ? "SWAP SPACE CHECK PASSED" : failures.size() + " FAILURES");
            System.exit(failures.isEmpty() ? 0 : 1);
        } else if (args.length != 0) {
            throw new IllegalArgumentException(USAGE);
        }
        List<String> failures = new ArrayList<>();
        List<String> accepted = acceptedFixtures();
        for (String fixture : accepted) {
            if (numerics.exact()) {
                failures.addAll(conformance(fixture));
            } else {
                driftFromReference(fixture);
            }
            if (numerics.gemmInputs() == GemmInputs.BF16) {
                failures.addAll(bf16Inputs(fixture));
            }
            failures.addAll(invariance(fixture));
            failures.addAll(prefixCache(fixture));
            failures.addAll(promptEndLogits(fixture));
            failures.addAll(swapSpace(fixture));
            if (numerics.exact()) {
                failures.addAll(replay(fixture));
            }
        }
        long seed = 7L;
        for (String fixture : accepted) {
            failures.addAll(agreement(fixture, 100, seed++));
        }
        failures.addAll(decodeBuckets("qwen3-moe-tiny"));
        failures.addAll(capacityFromFreeMemory("qwen3-moe-tiny"));
        for (String f : failures.subList(0, Math.min(40, failures.size()))) {
            System.out.println("FAIL " + f);
        }
        System.out.println((failures.isEmpty() ? "ALL CUDA CHECKS PASSED" : failures.size() + " CUDA CHECK FAILURES")
                + " (" + numerics + ")");
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    static final String USAGE = "usage: CudaChecks [--kv-cache-dtype fp32|bf16|fp8] [--gemm-inputs split|bf16] | "
            + "--prefix-cache-only | --swap-only | --replay-only";

    static Numerics parseNumerics(String[] args) {
        KvCacheDtype kv = KvCacheDtype.FP32;
        GemmInputs gemmInputs = GemmInputs.SPLIT;
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException(USAGE);
        }
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--kv-cache-dtype" -> kv = KvCacheDtype.parse(args[i + 1]);
                case "--gemm-inputs" -> gemmInputs = GemmInputs.parse(args[i + 1]);
                default -> throw new IllegalArgumentException(USAGE);
            }
        }
        return new Numerics(kv, gemmInputs);
    }

    /**
     * Every fixture of the CPU suite the CUDA backend accepts; the others are listed with the backend's reason (the
     * parts it does not implement yet), as a report, not a failure.
     */
    static List<String> acceptedFixtures() {
        List<String> accepted = new ArrayList<>();
        for (String fixture : Fixtures.CPU) {
            try {
                CudaModelRunner.checkSupported(ModelConfigLoader.load(Fixtures.model(fixture)));
                accepted.add(fixture);
            } catch (IllegalArgumentException e) {
                System.out.printf("refused     %-15s %s%n", fixture, e.getMessage());
            }
        }
        return accepted;
    }

    static EngineConfig.Builder cuda(String fixture) {
        return numerics.applyTo(EngineConfig.builder(Fixtures.model(fixture)).backend("cuda").maxNumSeqs(64)
                .maxBatchTokens(512).kvCacheTokens(64 * 1024));
    }

    static List<GenerationResult> run(EngineConfig cfg, List<GenerationRequest> reqs) {
        try (LLMEngine e = LLMEngine.create(cfg)) {
            return e.generate(reqs);
        }
    }

    /** As {@link #run}, with the K-split GEMMs only (never the persistent or tiled ones). */
    static List<GenerationResult> runKSplitGemmsOnly(EngineConfig cfg, List<GenerationRequest> reqs) {
        System.setProperty(ForwardPass.GEMM_PROPERTY, "ksplit");
        try {
            return run(cfg, reqs);
        } finally {
            System.clearProperty(ForwardPass.GEMM_PROPERTY);
        }
    }

    /** Against transformers, tie flips allowed for (see {@link TieAwareConformance}): where the GPU ran another
     *  expert set at a reference near-tie, the request is replayed with the reference's routing forced. */
    public static List<String> conformance(String fixture) {
        List<GenerationResult> results = run(cuda(fixture).build(), Fixtures.greedyRequests(fixture));
        TieAwareConformance.Outcome o = TieAwareConformance.check(fixture, results, reqs -> run(cuda(fixture).build(), reqs));
        System.out.printf("conformance %-15s cases=%d routing rows compared=%d (skipped %d under margin, %d downstream of "
                + "a near-tie the GPU ran the other way; %d cases replayed with the reference's routing) "
                + "max|dlogprob|=%.2e -> %s%n", fixture, Fixtures.cases(fixture).size(), o.compared(), o.underMargin(),
                o.downstreamOfFlip(), o.replayed(), o.worstLogprob(),
                o.failures().isEmpty() ? "PASS" : "FAIL (" + o.failures().size() + ")");
        return o.failures();
    }

    /**
     * With a rounded K/V cache: how far the greedy fixture cases move from transformers' fp32 reference — cases whose
     * tokens differ, routing cells (token, layer, rank) whose expert differs over the tokens before the first
     * differing output, and the largest |Δlogprob| there. A report, not a check: the reference keeps fp32 K/V.
     */
    public static void driftFromReference(String fixture) {
        List<Fixtures.Case> cases = Fixtures.cases(fixture);
        List<GenerationResult> results = run(cuda(fixture).build(), Fixtures.greedyRequests(fixture));
        int casesDiffering = 0, tokens = 0, tokensDiffering = 0, cells = 0, cellsDiffering = 0;
        double worst = 0;
        for (int i = 0; i < cases.size(); i++) {
            Fixtures.Case c = cases.get(i);
            GenerationResult r = results.get(i);
            int[] ref = c.outputIds(), got = r.outputTokenIds();
            int agree = 0;
            while (agree < Math.min(ref.length, got.length) && ref[agree] == got[agree]) {
                agree++;
            }
            tokens += ref.length;
            tokensDiffering += ref.length - agree;
            casesDiffering += agree < ref.length || got.length != ref.length ? 1 : 0;
            for (int j = 0; j < agree; j++) {
                worst = Math.max(worst, Math.abs(c.outputLogprobs()[j] - r.outputLogprobs()[j]));
            }
            int routed = Math.min(c.topkIds().length, c.promptIds().length + agree);
            for (int t = 0; t < routed; t++) {
                for (int l = 0; l < c.topkIds()[t].length; l++) {
                    for (int k = 0; k < c.topkIds()[t][l].length; k++) {
                        cells++;
                        cellsDiffering += c.topkIds()[t][l][k] != r.routing().id(t, l, k) ? 1 : 0;
                    }
                }
            }
        }
        System.out.printf("drift       %-15s %s vs transformers (fp32), greedy: cases with other tokens %d of %d, "
                        + "output tokens from the first difference on %d of %d, routing cells differing %d of %d "
                        + "(before the first differing token), max|dlogprob| %.2e there -> REPORT%n", fixture, numerics,
                casesDiffering, cases.size(), tokensDiffering, tokens, cellsDiffering, cells, worst);
    }

    /** How far a bf16-inputs first output logprob may be from the CPU's in the same numerics ({@link #bf16Inputs}). */
    static final double BF16_INPUTS_FIRST_LOGPROB_TOL = 0.05;

    /**
     * With bf16 GEMM inputs, the second PTX module runs and multiplies what the CPU backend's bf16 products multiply:
     * the greedy cases' records differ from split inputs' on the GPU (else the module was not used), at least half
     * the cases' first output token is the CPU's in the same numerics, and there its logprob is within {@value
     * #BF16_INPUTS_FIRST_LOGPROB_TOL} of the CPU's. A module that multiplied the wrong halves is far off; the two
     * backends' fp32 orders differ in the last bits only, which can move an input's bf16 rounding by one unit.
     */
    public static List<String> bf16Inputs(String fixture) {
        return bf16Inputs(fixture, CudaChecks::cuda);
    }

    /** {@link #bf16Inputs(String)} with the engines {@code engine} builds (in {@link #numerics}) against the CPU's. */
    static List<String> bf16Inputs(String fixture, Function<String, EngineConfig.Builder> engine) {
        List<String> fails = new ArrayList<>();
        List<GenerationRequest> reqs = Fixtures.greedyRequests(fixture);
        List<GenerationResult> bf16 = run(engine.apply(fixture).build(), reqs);
        List<GenerationResult> split = run(engine.apply(fixture).gemmInputs(GemmInputs.SPLIT).build(), reqs);
        List<GenerationResult> cpu = run(numerics.applyTo(EngineConfig.builder(Fixtures.model(fixture)).threads(2)
                .maxNumSeqs(64).maxBatchTokens(512)).build(), reqs);
        int differ = 0, agree = 0;
        double worst = 0;
        for (int i = 0; i < reqs.size(); i++) {
            differ += Arrays.equals(bf16.get(i).outputLogprobs(), split.get(i).outputLogprobs()) ? 0 : 1;
            GenerationResult g = bf16.get(i), c = cpu.get(i);
            if (g.outputTokenIds().length > 0 && c.outputTokenIds().length > 0
                    && g.outputTokenIds()[0] == c.outputTokenIds()[0]) {
                agree++;
                worst = Math.max(worst, Math.abs(g.outputLogprobs()[0] - c.outputLogprobs()[0]));
            }
        }
        if (differ == 0) {
            fails.add(fixture + ": bf16 GEMM inputs gave split inputs' logprobs in every case: the bf16 module did not "
                    + "run");
        }
        if (2 * agree < reqs.size()) {
            fails.add(fixture + ": the first output token is the CPU's (bf16 inputs) in only " + agree + " of "
                    + reqs.size() + " cases");
        }
        if (worst > BF16_INPUTS_FIRST_LOGPROB_TOL) {
            fails.add(fixture + ": a first output logprob is " + worst + " from the CPU's (bf16 inputs)");
        }
        System.out.printf("bf16 inputs %-15s records differ from split inputs' in %d of %d cases; first token as the "
                + "CPU's in %d, max|dlogprob| %.2e there -> %s%n", fixture, differ, reqs.size(), agree, worst,
                fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    public static List<String> invariance(String fixture) {
        List<String> fails = new ArrayList<>();
        List<GenerationRequest> reqs = Fixtures.greedyRequests(fixture);
        List<GenerationResult> together = run(cuda(fixture).build(), reqs);
        List<GenerationResult> chunked = run(cuda(fixture).maxNumSeqs(7).maxBatchTokens(7).build(), reqs);
        // the same batch with the K-split GEMMs only (the persistent ones run wherever H and the expert
        // intermediate size are multiples of 32: mixtral-tiny; the tiled ones for lm_head from 64 rows, QKV and O
        // from 256: the batched prefill)
        List<GenerationResult> kSplit = runKSplitGemmsOnly(cuda(fixture).build(), reqs);
        try (LLMEngine e = LLMEngine.create(cuda(fixture).build())) {
            for (int i = 0; i < reqs.size(); i++) {
                GenerationResult alone = e.generate(List.of(reqs.get(i))).get(0);
                same(fixture + " case " + i + " alone vs batch", alone, together.get(i), fails);
                same(fixture + " case " + i + " 7-token chunks vs batch", chunked.get(i), together.get(i), fails);
                same(fixture + " case " + i + " K-split GEMMs vs persistent / tiled", kSplit.get(i), together.get(i), fails);
            }
        }
        System.out.printf("invariance  %-15s alone / batched / 7-token chunks / K-split GEMMs bit-identical -> %s%n", fixture,
                fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    /**
     * Decode graphs at the bucket sizes above 32 rows (DecodeBuckets: multiples of 16; the padding rows grouped under
     * row 0's experts): 100 requests of different lengths decode together in graph-replayed steps of 100 sequences
     * (112 rows) down to a few, and give bit for bit the records of the same requests run with every step eager
     * (the step's exact rows, no padding).
     */
    public static List<String> decodeBuckets(String fixture) {
        List<String> fails = new ArrayList<>();
        Random rnd = new Random(11);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            reqs.add(new GenerationRequest("b" + i, randomPrompt(rnd, 6 + rnd.nextInt(20), fixture),
                    new SamplingParams(2 + rnd.nextInt(24), i % 2 == 0 ? 0f : 0.9f, 1f, 0, 40L + i, List.of(), true,
                            true)));
        }
        EngineConfig cfg = cuda(fixture).maxNumSeqs(128).maxBatchTokens(4096).build();
        List<GenerationResult> graphs = run(cfg, reqs);
        List<GenerationResult> eager;
        System.setProperty("routingreplay.cuda.graphs", "false");
        try {
            eager = run(cfg, reqs);
        } finally {
            System.clearProperty("routingreplay.cuda.graphs");
        }
        for (int i = 0; i < reqs.size(); i++) {
            same(fixture + " " + reqs.get(i).rid() + " graph-replayed buckets vs eager", graphs.get(i), eager.get(i),
                    fails);
        }
        System.out.printf("buckets     %-15s 100 requests decoding in bucket graphs (112 rows down) = eager, bit for "
                + "bit -> %s%n", fixture, fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    public static List<String> prefixCache(String fixture) {
        List<String> fails = new ArrayList<>();
        List<GenerationRequest> greedy = Fixtures.greedyRequests(fixture);
        List<GenerationRequest> samples = new ArrayList<>();
        for (GenerationRequest g : greedy) {
            for (int k = 0; k < 3; k++) {
                samples.add(new GenerationRequest(g.rid() + "-s" + k, g.promptTokenIds(), new SamplingParams(
                        g.params().maxNewTokens(), 0.9f, 0.95f, 20, 100L + k, List.of(), true, k % 2 == 0)));
            }
        }
        List<GenerationRequest> all = new ArrayList<>(greedy);
        all.addAll(samples);
        List<GenerationResult> cold = new ArrayList<>();
        try (LLMEngine e = LLMEngine.create(cuda(fixture).prefixCache(false).build())) {
            for (GenerationRequest r : all) {
                cold.add(e.generate(List.of(r)).get(0));
            }
        }
        long hits = 0;
        for (EngineConfig cfg : List.of(cuda(fixture).build(), cuda(fixture).maxNumSeqs(7).maxBatchTokens(7).build())) {
            try (LLMEngine e = LLMEngine.create(cfg)) {
                List<GenerationResult> cached = new ArrayList<>(e.generate(greedy)); // computes and caches
                cached.addAll(e.generate(samples)); // served every full prompt block but the last position's
                for (int i = 0; i < all.size(); i++) {
                    same(fixture + " " + all.get(i).rid() + " from the prefix cache (max batch tokens "
                            + cfg.maxBatchTokens() + ") vs cold", cached.get(i), cold.get(i), fails);
                }
                hits += e.stats().prefixCacheHits();
            }
        }
        if (hits == 0) {
            fails.add(fixture + ": nothing was served from the prefix cache");
        }
        System.out.printf("prefix cache %-14s %d positions served from the cache, records bit-identical to cold -> %s%n",
                fixture, hits, fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    /** {@link #promptEndLogits(String, Function)} on the CUDA backend. */
    public static List<String> promptEndLogits(String fixture) {
        return promptEndLogits(fixture, CudaChecks::cuda);
    }

    /**
     * Prompt-end logits (issue 15; PrefixCacheTest's case): a GRPO group of 6 samples of one prompt of 3 whole
     * blocks (different seeds, greedy, top-p / top-k, temperature 1.2 over the whole vocabulary). The first sample
     * computes the prompt and keeps its last position's logits row; every later one must then be served the whole
     * prompt from the cache and draw its first token from that row. In one engine: the later samples alone (steps
     * of no tokens), then again all batched with an unrelated request whose prompt is computed (given rows beside a
     * computed one); in 5-token chunks of at most 3 sequences; and with the prompt's last position alone in its step
     * (a one-token keep step: the decode graph's shape). Passes when every record equals its cold record (cache off,
     * each request alone) bit for bit, the cache served exactly the later samples' whole prompts, the model was fed
     * only the positions not served (no prompt position of a later sample), one row was kept, and each way reached
     * the step shape it is there for. Without the row the later samples compute the last block (hits fall short);
     * with a wrong row their first tokens or logprobs differ.
     *
     * @param engine the engine under check per fixture (the CUDA one in {@link #main}; the CPU backend in the unit
     *               test that shows the check passes there and fails where no row is kept)
     */
    static List<String> promptEndLogits(String fixture, Function<String, EngineConfig.Builder> engine) {
        List<String> fails = new ArrayList<>();
        int promptLen = 3 * engine.apply(fixture).build().kvBlockSize();
        Random rnd = new Random(15);
        List<GenerationRequest> group = new ArrayList<>();
        int[] prompt = randomPrompt(rnd, promptLen, fixture);
        for (int i = 0; i < 6; i++) {
            SamplingParams p = switch (i % 3) {
                case 0 -> new SamplingParams(6 + i % 3, 0.9f, 0.95f, 40, 500L + i, List.of(), true, i % 2 == 0);
                case 1 -> new SamplingParams(7, 0f, 1f, 0, 500L + i, List.of(), true, i % 2 == 0);
                default -> new SamplingParams(8, 1.2f, 1f, 0, 500L + i, List.of(), true, i % 2 == 0);
            };
            group.add(new GenerationRequest("g" + i, prompt, p));
        }
        GenerationRequest other = new GenerationRequest("other", randomPrompt(rnd, promptLen - 3, fixture),
                new SamplingParams(5, 0.9f, 0.95f, 40, 77L, List.of(), true, true));
        List<GenerationRequest> later = group.subList(1, group.size());
        List<GenerationRequest> laterAndOther = new ArrayList<>(later);
        laterAndOther.add(other);
        List<GenerationResult> cold = new ArrayList<>(), coldLaterAndOther = new ArrayList<>();
        try (LLMEngine e = LLMEngine.create(engine.apply(fixture).prefixCache(false).build())) {
            for (GenerationRequest r : group) {
                cold.add(e.generate(List.of(r)).get(0));
            }
            coldLaterAndOther.addAll(cold.subList(1, cold.size()));
            coldLaterAndOther.add(e.generate(List.of(other)).get(0));
        }
        long rowBytes = 4L * vocabOf(fixture);
        for (int w = 0; w < 3; w++) {
            EngineConfig.Builder cfg = engine.apply(fixture);
            String way = w == 0 ? "alone, then batched beside a computed prompt" : w == 1 ? "5-token chunks"
                    : "last prompt position alone in its step";
            if (w == 1) {
                cfg.maxNumSeqs(3).maxBatchTokens(5);
            } else if (w == 2) {
                cfg.maxNumSeqs(8).maxBatchTokens(promptLen - 1);
            }
            String where = fixture + " prompt-end logits, " + way;
            try (LLMEngine e = LLMEngine.create(cfg.build())) {
                // positions fed; steps of given rows only, of given rows beside computed ones, and keeping one
                // token's row in a step of one-token chunks
                long[] fed = new long[1], shapes = new long[3];
                e.observeSteps((batch, out, nanos) -> {
                    fed[0] += batch.numTokens();
                    boolean given = batch.chunks().stream().anyMatch(ch -> ch.sampleFrom() != null);
                    boolean computes = batch.chunks().stream().anyMatch(ch -> ch.sample() && ch.sampleFrom() == null);
                    shapes[0] += given && batch.numTokens() == 0 ? 1 : 0;
                    shapes[1] += given && computes ? 1 : 0;
                    shapes[2] += batch.numTokens() == batch.chunks().size()
                            && batch.chunks().stream().anyMatch(SeqChunk::keepLogits) ? 1 : 0;
                });
                servedWhole(where + " (first sample)", e, group.subList(0, 1), cold.subList(0, 1), fed, 0,
                        promptLen, fails);
                if (w == 0) {
                    for (int i = 0; i < later.size(); i++) {
                        servedWhole(where + " (later sample alone)", e, later.subList(i, i + 1),
                                cold.subList(i + 1, i + 2), fed, promptLen, 0, fails);
                    }
                    servedWhole(where + " (later samples batched with " + other.rid() + ")", e, laterAndOther,
                            coldLaterAndOther, fed, later.size() * (long) promptLen, other.promptTokenIds().length,
                            fails);
                } else {
                    servedWhole(where + " (later samples batched)", e, later, cold.subList(1, cold.size()), fed,
                            later.size() * (long) promptLen, 0, fails);
                }
                int[] wanted = w == 0 ? new int[]{0, 1} : w == 2 ? new int[]{2} : new int[0];
                for (int shape : wanted) {
                    if (shapes[shape] == 0) {
                        fails.add(where + ": no step of " + new String[]{"given rows only",
                                "given rows beside a computed one", "a one-token keep"}[shape]);
                    }
                }
                if (e.stats().promptEndLogitsBytes() != rowBytes) {
                    fails.add(where + ": " + e.stats().promptEndLogitsBytes() + " bytes of prompt-end logits kept, "
                            + "expected one row of " + rowBytes);
                }
            }
        }
        System.out.printf("prompt-end  %-15s %d-token prompt, later samples served whole from the kept row (alone, "
                + "batched beside a computed prompt, chunked, one-token keep step), records bit-identical to cold "
                + "-> %s%n", fixture, promptLen, fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    /**
     * Generates {@code reqs} in {@code e}; each record must equal its cold one, the cache must serve exactly
     * {@code hits} positions and the model be fed exactly {@code computedPrompt} prompt positions plus every
     * output but the last.
     */
    private static void servedWhole(String where, LLMEngine e, List<GenerationRequest> reqs,
                                    List<GenerationResult> cold, long[] fed, long hits, long computedPrompt,
                                    List<String> fails) {
        long hitsBefore = e.stats().prefixCacheHits(), fedBefore = fed[0];
        List<GenerationResult> got = e.generate(reqs);
        long expectedFed = computedPrompt;
        for (int i = 0; i < reqs.size(); i++) {
            same(where + ": " + reqs.get(i).rid() + " vs cold", got.get(i), cold.get(i), fails);
            expectedFed += got.get(i).outputTokenIds().length - 1;
        }
        long served = e.stats().prefixCacheHits() - hitsBefore;
        if (served != hits) {
            fails.add(where + ": " + served + " prompt positions served from the cache, expected " + hits
                    + " (each later sample's whole prompt, its first token from the kept row)");
        }
        if (fed[0] - fedBefore != expectedFed) {
            fails.add(where + ": " + (fed[0] - fedBefore) + " positions fed through the model, expected "
                    + expectedFed + " (the prompts not served and every output but the last)");
        }
    }

    private static int[] randomPrompt(Random rnd, int n, String fixture) {
        int[] p = new int[n];
        int vocab = vocabOf(fixture);
        for (int i = 0; i < n; i++) {
            p[i] = rnd.nextInt(vocab);
        }
        return p;
    }

    /**
     * A K/V cache of 96 positions and 8 seeded sampled requests of up to 53 positions each, eager admission: they
     * preempt one another; with the swap space their blocks come back from pinned host memory (nothing recomputed),
     * without it they are recomputed; both give the records of a run with room for all, bit for bit.
     */
    public static List<String> swapSpace(String fixture) {
        List<String> fails = new ArrayList<>();
        Random rnd = new Random(15);
        int vocab = vocabOf(fixture);
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] prompt = new int[10 + rnd.nextInt(20)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(vocab);
            }
            reqs.add(new GenerationRequest("r" + i, prompt, new SamplingParams(24, 1f, 1f, 0, 100L + i, List.of(),
                    true, true)));
        }
        List<GenerationResult> roomy = run(cuda(fixture).swapSpaceBytes(0).build(), reqs);
        long[] swappedIn = new long[2], recomputed = new long[2], preemptions = new long[2];
        long[] swapBytes = {64L << 20, 0};
        long swappedOut = 0, launches = 0, pairs = 0;
        int chunks = 0;
        for (int k = 0; k < 2; k++) {
            EngineConfig cfg = cuda(fixture).kvCacheTokens(96).swapSpaceBytes(swapBytes[k])
                    .admission(io.routingreplay.runtime.scheduler.AdmissionPolicy.EAGER).build();
            CudaModelRunner runner = (CudaModelRunner) io.routingreplay.runtime.backend.ModelRunners.create(cfg);
            // chunks of 2 slots: a victim of 2-4 blocks, or two victims, cross chunk boundaries, and slots sit at
            // both places of a chunk (in production a chunk is 256 MiB, 170 slots of Qwen3-30B-A3B)
            runner.swapChunkBytes(2 * runner.kvSwapBytesPerBlock());
            try (LLMEngine e = LLMEngine.create(cfg, runner)) {
                List<GenerationResult> squeezed = e.generate(reqs);
                for (int i = 0; i < reqs.size(); i++) {
                    same(fixture + " " + reqs.get(i).rid() + " preempted (swap space " + swapBytes[k]
                            + " B) vs unpreempted", squeezed.get(i), roomy.get(i), fails);
                }
                swappedIn[k] = e.stats().swappedInBlocks();
                recomputed[k] = e.stats().recomputedPositions();
                preemptions[k] = e.stats().preemptions();
                if (k == 0) {
                    swappedOut = e.stats().swappedOutBlocks();
                    launches = runner.swapSpace().launches();
                    pairs = runner.swapSpace().pairs();
                    chunks = runner.swapSpace().chunksPinned();
                }
            }
        }
        if (pairs != swappedOut + swappedIn[0]) {
            fails.add(fixture + ": the swap kernels copied " + pairs + " (block, slot) pairs, the engine swapped "
                    + swappedOut + " out and " + swappedIn[0] + " in");
        }
        if (chunks < 2) {
            fails.add(fixture + ": the swap space pinned " + chunks + " chunk(s) of 2 slots: no copy crossed a chunk");
        }
        if (preemptions[0] == 0 || preemptions[1] == 0) {
            fails.add(fixture + ": the 96-position cache did not preempt");
        }
        if (swappedIn[0] == 0 || recomputed[0] != 0) {
            fails.add(fixture + " with the swap space: " + swappedIn[0] + " blocks swapped in, " + recomputed[0]
                    + " positions recomputed (want > 0 and 0)");
        }
        if (recomputed[1] == 0) {
            fails.add(fixture + " without the swap space: nothing recomputed");
        }
        System.out.printf("swap space  %-15s %d preemptions, %d blocks swapped out / %d in by %d kernel launches"
                        + " (%d chunks of 2 slots), %d recomputed (without: %d), records bit-identical to"
                        + " unpreempted -> %s%n", fixture, preemptions[0], swappedOut, swappedIn[0], launches, chunks,
                recomputed[0], recomputed[1], fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    private static void same(String what, GenerationResult a, GenerationResult b, List<String> fails) {
        if (!Arrays.equals(a.outputTokenIds(), b.outputTokenIds())) {
            fails.add(what + ": tokens differ");
        } else if (!Arrays.equals(a.outputLogprobs(), b.outputLogprobs())) {
            fails.add(what + ": logprobs differ");
        } else if (!Arrays.equals(a.routing().ids(), b.routing().ids())
                || !Arrays.equals(a.routing().weights(), b.routing().weights())) {
            fails.add(what + ": routing differs");
        }
    }

    /** The agreement check's n random requests (the same for a given seed): even ones greedy, odd ones sampled. */
    static List<GenerationRequest> randomRequests(String fixture, int n, long seed) {
        Random rnd = new Random(seed);
        int vocab = Fixtures.cases(fixture).get(0).promptIds().length > 0 ? vocabOf(fixture) : 0;
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[1 + rnd.nextInt(48)];
            for (int j = 0; j < prompt.length; j++) {
                prompt[j] = rnd.nextInt(vocab);
            }
            int maxNew = 1 + rnd.nextInt(16);
            SamplingParams p = i % 2 == 0
                    ? new SamplingParams(maxNew, 0f, 1f, 0, null, List.of(), true, true)
                    : new SamplingParams(maxNew, 0.5f + rnd.nextFloat(), i % 3 == 0 ? 1f : 0.9f,
                    1 + rnd.nextInt(50), rnd.nextLong(), List.of(), true, true);
            reqs.add(new GenerationRequest("r" + i, prompt, p));
        }
        return reqs;
    }

    public static List<String> agreement(String fixture, int n, long seed) {
        List<String> fails = new ArrayList<>();
        List<GenerationRequest> reqs = randomRequests(fixture, n, seed);
        List<GenerationResult> gpu = run(cuda(fixture).build(), reqs);
        // the same requests on the K-split GEMMs only: batches of up to 512 prefill tokens and 64 sampled rows run the
        // persistent and tiled GEMMs (lm_head from 64 rows, QKV/O from 256, experts from 32 pairs per expert), which
        // must give the K-split kernels' bits
        List<GenerationResult> gpuKSplit = runKSplitGemmsOnly(cuda(fixture).build(), reqs);
        int kSplitDiffs = 0;
        for (int i = 0; i < n; i++) {
            int before = fails.size();
            same(fixture + " request " + i + " K-split GEMMs vs persistent / tiled", gpuKSplit.get(i), gpu.get(i), fails);
            kSplitDiffs += fails.size() - before;
        }
        List<GenerationResult> cpu = run(numerics.applyTo(EngineConfig.builder(Fixtures.model(fixture)).threads(2)
                .maxNumSeqs(64).maxBatchTokens(512)).build(), reqs);
        // with a rounded (bf16/fp8) cache the two backends' last-bit differences are rounded apart and then amplified
        // token after token: their disagreement is reported, and is a failure only in the exact fp32 mode
        List<String> cpuDiffs = new ArrayList<>();
        int tokenMismatch = 0, tokenTies = 0, idsCompared = 0, idsSkipped = 0;
        for (int i = 0; i < n; i++) {
            GenerationResult g = gpu.get(i), c = cpu.get(i);
            int[] gt = g.outputTokenIds(), ct = c.outputTokenIds();
            int agree = 0;
            while (agree < Math.min(gt.length, ct.length) && gt[agree] == ct[agree]) {
                agree++;
            }
            if (agree < Math.min(gt.length, ct.length) && TokenTies.cpuChoosesWithinTolerance(Fixtures.model(fixture),
                    numerics, prefix(reqs.get(i).promptTokenIds(), gt, agree), reqs.get(i).params(), agree, gt[agree])) {
                // the GPU's token is the CPU's choice once its logit moves by 1e-4 (TokenTies): a near-tie, not an
                // error; the tokens after it continue differently, the routing of the agreeing ones is compared
                tokenTies++;
            } else if (agree < Math.max(gt.length, ct.length)) {
                tokenMismatch++;
                cpuDiffs.add(fixture + " request " + i + " (" + reqs.get(i).params() + "): tokens " + Arrays.toString(gt)
                        + " vs CPU " + Arrays.toString(ct));
            }
            // routing: every token both ran identically (the prompt and the agreeing outputs)
            int tokens = Math.min(g.routing().numTokens(), reqs.get(i).promptTokenIds().length + agree);
            tokens = Math.min(tokens, c.routing().numTokens());
            int L = g.routing().layout().numMoeLayers();
            for (int t = 0; t < tokens; t++) {
                for (int l = 0; l < L; l++) {
                    int[] counts = RowAgreement.compare(g.routing(), c.routing(), t, l,
                            fixture + " request " + i + " token " + t + " layer " + l, cpuDiffs);
                    idsCompared += counts[0];
                    idsSkipped += counts[1];
                }
            }
        }
        if (numerics.exact()) {
            fails.addAll(cpuDiffs);
        } else {
            for (String d : cpuDiffs.subList(0, Math.min(5, cpuDiffs.size()))) {
                System.out.println("  differs from CPU (" + numerics + ", reported): " + d);
            }
        }
        System.out.printf("agreement   %-15s %d random requests vs CPU: token mismatches=%d (skipped %d the CPU "
                + "chooses with that token's logit moved by %.0e), ids compared=%d "
                + "(skipped %d within %.0e of a neighbour or of the other pick, and the ranks below such a pick)%s; K-split-only "
                + "GEMMs differ in %d -> %s%n", fixture, n,
                tokenMismatch, tokenTies, TokenTies.LOGIT_TOLERANCE, idsCompared, idsSkipped, MARGIN,
                numerics.exact() ? "" : ", " + cpuDiffs.size() + " CPU differences reported (" + numerics + ")",
                kSplitDiffs,
                fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    /** kvCacheTokens = 0: the runner sizes the K/V cache from free GPU memory, and the engine runs on it. */
    public static List<String> capacityFromFreeMemory(String fixture) {
        List<String> fails = new ArrayList<>();
        EngineConfig cfg = numerics.applyTo(EngineConfig.builder(Fixtures.model(fixture)).backend("cuda")).build();
        try (CudaModelRunner r = (CudaModelRunner) io.routingreplay.runtime.backend.ModelRunners.create(cfg)) {
            long tokens = (long) r.numKvBlocks() * r.kvBlockSize();
            List<GenerationRequest> one = List.of(Fixtures.greedyRequests(fixture).get(0));
            GenerationResult g = LLMEngine.create(cfg, r).generate(one).get(0);
            if (numerics.exact() && !Arrays.equals(g.outputTokenIds(), Fixtures.cases(fixture).get(0).outputIds())) {
                fails.add(fixture + " with a memory-sized cache: tokens differ from the reference");
            }
            System.out.printf("capacity    %-15s K/V cache sized from free memory on %s: %d blocks x %d = %d tokens -> %s%n",
                    fixture, r.deviceName(), r.numKvBlocks(), r.kvBlockSize(), tokens,
                    fails.isEmpty() ? "PASS" : "FAIL");
        }
        return fails;
    }

    /**
     * Routing replay and scoring on the CUDA backend (the CPU's ForcedRoutingTest and ScoringTest), each fixture's
     * greedy cases plus one seeded top-k/top-p sample per case:
     * <ol>
     *   <li>own routing: every request re-run with its prompt's routing forced gives the free CUDA run's tokens,
     *       logprobs, routing ids and weights bit for bit, every forced cell counted as reproduced;</li>
     *   <li>one altered cell (MoE layer 0, a position inside the prompt, the last rank) is used (the record holds it),
     *       weighed by the live router (another weight), counted once in its layer's mismatches, and changes the
     *       output logprobs;</li>
     *   <li>a greedy rollout resumed from its first half (prompt + half the outputs as the prompt, all of it forced)
     *       gives the uninterrupted run's remaining tokens and logprobs and its whole record, bit for bit;</li>
     *   <li>scoring prompt + outputs (max_new_tokens 0, prompt_logprobs) gives, at the output positions, the logprobs
     *       the CUDA engine reported when it sampled those tokens, bit for bit, and the CPU backend's prompt
     *       logprobs within the conformance tolerance at every position;</li>
     *   <li>the forced, scored and free requests together in one batch, each alone, and in 7-token chunks give the
     *       same tokens, logprobs, routing and replay reports, bit for bit.</li>
     * </ol>
     * The runs that check the forced and scored bits run with the prefix cache off, so the positions are computed
     * by the forced and scoring kernels, not served from blocks of the free run.
     */
    public static List<String> replay(String fixture) {
        return replay(fixture, CudaChecks::cuda);
    }

    /** {@link #replay(String)} on the engines {@code engine} makes (the CPU backend's in ReplayCheckTest). */
    static List<String> replay(String fixture, Function<String, EngineConfig.Builder> engine) {
        List<String> fails = new ArrayList<>();
        List<GenerationRequest> reqs = new ArrayList<>(Fixtures.greedyRequests(fixture));
        List<Fixtures.Case> cases = Fixtures.cases(fixture);
        for (int i = 0; i < cases.size(); i++) {
            reqs.add(new GenerationRequest("sampled-" + i, cases.get(i).promptIds(),
                    new SamplingParams(6, 0.9f, 0.95f, 40, 900L + i, List.of(), true, true)));
        }
        EngineConfig cfg = engine.apply(fixture).prefixCache(false).build();
        List<GenerationResult> free = run(cfg, reqs);
        int L = free.get(0).routing().layout().numMoeLayers(), K = free.get(0).routing().layout().topK();

        // the mixed batch: own routing forced, scoring, one altered cell, the free requests again
        List<GenerationRequest> mixed = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) {
            GenerationRequest r = reqs.get(i);
            mixed.add(forced(r, "forced-" + r.rid(), ForcedRouting.of(free.get(i).routing(),
                    r.promptTokenIds().length)));
        }
        for (int i = 0; i < reqs.size(); i++) {
            mixed.add(score("scored-" + reqs.get(i).rid(), concat(reqs.get(i).promptTokenIds(),
                    free.get(i).outputTokenIds())));
        }
        GenerationRequest base = reqs.get(0);
        GenerationResult baseFree = free.get(0);
        int m = Math.min(5, base.promptTokenIds().length);
        int pos = Math.min(3, m - 1), layer = 0, k = K - 1;
        int[] altered = ForcedRouting.of(baseFree.routing(), m).ids().clone();
        int cell = (pos * L + layer) * K + k;
        altered[cell] = otherExpert(baseFree.routing(), pos, layer);
        mixed.add(forced(base, "altered", new ForcedRouting(m, altered)));
        mixed.addAll(reqs);
        List<GenerationResult> batched = run(cfg, mixed);

        // 1. own routing forced = free
        for (int i = 0; i < reqs.size(); i++) {
            GenerationResult got = batched.get(i);
            String where = fixture + " " + got.rid();
            same(where + " vs the free run", got, free.get(i), fails);
            ReplayReport rep = got.replay();
            int positions = reqs.get(i).promptTokenIds().length;
            if (rep == null || rep.forcedPositions() != positions || rep.forcedCells() != (long) positions * L * K
                    || rep.forcedCellsReproduced() != rep.forcedCells()
                    || !Arrays.equals(rep.forcedMismatches(), new int[L])) {
                fails.add(where + ": forced-routing report " + describe(rep) + ", expected " + positions
                        + " positions, every cell reproduced, no mismatch");
            }
        }
        // 2. one altered cell
        GenerationResult alt = batched.get(2 * reqs.size());
        if (alt.routing().id(pos, layer, k) != altered[cell]) {
            fails.add(fixture + " altered: the record holds expert " + alt.routing().id(pos, layer, k)
                    + ", not the forced " + altered[cell]);
        }
        if (alt.routing().weight(pos, layer, k) == baseFree.routing().weight(pos, layer, k)) {
            fails.add(fixture + " altered: the forced expert has the replaced expert's weight");
        }
        // layer 0's router reads no routed layer's output, so exactly the altered position differs there; the later
        // layers' routers see what the altered expert changed (at that position and, through attention, after it)
        // and may count more
        if (alt.replay().forcedMismatches()[layer] != 1
                || alt.replay().forcedCellsReproduced() > alt.replay().forcedCells() - 1) {
            fails.add(fixture + " altered: report " + describe(alt.replay()) + ", expected one mismatch in layer "
                    + layer + " and at least one cell not reproduced");
        }
        if (Arrays.equals(alt.outputLogprobs(), baseFree.outputLogprobs())) {
            fails.add(fixture + " altered: another expert at position " + pos + " left every output logprob as it was");
        }
        // 4. scoring = the sampled logprobs (bit for bit) and the CPU's prompt logprobs (within tolerance), the CPU
        // scoring on the experts the GPU's scoring run chose: at a router near-tie the two backends may legitimately
        // pick different experts, and the logprobs after it then follow different trajectories (qwen3-moe-mixed-tiny
        // case 2, position 93 on the H100: 0.04 apart unforced)
        List<GenerationRequest> cpuScoring = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) {
            GenerationRequest s = mixed.get(reqs.size() + i);
            RoutingRecord gpuRouting = batched.get(reqs.size() + i).routing();
            cpuScoring.add(new GenerationRequest(s.rid(), s.promptTokenIds(), s.params(), s.routing(),
                    ForcedRouting.of(gpuRouting, gpuRouting.numTokens()), true));
        }
        List<GenerationResult> cpuScores = run(EngineConfig.builder(Fixtures.model(fixture)).threads(2)
                .maxNumSeqs(64).maxBatchTokens(512).build(), cpuScoring);
        double worstCpu = 0;
        for (int i = 0; i < reqs.size(); i++) {
            GenerationResult sample = free.get(i), scored = batched.get(reqs.size() + i);
            String where = fixture + " " + scored.rid();
            int p = sample.promptTokenIds().length, o = sample.outputTokenIds().length;
            float[] lp = scored.replay() == null ? null : scored.replay().promptLogprobs();
            if (lp == null || lp.length != p + o - 1) {
                fails.add(where + ": " + (lp == null ? "no" : lp.length) + " prompt logprobs, expected " + (p + o - 1));
                continue;
            }
            if (!Arrays.equals(sample.outputLogprobs(), Arrays.copyOfRange(lp, p - 1, p + o - 1))) {
                fails.add(where + ": scored logprobs of the outputs " + Arrays.toString(Arrays.copyOfRange(lp, p - 1,
                        p + o - 1)) + " != sampled " + Arrays.toString(sample.outputLogprobs()));
            }
            float[] cpu = cpuScores.get(i).replay().promptLogprobs();
            for (int j = 0; j < lp.length; j++) {
                double d = Math.abs(lp[j] - cpu[j]);
                worstCpu = Math.max(worstCpu, Float.isNaN(lp[j]) ? Double.POSITIVE_INFINITY : d);
                if (!(d <= LOGPROB_TOL)) {
                    fails.add(where + " prompt logprob " + j + ": " + lp[j] + " vs CPU " + cpu[j]);
                }
            }
        }
        // 3. a partial rollout resumed on its recorded routing = the uninterrupted greedy run
        int resumedCase = reqs.size() > 1 && Fixtures.greedyRequests(fixture).size() > 1 ? 1 : 0;
        GenerationRequest whole = reqs.get(resumedCase);
        GenerationResult uninterrupted = free.get(resumedCase);
        int n = uninterrupted.outputTokenIds().length, half = n / 2;
        if (half < 1) {
            fails.add(fixture + " " + whole.rid() + ": " + n + " outputs, too few to resume from a half");
        } else {
            int[] resumedPrompt = concat(whole.promptTokenIds(), Arrays.copyOf(uninterrupted.outputTokenIds(), half));
            GenerationRequest resume = new GenerationRequest("resumed", resumedPrompt,
                    new SamplingParams(whole.params().maxNewTokens() - half, 0f, 1f, 0, null, List.of(), true, true),
                    null, ForcedRouting.of(uninterrupted.routing(), resumedPrompt.length), false);
            GenerationResult resumed = run(cfg, List.of(resume)).get(0);
            if (!Arrays.equals(Arrays.copyOfRange(uninterrupted.outputTokenIds(), half, n), resumed.outputTokenIds())
                    || !Arrays.equals(Arrays.copyOfRange(uninterrupted.outputLogprobs(), half, n),
                    resumed.outputLogprobs())) {
                fails.add(fixture + " resumed " + whole.rid() + ": the second half's tokens or logprobs differ");
            } else if (!Arrays.equals(uninterrupted.routing().ids(), resumed.routing().ids())
                    || !Arrays.equals(uninterrupted.routing().weights(), resumed.routing().weights())) {
                fails.add(fixture + " resumed " + whole.rid() + ": the record differs from the uninterrupted one");
            }
        }
        // 5. alone = batched = 7-token chunks, forced and scored rows beside free ones
        List<GenerationResult> chunked = run(engine.apply(fixture).prefixCache(false).maxNumSeqs(7).maxBatchTokens(7).build(),
                mixed);
        try (LLMEngine e = LLMEngine.create(cfg)) {
            for (int i = 0; i < mixed.size(); i++) {
                GenerationResult alone = e.generate(List.of(mixed.get(i))).get(0);
                String where = fixture + " " + mixed.get(i).rid();
                sameWithReport(where + " alone vs batch", alone, batched.get(i), fails);
                sameWithReport(where + " 7-token chunks vs batch", chunked.get(i), batched.get(i), fails);
            }
        }
        System.out.printf("replay      %-15s %d requests: own routing forced = free, one altered cell counted, "
                + "resumed rollout = uninterrupted, scores = sampled logprobs (max|d| vs CPU %.2e), alone = batched "
                + "= 7-token chunks, bit for bit -> %s%n", fixture, mixed.size() + 1, worstCpu,
                fails.isEmpty() ? "PASS" : "FAIL (" + fails.size() + ")");
        return fails;
    }

    private static GenerationRequest forced(GenerationRequest r, String rid, ForcedRouting f) {
        return new GenerationRequest(rid, r.promptTokenIds(), r.params(), r.routing(), f, false);
    }

    private static GenerationRequest score(String rid, int[] tokens) {
        return new GenerationRequest(rid, tokens, new SamplingParams(0, 1f, 1f, 0, null, List.of(), false, true), null,
                null, true);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** An expert the record does not hold at (position, layer): the free router did not pick it there. */
    private static int otherExpert(RoutingRecord rec, int pos, int layer) {
        for (int e = 0; ; e++) {
            boolean taken = false;
            for (int k = 0; k < rec.layout().topK(); k++) {
                taken |= rec.id(pos, layer, k) == e;
            }
            if (!taken) {
                return e;
            }
        }
    }

    private static String describe(ReplayReport r) {
        return r == null ? "none" : "positions=" + r.forcedPositions() + " mismatches="
                + Arrays.toString(r.forcedMismatches()) + " cells=" + r.forcedCells() + " reproduced="
                + r.forcedCellsReproduced();
    }

    /** {@link #same}, and the replay reports (prompt logprobs bit for bit, forced-routing counts) equal. */
    private static void sameWithReport(String what, GenerationResult a, GenerationResult b, List<String> fails) {
        same(what, a, b, fails);
        ReplayReport x = a.replay(), y = b.replay();
        if ((x == null) != (y == null)) {
            fails.add(what + ": one has a replay report, the other not");
        } else if (x != null && (!Arrays.equals(x.promptLogprobs(), y.promptLogprobs())
                || x.forcedPositions() != y.forcedPositions() || !Arrays.equals(x.forcedMismatches(), y.forcedMismatches())
                || x.forcedCells() != y.forcedCells() || x.forcedCellsReproduced() != y.forcedCellsReproduced())) {
            fails.add(what + ": replay reports differ (" + describe(x) + " vs " + describe(y) + ")");
        }
    }

    /** The prompt followed by the first {@code n} outputs: the tokens before output {@code n} is drawn. */
    static int[] prefix(int[] prompt, int[] outputs, int n) {
        int[] t = Arrays.copyOf(prompt, prompt.length + n);
        System.arraycopy(outputs, 0, t, prompt.length, n);
        return t;
    }

    private static int vocabOf(String fixture) {
        return io.routingreplay.runtime.config.ModelConfigLoader.load(Fixtures.model(fixture)).vocabSize;
    }
}
