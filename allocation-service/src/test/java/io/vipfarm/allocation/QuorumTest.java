package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.failure;
import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.PoolSpec;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Split-brain protection in one JVM: members of an expected 3 are shut down until the last is alone. */
class QuorumTest {
  private List<HazelcastInstance> members;
  private Vertx vertx;

  @AfterEach
  void stop() {
    if (vertx != null) {
      result(vertx.close());
    }
    TestHazelcast.shutdown(members);
  }

  private static AcquireRequest request(String session) {
    return new AcquireRequest("q", new LeaseKey("h", "b", session, null), null);
  }

  @Test
  @DisplayName("2 of 3 members still allocate; the last member alone refuses with SERVICE_UNAVAILABLE 'no quorum: 1 of 3'")
  void minorityRefuses() throws Exception {
    members = TestHazelcast.cluster(3, 3);
    vertx = Vertx.vertx();
    HazelcastAllocationService last = new HazelcastAllocationService(vertx, members.get(2), e -> { }, System::currentTimeMillis);
    result(last.putPool(new PoolSpec("q", "127.120.0.0/24", null, null, 60)));
    String first = result(last.acquire(request("1"))).address();

    members.get(0).shutdown();
    poll(() -> members.get(2).getCluster().getMembers().size() == 2);
    assertThat(result(last.acquire(request("2"))).address()).isNotEqualTo(first);
    assertThat(result(last.acquire(request("1"))).address()).as("the lease survived the member").isEqualTo(first);

    members.get(1).shutdown();
    poll(() -> members.get(2).getCluster().getMembers().size() == 1);
    VipfarmException refused = failure(last.acquire(request("3")));
    assertThat(refused.type()).isEqualTo(ErrorType.SERVICE_UNAVAILABLE);
    assertThat(refused.detail()).startsWith("no quorum: 1 of 3 members");
    assertThat(failure(last.getPool("q")).type()).isEqualTo(ErrorType.SERVICE_UNAVAILABLE);
  }

  private static void poll(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 60 s");
      }
      Thread.sleep(50);
    }
  }
}
