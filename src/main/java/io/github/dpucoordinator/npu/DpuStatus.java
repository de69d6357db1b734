package io.github.dpucoordinator.npu;

public enum DpuStatus { PENDING, ACKNOWLEDGED, SHUTDOWN_COMPLETE, FAILED }
