package io.routingreplay.job.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class KafkaRecordCodecsTest {

    @Test
    void recordsAreSingleObjectAvroKeyedByRid() throws Exception {
        AvroRecordSerializer<DeadLetter> s = new AvroRecordSerializer<>("dl", DeadLetter.class, DeadLetter::getRid);
        DeadLetter d = DeadLetter.newBuilder().setRid("r-1").setReason("why").build();
        ProducerRecord<byte[], byte[]> rec = s.serialize(d, null, 5L);
        assertEquals("dl", rec.topic());
        assertArrayEquals("r-1".getBytes(StandardCharsets.UTF_8), rec.key());
        assertTrue(SingleObjectCodec.isFramed(rec.value()), "C3 01 and the schema fingerprint first");
        assertEquals(d, SingleObjectCodec.of(DeadLetter.class).decode(rec.value()));
        assertEquals(5L, rec.timestamp());
    }

    @Test
    void aRecordWithoutRidHasNoKey() {
        AvroRecordSerializer<DeadLetter> s = new AvroRecordSerializer<>("dl", DeadLetter.class, DeadLetter::getRid);
        assertNull(s.serialize(DeadLetter.newBuilder().setReason("not json").build(), null, null).key());
    }

    @Test
    void promptRecordsPassUndecodedWithTheirOrigin() {
        List<RawPrompt> out = new ArrayList<>();
        new RawPromptDeserializer().deserialize(new ConsumerRecord<>("prompts", 3, 42L, null, new byte[] {1, 2}),
                new Collector<>() {
                    @Override
                    public void collect(RawPrompt r) {
                        out.add(r);
                    }

                    @Override
                    public void close() {
                    }
                });
        assertEquals(List.of(new RawPrompt(new byte[] {1, 2}, "prompts", 3, 42L)), out);
    }
}
