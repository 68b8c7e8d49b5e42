package io.vipfarm.deploy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A {@code vipfarm start --config FILE}: a flat YAML map whose keys are the option names without
 * {@code --} ({@code cluster-name: farm}); a list is read as the comma-separated value
 * ({@code cluster-members: [10.0.0.1:5701, 10.0.0.2:5701]}). Which keys exist is the caller's business.
 */
final class ConfigFile {
  private ConfigFile() {}

  static Map<String, String> read(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UsageException("--config: cannot read " + file + ": " + e.getMessage());
    }
    Object parsed;
    try {
      parsed = new ObjectMapper(new YAMLFactory()).readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      throw new UsageException("--config " + file + " is not valid YAML: " + e.getOriginalMessage());
    }
    if (parsed == null) {
      return Map.of();
    }
    if (!(parsed instanceof Map<?, ?> map)) {
      throw new UsageException("--config " + file + " must be a map of option: value");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String key = String.valueOf(e.getKey());
      Object value = e.getValue();
      if (value instanceof List<?> list) {
        out.put(key, list.stream().map(String::valueOf).collect(Collectors.joining(",")));
      } else if (value == null || value instanceof Map) {
        throw new UsageException("--config " + file + ": '" + key + "' needs a plain value or a list");
      } else {
        out.put(key, String.valueOf(value));
      }
    }
    return out;
  }
}
