package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5's resume test on the real services: a real host agent, policy and allocation service and
 * event log on two Hazelcast members in one JVM, a subscriber over real HTTP.
 */
class EventResumeClusterTest {
  private static final String SESSION_EVENTS = "/api/v1/events?types=session.started,session.ended";
  @TempDir Path tmp;
  private VipfarmNode first;
  private VipfarmNode second;

  @AfterEach
  void stop() {
    if (second != null) {
      second.closeAndWait(30);
    }
    if (first != null) {
      first.closeAndWait(30);
    }
  }

  @Test
  @DisplayName("a subscriber away while 50 sessions start and end gets all 100 events once, in order, via either gateway")
  void resumeAfterDisconnect() throws Exception {
    String cluster = "resume-" + UUID.randomUUID();
    int port1 = FreePort.pick();
    first = start(new NodeOptions(Role.ALL, "127.0.0.1", 0, "host-a", tmp.resolve("a/data"), tmp.resolve("a/run"),
        cluster, port1, List.of(), "127.0.0.1"));
    second = start(new NodeOptions(Role.CONTROL, "127.0.0.1", 0, "host-b", tmp.resolve("b/data"), tmp.resolve("b/run"),
        cluster, FreePort.pick(), List.of("127.0.0.1:" + port1), "127.0.0.1"));
    GatewayClient viaFirst = new GatewayClient(first.gatewayPort(), "token");
    GatewayClient viaSecond = new GatewayClient(second.gatewayPort(), "token");

    // The subscriber sees one event, remembers its id and goes away.
    assertThat(viaFirst.post("/api/v1/hosts/host-a/sessions", new JsonObject().put("sessionId", "900").put("user", "u"))
        .status()).isEqualTo(201);
    List<String> seen = viaFirst.events(SESSION_EVENTS + "&after=0", null, 1, 30);
    String lastId = seen.get(0).split(" ")[0];

    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      GatewayClient via = i % 2 == 0 ? viaFirst : viaSecond;
      GatewayClient.Reply started = via.post("/api/v1/hosts/host-a/sessions",
          new JsonObject().put("sessionId", Integer.toString(i)).put("user", "user" + i));
      assertThat(started.status()).as(started.body()).isEqualTo(201);
      assertThat(via.delete("/api/v1/hosts/host-a/sessions/" + i).status()).isEqualTo(204);
      expected.add("session.started " + i);
      expected.add("session.ended " + i);
    }

    for (GatewayClient via : List.of(viaFirst, viaSecond)) {
      List<String> resumed = via.events(SESSION_EVENTS, lastId, 100, 60);
      assertThat(resumed.stream().map(e -> e.substring(e.indexOf(' ') + 1)).toList()).isEqualTo(expected);
      List<Long> ids = resumed.stream().map(e -> Long.parseLong(e.split(" ")[0])).toList();
      assertThat(ids).isSorted().doesNotHaveDuplicates();
      assertThat(ids.get(0)).isGreaterThan(Long.parseLong(lastId));
    }
  }

  private static VipfarmNode start(NodeOptions options) throws Exception {
    return VipfarmNode.start(options, "token").toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }
}
