package dev.meshc.backends.mesh;

/**
 * What one kernel run measured.
 *
 * @param cycles            when the last PE finished
 * @param computeCycles     the most cycles any PE spent computing
 * @param commCycles        the rest of the critical path: cycles − computeCycles
 * @param maxPeBytes        the largest buffer footprint of any PE
 * @param maxColorsPerPe    the most router entries any PE holds
 * @param maxHopsPerTransfer the longest hardware path any transfer took
 * @param transfers         messages moved
 * @param c                 the product, M×N row-major (functional runs; null when timing only)
 */
public record RunResult(double cycles, double computeCycles, double commCycles, long maxPeBytes, int maxColorsPerPe,
    int maxHopsPerTransfer, long transfers, float[] c) {}
