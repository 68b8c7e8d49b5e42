package io.vipfarm.allocation;

import io.vipfarm.api.model.PoolView;
import java.io.Serializable;

/** A pool's definition and how many live leases it has, read atomically on the pool's partition. */
public record PoolSnapshot(PoolDefinition definition, long used) implements Serializable {

  public PoolView toView() {
    return PoolView.of(definition.spec(), definition.size(), used);
  }
}
