package io.routingreplay.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The strategic-merge patch that kustomize applies to resources it has no schema for (custom resources such as
 * FlinkDeployment), as its kyaml merge does: mappings merge key by key, a {@code null} value deletes the key,
 * lists of mappings merge element by element on an "associative key" (the first of kyaml's
 * {@code mountPath, devicePath, ip, type, topologyKey, name, containerPort} that every element of both lists has),
 * and any other list or scalar is replaced. Patch directives ({@code $patch}, {@code $retainKeys}, ...) are not
 * modelled and are rejected, so an overlay cannot rely on kustomize behaviour these tests do not reproduce.
 */
final class StrategicMerge {

    /** kyaml's AssociativeSequenceKeys, in its order. */
    static final List<String> ASSOCIATIVE_KEYS =
            List.of("mountPath", "devicePath", "ip", "type", "topologyKey", "name", "containerPort");

    /** Merges {@code patch} into {@code target} in place. */
    static void merge(ObjectNode target, ObjectNode patch) {
        for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode value = e.getValue();
            if (key.startsWith("$")) {
                throw new IllegalArgumentException("patch directive " + key + " is not supported by this renderer");
            }
            JsonNode current = target.get(key);
            if (value.isNull()) {
                target.remove(key);
            } else if (current != null && current.isObject() && value.isObject()) {
                merge((ObjectNode) current, (ObjectNode) value);
            } else if (current != null && current.isArray() && value.isArray()) {
                target.set(key, mergeLists((ArrayNode) current, (ArrayNode) value));
            } else {
                target.set(key, value.deepCopy());
            }
        }
    }

    private static ArrayNode mergeLists(ArrayNode current, ArrayNode patch) {
        String key = associativeKey(current, patch);
        if (key == null) {
            return patch.deepCopy();
        }
        ArrayNode out = current.deepCopy();
        for (JsonNode p : patch) {
            ObjectNode match = null;
            for (JsonNode c : out) {
                if (c.get(key).equals(p.get(key))) {
                    match = (ObjectNode) c;
                    break;
                }
            }
            if (match == null) {
                out.add(p.deepCopy());
            } else {
                merge(match, (ObjectNode) p);
            }
        }
        return out;
    }

    private static String associativeKey(ArrayNode a, ArrayNode b) {
        for (String key : ASSOCIATIVE_KEYS) {
            if (allMappingsWith(a, key) && allMappingsWith(b, key)) {
                return key;
            }
        }
        return null;
    }

    private static boolean allMappingsWith(ArrayNode list, String key) {
        for (JsonNode n : list) {
            if (!n.isObject() || !n.has(key)) {
                return false;
            }
        }
        return true;
    }

    private StrategicMerge() {
    }
}
