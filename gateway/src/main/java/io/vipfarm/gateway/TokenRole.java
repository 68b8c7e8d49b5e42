package io.vipfarm.gateway;

import io.vipfarm.api.VipfarmException;
import java.util.Locale;

/** The role of an API token; each includes the ones before it. */
enum TokenRole {
  /** Every GET. */
  READER,
  /** And session start/end. */
  OPERATOR,
  /** And pools, policies, tokens, webhooks, audit. */
  ADMIN;

  boolean permits(Access access) {
    return switch (access) {
      case PUBLIC, READ -> true;
      case OPERATE -> this != READER;
      case ADMINISTER -> this == ADMIN;
    };
  }

  String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  static TokenRole parse(String text) {
    for (TokenRole role : values()) {
      if (role.wireName().equals(text)) {
        return role;
      }
    }
    throw VipfarmException.invalidField("role", "must be one of reader, operator, admin");
  }
}
