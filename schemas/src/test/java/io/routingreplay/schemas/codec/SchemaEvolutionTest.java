package io.routingreplay.schemas.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.schemas.PromptEvent;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

class SchemaEvolutionTest {

    private static Schema v1() throws Exception {
        try (InputStream in = SchemaEvolutionTest.class.getResourceAsStream("/avro-v1/PromptEvent.avsc")) {
            return new Schema.Parser().parse(in);
        }
    }

    private static byte[] writeV1(Schema v1, GenericRecord r) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(v1).write(r, enc);
        enc.flush();
        return out.toByteArray();
    }

    @Test
    void recordWrittenWithV1IsReadByTheCurrentSchemaWithDefaultsForNewFields() throws Exception {
        Schema v1 = v1();
        GenericRecord old = new GenericData.Record(v1);
        old.put("rid", "r-1");
        old.put("prompt", null);
        old.put("prompt_token_ids", List.of(1, 2, 3));
        old.put("max_new_tokens", 7);
        old.put("temperature", 0.5f);
        old.put("top_p", 0.9f);
        old.put("top_k", 20);
        old.put("seed", 42L);
        old.put("stop_token_ids", List.of(151645));
        old.put("ignore_eos", true);
        old.put("model", "qwen3-moe-tiny");
        old.put("submitted_at", 1234L);

        PromptEvent now = AvroCodec.readingFrom(PromptEvent.class, v1).decode(writeV1(v1, old));

        assertEquals("r-1", now.getRid());
        assertNull(now.getPrompt());
        assertEquals(List.of(1, 2, 3), now.getPromptTokenIds());
        assertEquals(7, now.getMaxNewTokens());
        assertEquals(0.5f, now.getTemperature());
        assertEquals(42L, now.getSeed());
        assertEquals(List.of(151645), now.getStopTokenIds());
        assertTrue(now.getIgnoreEos());
        assertEquals("qwen3-moe-tiny", now.getModel());
        assertEquals(1234L, now.getSubmittedAt());
        // fields added after v1 take their defaults
        assertEquals(false, now.getReturnRoutingWeights());
        assertTrue(now.getMetadata().isEmpty());
    }

    @Test
    void everyFieldAddedSinceV1HasADefault() throws Exception {
        Schema v1 = v1();
        for (Schema.Field f : PromptEvent.getClassSchema().getFields()) {
            if (v1.getField(f.name()) == null) {
                assertTrue(f.hasDefaultValue(), "field " + f.name() + " was added after v1 without a default");
            }
        }
    }

    @Test
    void currentRecordsRoundTrip() throws Exception {
        AvroCodec<PromptEvent> codec = AvroCodec.of(PromptEvent.class);
        PromptEvent e = PromptEvent.newBuilder().setRid("x").setPrompt("hello").build();
        assertEquals(e, codec.decode(codec.encode(e)));
    }

    @Test
    void garbageBytesAreAnIOExceptionNotACrash() {
        AvroCodec<PromptEvent> codec = AvroCodec.of(PromptEvent.class);
        assertThrows(java.io.IOException.class, () -> codec.decode("{\"rid\": \"not avro\"}".getBytes()));
        assertThrows(java.io.IOException.class, () -> codec.decode(new byte[0]));
    }
}
