package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeaseChangeTest {
  private static final LeaseKey SESSION = new LeaseKey("h", "b", "7", null);
  private static final LeaseKey FIREFOX = new LeaseKey("h", "b", "7", "firefox");

  private static HeldLease held(String pool, LeaseKey key, String address) {
    return HeldLease.of(new Lease(address, pool, key, "alice", 1, 0, 300_000));
  }

  private static AcquireRequest wanted(String pool, LeaseKey key) {
    return new AcquireRequest(pool, key, "alice");
  }

  @Test
  void keepsWhatIsStillWantedAndAcquiresOnlyWhatIsNew() {
    HeldLease session = held("default", SESSION, "127.100.0.1");
    LeaseChange change = LeaseChange.between(List.of(session),
        List.of(wanted("default", SESSION), wanted("default", FIREFOX)));
    assertThat(change.kept()).containsExactly(session);
    assertThat(change.toAcquire()).containsExactly(wanted("default", FIREFOX));
    assertThat(change.toRelease()).isEmpty();
  }

  @Test
  void aNewPoolMeansANewLeaseAndTheOldOneGoes() {
    HeldLease old = held("default", SESSION, "127.100.0.1");
    LeaseChange change = LeaseChange.between(List.of(old), List.of(wanted("other", SESSION)));
    assertThat(change.kept()).isEmpty();
    assertThat(change.toAcquire()).containsExactly(wanted("other", SESSION));
    assertThat(change.toRelease()).containsExactly(old);
  }

  @Test
  void vipTurnedOffReleasesEverything() {
    HeldLease a = held("default", SESSION, "127.100.0.1");
    HeldLease b = held("default", FIREFOX, "127.100.0.2");
    LeaseChange change = LeaseChange.between(List.of(a, b), List.of());
    assertThat(change.kept()).isEmpty();
    assertThat(change.toAcquire()).isEmpty();
    assertThat(change.toRelease()).containsExactly(a, b);
  }
}
