package io.routingreplay.job.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options, {@code --flag} switches and positional arguments of one subcommand. */
final class Args {
    final Map<String, String> options = new HashMap<>();
    final Set<String> flags = new HashSet<>();
    final List<String> positional = new ArrayList<>();
    /** Repeatable {@code --conf key=value}: Flink/job settings passed through. */
    final Map<String, String> conf = new HashMap<>();

    private Args() {
    }

    static Args parse(String[] args, int from, Set<String> valueOptions, Set<String> flagOptions) {
        Args a = new Args();
        for (int i = from; i < args.length; i++) {
            String s = args[i];
            if (s.equals("--conf")) {
                if (i + 1 >= args.length || !args[i + 1].contains("=")) {
                    throw new UsageException("--conf needs key=value, e.g. --conf window.max-batch-size=16");
                }
                String kv = args[++i];
                a.conf.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            } else if (s.startsWith("--") && flagOptions.contains(s.substring(2))) {
                a.flags.add(s.substring(2));
            } else if (s.startsWith("--") && valueOptions.contains(s.substring(2))) {
                if (i + 1 >= args.length) {
                    throw new UsageException(s + " needs a value");
                }
                a.options.put(s.substring(2), args[++i]);
            } else if (s.startsWith("--")) {
                throw new UsageException("unknown option " + s);
            } else {
                a.positional.add(s);
            }
        }
        return a;
    }

    String required(String name) {
        String v = options.get(name);
        if (v == null) {
            throw new UsageException("--" + name + " is required");
        }
        return v;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }

    /** A problem with the command line: print it with the usage, exit 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
