package io.vipfarm.api.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * JSON text written straight as UTF-8 bytes into one growable array: the rows of a page are written
 * once and go to the HTTP response as they are, where a {@link StringBuilder} cost a check per
 * character and then two copies (to a {@code String}, from it to bytes). Plain ASCII, which nearly all
 * of a row is, is one store per byte.
 */
public final class JsonBytes {
  private byte[] bytes;
  private int length;

  public JsonBytes(int capacity) {
    bytes = new byte[Math.max(capacity, 16)];
  }

  public int length() {
    return length;
  }

  /** The text written so far: the array itself when it is exactly full, else a copy of its start. */
  public byte[] toByteArray() {
    return length == bytes.length ? bytes : Arrays.copyOf(bytes, length);
  }

  @Override
  public String toString() {
    return new String(bytes, 0, length, StandardCharsets.UTF_8);
  }

  private void room(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }

  /** One ASCII character. */
  public JsonBytes ascii(char c) {
    room(1);
    bytes[length++] = (byte) c;
    return this;
  }

  /** Text known to be ASCII and to need no escape (names, punctuation). */
  public JsonBytes ascii(String text) {
    int n = text.length();
    room(n);
    for (int i = 0; i < n; i++) {
      bytes[length++] = (byte) text.charAt(i);
    }
    return this;
  }

  /** Bytes of JSON text as they are (prepared ASCII, such as a row's field names). */
  public JsonBytes raw(byte[] text) {
    room(text.length);
    System.arraycopy(text, 0, bytes, length, text.length);
    length += text.length;
    return this;
  }

  /** {@code value} in decimal, zero-padded to {@code width} digits (at most 4; value not negative). */
  public JsonBytes digits(int value, int width) {
    room(width);
    for (int i = width - 1; i >= 0; i--) {
      bytes[length + i] = (byte) ('0' + value % 10);
      value /= 10;
    }
    length += width;
    return this;
  }

  /** A JSON string literal (or {@code null}): quotes, backslashes and control characters escaped, UTF-8. */
  public JsonBytes string(String value) {
    if (value == null) {
      return ascii("null");
    }
    int n = value.length();
    room(n + 2);
    byte[] out = bytes;
    int at = length;
    out[at++] = '"';
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c < 0x80 && c >= 0x20 && c != '"' && c != '\\') {
        out[at++] = (byte) c;
        continue;
      }
      // the rare rest (escapes, non-ASCII) character by character, room made as it goes
      length = at;
      special(value, i);
      return ascii('"');
    }
    out[at++] = '"';
    length = at;
    return this;
  }

  private void special(String value, int from) {
    for (int i = from; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        ascii('\\').ascii(c);
      } else if (c < 0x20) {
        ascii("\\u00").ascii(Character.forDigit(c >> 4, 16)).ascii(Character.forDigit(c & 15, 16));
      } else if (c < 0x80) {
        ascii(c);
      } else {
        // a code point (a surrogate pair counts as one; a lone surrogate becomes '?', as String.getBytes does)
        int end = Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))
            ? i + 2 : i + 1;
        byte[] utf8 = value.substring(i, end).getBytes(StandardCharsets.UTF_8);
        room(utf8.length);
        System.arraycopy(utf8, 0, bytes, length, utf8.length);
        length += utf8.length;
        i = end - 1;
      }
    }
  }
}
