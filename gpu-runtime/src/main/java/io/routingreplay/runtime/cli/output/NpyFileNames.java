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
 * never share a file.
 */
public final class NpyFileNames {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");
    private static final int KEPT_CHARS = 64;

    private NpyFileNames() {
    }

    public static String forRid(String rid) {
        if (SAFE.matcher(rid).matches()) {
            return rid + ".npy";
        }
        StringBuilder kept = new StringBuilder();
        for (int i = 0; i < rid.length() && kept.length() < KEPT_CHARS; i++) {
            char c = rid.charAt(i);
            boolean safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
                    || c == '-';
            kept.append(safe ? c : '_');
        }
        return kept + "~" + shortHash(rid) + ".npy";
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
