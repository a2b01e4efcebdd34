package io.routingreplay.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A record on the results topic that is not a RoutingResult, as {@code consume} reports it: where it is
 * (topic-partition and offset), its rid when one can be read (the record key, which the job sets to the rid, else
 * the Avro string a RoutingResult starts with), and why it could not be decoded.
 */
record UndecodableRecord(String topic, int partition, long offset, String rid, String reason, byte[] value) {

    private static final int MAX_RID_CHARS = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    static UndecodableRecord of(ConsumerRecord<byte[], byte[]> rec, String reason) {
        String rid = utf8(rec.key());
        if (rid == null) {
            rid = leadingAvroString(rec.value());
        }
        return new UndecodableRecord(rec.topic(), rec.partition(), rec.offset(), rid, reason, rec.value());
    }

    /** e.g. {@code results-1 offset 17 (rid 'a-3')}. */
    String where() {
        return topic + "-" + partition + " offset " + offset + (rid == null ? " (rid unreadable)" : " (rid '" + rid + "')");
    }

    /** One JSON line for {@code --undecodable-output}: where it was, why, and its bytes (base64; null value: null). */
    String jsonLine() {
        ObjectNode n = JSON.createObjectNode();
        n.put("topic", topic);
        n.put("partition", partition);
        n.put("offset", offset);
        n.put("rid", rid);
        n.put("reason", reason);
        n.put("value_base64", value == null ? null : Base64.getEncoder().encodeToString(value));
        return n.toString();
    }

    private static String utf8(byte[] b) {
        if (b == null || b.length == 0 || b.length > 4 * MAX_RID_CHARS) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The rid field a RoutingResult begins with, when the bytes start with a plausible Avro string. */
    private static String leadingAvroString(byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        BinaryDecoder d = DecoderFactory.get().binaryDecoder(value, null);
        try {
            long len = d.readLong();
            if (len <= 0 || len > 4 * MAX_RID_CHARS || len > value.length) {
                return null;
            }
            byte[] s = new byte[(int) len];
            d.readFixed(s);
            return utf8(s);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
