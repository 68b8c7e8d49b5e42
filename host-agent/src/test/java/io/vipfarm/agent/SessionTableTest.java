package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SessionTableTest {
  private final SessionTable table = new SessionTable();

  private static LiveSession session(String id, String user, List<HeldLease> leases) {
    return new LiveSession(id, user, List.of(), LoopbackAddress.of(id), EffectivePolicy.none(), leases,
        leases.isEmpty() ? LiveSession.VIP_NONE : LiveSession.VIP_LEASED, 0, "/run/x/" + id + ".rules");
  }

  private static HeldLease held(String id, String program, String address) {
    return HeldLease.of(new Lease(address, "p", new LeaseKey("h", "b", id, program), "alice", 1, 0, 3000));
  }

  @Test
  @DisplayName("A new session is admitted; the same user again gets the running session back")
  void idempotentForTheSameUser() {
    assertThat(table.admit("7", "alice", LoopbackAddress.of("7"))).isEmpty();
    LiveSession running = session("7", "alice", List.of());
    table.put(running);
    assertThat(table.admit("7", "alice", LoopbackAddress.of("7"))).contains(running);
  }

  @Test
  @DisplayName("Another user starting a running session gets SESSION_EXISTS")
  void otherUser() {
    table.put(session("7", "alice", List.of()));
    assertThatThrownBy(() -> table.admit("7", "bob", LoopbackAddress.of("7")))
        .isInstanceOfSatisfying(VipfarmException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.SESSION_EXISTS));
  }

  @Test
  @DisplayName("A session whose loopback a live session already uses gets CONFLICT, until that one ends")
  void loopbackInUse() {
    table.put(session("16777214", "alice", List.of()));
    assertThatThrownBy(() -> table.admit("c1", "bob", LoopbackAddress.of("c1")))
        .isInstanceOfSatisfying(VipfarmException.class, e -> {
          assertThat(e.type()).isEqualTo(ErrorType.CONFLICT);
          assertThat(e.detail()).contains("127.255.255.255").contains("'16777214'");
        });
    table.remove("16777214");
    assertThat(table.admit("c1", "bob", LoopbackAddress.of("c1"))).isEmpty();
  }

  @Test
  @DisplayName("Sessions are listed by loopback address: numeric ids in order, then c ids")
  void ordering() {
    table.put(session("c1", "a", List.of()));
    table.put(session("10", "a", List.of()));
    table.put(session("9", "a", List.of()));
    assertThat(table.all()).extracting(LiveSession::sessionId).containsExactly("9", "10", "c1");
    assertThat(table.size()).isEqualTo(3);
  }

  @Test
  @DisplayName("Losing its last VIP turns a leased session into fallback-host-ip; losing one of two does not")
  void losingLeases() {
    LiveSession session = session("7", "alice", List.of(held("7", "a", "127.100.0.1"), held("7", "b", "127.100.0.2")));
    LiveSession one = session.withoutLease(new LeaseKey("h", "b", "7", "a"));
    assertThat(one.virtualIps()).extracting(v -> v.address()).containsExactly("127.100.0.2");
    assertThat(one.vipStatus()).isEqualTo(LiveSession.VIP_LEASED);
    LiveSession none = one.withoutLease(new LeaseKey("h", "b", "7", "b"));
    assertThat(none.virtualIps()).isEmpty();
    assertThat(none.vipStatus()).isEqualTo(LiveSession.VIP_FALLBACK);
  }
}
