package io.vipfarm.api;

/**
 * Every failure a vipfarm service reports, with the HTTP status the gateway gives it.
 * The code travels as the event-bus failure code, so callers switch on the type, never on text.
 */
public enum ErrorType {
  INVALID_FIELD(1, 400, "Invalid field"),
  NOT_FOUND(2, 404, "Not found"),
  UNKNOWN_HOST(3, 404, "Unknown host"),
  UNKNOWN_SESSION(4, 404, "Unknown session"),
  UNKNOWN_POOL(5, 404, "Unknown pool"),
  UNKNOWN_POLICY(6, 404, "Unknown policy"),
  UNKNOWN_LEASE(7, 404, "Unknown lease"),
  POOL_EXHAUSTED(8, 409, "Pool exhausted"),
  POOL_OVERLAP(9, 409, "Pools overlap"),
  POOL_IN_USE(10, 409, "Pool in use"),
  STALE_LEASE(11, 409, "Stale lease"),
  SESSION_EXISTS(12, 409, "Session exists"),
  CONFLICT(13, 409, "Conflict"),
  UNAUTHORIZED(14, 401, "Unauthorized"),
  FORBIDDEN(15, 403, "Forbidden"),
  SERVICE_UNAVAILABLE(16, 503, "Service unavailable"),
  TOO_MANY_RETRIES(17, 503, "Too many concurrent updates"),
  INTERNAL(18, 500, "Internal error");

  private final int code;
  private final int httpStatus;
  private final String title;

  ErrorType(int code, int httpStatus, String title) {
    this.code = code;
    this.httpStatus = httpStatus;
    this.title = title;
  }

  /** Event-bus failure code; stable across versions. */
  public int code() {
    return code;
  }

  public int httpStatus() {
    return httpStatus;
  }

  public String title() {
    return title;
  }

  public static ErrorType ofCode(int code) {
    for (ErrorType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    return INTERNAL;
  }
}
