package io.github.dpucoordinator.npu.module;

import io.github.dpucoordinator.common.CborSerializable;

/**
 * A DPU as a chassis module: administratively down after a `chassis module shutdown`, and the one
 * transition (shutdown or startup) it may be in.
 */
public record ModuleState(String dpuId, boolean down, Transition transition, String lastOutcome, long lastChange)
    implements CborSerializable {}
