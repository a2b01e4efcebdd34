package io.routingreplay.operators.recordsize;

import io.routingreplay.operators.validation.LimitOptions;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

/**
 * Makes every dead letter fit in one Kafka record of {@code kafka.max-record-bytes}, so the answer to a bad request
 * can never be the record that fails the dead-letter sink's transaction (and restarts the job forever). Dead letters
 * keep up to {@code validation.dead-letter-raw-bytes} of the record they answer, which may be more than the record
 * limit: the raw bytes are cut to the longest prefix that fits, and the reason says so. Should the rid and reason
 * alone not fit (a rid of many kilobytes), the raw bytes go, and the rid and reason are cut too, saying so.
 * Dead letters that fit pass unchanged; each is encoded once to measure it. Stateless.
 */
public final class DeadLetterFitter extends RichMapFunction<DeadLetter, DeadLetter>
        implements ResultTypeQueryable<DeadLetter> {

    private static final long serialVersionUID = 1L;

    private final int maxRecordBytes;
    private transient SingleObjectCodec<DeadLetter> codec;

    public DeadLetterFitter(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public void open(OpenContext ctx) {
        codec = SingleObjectCodec.of(DeadLetter.class);
    }

    @Override
    public DeadLetter map(DeadLetter d) {
        if (codec == null) {
            codec = SingleObjectCodec.of(DeadLetter.class);
        }
        if (fits(d)) {
            return d;
        }
        String limit = LimitOptions.MAX_RECORD_BYTES.key() + " = " + maxRecordBytes;
        if (d.getRaw() != null) {
            byte[] raw = bytes(d.getRaw());
            int lo = -1; // the longest prefix of raw that fits, -1: none does
            int hi = raw.length - 1;
            while (lo < hi) {
                int mid = lo + (hi - lo + 1) / 2;
                if (fits(withRaw(d, raw, mid, limit))) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            if (lo >= 0) {
                return withRaw(d, raw, lo, limit);
            }
        }
        return withoutRaw(d, limit);
    }

    private DeadLetter withRaw(DeadLetter d, byte[] raw, int keep, String limit) {
        return DeadLetter.newBuilder(d)
                .setRaw(ByteBuffer.wrap(Arrays.copyOf(raw, keep)))
                .setReason(d.getReason() + " [raw record cut to its first " + keep + " of " + raw.length
                        + " bytes so the dead letter fits " + limit + "]")
                .build();
    }

    /** No raw bytes, the rid cut to an eighth of the limit and the reason to what is left. */
    private DeadLetter withoutRaw(DeadLetter d, String limit) {
        String rid = d.getRid() == null ? null : d.getRid().toString();
        String note = " [raw record dropped";
        if (rid != null && rid.getBytes(StandardCharsets.UTF_8).length > maxRecordBytes / 8) {
            rid = prefix(rid, maxRecordBytes / 32); // ≤ 4 UTF-8 bytes per char
            note += ", rid cut to its first " + rid.length() + " characters";
        }
        note += " so the dead letter fits " + limit + "]";
        String reason = d.getReason().toString();
        int lo = 0;
        int hi = reason.length();
        while (lo < hi) { // the longest prefix of the reason that fits with the note
            int mid = lo + (hi - lo + 1) / 2;
            if (fits(cut(d, rid, prefix(reason, mid) + (mid < reason.length() ? "…" : "") + note))) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return cut(d, rid, prefix(reason, lo) + (lo < reason.length() ? "…" : "") + note);
    }

    private static DeadLetter cut(DeadLetter d, String rid, String reason) {
        return DeadLetter.newBuilder(d).setRid(rid).setRaw(null).setReason(reason).build();
    }

    private boolean fits(DeadLetter d) {
        long key = d.getRid() == null ? -1 : d.getRid().toString().getBytes(StandardCharsets.UTF_8).length;
        return KafkaRecordFraming.recordBytes(key, codec.encode(d).length) <= maxRecordBytes;
    }

    /** The first {@code n} chars of {@code s}, not splitting a surrogate pair. */
    private static String prefix(String s, int n) {
        if (n > 0 && n < s.length() && Character.isHighSurrogate(s.charAt(n - 1))) {
            n--;
        }
        return s.substring(0, Math.min(n, s.length()));
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }

    @Override
    public TypeInformation<DeadLetter> getProducedType() {
        return new AvroTypeInfo<>(DeadLetter.class);
    }
}
