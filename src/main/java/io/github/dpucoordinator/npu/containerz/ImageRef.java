package io.github.dpucoordinator.npu.containerz;

import io.github.dpucoordinator.npu.containerz.ContainerzError.Code;
import java.util.regex.Pattern;

/**
 * An image's name and tag as a client gives them, checked before either is used in a path: a name is lower-case
 * path components of letters, digits and {@code . _ -} joined by single slashes (as Docker's are, at most 255
 * characters, no component {@code .} or {@code ..}); a tag is up to 128 of letters, digits and {@code . _ -}, not
 * starting with {@code .} or {@code -}. Shown as {@code name:tag}.
 */
public record ImageRef(String name, String tag) {
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:[._-][a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");

  /** A checked reference, or INVALID_ARGUMENT saying what is wrong with it. */
  public static ImageRef of(String name, String tag) throws ContainerzError {
    if (name == null || name.isEmpty() || name.length() > 255) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "image name must be 1 to 255 characters, not " + quoted(name));
    }
    for (String component : name.split("/", -1)) {
      if (!COMPONENT.matcher(component).matches()) {
        throw new ContainerzError(Code.INVALID_ARGUMENT, "image name " + quoted(name) + " is not lower-case letters, digits and . _ - "
            + "in components joined by single slashes");
      }
    }
    if (tag == null || !TAG.matcher(tag).matches()) {
      throw new ContainerzError(Code.INVALID_ARGUMENT, "image tag " + quoted(tag) + " is not 1 to 128 letters, digits and . _ - "
          + "(not starting with . or -)");
    }
    return new ImageRef(name, tag);
  }

  private static String quoted(String s) {
    return s == null ? "(none)" : "'" + s + "'";
  }

  @Override
  public String toString() {
    return name + ":" + tag;
  }
}
