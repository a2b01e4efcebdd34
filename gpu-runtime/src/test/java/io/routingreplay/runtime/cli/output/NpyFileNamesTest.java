package io.routingreplay.runtime.cli.output;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyFileNamesTest {

    @Test
    void plainRidKeepsItsName() {
        assertEquals("req-001.npy", NpyFileNames.forRid("req-001"));
        assertEquals("a.b_c.npy", NpyFileNames.forRid("a.b_c"));
    }

    @Test
    void unsafeRidsStayInsideTheFolderAndNeverCollide() {
        List<String> rids = List.of("../etc/passwd", "a/b", "a_b", "a b", ".hidden", "..", ".", "x".repeat(300),
                "x".repeat(301), "路由", "a\u0000b", "A", "a", "a~0123");
        Set<String> names = new HashSet<>();
        for (String rid : rids) {
            String name = NpyFileNames.forRid(rid);
            assertTrue(name.matches("[A-Za-z0-9_-][A-Za-z0-9._~-]*\\.npy"), rid + " -> " + name);
            assertFalse(name.contains("/") || name.contains(".."), rid + " -> " + name);
            assertTrue(name.length() <= 140, rid + " -> " + name.length() + " chars");
            assertTrue(names.add(name), "two rids share " + name);
        }
    }

    /** routing_start k > 0 names the file rid@k.npy; '@' is in no rid's own name, so names still never meet. */
    @Test
    void aRecordFromALaterPositionNamesItsStart() {
        assertEquals("req-001.npy", NpyFileNames.forRecord("req-001", 0));
        assertEquals("req-001@4096.npy", NpyFileNames.forRecord("req-001", 4096));
        assertTrue(NpyFileNames.forRecord("a/b", 7).matches("a_b~[0-9a-f]{16}@7\\.npy"),
                NpyFileNames.forRecord("a/b", 7));
        Set<String> names = new HashSet<>();
        for (String rid : List.of("a", "a@1", "a@1.npy", "a.npy", "a_1")) {
            for (int start : new int[]{0, 1, 11}) {
                assertTrue(names.add(NpyFileNames.forRecord(rid, start)), rid + " from " + start + " shares a name");
            }
        }
    }

    @Test
    void sameRidSameName() {
        assertEquals(NpyFileNames.forRid("a/b"), NpyFileNames.forRid("a/b"));
    }
}
