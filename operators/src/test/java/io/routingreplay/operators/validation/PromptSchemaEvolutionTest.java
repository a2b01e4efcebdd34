package io.routingreplay.operators.validation;

import io.routingreplay.schemas.InferenceRequest;
import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.codec.SchemaHistory;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A producer still on PromptEvent v1 (the first released schema, before return_routing_weights and metadata)
 * publishes single-object records with v1's fingerprint; the job's own decoder and validator read them into the
 * current PromptEvent, with defaults for what v1 does not have.
 */
class PromptSchemaEvolutionTest extends WithTableValidator {


    /** What a v1 producer sends: Avro's own single-object encoder with the released v1 schema. */
    static byte[] v1Record(String rid) throws Exception {
        Schema v1 = SchemaHistory.of("PromptEvent").versions().get(0).schema();
        GenericRecord old = new GenericData.Record(v1);
        old.put("rid", rid);
        old.put("prompt", null);
        old.put("prompt_token_ids", List.of(1, 2, 3));
        old.put("max_new_tokens", 7);
        old.put("temperature", 0.5f);
        old.put("top_p", 0.9f);
        old.put("top_k", 20);
        old.put("seed", 42L);
        old.put("stop_token_ids", List.of(151645));
        old.put("ignore_eos", true);
        old.put("model", BadInputTable.MODEL_NAME);
        old.put("submitted_at", 1234L);
        ByteBuffer b = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v1).encode(old);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void aV1RecordIsDecodedIntoTheCurrentPromptEventWithDefaultsForNewFields() throws Exception {
        PromptEvent now = AvroPromptDecoder.decode(v1Record("r-1"));

        assertEquals("r-1", now.getRid());
        assertNull(now.getPrompt());
        assertEquals(List.of(1, 2, 3), now.getPromptTokenIds());
        assertEquals(7, now.getMaxNewTokens());
        assertEquals(0.5f, now.getTemperature());
        assertEquals(0.9f, now.getTopP());
        assertEquals(20, now.getTopK());
        assertEquals(42L, now.getSeed());
        assertEquals(List.of(151645), now.getStopTokenIds());
        assertTrue(now.getIgnoreEos());
        assertEquals(BadInputTable.MODEL_NAME, now.getModel());
        assertEquals(1234L, now.getSubmittedAt());
        // fields added after v1 take their defaults
        assertFalse(now.getReturnRoutingWeights());
        assertTrue(now.getMetadata().isEmpty());
        assertEquals(0, now.getRoutingStart(), "v3's routing_start defaults to every position");
        assertTrue(now.getReturnRouting(), "v3's return_routing defaults to true");
    }

    @Test
    void aV1RecordOffThePromptsTopicIsAcceptedByTheJobsValidation() throws Exception {
        Verdict v = validator.validate(new RawPrompt(v1Record("r-2"), "prompts", 0, 5L), 1L);
        InferenceRequest r = assertInstanceOf(Verdict.Accepted.class, v, v::toString).request();
        assertEquals("r-2", r.getRid());
        assertEquals(List.of(1, 2, 3), r.getPromptTokenIds());
        assertEquals(7, r.getMaxNewTokens());
        assertEquals(42L, r.getSeed());
        assertEquals(1234L, r.getSubmittedAt());
        assertFalse(r.getReturnRoutingWeights());
        assertTrue(r.getMetadata().isEmpty());
        assertEquals(0, r.getRoutingStart());
        assertTrue(r.getReturnRouting());
    }
}
