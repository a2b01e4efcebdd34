package io.routingreplay.job.cli;

import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;

/**
 * {@code bin/routing-replay}: the streaming subcommands live here ({@code local}, {@code publish}, {@code consume});
 * the engine-only ones ({@code generate}, {@code bench}, {@code verify}, {@code multi-turn}) are the gpu-runtime CLI's, reached by class name so this
 * module does not depend on their internals.
 */
public final class Main {

    static final String USAGE = """
            usage: routing-replay <command> [options]
              local     [--model DIR] [--input requests.jsonl --output results.jsonl [--dead-letter-output dl.jsonl]]
                        [--follow] [--timeout SECONDS] [--conf key=value ...]
                        run the whole streaming pipeline on this machine (in-process Kafka + Flink);
                        with no arguments, a demo on the bundled tiny Qwen3-MoE
              publish   --bootstrap HOST:PORT --topic T requests.jsonl
                        publish one request per JSONL line, keyed by rid
              consume   --bootstrap HOST:PORT --topic T --output results.jsonl [--npy-dir D] [--model DIR]
                        [--idle-seconds S] [--max N] [--group G] [--undecodable-output FILE]
                        read committed results and write them as generate does (routing as .npy with --npy-dir);
                        a record that is not a result stops it (exit 4, nothing from it on committed) unless
                        --undecodable-output is given: then it is written there and consume goes on (exit 3)
              generate, bench, verify, multi-turn: see `routing-replay generate --help` (the engine alone, no
                        Kafka/Flink)
            """;

    static final String ENGINE_CLI = "io.routingreplay.runtime.cli.Main";
    /** The subcommands the engine CLI runs. */
    static final java.util.Set<String> ENGINE_COMMANDS = java.util.Set.of("generate", "bench", "verify", "multi-turn");

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        // Kafka's test kit ships a log4j2.yaml that would win over ours and log every broker step at INFO.
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "classpath:routing-replay-log4j2.xml");
        }
        if (args.length > 0 && ENGINE_COMMANDS.contains(args[0])) {
            delegateToEngineCli(args);
            return;
        }
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        try {
            switch (args[0]) {
                case "local":
                    return LocalCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
                case "publish":
                    return PublishCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
                case "consume":
                    return ConsumeCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
                default:
                    err.println("routing-replay: unknown command '" + args[0] + "'");
                    err.print(USAGE);
                    return 2;
            }
        } catch (Args.UsageException e) {
            err.println("routing-replay " + args[0] + ": " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (Exception e) {
            err.println("routing-replay " + args[0] + ": " + e.getMessage());
            if (System.getenv("ROUTING_REPLAY_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    private static void delegateToEngineCli(String[] args) throws Exception {
        Class<?> cli;
        try {
            cli = Class.forName(ENGINE_CLI);
        } catch (ClassNotFoundException e) {
            System.err.println("routing-replay: '" + args[0] + "' is not in this build (" + ENGINE_CLI + " missing)");
            System.exit(1);
            return;
        }
        try {
            cli.getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : new RuntimeException(e.getCause());
        }
    }
}
