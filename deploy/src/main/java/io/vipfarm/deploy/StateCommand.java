package io.vipfarm.deploy;

import io.vertx.core.json.JsonObject;
import io.vipfarm.deploy.store.StateDatabase;
import io.vipfarm.deploy.store.StateRow;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code vipfarm state backup|list}: the control member's durable configuration copy
 * ({@code <data-dir>/state.db}), read directly, so it works whether the member runs or not.
 */
final class StateCommand {
  static final String USAGE = String.join("\n",
      "vipfarm state backup --to FILE [--data-dir DIR]   consistent copy of the state database, also while running",
      "  vipfarm state list [--data-dir DIR]               the stored pools, policies, tokens, webhooks (JSON lines)");

  private StateCommand() {}

  static int run(List<String> args, Map<String, String> env, PrintStream out) {
    String action = args.isEmpty() ? "" : args.get(0);
    Path dataDir = DefaultPaths.dataDir(env);
    Path to = null;
    for (CommandOption option : CommandOption.parse(args.isEmpty() ? args : args.subList(1, args.size()))) {
      switch (option.name()) {
        case "--data-dir" -> dataDir = Path.of(option.value()).toAbsolutePath();
        case "--to" -> to = Path.of(option.value()).toAbsolutePath();
        default -> throw new UsageException("state: unknown option " + option.name() + " (usage: " + USAGE + ")");
      }
    }
    if (!action.equals("backup") && !action.equals("list")) {
      throw new UsageException("state: expected 'backup' or 'list' (usage: " + USAGE + ")");
    }
    if (action.equals("backup") && to == null) {
      throw new UsageException("state backup needs --to FILE");
    }
    if (to != null && Files.exists(to)) {
      throw new UsageException("state backup: " + to + " exists already");
    }
    if (!Files.isRegularFile(dataDir.resolve(StateDatabase.FILE_NAME))) {
      throw new UsageException("no state database in " + dataDir + " (is it a control member's --data-dir?)");
    }
    try (StateDatabase database = StateDatabase.openIn(dataDir)) {
      if (to != null) {
        database.backupTo(to);
        out.println("state of " + dataDir + " copied to " + to);
      } else {
        database.rows().stream()
            .sorted(Comparator.comparing(StateRow::kind).thenComparing(StateRow::key))
            .forEach(row -> out.println(new JsonObject().put("kind", row.kind()).put("key", row.key())
                .put("updatedAt", row.updatedAt()).put("deleted", row.isTombstone()).encode()));
      }
    }
    return 0;
  }
}
