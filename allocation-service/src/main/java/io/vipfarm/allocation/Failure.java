package io.vipfarm.allocation;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;

/**
 * A refused operation as a value: processors return it instead of throwing, so the refusal travels
 * between members as plain data and the caller rebuilds the {@link VipfarmException}.
 */
public record Failure(ErrorType type, String detail, String field) {

  public static Failure of(VipfarmException e) {
    return new Failure(e.type(), e.detail(), e.field());
  }

  public VipfarmException toException() {
    return new VipfarmException(type, detail, field);
  }
}
