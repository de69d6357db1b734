package io.github.dpucoordinator.common;

/** How one step went: {@code ok} is false when it failed, timed out or could not start. */
public record StepResult(String name, boolean ok, String detail, long millis) implements CborSerializable {}
