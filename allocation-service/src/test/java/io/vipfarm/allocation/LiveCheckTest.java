package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.ConsistencyReport.Anomaly;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The consistency check on a farm that keeps working: leases released and acquired while it reads must
 * not show up as anomalies (the check's reads of blocks and index are not one atomic snapshot).
 */
class LiveCheckTest {
  private static HazelcastInstance hazelcast;
  private static Vertx vertx;
  /** The service's clock, moved past the check's grace period so that every lease counts as settled. */
  private static final AtomicLong clock = new AtomicLong(System.currentTimeMillis());
  private static HazelcastAllocationService service;

  @BeforeAll
  static void start() {
    hazelcast = TestHazelcast.standalone();
    vertx = Vertx.vertx();
    service = new HazelcastAllocationService(vertx, hazelcast, e -> { }, clock::get);
  }

  @AfterAll
  static void stop() {
    result(vertx.close());
    hazelcast.shutdown();
  }

  @Test
  void releasesAndAcquiresDuringTheCheckAreNoAnomalies() {
    int count = 4_000;
    result(service.putPool(new PoolSpec("churn", "127.126.0.0/16", null, null, 3_600)));
    List<Lease> leases = new ArrayList<>();
    for (int i = 0; i < count; i += 200) {
      List<Future<Lease>> batch = new ArrayList<>();
      for (int j = i; j < i + 200; j++) {
        batch.add(service.acquire(new AcquireRequest("churn", new LeaseKey("h", "b", "s" + j, null), "u" + j)));
      }
      batch.forEach(f -> leases.add(result(f)));
    }
    clock.addAndGet(HazelcastAllocationService.CHECK_GRACE_MS + 1_000);

    // four chains each release an old lease and acquire one for a new session, over and over, while checks
    // run, until every old lease is gone
    AtomicBoolean done = new AtomicBoolean();
    List<Future<Void>> chains = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      chains.add(churn(leases, c, 4));
    }
    Future.all(chains).onComplete(r -> done.set(true));
    List<Anomaly> seen = new ArrayList<>();
    int checks = 0;
    while (!done.get() || checks < 3) {
      ConsistencyReport report = result(service.check());
      seen.addAll(report.anomalies());
      checks++;
    }
    result(Future.all(chains));
    assertThat(checks).isGreaterThanOrEqualTo(3);
    assertThat(seen).as("anomalies over %d checks while %d leases were released and replaced", checks, count).isEmpty();
  }

  private static Future<Void> churn(List<Lease> leases, int from, int step) {
    if (from >= leases.size()) {
      return Future.succeededFuture();
    }
    return service.release(LeaseRef.of(leases.get(from)))
        .compose(r -> service.acquire(new AcquireRequest("churn", new LeaseKey("h", "b", "new" + from, null), "n" + from)))
        .compose(l -> churn(leases, from + step, step));
  }
}
