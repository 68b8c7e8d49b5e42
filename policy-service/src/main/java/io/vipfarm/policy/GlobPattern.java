package io.vipfarm.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * A shell glob with the semantics of {@code fnmatch(3)} called with no flags, so that the control
 * plane and the native shim agree on what a pattern matches:
 *
 * <ul>
 *   <li>{@code *} matches any run of characters (also empty, also '/' and a leading '.');
 *   <li>{@code ?} matches exactly one character;
 *   <li>{@code [...]} matches one character of a set: ranges {@code a-z}, negation with a leading
 *       {@code !} or {@code ^}, a {@code ]} right after the opening bracket (or its negation) is a
 *       member, and POSIX classes {@code [:alpha:]} etc. with ASCII meaning;
 *   <li>a backslash makes the next character literal;
 *   <li>matching is case-sensitive, on whole strings, one Unicode code point per character (as
 *       {@code fnmatch} in a UTF-8 locale; for ASCII names every locale agrees).
 * </ul>
 *
 * <p>Where {@code fnmatch} is lenient about a malformed pattern (an unclosed {@code [} is taken
 * literally, a trailing backslash never matches, an unknown class fails), {@link #compile} refuses it
 * instead, so an administrator learns about the typo when storing the policy rather than by a
 * program that silently stays unmatched.
 */
public final class GlobPattern {

  private static final Map<String, IntPredicate> CLASSES = Map.ofEntries(
      Map.entry("alpha", c -> isUpper(c) || isLower(c)),
      Map.entry("digit", GlobPattern::isDigit),
      Map.entry("alnum", c -> isUpper(c) || isLower(c) || isDigit(c)),
      Map.entry("upper", GlobPattern::isUpper),
      Map.entry("lower", GlobPattern::isLower),
      Map.entry("xdigit", c -> isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')),
      Map.entry("space", c -> c == ' ' || (c >= '\t' && c <= '\r')),
      Map.entry("blank", c -> c == ' ' || c == '\t'),
      Map.entry("punct", c -> c > ' ' && c < 0x7f && !isUpper(c) && !isLower(c) && !isDigit(c)),
      Map.entry("cntrl", c -> c < ' ' || c == 0x7f),
      Map.entry("graph", c -> c > ' ' && c < 0x7f),
      Map.entry("print", c -> c >= ' ' && c < 0x7f));

  /** One step of a compiled pattern. */
  private sealed interface Token permits Literal, AnyOne, AnyRun, OneOf {}

  private record Literal(int codePoint) implements Token {}

  private record AnyOne() implements Token {}

  private record AnyRun() implements Token {}

  private record OneOf(boolean negated, List<IntPredicate> members) implements Token {
    boolean accepts(int c) {
      boolean member = members.stream().anyMatch(m -> m.test(c));
      return member != negated;
    }
  }

  private final String source;
  private final List<Token> tokens;

  private GlobPattern(String source, List<Token> tokens) {
    this.source = source;
    this.tokens = tokens;
  }

  /**
   * Compiles {@code pattern}.
   *
   * @throws IllegalArgumentException with a reason fit for an error message, for an unclosed
   *     bracket, an unknown character class, an empty or reversed range, or a trailing backslash
   */
  public static GlobPattern compile(String pattern) {
    return new GlobPattern(pattern, new Parser(pattern).tokens());
  }

  public boolean matches(String text) {
    int[] s = text.codePoints().toArray();
    int ti = 0;
    int si = 0;
    int starTi = -1;
    int starSi = -1;
    while (si < s.length) {
      if (ti < tokens.size()) {
        Token token = tokens.get(ti);
        if (token instanceof AnyRun) {
          starTi = ++ti;
          starSi = si;
          continue;
        }
        if (matchesOne(token, s[si])) {
          ti++;
          si++;
          continue;
        }
      }
      if (starTi < 0) {
        return false;
      }
      // Backtrack: let the last '*' swallow one more character.
      ti = starTi;
      si = ++starSi;
    }
    while (ti < tokens.size() && tokens.get(ti) instanceof AnyRun) {
      ti++;
    }
    return ti == tokens.size();
  }

  private static boolean matchesOne(Token token, int c) {
    if (token instanceof Literal literal) {
      return literal.codePoint() == c;
    }
    if (token instanceof AnyOne) {
      return true;
    }
    return token instanceof OneOf set && set.accepts(c);
  }

  @Override
  public String toString() {
    return source;
  }

  private static boolean isUpper(int c) {
    return c >= 'A' && c <= 'Z';
  }

  private static boolean isLower(int c) {
    return c >= 'a' && c <= 'z';
  }

  private static boolean isDigit(int c) {
    return c >= '0' && c <= '9';
  }

  /** Turns the pattern text into tokens, reading it once from left to right. */
  private static final class Parser {
    private final int[] p;
    private int i;

    Parser(String pattern) {
      this.p = pattern.codePoints().toArray();
    }

    List<Token> tokens() {
      List<Token> out = new ArrayList<>();
      while (i < p.length) {
        int c = p[i++];
        switch (c) {
          case '*' -> {
            if (out.isEmpty() || !(out.get(out.size() - 1) instanceof AnyRun)) {
              out.add(new AnyRun());
            }
          }
          case '?' -> out.add(new AnyOne());
          case '[' -> out.add(bracket());
          case '\\' -> out.add(new Literal(escaped()));
          default -> out.add(new Literal(c));
        }
      }
      return List.copyOf(out);
    }

    private int escaped() {
      if (i >= p.length) {
        throw new IllegalArgumentException("ends with a lone '\\' (escape a backslash as '\\\\')");
      }
      return p[i++];
    }

    /** Called just after '['. */
    private OneOf bracket() {
      int opening = i - 1;
      boolean negated = i < p.length && (p[i] == '!' || p[i] == '^');
      if (negated) {
        i++;
      }
      List<IntPredicate> members = new ArrayList<>();
      boolean first = true;
      while (true) {
        if (i >= p.length) {
          throw new IllegalArgumentException("'[' at position " + (opening + 1) + " is not closed by ']'");
        }
        int c = p[i];
        if (c == ']' && !first) {
          i++;
          return new OneOf(negated, List.copyOf(members));
        }
        first = false;
        if (c == '[' && i + 1 < p.length && p[i + 1] == ':') {
          members.add(characterClass());
          continue;
        }
        int low = memberChar();
        if (i + 1 < p.length && p[i] == '-' && p[i + 1] != ']') {
          i++;
          int high = memberChar();
          if (high < low) {
            throw new IllegalArgumentException(
                "range '" + Character.toString(low) + "-" + Character.toString(high) + "' is reversed");
          }
          members.add(ch -> ch >= low && ch <= high);
        } else {
          members.add(ch -> ch == low);
        }
      }
    }

    private int memberChar() {
      int c = p[i++];
      return c == '\\' ? escaped() : c;
    }

    /** Called at "[:"; reads "[:name:]". */
    private IntPredicate characterClass() {
      int start = i + 2;
      int end = start;
      while (end + 1 < p.length && !(p[end] == ':' && p[end + 1] == ']')) {
        end++;
      }
      if (end + 1 >= p.length) {
        throw new IllegalArgumentException("character class '[:' is not closed by ':]'");
      }
      String name = new String(p, start, end - start);
      IntPredicate cls = CLASSES.get(name);
      if (cls == null) {
        throw new IllegalArgumentException("unknown character class '[:" + name + ":]'");
      }
      i = end + 2;
      return cls;
    }
  }
}
