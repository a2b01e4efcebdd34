package io.routingreplay.operators.audit;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Which results the audit stage replays: a fraction of them, chosen by their rid's hash rather than at random, so
 * the choice is the same on every subtask, after every restart and in every run of the same requests (an audit
 * finding can be reproduced by sending the same rid again).
 */
public final class AuditSampler implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final double SPAN = 1L << 32;

    private final double fraction;

    /** @param fraction 0 audits nothing, 1 everything */
    public AuditSampler(double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("the audit fraction must be in [0, 1], got " + fraction);
        }
        this.fraction = fraction;
    }

    public boolean selects(String rid) {
        if (fraction >= 1) {
            return true;
        }
        CRC32 crc = new CRC32();
        crc.update(rid.getBytes(StandardCharsets.UTF_8));
        return crc.getValue() / SPAN < fraction;
    }
}
