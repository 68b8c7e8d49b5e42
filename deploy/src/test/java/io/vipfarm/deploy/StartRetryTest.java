package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.IndeterminateOperationStateException;
import com.hazelcast.spi.exception.TargetNotMemberException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** Which start failures `vipfarm start` tries again: the cluster's "not now", never a wrong setting. */
class StartRetryTest {

  @Test
  void transientClusterErrorsAreTriedAgainWhereverTheyAreInTheChain() {
    assertThat(VipfarmMain.transientClusterFailure(new IndeterminateOperationStateException("backup acks missed")))
        .isTrue();
    assertThat(VipfarmMain.transientClusterFailure(
        new CompletionException(new IllegalStateException("deploy failed", new TargetNotMemberException("gone")))))
        .isTrue();
  }

  @Test
  void otherFailuresEndTheStart() {
    assertThat(VipfarmMain.transientClusterFailure(new IllegalArgumentException("--cluster-port 0"))).isFalse();
    assertThat(VipfarmMain.transientClusterFailure(new java.net.BindException("Address already in use"))).isFalse();
  }
}
