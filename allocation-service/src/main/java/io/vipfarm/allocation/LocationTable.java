package io.vipfarm.allocation;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One host's index keys, each with where its lease is (address, fence, user), in parallel arrays: an
 * open-addressing table with linear probing.
 *
 * <p>Why not a {@code HashMap<String, Location>}: that is four objects per lease (the key's String and
 * its bytes, the map's node, the Location), ~144 bytes, and a young collection copies every one of them
 * that is new. In a logon storm those copies are most of each pause, and the pauses set the tail of
 * the acquires (docs/benchmarks.md, Allocation, 2026-12-05). Here an entry is one object, its key's
 * bytes, plus ~20 bytes of array slots.
 *
 * <p>Keys are kept in modified UTF-8 (a char below 0x80 as one byte, any other char, surrogates
 * included, as two or three): lossless for every Java string, so two keys are equal exactly when their
 * bytes are, and a key starts with a prefix exactly when its bytes start with the prefix's.
 *
 * <p>A removal shifts the entries after the hole back (no tombstones), so a table that sees acquires
 * and releases for months does not degrade. Iteration is in slot order; callers that need an order sort.
 */
final class LocationTable {
  private static final int MIN_CAPACITY = 8;

  private byte[][] keys;
  private int[] hashes;
  private int[] addresses;
  private long[] fences;
  private String[] users;
  private int size;

  LocationTable() {
    this(MIN_CAPACITY);
  }

  private LocationTable(int capacity) {
    allocate(capacity);
  }

  /** An empty table that holds {@code entries} without growing. */
  static LocationTable withRoomFor(int entries) {
    return new LocationTable(capacityFor(entries));
  }

  int size() {
    return size;
  }

  /** The number of slots: iterate 0 to capacity - 1 and skip those not {@link #occupied}. */
  int capacity() {
    return keys.length;
  }

  boolean occupied(int slot) {
    return keys[slot] != null;
  }

  String key(int slot) {
    return decode(keys[slot]);
  }

  int address(int slot) {
    return addresses[slot];
  }

  long fence(int slot) {
    return fences[slot];
  }

  String user(int slot) {
    return users[slot];
  }

  /** Whether the key in {@code slot} starts with {@code prefix} (in {@link #encode}d form). */
  boolean keyStartsWith(int slot, byte[] prefix) {
    byte[] key = keys[slot];
    return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  /** The slot of {@code key}, or -1. */
  int slotOf(String key) {
    byte[] bytes = encode(key);
    return slotOf(bytes, hash(bytes));
  }

  /** Adds the key, or changes where it points. */
  void put(String key, int address, long fence, String user) {
    byte[] bytes = encode(key);
    int hash = hash(bytes);
    int slot = slotOf(bytes, hash);
    if (slot < 0) {
      if ((size + 1) * 4L > keys.length * 3L) {
        resize(keys.length * 2);
      }
      slot = insert(bytes, hash);
    }
    addresses[slot] = address;
    fences[slot] = fence;
    users[slot] = user;
  }

  /** Removes the key; whether it was there. */
  boolean remove(String key) {
    int slot = slotOf(key);
    if (slot < 0) {
      return false;
    }
    removeAt(slot);
    return true;
  }

  /** Removes the keys starting with {@code prefix}; whether there were any. Rare (a pool deleted): rebuilds. */
  boolean removeKeysStartingWith(String prefix) {
    byte[] bytes = encode(prefix);
    int removed = 0;
    for (int slot = 0; slot < keys.length; slot++) {
      if (occupied(slot) && keyStartsWith(slot, bytes)) {
        removed++;
      }
    }
    if (removed == 0) {
      return false;
    }
    LocationTable kept = new LocationTable(capacityFor(size - removed));
    for (int slot = 0; slot < keys.length; slot++) {
      if (occupied(slot) && !keyStartsWith(slot, bytes)) {
        kept.copyFrom(this, slot);
      }
    }
    take(kept);
    return true;
  }

  /** An independent copy (key bytes are never changed, so they are shared). */
  LocationTable copy() {
    return new LocationTable(this);
  }

  private LocationTable(LocationTable from) {
    keys = from.keys.clone();
    hashes = from.hashes.clone();
    addresses = from.addresses.clone();
    fences = from.fences.clone();
    users = from.users.clone();
    size = from.size;
  }

  // ---------------------------------------------------------------- slots

  private void allocate(int capacity) {
    keys = new byte[capacity][];
    hashes = new int[capacity];
    addresses = new int[capacity];
    fences = new long[capacity];
    users = new String[capacity];
    size = 0;
  }

  /** A power of two with the entries at most three quarters of it. */
  private static int capacityFor(int entries) {
    int capacity = MIN_CAPACITY;
    while (entries * 4L > capacity * 3L) {
      capacity *= 2;
    }
    return capacity;
  }

  private int home(int hash) {
    int spread = hash * 0x9E3779B9;
    return (spread ^ (spread >>> 16)) & (keys.length - 1);
  }

  private int slotOf(byte[] key, int hash) {
    int mask = keys.length - 1;
    for (int slot = home(hash); keys[slot] != null; slot = (slot + 1) & mask) {
      if (hashes[slot] == hash && Arrays.equals(keys[slot], key)) {
        return slot;
      }
    }
    return -1;
  }

  /** Puts a key known to be absent into the first free slot from its home; the caller made room. */
  private int insert(byte[] key, int hash) {
    int mask = keys.length - 1;
    int slot = home(hash);
    while (keys[slot] != null) {
      slot = (slot + 1) & mask;
    }
    keys[slot] = key;
    hashes[slot] = hash;
    size++;
    return slot;
  }

  private void copyFrom(LocationTable other, int slot) {
    int to = insert(other.keys[slot], other.hashes[slot]);
    addresses[to] = other.addresses[slot];
    fences[to] = other.fences[slot];
    users[to] = other.users[slot];
  }

  private void resize(int capacity) {
    LocationTable bigger = new LocationTable(capacity);
    for (int slot = 0; slot < keys.length; slot++) {
      if (occupied(slot)) {
        bigger.copyFrom(this, slot);
      }
    }
    take(bigger);
  }

  private void take(LocationTable other) {
    keys = other.keys;
    hashes = other.hashes;
    addresses = other.addresses;
    fences = other.fences;
    users = other.users;
    size = other.size;
  }

  /**
   * Empties {@code slot}, then moves back each following entry of the run that may live there: one
   * whose home is not between the hole and itself (cyclically), so every key stays reachable from its
   * home without a gap.
   */
  private void removeAt(int slot) {
    int mask = keys.length - 1;
    int hole = slot;
    for (int next = (slot + 1) & mask; keys[next] != null; next = (next + 1) & mask) {
      int home = home(hashes[next]);
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        keys[hole] = keys[next];
        hashes[hole] = hashes[next];
        addresses[hole] = addresses[next];
        fences[hole] = fences[next];
        users[hole] = users[next];
        hole = next;
      }
    }
    keys[hole] = null;
    users[hole] = null;
    size--;
  }

  // ---------------------------------------------------------------- keys as bytes

  private static int hash(byte[] key) {
    return Arrays.hashCode(key);
  }

  /** Modified UTF-8 of {@code s}: lossless for any string, one byte per char when all are ASCII. */
  static byte[] encode(String s) {
    int n = s.length();
    int length = n;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) {
        length += c >= 0x800 ? 2 : 1;
      }
    }
    if (length == n) {
      return s.getBytes(StandardCharsets.ISO_8859_1);
    }
    byte[] out = new byte[length];
    int o = 0;
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        out[o++] = (byte) c;
      } else if (c < 0x800) {
        out[o++] = (byte) (0xC0 | c >> 6);
        out[o++] = (byte) (0x80 | c & 0x3F);
      } else {
        out[o++] = (byte) (0xE0 | c >> 12);
        out[o++] = (byte) (0x80 | c >> 6 & 0x3F);
        out[o++] = (byte) (0x80 | c & 0x3F);
      }
    }
    return out;
  }

  /** The string {@link #encode} made {@code bytes} from. */
  static String decode(byte[] bytes) {
    char[] chars = new char[bytes.length];
    int n = 0;
    for (int i = 0; i < bytes.length; n++) {
      int b = bytes[i] & 0xFF;
      if (b < 0x80) {
        chars[n] = (char) b;
        i += 1;
      } else if (b < 0xE0) {
        chars[n] = (char) ((b & 0x1F) << 6 | bytes[i + 1] & 0x3F);
        i += 2;
      } else {
        chars[n] = (char) ((b & 0x0F) << 12 | (bytes[i + 1] & 0x3F) << 6 | bytes[i + 2] & 0x3F);
        i += 3;
      }
    }
    return new String(chars, 0, n);
  }
}
