package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.VipMode;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LeasePlanTest {

  private static EffectivePolicy vip(boolean enabled, VipMode mode, List<String> programs, boolean dedicated) {
    return new EffectivePolicy(true, List.of("*"), List.of(), enabled, mode, "pool-a", programs,
        OnExhausted.REFUSE, dedicated, List.of(), List.of());
  }

  private static List<AcquireRequest> plan(EffectivePolicy policy) {
    return LeasePlan.requests(policy, "host-a", "boot-1", "7", "alice");
  }

  @Test
  @DisplayName("No VIP by policy: no lease")
  void off() {
    assertThat(plan(vip(false, VipMode.PER_SESSION, List.of(), false))).isEmpty();
  }

  @Test
  @DisplayName("Per-session: one session-wide lease keyed by host, boot id and session, for the user")
  void perSession() {
    assertThat(plan(vip(true, VipMode.PER_SESSION, List.of("ignored"), true))).containsExactly(
        new AcquireRequest("pool-a", new LeaseKey("host-a", "boot-1", "7", null), "alice"));
  }

  @Test
  @DisplayName("Per-program, shared: one session-wide lease; none when no program is listed")
  void perProgramShared() {
    assertThat(plan(vip(true, VipMode.PER_PROGRAM, List.of("a", "b"), false))).containsExactly(
        new AcquireRequest("pool-a", new LeaseKey("host-a", "boot-1", "7", null), "alice"));
    assertThat(plan(vip(true, VipMode.PER_PROGRAM, List.of(), false))).isEmpty();
  }

  @Test
  @DisplayName("Per-program, dedicated: one lease per distinct program glob, keyed by the glob")
  void perProgramDedicated() {
    assertThat(plan(vip(true, VipMode.PER_PROGRAM, List.of("a", "b*", "a"), true))).containsExactly(
        new AcquireRequest("pool-a", new LeaseKey("host-a", "boot-1", "7", "a"), "alice"),
        new AcquireRequest("pool-a", new LeaseKey("host-a", "boot-1", "7", "b*"), "alice"));
  }

  @Test
  @DisplayName("A lease is due for renewal once less than 2/3 of its lease time remains")
  void renewalDue() {
    HeldLease held = HeldLease.of(lease(10_000, 13_000));
    assertThat(held.renewalDue(10_000)).isFalse();
    assertThat(held.renewalDue(10_999)).isFalse();
    assertThat(held.renewalDue(11_001)).isTrue();
    assertThat(held.renewalDue(20_000)).isTrue();
  }

  @Test
  @DisplayName("The lease time stays the shortest seen, whether or not renewal moves grantedAt")
  void renewalKeepsTheLeaseTime() {
    HeldLease held = HeldLease.of(lease(10_000, 13_000));
    HeldLease renewedKeepingGrant = held.renewed(lease(10_000, 14_100));
    assertThat(renewedKeepingGrant.leaseMillis()).isEqualTo(3_000);
    assertThat(renewedKeepingGrant.renewalDue(12_000)).isFalse();
    assertThat(renewedKeepingGrant.renewalDue(12_200)).isTrue();
    HeldLease renewedMovingGrant = held.renewed(lease(11_100, 14_100));
    assertThat(renewedMovingGrant.leaseMillis()).isEqualTo(3_000);
  }

  private static Lease lease(long grantedAt, long expiresAt) {
    return new Lease("127.100.0.1", "pool-a", new LeaseKey("host-a", "boot-1", "7", null), "alice", 1, grantedAt,
        expiresAt);
  }
}
