package io.vipfarm.allocation;

import com.hazelcast.core.HazelcastException;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.map.IMap;
import com.hazelcast.splitbrainprotection.SplitBrainProtection;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.allocation.BlockProcessors.AdminAction;
import io.vipfarm.allocation.BlockProcessors.LeaseAction;
import io.vipfarm.allocation.BlockReply.Outcome;
import io.vipfarm.allocation.LeaseIndex.Location;
import io.vipfarm.allocation.Messages.Counts;
import io.vipfarm.allocation.Messages.Leases;
import io.vipfarm.allocation.Messages.Replies;
import io.vipfarm.allocation.Messages.Reply;
import io.vipfarm.allocation.PoolRecordProcessors.OnRecord;
import io.vipfarm.allocation.PoolRecordProcessors.ReadRecord;
import io.vipfarm.allocation.PoolRecordProcessors.RecordAction;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.AllocationRows;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.ReleaseResult;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntPredicate;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AllocationService} on Hazelcast, after Calico's IPAM: a pool is split into blocks of 64
 * addresses, each its own {@link AllocationMaps#BLOCKS} entry, so the blocks of a pool spread over the
 * partitions and acquires on different blocks run in parallel, with no pool-wide lock or entry on the
 * lease path. Nothing here blocks an event loop: lease operations are async entry processors, admin
 * operations run on a worker.
 *
 * <p><b>Acquire</b> of a new key (three hops with a user, two without): (1) read the user's last
 * address (sticky; written on release and expiry); (2) an entry processor on one block grants an
 * address, preferring the user's reservation, then that last address, else the block's next free one;
 * which block comes from this member's {@link BlockHints}; a full block costs one hop and is skipped
 * after that; when the hints run out, one refresh reads every block's free count, and if still nothing
 * is free the answer is POOL_EXHAUSTED, so an exhausted pool costs a bounded number of hops and never
 * spins; a member sends the grants that queue for one block while its previous operation there is in
 * flight as one operation ({@link #grant}); (3) bind the key in the {@link LeaseIndex}, expecting no entry. The index is not read first:
 * most keys are new, and the bind says when one was not. Then (a re-acquire, a stale entry, or a
 * concurrent acquire of the same key that bound first) the grant is given back and the key's entry
 * decides: its live lease is returned, extended (idempotence), or a new address is granted preferring
 * the key's previous one and bound in place of the stale entry; if yet another acquire of the key
 * bound meanwhile, ours is released and theirs returned. An exhausted pool reads the index before
 * saying so, so a key that holds a lease gets it back even from a full pool.
 *
 * <p><b>Blocks are claimed</b> on the pool's record (once per block's life) before being created, so
 * the record knows every block; redefinition and deletion walk those. <b>Redefine</b> is two-phase:
 * the record takes the pending definition (blocks claimed from then on get it too), every block checks
 * its live leases against it and, while pending, hands out only addresses allowed by both; then all
 * commit, or all abort on the first conflict. <b>Delete</b> marks the record retiring (no more claims),
 * retires every block (refused while it has a live lease, then undone), then drops blocks and record; a
 * block created late from an earlier claim is caught by the creator, which re-reads the record after
 * creating a block and gives its lease back if the pool is gone.
 *
 * <p><b>Split-brain protection</b> ({@link AllocationMaps#configure(com.hazelcast.config.Config, int)}):
 * on a side without a majority of the expected members every operation fails with SERVICE_UNAVAILABLE
 * "no quorum: N of M members", checked up front and again by Hazelcast on each map operation.
 */
public final class HazelcastAllocationService implements AllocationService {
  private static final Logger LOG = LoggerFactory.getLogger(HazelcastAllocationService.class);

  static final long ADMIN_LOCK_WAIT_MS = 10_000;
  static final long ADMIN_LOCK_LEASE_MS = 60_000;
  /** Block hops before the hints are refreshed from the store, and again after: the bound on an acquire. */
  static final int HOPS_PER_ROUND = 16;
  /** A cached pool record is re-read after this long even without a change notification. */
  static final long RECORD_TTL_MS = 5_000;
  /** The check does not report a lease without index entry younger than this (its bind is in flight). */
  static final long CHECK_GRACE_MS = 5_000;

  private final Vertx vertx;
  private final HazelcastInstance hazelcast;
  private final IMap<String, PoolRecord> pools;
  private final IMap<BlockKey, AddressBlock> blocks;
  private final IMap<String, LeaseIndex.HostEntries> index;
  private final IMap<String, Integer> lastAddress;
  private final IMap<String, Boolean> adminLocks;
  private final Consumer<VipfarmEvent> events;
  private final LongSupplier clock;
  /** Members this one must see for a write to be acknowledged; 0: a single-member farm, no protection. */
  private final int quorum;
  private final long memberSeed;
  private final Map<String, Known> known = new ConcurrentHashMap<>();
  /** The last view of each pool, kept across invalidations so that its hints survive record changes. */
  private final Map<String, Known> hintsOf = new ConcurrentHashMap<>();
  private final Map<String, Future<Void>> refreshing = new ConcurrentHashMap<>();
  /** The split-brain protection of the lease structures, once looked up (empty: not configured). */
  private volatile Optional<SplitBrainProtection> protection;

  /** A pool as this member knows it: its record and its block hints. */
  private record Known(PoolRecord record, BlockHints hints, long loadedAt) {}

  /**
   * @param events receives lease and pool events; must not throw (failures are logged and ignored)
   * @param clock epoch millis
   */
  public HazelcastAllocationService(
      Vertx vertx, HazelcastInstance hazelcast, Consumer<VipfarmEvent> events, LongSupplier clock) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.pools = hazelcast.getMap(AllocationMaps.POOLS);
    this.blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
    this.index = hazelcast.getMap(AllocationMaps.LEASE_INDEX);
    this.lastAddress = hazelcast.getMap(AllocationMaps.LAST_ADDRESS);
    this.adminLocks = hazelcast.getMap(AllocationMaps.ADMIN_LOCKS);
    this.events = events;
    this.clock = clock;
    this.memberSeed = hazelcast.getCluster().getLocalMember().getUuid().getMostSignificantBits();
    String expected = hazelcast.getConfig().getProperty(AllocationMaps.EXPECTED_MEMBERS_PROPERTY);
    int expectedMembers = expected == null ? 1 : Integer.parseInt(expected);
    this.quorum = expectedMembers > 1 ? AllocationMaps.quorumOf(expectedMembers) : 0;
  }

  /**
   * Nothing to release: the cached pool records need no listener. A member's cached record is only a
   * hint (blocks enforce the rules), re-read after {@link #RECORD_TTL_MS}, at once after this member
   * changes the pool, and whenever a block answers GONE. (A listener that dropped the cache on every
   * record change also dropped it on every block claim, which cost a record read per acquire.)
   */
  public void close() {}

  // ================================================================ pools

  @Override
  public Future<PoolView> putPool(PoolSpec spec) {
    PoolDefinition definition;
    try {
      definition = PoolValidator.validate(spec);
      requireQuorum();
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    long now = clock.getAsLong();
    return blocking(() -> withAdminLock(() -> {
      refuseOverlap(definition);
      long incarnation = ThreadLocalRandom.current().nextLong();
      PoolRecord record = pools.executeOnKey(definition.name(), OnRecord.create(definition, incarnation));
      PoolView view = record.incarnation() == incarnation
          ? PoolView.of(definition.spec(), definition.size(), 0)
          : redefine(record, definition, now);
      known.remove(definition.name());
      return view;
    }));
  }

  /** Two-phase redefinition over every claimed block; runs under the admin lock on a worker. */
  private PoolView redefine(PoolRecord current, PoolDefinition next, long now) {
    PoolRecord record = pools.executeOnKey(next.name(), OnRecord.beginRedefine(current.incarnation(), next));
    if (record == null) {
      throw VipfarmException.unavailable("pool '" + next.name() + "' is being deleted; try again");
    }
    Set<BlockKey> claimed = claimedKeys(record);
    Map<BlockKey, Reply> prepared = blocks.executeOnKeys(claimed, new BlockProcessors.Admin(AdminAction.PREPARE, record, now));
    BlockReply conflict = null;
    for (Map.Entry<BlockKey, Reply> e : prepared.entrySet()) {
      BlockReply reply = e.getValue().reply;
      settleExpired(next.name(), e.getKey().number(), reply);
      if (reply.is(Outcome.REFUSED) && (conflict == null
          || Integer.compareUnsigned(reply.lease().address(), conflict.lease().address()) < 0)) {
        conflict = reply;
      }
    }
    long gen = record.pendingGeneration();
    if (conflict != null) {
      blocks.executeOnKeys(claimed, new BlockProcessors.Admin(AdminAction.ABORT, record, now));
      pools.executeOnKey(next.name(), OnRecord.of(RecordAction.ABORT_REDEFINE, record.incarnation(), gen));
      throw conflict.failure().toException();
    }
    PoolRecord committed = pools.executeOnKey(next.name(), OnRecord.of(RecordAction.COMMIT_REDEFINE, record.incarnation(), gen));
    boolean moved = (record.definition().cidr().base() >>> 24) != (next.cidr().base() >>> 24);
    Map<BlockKey, Reply> done = blocks.executeOnKeys(claimed,
        new BlockProcessors.Admin(moved ? AdminAction.DROP : AdminAction.COMMIT, record, now));
    long used = 0;
    for (Reply r : done.values()) {
      used += r.reply.live();
    }
    return PoolView.of(committed == null ? next.spec() : committed.definition().spec(), next.size(), used);
  }

  @Override
  public Future<PoolView> getPool(String name) {
    return checkedName("name", name).compose(n -> {
      long now = clock.getAsLong();
      return blocking(() -> {
        PoolRecord record = pools.executeOnKey(n, new ReadRecord());
        if (record == null) {
          throw VipfarmException.unknownPool(n);
        }
        return view(record, usedByPool(n, now));
      });
    });
  }

  @Override
  public Future<Void> deletePool(String name) {
    return checkedName("name", name).compose(n -> {
      long now = clock.getAsLong();
      return blocking(() -> withAdminLock(() -> {
        retire(n, now);
        return null;
      }));
    }).mapEmpty();
  }

  private void retire(String name, long now) {
    PoolRecord current = pools.executeOnKey(name, new ReadRecord());
    if (current == null) {
      throw VipfarmException.unknownPool(name);
    }
    PoolRecord record = pools.executeOnKey(name, OnRecord.of(RecordAction.BEGIN_RETIRE, current.incarnation(), 0));
    if (record == null) {
      throw VipfarmException.unknownPool(name);
    }
    Set<BlockKey> claimed = claimedKeys(record);
    Map<BlockKey, Reply> retired = blocks.executeOnKeys(claimed, new BlockProcessors.Admin(AdminAction.RETIRE, record, now));
    long live = 0;
    BlockReply first = null;
    for (Map.Entry<BlockKey, Reply> e : retired.entrySet()) {
      BlockReply reply = e.getValue().reply;
      settleExpired(name, e.getKey().number(), reply);
      if (reply.is(Outcome.REFUSED)) {
        live += reply.live();
        if (first == null || Integer.compareUnsigned(reply.lease().address(), first.lease().address()) < 0) {
          first = reply;
        }
      }
    }
    if (first != null) {
      blocks.executeOnKeys(claimed, new BlockProcessors.Admin(AdminAction.UNRETIRE, record, now));
      pools.executeOnKey(name, OnRecord.of(RecordAction.ABORT_RETIRE, record.incarnation(), 0));
      known.remove(name);
      throw new VipfarmException(ErrorType.POOL_IN_USE, "pool '" + name + "' has " + live + " live lease(s), e.g. "
          + first.lease().addressText() + " held by " + first.lease().holder());
    }
    blocks.executeOnKeys(claimed, new BlockProcessors.Admin(AdminAction.DROP, record, now));
    pools.executeOnKey(name, OnRecord.of(RecordAction.REMOVE, record.incarnation(), 0));
    index.executeOnEntries(new LeaseIndex.DropPool(name));
    lastAddress.removeAll(new LeaseIndex.KeyPrefix<>(LeaseIndex.poolPrefix(name)));
    known.remove(name);
  }

  @Override
  public Future<List<PoolView>> listPools() {
    long now = clock.getAsLong();
    return blocking(() -> {
      Map<BlockKey, Counts> counts = blocks.executeOnEntries(new BlockProcessors.ReadCounts(now));
      Map<String, Long> used = new HashMap<>();
      counts.forEach((key, c) -> used.merge(key.pool(), (long) c.live, Long::sum));
      List<PoolView> out = new ArrayList<>();
      for (PoolRecord record : new TreeMap<>(pools.getAll(pools.keySet())).values()) {
        out.add(view(record, used.getOrDefault(record.name(), 0L)));
      }
      return out;
    });
  }

  private long usedByPool(String pool, long now) {
    long used = 0;
    for (Counts c : blocks.executeOnEntries(new BlockProcessors.ReadCounts(now), new BlockProcessors.OfPool(pool)).values()) {
      used += c.live;
    }
    return used;
  }

  private static PoolView view(PoolRecord record, long used) {
    return PoolView.of(record.definition().spec(), record.definition().size(), used);
  }

  // ================================================================ leases

  @Override
  public Future<Lease> acquire(AcquireRequest request) {
    LeaseHolder holder;
    try {
      if (request == null) {
        throw VipfarmException.invalidField("body", "an acquire request is required");
      }
      PoolValidator.checkName("pool", request.pool());
      holder = checkedHolder(request.key());
      requireQuorum();
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    Acquire acquire = new Acquire(request.pool(), holder, request.user(), clock.getAsLong());
    return acquire.run().compose(this::ifMajorityStill).map(lease -> lease.toLease(request.pool()));
  }

  /** One acquire: its inputs, and what it has learnt on the way. */
  private final class Acquire {
    final String pool;
    final LeaseHolder holder;
    final String user;
    final long now;
    final String indexKey;
    Known state;
    Location previous;
    Integer last;
    /** Whether {@link #previous} was read from the key index; until then the key is taken to be new. */
    boolean indexRead;
    int hops;
    boolean refreshed;
    /** The block this acquire last made exist ({@link #ensureBlock}), or -1; a GONE from it again ends the acquire. */
    int ensuredBlock = -1;

    Acquire(String pool, LeaseHolder holder, String user, long now) {
      this.pool = pool;
      this.holder = holder;
      this.user = user;
      this.now = now;
      this.indexKey = LeaseIndex.key(pool, holder);
    }

    /**
     * A new key is the common case, so the grant comes first and the key index is not read: the bind
     * ({@link LeaseIndex.Bind} expecting no entry) finds out whether the key had one, and only then does
     * the acquire give its grant back and take the path of a known key ({@link #asKnownKey}). A new
     * session so costs the sticky read (only with a user), the grant and the bind.
     */
    Future<HeldLease> run() {
      Future<Integer> lastFuture = user == null ? Future.succeededFuture() : async(lastAddress.getAsync(lastKey(pool, user)));
      return known(pool)
          .compose(k -> {
            state = k;
            return lastFuture;
          })
          .compose(l -> {
            last = l;
            return grantNew();
          });
    }

    /**
     * The key has an index entry ({@code current}, or none after a read): its live lease is extended and
     * returned (idempotence), else a new address is granted, preferring the key's previous one, and bound
     * in place of the stale entry.
     */
    private Future<HeldLease> asKnownKey(Location current) {
      indexRead = true;
      previous = current;
      if (current == null) {
        return grantNew();
      }
      return onLease(state, LeaseAction.EXTEND_HELD, holder, current.address, current.fence, now)
          .compose(reply -> {
            if (reply.is(Outcome.EXTENDED)) {
              emit(LeaseEvents.lease(VipfarmEvent.LEASE_RENEWED, pool, reply.lease()));
              return Future.succeededFuture(reply.lease());
            }
            return grantNew();
          });
    }

    /** Reservation, then the key's previous address, then the user's last address. */
    private Integer preferred() {
      Integer reserved = state.record().definition().reservationOf(user);
      if (reserved != null) {
        return reserved;
      }
      if (previous != null && state.record().definition().cidr().contains(previous.address)) {
        return previous.address;
      }
      return last != null && state.record().definition().cidr().contains(last) ? last : null;
    }

    private Future<HeldLease> grantNew() {
      Integer preferred = preferred();
      return tryBlock(preferred == null ? nextBlock() : AddressBlock.numberOf(preferred), preferred);
    }

    /** The next candidate block; -1 when there is none. Creates the empty blocks ahead of it (see {@link BlockHints#toCreateAhead}). */
    private int nextBlock() {
      int number = state.hints().nextFor(holder.hostId());
      for (int ahead : state.hints().toCreateAhead()) {
        // in the background: an acquire that reaches the block first waits for this creation (ensureBlock
        // shares it), and one that fails (no majority, pool deleted) leaves the block to the acquires' path
        ensureBlock(pool, state.record().incarnation(), ahead, now);
      }
      return number;
    }

    /**
     * Tries one block. Bounded: at most {@link #HOPS_PER_ROUND} hops on the hints, then one refresh that
     * makes them exact, then only blocks the refresh found free, each of which a FULL reply strikes off,
     * so an acquire makes at most 16 + (blocks with room) hops and an exhausted pool answers after one read.
     */
    private Future<HeldLease> tryBlock(int number, Integer preferred) {
      if (number < 0 || (!refreshed && hops >= HOPS_PER_ROUND)) {
        if (refreshed) {
          return exhausted();
        }
        refreshed = true;
        return refreshHints(pool, state, now).compose(v -> {
          int next = nextBlock();
          return next < 0 ? exhausted() : tryBlock(next, null);
        });
      }
      hops++;
      BlockKey key = new BlockKey(pool, number);
      return grant(key, state.record().incarnation(), new BlockProcessors.Grant(holder, user, preferred), now)
          .compose(reply -> {
            settleExpired(pool, number, reply);
            if (!reply.is(Outcome.GONE)) {
              // (a missing block keeps the count the hints took on account: the acquires that meet it
              // wait for its creation instead of each moving on to claim the next block)
              state.hints().update(number, reply.free());
            }
            return switch (reply.outcome()) {
              case GRANTED -> bind(reply.lease());
              case FULL -> tryBlock(nextBlock(), null);
              case GONE -> claimThenRetry(number, preferred);
              default -> Future.failedFuture(new VipfarmException(ErrorType.INTERNAL, "unexpected allocate outcome " + reply.outcome()));
            };
          });
    }

    /** The block does not exist (or is foreign or retired): make it exist, try again. */
    private Future<HeldLease> claimThenRetry(int number, Integer preferred) {
      if (number == ensuredBlock) {
        return Future.failedFuture(unknownOrDeleting(pool));
      }
      ensuredBlock = number;
      return ensureBlock(pool, state.record().incarnation(), number, now).compose(v -> tryBlock(number, preferred));
    }

    /** No address for a new grant; a key that already holds a lease still gets it back, so the index decides first. */
    private Future<HeldLease> exhausted() {
      if (!indexRead) {
        return async(index.submitToKey(holder.hostId(), new LeaseIndex.Lookup(indexKey))).compose(current -> {
          if (current != null) {
            return asKnownKey(current);
          }
          indexRead = true;
          return exhausted();
        });
      }
      emit(LeaseEvents.poolExhausted(pool, holder, user));
      return Future.failedFuture(VipfarmException.poolExhausted(pool));
    }

    /** Points the key at the new lease; a concurrent acquire of the same key that bound first wins. */
    private Future<HeldLease> bind(HeldLease granted) {
      return async(index.submitToKey(holder.hostId(), new LeaseIndex.Bind(indexKey, previous, Location.of(granted))))
          .compose(winner -> {
            if (winner != null && !indexRead) {
              // the key was not new (a re-acquire, a stale entry, or a concurrent acquire of it bound
              // first): give this grant back and take the known key's path, whose bind expects the entry
              Future<BlockReply> giveBack = onLease(state, LeaseAction.RELEASE, holder, granted.address(), granted.fence(), now);
              return giveBack.compose(released -> asKnownKey(winner));
            }
            if (winner != null) {
              return onLease(state, LeaseAction.RELEASE, holder, granted.address(), granted.fence(), now)
                  .compose(released -> onLease(state, LeaseAction.EXTEND_HELD, holder, winner.address, winner.fence, now))
                  .compose(reply -> reply.is(Outcome.EXTENDED)
                      ? Future.succeededFuture(reply.lease())
                      : Future.failedFuture(new VipfarmException(ErrorType.CONFLICT,
                          "a concurrent request for " + holder + " changed its lease; try again")));
            }
            emit(LeaseEvents.lease(VipfarmEvent.LEASE_GRANTED, pool, granted));
            return Future.succeededFuture(granted);
          });
    }
  }

  /** The block a grant goes to: one per block and pool incarnation. */
  private record GrantTarget(BlockKey block, long incarnation) {}

  /** A grant waiting for its block's operation. */
  private record PendingGrant(BlockProcessors.Grant grant, long now, Promise<BlockReply> reply) {}

  /** The grants queued for one block while an operation of this member on it is in flight. */
  private static final class GrantQueue {
    List<PendingGrant> waiting = new ArrayList<>();
    boolean inFlight;
  }

  private final Map<GrantTarget, GrantQueue> grantQueues = new ConcurrentHashMap<>();

  /** The block creations of this member in flight, shared by the acquires that wait for them. */
  private final Map<GrantTarget, Future<Void>> creations = new ConcurrentHashMap<>();

  /**
   * Makes a missing block exist: claims it on the pool record, creates it, and when this member created
   * it, reads the record again. The acquires of this member that meet the same missing block share one
   * creation: a fast-filling pool sends every acquire in flight to the next new block, and each used to
   * claim and create it itself (0.86 pool record reads per acquire, measured with 64 in flight).
   *
   * <p>The read after the creation is what keeps a deleted pool from coming back: a claim made just
   * before a delete began may create its block after the delete's sweep has dropped the pool's blocks.
   * A record still there, of the same incarnation and not retiring, means any later delete retires this
   * block with the others (it is claimed), and refuses while it holds leases; otherwise the acquire fails.
   * Not closed: between such a late creation and its read, an acquire of another member (or one that did
   * not wait for this creation) can still be granted an address in the block; a block that refused
   * grants until its creator confirmed it would close that (not done).
   */
  private Future<Void> ensureBlock(String pool, long incarnation, int number, long now) {
    GrantTarget target = new GrantTarget(new BlockKey(pool, number), incarnation);
    Promise<Void> mine = Promise.promise();
    Future<Void> shared = creations.putIfAbsent(target, mine.future());
    if (shared != null) {
      return shared;
    }
    createBlock(pool, incarnation, number, now).onComplete(done -> {
      creations.remove(target, mine.future());
      mine.handle(done);
    });
    return mine.future();
  }

  private Future<Void> createBlock(String pool, long incarnation, int number, long now) {
    BlockKey key = new BlockKey(pool, number);
    return async(pools.submitToKey(pool, OnRecord.claim(incarnation, number))).compose(claimed -> {
      if (claimed == null) {
        known.remove(pool);
        return Future.failedFuture(unknownOrDeleting(pool));
      }
      return async(blocks.submitToKey(key, new BlockProcessors.Create(claimed, number, now)))
          .compose(created -> switch (created.reply.outcome()) {
            case GONE -> Future.failedFuture(unknownOrDeleting(pool));
            case CREATED -> confirmCreated(key, claimed, now);
            default -> Future.succeededFuture(); // another acquire created it, and confirms it
          });
    });
  }

  /** The read after a creation (see {@link #ensureBlock}). */
  private Future<Void> confirmCreated(BlockKey key, PoolRecord claimed, long now) {
    return async(pools.submitToKey(key.pool(), new ReadRecord())).compose(record -> {
      if (record != null && record.incarnation() == claimed.incarnation() && !record.retiring()) {
        return Future.succeededFuture();
      }
      if (record != null && record.incarnation() == claimed.incarnation()) {
        return Future.failedFuture(unknownOrDeleting(key.pool())); // retiring: the delete's sweep retires the block
      }
      // the delete is over and sweeps no more: drop the block this member brought back (only this
      // incarnation's; it holds no lease, as the acquires waiting for it fail here)
      return async(blocks.submitToKey(key, new BlockProcessors.Admin(AdminAction.DROP, claimed, now)))
          .compose(dropped -> Future.failedFuture(unknownOrDeleting(key.pool())));
    });
  }

  private static VipfarmException unknownOrDeleting(String pool) {
    return new VipfarmException(ErrorType.UNKNOWN_POOL, "no pool named '" + pool + "' (or it is being deleted)");
  }

  /**
   * Grants an address of the block, or answers FULL or GONE for it. At most one allocate operation of
   * this member is in flight per block; the grants that arrive meanwhile go together in the next one
   * (group commit). The block's partition runs its operations one at a time anyway, so waiting costs
   * little, and under load one invocation and one backup serve many acquires. With one acquire at a
   * time it is sent at once, as before.
   */
  private Future<BlockReply> grant(BlockKey block, long incarnation, BlockProcessors.Grant grant, long now) {
    GrantTarget target = new GrantTarget(block, incarnation);
    PendingGrant pending = new PendingGrant(grant, now, Promise.promise());
    GrantQueue queue = grantQueues.computeIfAbsent(target, t -> new GrantQueue());
    boolean send;
    synchronized (queue) {
      queue.waiting.add(pending);
      send = !queue.inFlight;
      queue.inFlight = true;
    }
    if (send) {
      sendGrants(target, queue);
    }
    return pending.reply().future();
  }

  /** Sends what waits for the block as one operation, then again for what arrived meanwhile, until nothing waits. */
  private void sendGrants(GrantTarget target, GrantQueue queue) {
    List<PendingGrant> batch;
    synchronized (queue) {
      batch = queue.waiting;
      if (batch.isEmpty()) {
        queue.inFlight = false;
        grantQueues.remove(target, queue);
        return;
      }
      queue.waiting = new ArrayList<>();
    }
    List<BlockProcessors.Grant> grants = new ArrayList<>(batch.size());
    long now = Long.MIN_VALUE;
    for (PendingGrant p : batch) {
      grants.add(p.grant());
      now = Math.max(now, p.now());
    }
    Future<Replies> sent;
    try {
      sent = async(blocks.submitToKey(target.block(), new BlockProcessors.Allocate(target.incarnation(), grants, now)));
    } catch (RuntimeException e) {
      // (a member shutting down may refuse at once) every waiting grant must still get an answer
      sent = translate(e);
    }
    sent.onComplete(done -> {
      for (int i = 0; i < batch.size(); i++) {
        if (done.succeeded()) {
          batch.get(i).reply().complete(done.result().replies.get(i));
        } else {
          batch.get(i).reply().fail(done.cause());
        }
      }
      sendGrants(target, queue);
    });
  }

  @Override
  public Future<Lease> renew(LeaseRef ref) {
    LeaseHolder holder;
    try {
      holder = checkedRef(ref);
      requireQuorum();
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    String pool = ref.pool();
    long now = clock.getAsLong();
    VipfarmException unknown = new VipfarmException(ErrorType.UNKNOWN_LEASE, "pool '" + pool + "' has no live lease for " + holder);
    return async(index.submitToKey(holder.hostId(), new LeaseIndex.Lookup(LeaseIndex.key(pool, holder))))
        .compose(location -> location == null
            ? Future.failedFuture(unknown)
            : known(pool).recover(err -> Future.failedFuture(unknown))
                .compose(state -> onLease(state, LeaseAction.RENEW, holder, location.address, ref.fence(), now)))
        .compose(reply -> switch (reply.outcome()) {
          case EXTENDED -> {
            emit(LeaseEvents.lease(VipfarmEvent.LEASE_RENEWED, pool, reply.lease()));
            yield ifMajorityStill(reply.lease().toLease(pool));
          }
          case REFUSED -> Future.failedFuture(reply.failure().toException());
          default -> Future.failedFuture(unknown);
        });
  }

  /** Also skipped ({@code released=false}, no address) when the pool no longer exists. */
  @Override
  public Future<ReleaseResult> release(LeaseRef ref) {
    LeaseHolder holder;
    try {
      holder = checkedRef(ref);
      requireQuorum();
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    String pool = ref.pool();
    long now = clock.getAsLong();
    String indexKey = LeaseIndex.key(pool, holder);
    ReleaseResult skipped = new ReleaseResult(null, false);
    return async(index.submitToKey(holder.hostId(), new LeaseIndex.Lookup(indexKey))).compose(location -> {
      if (location == null) {
        return Future.succeededFuture(skipped);
      }
      return known(pool).transform(state -> {
        if (state.failed()) {
          return Future.succeededFuture(skipped);
        }
        return onLease(state.result(), LeaseAction.RELEASE, holder, location.address, ref.fence(), now).compose(reply -> {
          switch (reply.outcome()) {
            case RELEASED -> {
              index.submitToKey(holder.hostId(), new LeaseIndex.Unbind(indexKey, reply.lease().fence()));
              rememberLastAddress(pool, reply.lease());
              emit(LeaseEvents.lease(VipfarmEvent.LEASE_RELEASED, pool, reply.lease()));
              return Future.succeededFuture(new ReleaseResult(reply.lease().addressText(), true));
            }
            case REFUSED -> {
              return Future.failedFuture(reply.failure().toException());
            }
            case SKIPPED -> {
              HeldLease gone = reply.lease();
              return Future.succeededFuture(new ReleaseResult(gone == null ? null : gone.addressText(), false));
            }
            default -> {
              return Future.succeededFuture(skipped);
            }
          }
        });
      });
    });
  }

  /**
   * Live leases, ordered by pool name, then address. A query naming an address reads that address's
   * block in each pool; one naming a host, user or session finds the blocks through the key index (a
   * host's entry, or a scan of every host's for a user or session) and reads only those; the blocks
   * decide, so only live leases with their current expiry come back, and a stale index entry costs a
   * block read, not a wrong row.
   * Only a query with none of these reads every block (of the pool, when named).
   */
  @Override
  public Future<List<Lease>> leases(AllocationQuery query) {
    LeaseFilter filter = LeaseFilter.of(query);
    long now = clock.getAsLong();
    String pool = query == null ? null : query.pool();
    return blocking(() -> {
      BlockProcessors.QueryLeases op = new BlockProcessors.QueryLeases(filter, now);
      Map<BlockKey, Leases> found;
      if (filter.address() != null) {
        found = queryAddress(filter.address(), pool, op);
      } else if (filter.host() != null || filter.user() != null || filter.session() != null) {
        found = queryIndexed(filter, pool, op);
      } else {
        found = pool == null
            ? blocks.executeOnEntries(op)
            : blocks.executeOnEntries(op, new BlockProcessors.OfPool(pool));
      }
      List<Lease> out = new ArrayList<>();
      List<Map.Entry<String, HeldLease>> held = new ArrayList<>();
      found.forEach((key, leases) -> leases.leases.forEach(l -> held.add(Map.entry(key.pool(), l))));
      // sorted on the address bits (unsigned), not on text parsed again for every comparison
      held.sort(Map.Entry.<String, HeldLease>comparingByKey()
          .thenComparing((a, b) -> Integer.compareUnsigned(a.getValue().address(), b.getValue().address())));
      held.forEach(e -> out.add(e.getValue().toLease(e.getKey())));
      return out;
    });
  }

  /**
   * One page of {@link #leases}, reading only the blocks it needs ({@link LeasePager}): for a host, user
   * or session, the blocks of the first index entries after the page's start (found as in
   * {@link #leases}, projected to pool and address); for an address, its block in each pool;
   * otherwise the claimed blocks of each pool in address order. As in {@link #leases}, the blocks
   * decide: only live leases with their current expiry come back.
   */
  @Override
  public Future<AllocationPage> leasePage(AllocationPageRequest request) {
    if (request == null || request.limit() < 1) {
      return Future.failedFuture(VipfarmException.invalidField("limit", "must be at least 1"));
    }
    LeaseFilter filter = LeaseFilter.of(request.query());
    String pool = request.query() == null ? null : request.query().pool();
    long now = clock.getAsLong();
    return blocking(() -> {
      List<LeasePager.Step> steps;
      if (filter.address() != null) {
        steps = addressSteps(filter.address(), pool, request);
      } else if (filter.host() != null || filter.user() != null || filter.session() != null) {
        steps = indexSteps(filter, pool, request);
      } else {
        steps = blockSteps(pool, request);
      }
      BlockProcessors.QueryLeases op = new BlockProcessors.QueryLeases(filter, now);
      return LeasePager.page(steps, request, keys -> readBlocks(keys, op));
    });
  }

  private List<LeasePager.Step> addressSteps(String address, String pool, AllocationPageRequest request) {
    int bits;
    try {
      bits = Ipv4Address.parse(address).bits();
    } catch (RuntimeException notAnAddress) {
      return List.of();
    }
    List<LeasePager.Step> steps = new ArrayList<>();
    for (String name : pool == null ? new TreeSet<>(pools.keySet()) : Set.of(pool)) {
      if (AllocationRows.after(name, Integer.toUnsignedLong(bits), request)) {
        steps.add(LeasePager.Step.ofAddress(name, bits));
      }
    }
    return steps;
  }

  /**
   * The index's spots after the request's position, of the named pool if one is named: a range of the
   * spots in page order, so a binary search each way; the steps are made as the pager takes them (it
   * rarely takes more than a page's worth of a host's thousand).
   */
  private List<LeasePager.Step> indexSteps(LeaseFilter filter, String pool, AllocationPageRequest request) {
    LeaseIndex.Spots spots = indexSpots(filter);
    int from = firstSpot(spots, spot -> pool != null && spots.pool(spot).compareTo(pool) < 0
        || !AllocationRows.after(spots.pool(spot), Integer.toUnsignedLong(spots.address(spot)), request));
    int to = pool == null ? spots.size() : firstSpot(spots, spot -> spots.pool(spot).compareTo(pool) <= 0);
    return new AbstractList<>() {
      @Override
      public LeasePager.Step get(int i) {
        return LeasePager.Step.ofAddress(spots.pool(from + i), spots.address(from + i));
      }

      @Override
      public int size() {
        return Math.max(0, to - from);
      }
    };
  }

  /** The first spot (in page order) for which {@code before} no longer holds; {@code before} holds for a prefix. */
  private static int firstSpot(LeaseIndex.Spots spots, IntPredicate before) {
    int low = 0;
    int high = spots.size();
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (before.test(middle)) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  private List<LeasePager.Step> blockSteps(String pool, AllocationPageRequest request) {
    List<LeasePager.Step> steps = new ArrayList<>();
    Map<String, PoolRecord> records = new TreeMap<>(pool == null ? pools.getAll(pools.keySet())
        : pools.getAll(Set.of(pool)));
    for (PoolRecord record : records.values()) {
      int[] numbers = record.claimedBlocks();
      Arrays.sort(numbers);
      for (int number : numbers) {
        LeasePager.Step step = LeasePager.Step.ofBlock(record.name(), number);
        if (AllocationRows.after(step.pool(), step.upTo(), request)) {
          steps.add(step);
        }
      }
    }
    return steps;
  }

  /** The blocks that can hold {@code address}: one per pool (of the named pool only, when named). */
  private Map<BlockKey, Leases> queryAddress(String address, String pool, BlockProcessors.QueryLeases op) {
    int bits;
    try {
      bits = Ipv4Address.parse(address).bits();
    } catch (RuntimeException notAnAddress) {
      return Map.of();
    }
    Set<BlockKey> keys = new LinkedHashSet<>();
    for (String name : pool == null ? pools.keySet() : Set.of(pool)) {
      keys.add(new BlockKey(name, AddressBlock.numberOf(bits)));
    }
    return readBlocks(keys, op);
  }

  /** At most this many block reads of one query in flight at once. */
  static final int READS_IN_FLIGHT = 256;

  /**
   * The matching live leases of the given blocks (blocks with none left out), with one entry
   * operation per block, all in flight at once (up to {@link #READS_IN_FLIGHT}); blocking. Not
   * {@code executeOnKeys}: that one goes through a partition-iterating operation per member, whose
   * fixed cost (measured on one member: about 300 us of CPU for a single key, 3.5 ms for 100 keys
   * against 1.3 ms with one operation per key) was most of a host's page.
   */
  private Map<BlockKey, Leases> readBlocks(Set<BlockKey> keys, BlockProcessors.QueryLeases op) {
    return readBlocks(keys, op, READS_IN_FLIGHT);
  }

  /** {@link #readBlocks(Set, BlockProcessors.QueryLeases)} with at most {@code window} reads in flight. */
  Map<BlockKey, Leases> readBlocks(Set<BlockKey> keys, BlockProcessors.QueryLeases op, int window) {
    if (keys.isEmpty()) {
      return Map.of();
    }
    Map<BlockKey, Leases> out = new HashMap<>();
    List<BlockKey> sent = new ArrayList<>(Math.min(keys.size(), window));
    List<CompletableFuture<Leases>> replies = new ArrayList<>(Math.min(keys.size(), window));
    Iterator<BlockKey> next = keys.iterator();
    while (next.hasNext()) {
      while (next.hasNext() && sent.size() < window) {
        BlockKey key = next.next();
        sent.add(key);
        replies.add(blocks.submitToKey(key, op).toCompletableFuture());
      }
      for (int i = 0; i < sent.size(); i++) {
        Leases leases = replies.get(i).join();
        if (leases != null) {
          out.put(sent.get(i), leases);
        }
      }
      sent.clear();
      replies.clear();
    }
    return out;
  }

  /**
   * Where the key index says the leases of the filter's host, user and session are (at least one of
   * them is set), in page order: with a host, one read of the host's entry; else a scan of every host's.
   */
  private LeaseIndex.Spots indexSpots(LeaseFilter filter) {
    LeaseIndex.FindSpots find = new LeaseIndex.FindSpots(filter.user(), filter.session());
    if (filter.host() != null) {
      LeaseIndex.Spots found = index.executeOnKey(filter.host(), find);
      return found == null ? new LeaseIndex.Spots() : found;
    }
    return LeaseIndex.Spots.merge(index.executeOnEntries(find).values());
  }

  /** The blocks the key index points at for the filter's host, user or session, read with the filter. */
  private Map<BlockKey, Leases> queryIndexed(LeaseFilter filter, String pool, BlockProcessors.QueryLeases op) {
    Set<BlockKey> keys = new LinkedHashSet<>();
    LeaseIndex.Spots spots = indexSpots(filter);
    for (int i = 0; i < spots.size(); i++) {
      if (pool == null || pool.equals(spots.pool(i))) {
        keys.add(new BlockKey(spots.pool(i), AddressBlock.numberOf(spots.address(i))));
      }
    }
    return readBlocks(keys, op);
  }

  @Override
  public Future<ConsistencyReport> check() {
    long now = clock.getAsLong();
    return blocking(() -> {
      Map<String, PoolRecord> records = pools.getAll(pools.keySet());
      Map<BlockKey, AddressBlock> snapshot = blocks.executeOnEntries(new BlockProcessors.Snapshot());
      // one operation per partition, on its thread (the entries change in place there)
      Map<String, Location> entries = new HashMap<>();
      for (LeaseIndex.HostEntries host : index.executeOnEntries(new LeaseIndex.Copy()).values()) {
        entries.putAll(host.byKey());
      }
      ConsistencyChecker.Suspects suspects = new ConsistencyChecker.Suspects();
      ConsistencyReport first = ConsistencyChecker.check(records, snapshot, entries, now, CHECK_GRACE_MS, suspects);
      if (suspects.isEmpty()) {
        return first;
      }
      // the reads above are not one snapshot: a lease released or acquired between them looks like an
      // index anomaly; read the blocks and keys concerned again, and report what is still there
      Map<BlockKey, AddressBlock> blocksAgain = new HashMap<>(blocks.executeOnKeys(suspects.blocks, new BlockProcessors.Snapshot()));
      blocksAgain.values().removeIf(Objects::isNull);
      Set<String> keysAgain = ConsistencyChecker.indexKeysToReread(suspects, blocksAgain);
      Set<String> hostsAgain = new HashSet<>();
      keysAgain.forEach(key -> hostsAgain.add(LeaseIndex.hostOf(key)));
      Map<String, Location> indexAgain = new HashMap<>();
      for (LeaseIndex.HostEntries host : index.executeOnKeys(hostsAgain, new LeaseIndex.Copy()).values()) {
        host.byKey().forEach((key, location) -> {
          if (keysAgain.contains(key)) {
            indexAgain.put(key, location);
          }
        });
      }
      ConsistencyReport second = ConsistencyChecker.check(records, blocksAgain, indexAgain, now, CHECK_GRACE_MS);
      return ConsistencyChecker.confirmed(first, suspects, second);
    });
  }

  /**
   * Frees the expired leases of the blocks whose primary copy lives on this member and emits
   * {@code lease.expired} for each; every member sweeps its own blocks, so none is swept twice.
   *
   * @return how many leases expired
   */
  public Future<Integer> sweepExpired() {
    long now = clock.getAsLong();
    return blocking(() -> {
      // only the local blocks whose earliest expiry has come (a local query, no operation per block)
      Set<BlockKey> local = blocks.localKeySet(new BlockProcessors.ExpiryDue(now));
      return local.isEmpty() ? Map.<BlockKey, Reply>of() : blocks.executeOnKeys(local, new BlockProcessors.ExpireDue(now));
    }).map(byBlock -> {
      List<Map.Entry<BlockKey, Reply>> swept = new ArrayList<>(byBlock.entrySet());
      swept.sort(Map.Entry.comparingByKey(Comparator.comparing(BlockKey::pool).thenComparingInt(BlockKey::number)));
      int count = 0;
      for (Map.Entry<BlockKey, Reply> e : swept) {
        if (e.getValue() != null) {
          settleExpired(e.getKey().pool(), e.getKey().number(), e.getValue().reply);
          count += e.getValue().reply.expired().size();
        }
      }
      return count;
    });
  }

  // ================================================================ helpers

  /** This member's view of a pool, loaded when unknown or older than {@link #RECORD_TTL_MS}. */
  private Future<Known> known(String pool) {
    Known k = known.get(pool);
    long now = System.currentTimeMillis();
    if (k != null && now - k.loadedAt() < RECORD_TTL_MS) {
      return Future.succeededFuture(k);
    }
    return async(pools.submitToKey(pool, new ReadRecord())).compose(record -> {
      if (record == null) {
        known.remove(pool);
        return Future.failedFuture(VipfarmException.unknownPool(pool));
      }
      // keep the hints while the pool and its definition are unchanged (a claim changes neither)
      Known before = hintsOf.get(pool);
      BlockHints hints = before != null && before.record().incarnation() == record.incarnation()
          && before.record().generation() == record.generation() && record.pending() == null
          ? before.hints() : new BlockHints(record.definition(), memberSeed);
      Known fresh = new Known(record, hints, now);
      hintsOf.put(pool, fresh);
      known.put(pool, fresh);
      return Future.succeededFuture(fresh);
    });
  }

  /** Reads the free count of every existing block of the pool; concurrent refreshes of one pool share one read. */
  private Future<Void> refreshHints(String pool, Known state, long now) {
    Promise<Void> mine = Promise.promise();
    Future<Void> shared = refreshing.putIfAbsent(pool, mine.future());
    if (shared != null) {
      return shared;
    }
    // not inside computeIfAbsent: a read refused at once (a closing Vert.x) completes synchronously,
    // and removing the entry from within its own computation threw "Recursive update"
    blocking(() -> blocks.executeOnEntries(new BlockProcessors.ReadCounts(now), new BlockProcessors.OfPool(pool)))
        .<Void>map(counts -> {
          Map<Integer, Integer> free = new HashMap<>();
          counts.forEach((key, c) -> free.put(key.number(), c.free));
          state.hints().refresh(free);
          return null;
        })
        .onComplete(done -> {
          refreshing.remove(pool, mine.future());
          mine.handle(done);
        });
    return mine.future();
  }

  private Future<BlockReply> onLease(Known state, LeaseAction action, LeaseHolder holder, int address, long fence, long now) {
    String pool = state.record().name();
    int number = AddressBlock.numberOf(address);
    return async(blocks.submitToKey(new BlockKey(pool, number),
        new BlockProcessors.OnLease(action, state.record().incarnation(), holder, address, fence, now)))
        .map(r -> {
          settleExpired(pool, number, r.reply);
          if (!r.reply.is(Outcome.GONE)) {
            state.hints().update(number, r.reply.free());
          }
          return r.reply;
        });
  }

  /** Emits {@code lease.expired} for the leases a block freed on the way, and drops their index entries. */
  private void settleExpired(String pool, int number, BlockReply reply) {
    for (HeldLease lease : reply.expired()) {
      emit(LeaseEvents.lease(VipfarmEvent.LEASE_EXPIRED, pool, lease));
      index.submitToKey(lease.holder().hostId(), new LeaseIndex.Unbind(LeaseIndex.key(pool, lease.holder()), lease.fence()));
      rememberLastAddress(pool, lease);
    }
  }

  /**
   * Stickiness: the address a user gave back (released or expired) is the one their next session
   * prefers. Written when the address becomes free rather than at every grant (while the lease lives
   * nobody else can have the address anyway), which keeps the write off the acquire path.
   */
  private void rememberLastAddress(String pool, HeldLease lease) {
    if (lease.user() != null) {
      lastAddress.setAsync(lastKey(pool, lease.user()), lease.address());
    }
  }

  private static Set<BlockKey> claimedKeys(PoolRecord record) {
    Set<BlockKey> keys = new LinkedHashSet<>();
    for (int number : record.claimedBlocks()) {
      keys.add(new BlockKey(record.name(), number));
    }
    return keys;
  }

  static String lastKey(String pool, String user) {
    return LeaseIndex.poolPrefix(pool) + user.length() + ":" + user;
  }

  private void refuseOverlap(PoolDefinition definition) {
    List<PoolRecord> others = new ArrayList<>(pools.getAll(pools.keySet()).values());
    others.sort(Comparator.comparing(PoolRecord::name));
    for (PoolRecord other : others) {
      if (other.name().equals(definition.name())) {
        continue;
      }
      for (PoolDefinition d : other.pending() == null ? List.of(other.definition()) : List.of(other.definition(), other.pending())) {
        if (d.cidr().overlaps(definition.cidr())) {
          throw new VipfarmException(ErrorType.POOL_OVERLAP,
              definition.cidr() + " overlaps pool '" + other.name() + "' (" + d.cidr() + ")", "cidr");
        }
      }
    }
  }

  private <T> T withAdminLock(Callable<T> action) throws Exception {
    String key = AllocationMaps.POOL_DEFINITIONS_LOCK;
    boolean locked;
    try {
      locked = adminLocks.tryLock(key, ADMIN_LOCK_WAIT_MS, TimeUnit.MILLISECONDS, ADMIN_LOCK_LEASE_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw VipfarmException.unavailable("interrupted while waiting to change pools");
    }
    if (!locked) {
      throw new VipfarmException(ErrorType.TOO_MANY_RETRIES,
          "another pool change held the pool lock for more than " + ADMIN_LOCK_WAIT_MS + " ms; try again");
    }
    try {
      return action.call();
    } finally {
      adminLocks.unlock(key);
    }
  }

  /**
   * {@code written}, a lease just written, when this member still sees a majority; else the lease is not
   * acknowledged (no quorum). Hazelcast's split-brain protection learns of lost members from an event, a
   * moment after the member list and the partition table changed; a write in that moment passes the
   * protection and, its backup members gone from the table, waits for no backup. On the side that is
   * left alone such a grant is then dropped when the heal merges the sides, and its address granted
   * again (AllocationSplitBrainIT, once in many runs). The member list read after the write already
   * shows the loss.
   */
  private <T> Future<T> ifMajorityStill(T written) {
    if (quorum == 0) {
      return Future.succeededFuture(written);
    }
    long present = hazelcast.getCluster().getMembers().stream().filter(m -> !m.isLiteMember()).count();
    return present >= quorum ? Future.succeededFuture(written) : Future.failedFuture(noQuorum());
  }

  /** Fails fast, with the numbers, on a side of a split without a majority. */
  private void requireQuorum() {
    Optional<SplitBrainProtection> protection = this.protection;
    if (protection == null) {
      // Looked up once: the protection is static configuration, and Hazelcast answers a name it does
      // not know with an exception, whose stack trace cost every acquire of a one-member cluster
      // ~0.9 KB and a few µs (docs/benchmarks.md, 2026-12-04)
      try {
        protection = Optional.of(hazelcast.getSplitBrainProtectionService().getSplitBrainProtection(AllocationMaps.QUORUM));
      } catch (IllegalArgumentException notConfigured) {
        protection = Optional.empty();
      }
      this.protection = protection;
    }
    if (protection.isPresent() && !protection.get().hasMinimumSize()) {
      throw noQuorum();
    }
  }

  private VipfarmException noQuorum() {
    int present;
    try {
      present = (int) hazelcast.getCluster().getMembers().stream().filter(m -> !m.isLiteMember()).count();
    } catch (RuntimeException e) {
      present = 0;
    }
    String expected = hazelcast.getConfig().getProperty(AllocationMaps.EXPECTED_MEMBERS_PROPERTY);
    int m = expected == null ? present : Integer.parseInt(expected);
    return VipfarmException.unavailable("no quorum: " + present + " of " + m + " members (need "
        + AllocationMaps.quorumOf(m) + "); this side of the cluster refuses to allocate");
  }

  private void emit(VipfarmEvent event) {
    try {
      events.accept(event);
    } catch (RuntimeException e) {
      LOG.warn("could not emit {} event: {}", event.type(), e.toString());
    }
  }

  private <R> Future<R> async(CompletionStage<R> stage) {
    return CompletionStages.onContext(stage, vertx.getOrCreateContext()).recover(this::translate);
  }

  private <R> Future<R> blocking(Callable<R> work) {
    return vertx.executeBlocking(work, false).recover(this::translate);
  }

  /** Hazelcast trouble (no quorum, member shutting down, cluster not reachable) is the service being unavailable. */
  private <R> Future<R> translate(Throwable err) {
    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (cause instanceof SplitBrainProtectionException) {
      return Future.failedFuture(noQuorum());
    }
    if (cause instanceof HazelcastInstanceNotActiveException || cause instanceof HazelcastException) {
      return Future.failedFuture(VipfarmException.unavailable("allocation store unavailable: " + cause.getMessage()));
    }
    return Future.failedFuture(cause);
  }

  private static Future<String> checkedName(String field, String name) {
    try {
      PoolValidator.checkName(field, name);
      return Future.succeededFuture(name);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
  }

  private static LeaseHolder checkedRef(LeaseRef ref) {
    if (ref == null) {
      throw VipfarmException.invalidField("body", "a lease reference is required");
    }
    PoolValidator.checkName("pool", ref.pool());
    return checkedHolder(ref.key());
  }

  private static LeaseHolder checkedHolder(LeaseKey key) {
    if (key == null) {
      throw VipfarmException.invalidField("key", "a lease key is required");
    }
    requireText("key.hostId", key.hostId());
    requireText("key.bootId", key.bootId());
    requireText("key.sessionId", key.sessionId());
    if (key.program() != null) {
      requireText("key.program", key.program());
    }
    return LeaseHolder.of(key);
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw VipfarmException.invalidField(field, "must not be empty");
    }
  }
}
