package io.github.dpucoordinator.npu.coordinator;

public enum DpuStatus { PENDING, ACKNOWLEDGED, SHUTDOWN_COMPLETE, FAILED }
