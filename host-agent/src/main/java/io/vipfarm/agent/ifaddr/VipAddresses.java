package io.vipfarm.agent.ifaddr;

import io.vertx.core.Future;
import java.util.Collection;

/**
 * The VIPs this host carries on its network interface while leases hold them. The agent calls
 * {@link #ensure} after a lease is granted and before the session may use it, and {@link #withdraw}
 * before a lease goes back to the pool, so an address is never on two hosts at once.
 */
public interface VipAddresses {
  /** No interface management ({@code --vip-interface} not given): every call succeeds at once. */
  VipAddresses NONE = new VipAddresses() {
    @Override
    public Future<Void> ensure(Collection<String> addresses) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> withdraw(Collection<String> addresses) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> adopt(Collection<String> addresses) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> reconcile() {
      return Future.succeededFuture();
    }
  };

  /** Puts {@code addresses} on the interface; fails, naming the address, when one cannot be added. */
  Future<Void> ensure(Collection<String> addresses);

  /**
   * Takes {@code addresses} off the interface. Fails, naming the address, when one may still be on it
   * (later passes retry the removal): the caller must then not release its lease, or the address could
   * be on two hosts at once.
   */
  Future<Void> withdraw(Collection<String> addresses);

  /**
   * After a restart: {@code addresses} are what the re-adopted sessions hold. Adds those missing and
   * removes every address vipfarm added that no lease holds any more. Always succeeds (logs).
   */
  Future<Void> adopt(Collection<String> addresses);

  /** Brings the interface in line with what is held (repairs drift). Always succeeds (logs). */
  Future<Void> reconcile();
}
