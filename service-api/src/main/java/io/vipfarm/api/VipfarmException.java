package io.vipfarm.api;

/**
 * The one exception vipfarm services raise on purpose: a type, a human-readable detail and, for
 * validation failures, the offending field (a JSON pointer-ish path such as {@code virtualIp.mode}).
 */
public final class VipfarmException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorType type;
  private final String field;

  public VipfarmException(ErrorType type, String detail, String field) {
    super(detail, null, false, false);
    this.type = type;
    this.field = field;
  }

  public VipfarmException(ErrorType type, String detail) {
    this(type, detail, null);
  }

  public ErrorType type() {
    return type;
  }

  /** The offending input field, or null. */
  public String field() {
    return field;
  }

  public String detail() {
    return getMessage();
  }

  public static VipfarmException invalidField(String field, String detail) {
    return new VipfarmException(ErrorType.INVALID_FIELD, field + ": " + detail, field);
  }

  public static VipfarmException unknownHost(String hostId) {
    return new VipfarmException(ErrorType.UNKNOWN_HOST, "no host agent with id '" + hostId + "'");
  }

  public static VipfarmException unknownSession(String hostId, String sessionId) {
    return new VipfarmException(
        ErrorType.UNKNOWN_SESSION, "host '" + hostId + "' has no session '" + sessionId + "'");
  }

  public static VipfarmException unknownPool(String pool) {
    return new VipfarmException(ErrorType.UNKNOWN_POOL, "no pool named '" + pool + "'");
  }

  public static VipfarmException unknownPolicy(String name) {
    return new VipfarmException(ErrorType.UNKNOWN_POLICY, "no policy named '" + name + "'");
  }

  public static VipfarmException poolExhausted(String pool) {
    return new VipfarmException(ErrorType.POOL_EXHAUSTED, "pool '" + pool + "' has no free address");
  }

  public static VipfarmException staleLease(String detail) {
    return new VipfarmException(ErrorType.STALE_LEASE, detail);
  }

  public static VipfarmException unavailable(String detail) {
    return new VipfarmException(ErrorType.SERVICE_UNAVAILABLE, detail);
  }
}
