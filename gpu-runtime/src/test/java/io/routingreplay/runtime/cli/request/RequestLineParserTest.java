package io.routingreplay.runtime.cli.request;

import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.routing.RoutingSelection;
import io.routingreplay.runtime.sampler.SamplingParams;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.tokenizer.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestLineParserTest {
    /** Vocabulary 1000, context 64, cap 48: small enough to cross every limit in a short line. */
    private static final RequestLimits LIMITS = new RequestLimits(1000, 64, 48);
    private static TextTokenizer qwen;
    private static RequestLineParser parser;
    private static RequestLineParser parserWithoutTokenizer;

    @BeforeAll
    static void setUp() {
        qwen = TextTokenizer.load(Fixtures.model("qwen3-moe-tiny")).orElseThrow();
        parser = new RequestLineParser(new RequestValidator(new RequestLimits(151936, 64, 48), qwen));
        parserWithoutTokenizer = new RequestLineParser(new RequestValidator(LIMITS, null));
    }

    @AfterAll
    static void tearDown() {
        qwen.close();
    }

    @Test
    void fullRequestKeepsEveryField() {
        ParsedRequest p = parserWithoutTokenizer.parse("{\"rid\":\"r1\",\"prompt_token_ids\":[1,2,999],"
                + "\"max_new_tokens\":7,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":20,\"seed\":-12345678901,"
                + "\"stop_token_ids\":[5,6],\"ignore_eos\":true,\"return_routing_weights\":true,\"extra\":{\"a\":1}}");
        assertTrue(p.isAccepted(), p.rejectReason());
        GenerationRequest r = p.request();
        assertEquals("r1", r.rid());
        assertArrayEquals(new int[]{1, 2, 999}, r.promptTokenIds());
        assertEquals(new SamplingParams(7, 0.5f, 0.9f, 20, -12345678901L, List.of(5, 6), true, true), r.params());
    }

    @Test
    void routingStartAndReturnRoutingAreRead() {
        ParsedRequest p = parserWithoutTokenizer.parse("{\"rid\":\"t2\",\"prompt_token_ids\":[1,2,3,4],"
                + "\"routing_start\":3,\"return_routing\":true}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertEquals(new RoutingSelection(3, true), p.request().routing());
        ParsedRequest none = parserWithoutTokenizer.parse("{\"rid\":\"e\",\"prompt_token_ids\":[1],"
                + "\"return_routing\":false}");
        assertEquals(new RoutingSelection(0, false), none.request().routing());
        ParsedRequest defaults = parserWithoutTokenizer.parse("{\"rid\":\"d\",\"prompt_token_ids\":[1],"
                + "\"routing_start\":null,\"return_routing\":null}");
        assertEquals(new RoutingSelection(0, true), defaults.request().routing());
    }

    /** The largest start is the prompt length: every prompt position is routed, the outputs' number is unknown. */
    @Test
    void routingStartMayReachThePromptLengthAndNoFurther() {
        assertTrue(parserWithoutTokenizer.parse("{\"rid\":\"a\",\"prompt_token_ids\":[1,2,3],"
                + "\"routing_start\":3}").isAccepted());
        assertEquals("routing_start 4 is beyond the prompt: at most 3 (the prompt length; positions after it depend "
                + "on how many tokens are generated)", parserWithoutTokenizer.parse("{\"rid\":\"a\","
                + "\"prompt_token_ids\":[1,2,3],\"routing_start\":4}").rejectReason());
    }

    @Test
    void absentAndNullFieldsTakeDefaults() {
        ParsedRequest p = parserWithoutTokenizer.parse("{\"rid\":\"r\",\"prompt_token_ids\":[3],\"seed\":null,"
                + "\"temperature\":null}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertEquals(new SamplingParams(16, 1f, 1f, 0, null, List.of(), false, false), p.request().params());
    }

    @Test
    void integralFloatIsAnInteger() {
        ParsedRequest p = parserWithoutTokenizer.parse("{\"rid\":\"r\",\"prompt_token_ids\":[3.0],\"max_new_tokens\":4.0}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertEquals(4, p.request().params().maxNewTokens());
    }

    @Test
    void promptTextIsEncodedWithTheModelsTokenizer() {
        ParsedRequest p = parser.parse("{\"rid\":\"t\",\"prompt_text\":\"Hello, world!\"}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertArrayEquals(new int[]{9707, 11, 1879, 0}, p.request().promptTokenIds());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', value = {
            "not json                 | {rid: 1}                                                  | | not valid JSON",
            "trailing garbage         | {\"rid\":\"a\",\"prompt_token_ids\":[1]} x                | | not valid JSON",
            "duplicate key            | {\"rid\":\"a\",\"rid\":\"b\",\"prompt_token_ids\":[1]}     | | not valid JSON",
            "array line               | [1,2]                                                     | | not a JSON object",
            "missing rid              | {\"prompt_token_ids\":[1]}                                 | | missing rid",
            "empty rid                | {\"rid\":\"\",\"prompt_token_ids\":[1]}                    | | missing rid",
            "rid of wrong type        | {\"rid\":7,\"prompt_token_ids\":[1]}                       | | \"rid\" must be a string",
            "no prompt                | {\"rid\":\"a\"}                                            | a | no prompt",
            "both prompts             | {\"rid\":\"a\",\"prompt_text\":\"x\",\"prompt_token_ids\":[1]} | a | both",
            "empty id prompt          | {\"rid\":\"a\",\"prompt_token_ids\":[]}                     | a | is empty",
            "text without tokenizer   | {\"rid\":\"a\",\"prompt_text\":\"hi\"}                       | a | no tokenizer.json",
            "id above vocab           | {\"rid\":\"a\",\"prompt_token_ids\":[1,1000]}               | a | \"prompt_token_ids\"[1] = 1000 is outside the vocabulary (0..999)",
            "negative id              | {\"rid\":\"a\",\"prompt_token_ids\":[-1]}                   | a | outside the vocabulary",
            "id of wrong type         | {\"rid\":\"a\",\"prompt_token_ids\":[1,\"2\"]}             | a | \"prompt_token_ids\"[1] must be an integer",
            "fractional id            | {\"rid\":\"a\",\"prompt_token_ids\":[1.5]}                 | a | must be an integer",
            "huge id                  | {\"rid\":\"a\",\"prompt_token_ids\":[1e20]}                | a | must be an integer",
            "ids not an array         | {\"rid\":\"a\",\"prompt_token_ids\":\"1 2\"}               | a | must be an array of integers",
            "stop id outside vocab    | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"stop_token_ids\":[5000]} | a | \"stop_token_ids\"[0] = 5000",
            "max_new_tokens zero      | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"max_new_tokens\":0}  | a | max_new_tokens must be >= 1",
            "max_new_tokens over cap  | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"max_new_tokens\":49} | a | exceeds the configured cap",
            "max_new_tokens as string | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"max_new_tokens\":\"8\"} | a | \"max_new_tokens\" must be an integer, got string",
            "negative temperature     | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"temperature\":-0.1} | a | temperature must be",
            "temperature as bool      | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"temperature\":true} | a | \"temperature\" must be a number",
            "top_p zero               | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"top_p\":0}         | a | top_p must be in (0, 1]",
            "top_p above one          | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"top_p\":1.5}       | a | top_p must be in (0, 1]",
            "negative top_k           | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"top_k\":-1}        | a | top_k must be >= 0",
            "seed not integral        | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"seed\":1.5}         | a | \"seed\" must be a 64-bit integer",
            "ignore_eos as string     | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"ignore_eos\":\"yes\"} | a | \"ignore_eos\" must be true or false",
            "weights flag as number   | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"return_routing_weights\":1} | a | \"return_routing_weights\" must be true or false",
            "negative routing_start   | {\"rid\":\"a\",\"prompt_token_ids\":[1,2],\"routing_start\":-1} | a | routing_start must be >= 0, got -1",
            "routing_start past prompt| {\"rid\":\"a\",\"prompt_token_ids\":[1,2],\"routing_start\":3} | a | routing_start 3 is beyond the prompt: at most 2",
            "routing_start as string  | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"routing_start\":\"0\"} | a | \"routing_start\" must be an integer, got string",
            "routing_start fractional | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"routing_start\":0.5} | a | \"routing_start\" must be an integer",
            "return_routing as string | {\"rid\":\"a\",\"prompt_token_ids\":[1],\"return_routing\":\"no\"} | a | \"return_routing\" must be true or false",
    })
    void badLinesAreRejectedWithTheirReason(String name, String line, String rid, String reasonPart) {
        ParsedRequest p = parserWithoutTokenizer.parse(line);
        assertFalse(p.isAccepted(), name + " was accepted");
        assertNull(p.request());
        assertEquals(rid, p.rid(), "rid kept when readable");
        assertTrue(p.rejectReason().contains(reasonPart), name + ": '" + p.rejectReason() + "' lacks '" + reasonPart + "'");
    }

    @Test
    void promptFillingTheContextIsRejected() {
        String ids = "1,".repeat(63) + "1";
        ParsedRequest p = parserWithoutTokenizer.parse("{\"rid\":\"long\",\"prompt_token_ids\":[" + ids + "]}");
        assertEquals("prompt has 64 tokens; the model allows at most 63 (max_position_embeddings 64 minus one to"
                + " generate)", p.rejectReason());
        String fits = "1,".repeat(62) + "1";
        assertTrue(parserWithoutTokenizer.parse("{\"rid\":\"fits\",\"prompt_token_ids\":[" + fits
                + "],\"max_new_tokens\":40}").isAccepted(), "a longer generation stops at the context end instead");
    }

    @Test
    void emptyPromptTextIsRejected() {
        assertEquals("\"prompt_text\" is empty", parser.parse("{\"rid\":\"e\",\"prompt_text\":\"\"}").rejectReason());
    }

    /** A model of 2 MoE layers, top-2 of 4 experts (ids fit uint8). */
    private static final RequestLimits ROUTED = new RequestLimits(1000, 64, 48,
            new io.routingreplay.runtime.routing.RoutingLayout(new int[]{0, 1}, 2, 4));

    private static ParsedRequest parseRouted(String line) {
        return new RequestLineParser(new RequestValidator(ROUTED, null)).parse(line);
    }

    @Test
    void forcedRoutingAndPromptLogprobsAreRead() {
        ParsedRequest p = parseRouted("{\"rid\":\"f\",\"prompt_token_ids\":[1,2,3],\"max_new_tokens\":0,"
                + "\"prompt_logprobs\":true,\"forced_routing\":[[[3,0],[1,2]],[[0,1],[2,3]]]}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertTrue(p.request().promptLogprobs());
        assertEquals(0, p.request().params().maxNewTokens());
        assertEquals(2, p.request().forcedRouting().numPositions());
        assertArrayEquals(new int[]{3, 0, 1, 2, 0, 1, 2, 3}, p.request().forcedRouting().ids());
        ParsedRequest plain = parseRouted("{\"rid\":\"g\",\"prompt_token_ids\":[1,2,3]}");
        assertNull(plain.request().forcedRouting());
        assertFalse(plain.request().promptLogprobs());
    }

    @Test
    void forcedRoutingNpyIsReadFromItsPath(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        io.routingreplay.runtime.routing.RoutingLayout layout = ROUTED.routing();
        byte[] ids = {3, 0, 1, 2, 0, 1, 2, 3};
        java.nio.file.Path npy = dir.resolve("f.npy");
        io.routingreplay.runtime.cli.output.NpyWriter.write(npy,
                new io.routingreplay.runtime.routing.RoutingRecord(layout, 2, ids, null));
        ParsedRequest p = parseRouted("{\"rid\":\"f\",\"prompt_token_ids\":[1,2,3],\"forced_routing_npy\":\""
                + npy.toString().replace("\\", "\\\\") + "\"}");
        assertTrue(p.isAccepted(), p.rejectReason());
        assertArrayEquals(new int[]{3, 0, 1, 2, 0, 1, 2, 3}, p.request().forcedRouting().ids());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "id out of range   | [[[4,0],[1,2]]]                   | outside the experts [0, 4)",
            "duplicate id      | [[[1,1],[1,2]]]                   | repeats expert 1 at position 0, MoE layer 0",
            "more than prompt  | [[[0,1],[0,1]],[[0,1],[0,1]],[[0,1],[0,1]],[[0,1],[0,1]]] | covers 4 positions; at most the prompt length (3)",
            "wrong k           | [[[0,1,2],[0,1,2]]]               | the model routes 2 MoE layers × top_k 2",
            "ragged            | [[[0,1],[0,1]],[[0,1]]]           | \"forced_routing\"[1] must be a list of 2 lists",
            "not a list        | 5                                 | \"forced_routing\" must be a list",
            "not an integer    | [[[0,\"x\"],[0,1]]]               | [0][0][1] must be an integer"})
    void badForcedRoutingIsRejectedWithItsReason(String name, String forced, String reasonPart) {
        ParsedRequest p = parseRouted("{\"rid\":\"b\",\"prompt_token_ids\":[1,2,3],\"forced_routing\":" + forced + "}");
        assertFalse(p.isAccepted(), name);
        assertTrue(p.rejectReason().contains(reasonPart), name + ": " + p.rejectReason());
    }

    @Test
    void scoringNeedsPromptLogprobsAndForcedRoutingOneForm() {
        ParsedRequest zero = parseRouted("{\"rid\":\"z\",\"prompt_token_ids\":[1,2],\"max_new_tokens\":0}");
        assertTrue(zero.rejectReason().contains("0 only with prompt_logprobs"), zero.rejectReason());
        ParsedRequest both = parseRouted("{\"rid\":\"z\",\"prompt_token_ids\":[1,2],\"forced_routing\":[],"
                + "\"forced_routing_npy\":\"x.npy\"}");
        assertTrue(both.rejectReason().contains("send one"), both.rejectReason());
        ParsedRequest missing = parseRouted("{\"rid\":\"z\",\"prompt_token_ids\":[1,2],"
                + "\"forced_routing_npy\":\"/no/such/file.npy\"}");
        assertTrue(missing.rejectReason().contains("cannot be read"), missing.rejectReason());
    }
}
