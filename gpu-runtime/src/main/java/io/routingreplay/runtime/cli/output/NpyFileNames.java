package io.routingreplay.runtime.cli.output;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The {@code .npy} file name of a request id. A rid made of letters, digits, '.', '_' and '-' (not starting with
 * '.') keeps its name: {@code rid.npy}. Any other rid (slashes, spaces, "..", unicode, very long) gets its safe
 * characters plus a hash of the full rid, so the name can never leave the output folder and two different rids
 * never share a file. A record that starts at a later routed position ({@code routing_start} k > 0) is named
 * {@code <name>@k.npy}: a file's name says which positions its first row is ('@' is never part of a rid's name, so
 * the names of two requests cannot meet).
 */
public final class NpyFileNames {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");
    private static final int KEPT_CHARS = 64;

    private NpyFileNames() {
    }

    public static String forRid(String rid) {
        return base(rid) + ".npy";
    }

    /** The file of a record whose first row is routed position {@code firstPosition}. */
    public static String forRecord(String rid, int firstPosition) {
        return firstPosition == 0 ? forRid(rid) : base(rid) + "@" + firstPosition + ".npy";
    }

    private static String base(String rid) {
        if (SAFE.matcher(rid).matches()) {
            return rid;
        }
        StringBuilder kept = new StringBuilder();
        for (int i = 0; i < rid.length() && kept.length() < KEPT_CHARS; i++) {
            char c = rid.charAt(i);
            boolean safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
                    || c == '-';
            kept.append(safe ? c : '_');
        }
        return kept + "~" + shortHash(rid);
    }

    private static String shortHash(String rid) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(rid.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
