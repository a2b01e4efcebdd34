package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.codec.AvroCodec;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PromptValidatorTest extends WithTableValidator {


    private static PromptEvent.Builder event(String rid) {
        return PromptEvent.newBuilder().setRid(rid).setPromptTokenIds(List.of(5, 6, 7)).setMaxNewTokens(3);
    }

    private static byte[] avro(PromptEvent e) {
        return SingleObjectCodec.of(PromptEvent.class).encode(e);
    }

    @Test
    void avroPromptEventIsAcceptedWithEveryField() {
        PromptEvent e = event("a-1").setTemperature(0.7f).setTopP(0.9f).setTopK(20).setSeed(42L)
                .setStopTokenIds(List.of(9)).setIgnoreEos(true).setReturnRoutingWeights(true)
                .setRoutingStart(2).setReturnRouting(false)
                .setSubmittedAt(1234L).setMetadata(Map.of("step", "7")).setModel(BadInputTable.MODEL_NAME).build();
        Verdict v = validator.validate(new RawPrompt(avro(e), "prompts", 2, 99L), 5L);
        InferenceRequest r = assertInstanceOf(Verdict.Accepted.class, v).request();
        assertEquals("a-1", r.getRid());
        assertEquals(BadInputTable.MODEL_NAME, r.getModel());
        assertEquals(List.of(5, 6, 7), r.getPromptTokenIds());
        assertEquals(3, r.getMaxNewTokens());
        assertEquals(0.7f, r.getTemperature());
        assertEquals(0.9f, r.getTopP());
        assertEquals(20, r.getTopK());
        assertEquals(42L, r.getSeed());
        assertEquals(List.of(9), r.getStopTokenIds());
        assertTrue(r.getIgnoreEos());
        assertTrue(r.getReturnRoutingWeights());
        assertEquals(2, r.getRoutingStart());
        assertFalse(r.getReturnRouting());
        assertEquals(1234L, r.getSubmittedAt());
        assertEquals(Map.of("step", "7"), r.getMetadata());
        assertEquals("prompts", r.getSourceTopic());
        assertEquals(2, r.getSourcePartition());
        assertEquals(99L, r.getSourceOffset());
    }

    @Test
    void avroAndJsonAreRefusedWithTheSameReason() {
        Verdict fromAvro = validator.validate(RawPrompt.of(avro(event("x").setTopP(1.5f).build())));
        Verdict fromJson = validator.validate(RawPrompt.of(
                "{\"rid\":\"x\",\"prompt_token_ids\":[5,6,7],\"max_new_tokens\":3,\"top_p\":1.5}"
                        .getBytes(StandardCharsets.UTF_8)));
        assertEquals(assertInstanceOf(Verdict.Rejected.class, fromJson).reason(),
                assertInstanceOf(Verdict.Rejected.class, fromAvro).reason());
        assertEquals("x", ((Verdict.Rejected) fromAvro).deadLetter().getRid());
    }

    @Test
    void avroEmptyRidAndAvroWithoutPromptAreRefused() {
        Verdict noRid = validator.validate(RawPrompt.of(avro(event("").build())));
        assertTrue(assertInstanceOf(Verdict.Rejected.class, noRid).reason().startsWith("missing rid"));
        Verdict noPrompt = validator.validate(RawPrompt.of(avro(event("np").setPromptTokenIds(null).build())));
        assertTrue(assertInstanceOf(Verdict.Rejected.class, noPrompt).reason().startsWith("no prompt"));
    }

    @Test
    void avroTextPromptIsTokenisedWithTheModelsTokenizer() {
        Verdict v = validator.validate(RawPrompt.of(avro(event("t").setPromptTokenIds(null)
                .setPrompt("Routing replay keeps the trainer's experts equal to the sampler's.").build())));
        // the reference encoding of this text in fixtures/qwen3-moe-tiny/reference.json
        assertEquals(List.of(24701, 34485, 13598, 279, 28894, 594, 11647, 6144, 311, 279, 41799, 594, 13),
                assertInstanceOf(Verdict.Accepted.class, v).request().getPromptTokenIds());
    }

    @Test
    void garbageLengthPrefixIsRefusedWithoutAllocatingIt() {
        // the current header, rid "a", then prompt = union branch 1 (string) claiming ~1 billion bytes, then nothing.
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(java.util.Arrays.copyOf(avro(event("h").build()), SingleObjectCodec.HEADER_BYTES));
        b.write(0x02);
        b.write('a');
        b.write(0x02);
        b.writeBytes(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x07});
        Verdict v = validator.validate(RawPrompt.of(b.toByteArray()));
        assertTrue(assertInstanceOf(Verdict.Rejected.class, v).reason()
                .startsWith("undecodable bytes: not a JSON object and not an Avro PromptEvent (not a PromptEvent v4 "
                        + "record after its header"), v.toString());
    }

    @Test
    void plainAvroWithoutTheSingleObjectHeaderIsRefusedSayingHowToFrameIt() {
        Verdict v = validator.validate(RawPrompt.of(AvroCodec.of(PromptEvent.class).encode(event("plain").build())));
        String reason = assertInstanceOf(Verdict.Rejected.class, v).reason();
        assertTrue(reason.startsWith("undecodable bytes: not a JSON object and not an Avro PromptEvent (not an Avro "
                + "single-object PromptEvent: expected the header C3 01 and an 8-byte schema fingerprint, got 0A 70 6C"),
                reason);
        assertTrue(reason.contains("these bytes are a plain Avro binary PromptEvent: publish it in single-object "
                + "encoding"), reason);
        assertEquals(DeadLetters.STAGE_DECODE, ((Verdict.Rejected) v).deadLetter().getStage());
    }

    @Test
    void aPromptEventOfAnUnreleasedSchemaIsRefusedNamingTheReleasedOnes() {
        byte[] bytes = avro(event("u").build());
        bytes[9] ^= 0x01; // the last fingerprint byte
        String reason = assertInstanceOf(Verdict.Rejected.class, validator.validate(RawPrompt.of(bytes))).reason();
        assertTrue(reason.startsWith("undecodable bytes: not a JSON object and not an Avro PromptEvent (unknown "
                + "schema fingerprint "), reason);
        assertTrue(reason.contains("released: v1 c394202d06d30d83, v2 c1d95431fb8bae93"), reason);
    }

    @Test
    void trailingBytesAfterAPromptEventAreRefused() {
        byte[] good = avro(event("tb").build());
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 3);
        Verdict v = validator.validate(RawPrompt.of(longer));
        assertTrue(assertInstanceOf(Verdict.Rejected.class, v).reason().contains("bytes left over"), v.toString());
    }

    @Test
    void deadLetterCarriesOriginAndRawBytes() {
        byte[] raw = "{\"rid\":\"o\",\"prompt_token_ids\":[]}".getBytes(StandardCharsets.UTF_8);
        DeadLetter d = assertInstanceOf(Verdict.Rejected.class,
                validator.validate(new RawPrompt(raw, "prompts", 1, 7L), 77L)).deadLetter();
        assertEquals("o", d.getRid());
        assertEquals(DeadLetters.STAGE_VALIDATE, d.getStage());
        assertEquals("prompts", d.getSourceTopic());
        assertEquals(1, d.getSourcePartition());
        assertEquals(7L, d.getSourceOffset());
        assertEquals(77L, d.getFailedAt());
        assertArrayEquals(raw, d.getRaw().array());
    }

    @Test
    void jsonStreamingFieldsAreKept() {
        Verdict v = validator.validate(RawPrompt.of(("{\"rid\":\"j\",\"prompt_token_ids\":[1],\"max_new_tokens\":2,"
                + "\"submitted_at\":55,\"metadata\":{\"run\":\"r1\"},\"seed\":9}").getBytes(StandardCharsets.UTF_8)));
        InferenceRequest r = assertInstanceOf(Verdict.Accepted.class, v).request();
        assertEquals(55L, r.getSubmittedAt());
        assertEquals(Map.of("run", "r1"), r.getMetadata());
        assertEquals(9L, r.getSeed());
        assertNull(r.getSourceTopic());
    }

    @Test
    void jsonWithLeadingWhitespaceIsStillJson() {
        Verdict v = validator.validate(RawPrompt.of("  {\"rid\":\"w\",\"prompt_token_ids\":[1]}"
                .getBytes(StandardCharsets.UTF_8)));
        assertInstanceOf(Verdict.Accepted.class, v);
    }

    @Test
    void forcedAvroFormatReadsJsonAsUndecodable() {
        Configuration conf = new Configuration();
        conf.set(LimitOptions.INPUT_FORMAT, "avro");
        try (PromptValidator avroOnly = PromptValidator.forModel(BadInputTable.modelDir(), BadInputTable.MODEL_NAME,
                ValidationLimits.from(conf))) {
            Verdict v = avroOnly.validate(RawPrompt.of("{\"rid\":\"f\",\"prompt_token_ids\":[1]}"
                    .getBytes(StandardCharsets.UTF_8)));
            assertTrue(assertInstanceOf(Verdict.Rejected.class, v).reason().startsWith("undecodable bytes"));
        }
    }

    /**
     * A tokenizer that cannot be loaded must not fail the validator (its task would restart into the same failure
     * forever): text prompts are refused with the load error, token-id prompts still served.
     */
    @Test
    void aTokenizerThatCannotBeLoadedRefusesTextPromptsWithTheCauseAndServesTokenIds(@TempDir Path model)
            throws Exception {
        Files.copy(BadInputTable.modelDir().resolve("config.json"), model.resolve("config.json"));
        Files.writeString(model.resolve("tokenizer.json"), "{not json", StandardCharsets.UTF_8);
        try (PromptValidator v = PromptValidator.forModel(model, BadInputTable.MODEL_NAME, ValidationLimits.defaults())) {
            assertTrue(v.tokenizerProblem().isPresent());
            Verdict text = v.validate(RawPrompt.of("{\"rid\":\"t\",\"prompt_text\":\"Hello\"}"
                    .getBytes(StandardCharsets.UTF_8)));
            String reason = assertInstanceOf(Verdict.Rejected.class, text).reason();
            assertTrue(reason.startsWith("\"prompt_text\" cannot be tokenised here: cannot load tokenizer "
                    + model.resolve("tokenizer.json")), reason);
            Verdict ids = v.validate(RawPrompt.of("{\"rid\":\"i\",\"prompt_token_ids\":[1,2]}"
                    .getBytes(StandardCharsets.UTF_8)));
            assertInstanceOf(Verdict.Accepted.class, ids);
        }
    }

    @Test
    void badLimitsAreRefusedWithTheOptionName() {
        Configuration conf = new Configuration();
        conf.set(LimitOptions.MAX_NEW_TOKENS, 0);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ValidationLimits.from(conf));
        assertTrue(e.getMessage().contains("limits.max-new-tokens"), e.getMessage());
    }

    /** Row 42 of docs/bad-input.md says "at most 611": 611 is accepted, 612 is not, at the same limit. */
    @Test
    void theMaxNewTokensTheReasonSuggestsIsAccepted() {
        Configuration conf = new Configuration();
        conf.set(LimitOptions.MAX_RECORD_BYTES, 20_000);
        try (PromptValidator small = PromptValidator.forModel(BadInputTable.modelDir(), BadInputTable.MODEL_NAME,
                ValidationLimits.from(conf))) {
            String prompt = "{\"rid\":\"bad-oversized\",\"prompt_text\":\"" + " hello".repeat(300) + "\",\"max_new_tokens\":";
            Verdict fits = small.validate(RawPrompt.of((prompt + "611}").getBytes(StandardCharsets.UTF_8)));
            assertInstanceOf(Verdict.Accepted.class, fits, () -> ((Verdict.Rejected) fits).reason());
            Verdict over = small.validate(RawPrompt.of((prompt + "612}").getBytes(StandardCharsets.UTF_8)));
            assertTrue(assertInstanceOf(Verdict.Rejected.class, over).reason()
                    .contains("lower max_new_tokens to at most 611"), () -> ((Verdict.Rejected) over).reason());
        }
    }

    @Test
    void aRecordLimitTooSmallForADeadLetterIsRefused() {
        Configuration conf = new Configuration();
        conf.set(LimitOptions.MAX_RECORD_BYTES, 1000);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ValidationLimits.from(conf));
        assertTrue(e.getMessage().contains("kafka.max-record-bytes must be >= 4096"), e.getMessage());
    }

    /** 16 ids (one position of 4 MoE layers × top-4), uint8: distinct per top-4 list, {@code first} changes id 0. */
    private static java.nio.ByteBuffer oneRow(int first) {
        byte[] b = new byte[16];
        for (int i = 0; i < 16; i++) {
            b[i] = (byte) (i % 4 + 4 * (i / 4));
        }
        b[0] = (byte) first;
        return java.nio.ByteBuffer.wrap(b);
    }

    @Test
    void avroForcedRoutingIsTakenAsPackedAndPromptLogprobsKept() {
        Verdict v = validator.validate(RawPrompt.of(avro(event("f").setForcedRouting(oneRow(15))
                .setForcedRoutingShape(List.of(1, 4, 4)).setPromptLogprobs(true).build())));
        InferenceRequest r = assertInstanceOf(Verdict.Accepted.class, v).request();
        assertEquals(oneRow(15), r.getForcedRouting(), "kept packed, as sent");
        assertTrue(r.getPromptLogprobs());
    }

    @Test
    void avroForcedRoutingIsCheckedWithTheWordsOfJsonAndItsPackingOnTop() {
        assertEquals("forced_routing id 16 at position 0, MoE layer 0 is outside the experts [0, 16)",
                rejected(event("r").setForcedRouting(oneRow(16)).setForcedRoutingShape(List.of(1, 4, 4))));
        assertEquals("forced_routing repeats expert 1 at position 0, MoE layer 0 (a top-k list holds distinct experts)",
                rejected(event("r").setForcedRouting(oneRow(1)).setForcedRoutingShape(List.of(1, 4, 4))));
        assertEquals("\"forced_routing\" rows are [2][8]; the model routes 4 MoE layers × top_k 4 per position",
                rejected(event("r").setForcedRouting(oneRow(0)).setForcedRoutingShape(List.of(1, 2, 8))));
        assertEquals("\"forced_routing\" needs \"forced_routing_shape\" [m, num_moe_layers, top_k] (a result's "
                + "routing_shape)", rejected(event("r").setForcedRouting(oneRow(0))));
        assertEquals("\"forced_routing_shape\" given without \"forced_routing\"",
                rejected(event("r").setForcedRoutingShape(List.of(1, 4, 4))));
        assertEquals("\"forced_routing_shape\" must be three counts [m, num_moe_layers, top_k], got [1, 4]",
                rejected(event("r").setForcedRouting(oneRow(0)).setForcedRoutingShape(List.of(1, 4))));
        java.nio.ByteBuffer uint16 = java.nio.ByteBuffer.wrap(new byte[32]);
        assertEquals("\"forced_routing\" holds 32 bytes; shape [1, 4, 4] in the model's routing dtype uint8 (1 byte "
                + "per id) needs 16", rejected(event("r").setForcedRouting(uint16).setForcedRoutingShape(List.of(1, 4, 4))));
        java.nio.ByteBuffer fourRows = java.nio.ByteBuffer.allocate(64);
        for (int i = 0; i < 4; i++) {
            fourRows.put(oneRow(0));
        }
        fourRows.flip();
        assertEquals("forced_routing covers 4 positions; at most the prompt length (3) can be forced",
                rejected(event("r").setForcedRouting(fourRows).setForcedRoutingShape(List.of(4, 4, 4))));
    }

    private static String rejected(PromptEvent.Builder e) {
        Verdict v = validator.validate(RawPrompt.of(avro(e.build())));
        return assertInstanceOf(Verdict.Rejected.class, v).reason();
    }
}
