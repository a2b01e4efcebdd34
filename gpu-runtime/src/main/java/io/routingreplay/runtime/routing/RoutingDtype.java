package io.routingreplay.runtime.routing;

/** Storage type of expert ids: the narrowest unsigned integer that holds every id (never a sentinel value). */
public enum RoutingDtype {
    UINT8(1, "uint8", "|u1"),
    UINT16(2, "uint16", "<u2");

    public final int bytes;
    public final String wire;
    /** NumPy {@code descr} for .npy headers. */
    public final String npyDescr;

    RoutingDtype(int bytes, String wire, String npyDescr) {
        this.bytes = bytes;
        this.wire = wire;
        this.npyDescr = npyDescr;
    }

    public static RoutingDtype forNumExperts(int numExperts) {
        if (numExperts <= 256) {
            return UINT8;
        }
        if (numExperts <= 65536) {
            return UINT16;
        }
        throw new IllegalArgumentException("num_experts " + numExperts + " does not fit uint16");
    }

    public static RoutingDtype fromWire(String s) {
        for (RoutingDtype d : values()) {
            if (d.wire.equals(s)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown routing dtype '" + s + "'");
    }
}
