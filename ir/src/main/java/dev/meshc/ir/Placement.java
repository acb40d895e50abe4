package dev.meshc.ir;

import java.util.List;

/**
 * A placed plan for one phase, as part of the tile IR: the regions of the wafer(s) in pipeline
 * order, each with its facts (wafer, corner, grid, the layers it holds, bytes and colours per PE,
 * cycles) and the kernels its layer program runs with their parameters. The planner writes it;
 * the printer, parser and verifier share this one definition.
 *
 * @param phase   {@code prefill} or {@code decode}
 * @param info    plan-wide facts: machine, lengths, wafers, predicted cycles, solver status
 */
public record Placement(String phase, Attrs info, List<Region> regions) {
  public Placement {
    regions = List.copyOf(regions);
  }

  /**
   * One region; {@code info} holds at least {@code wafer}, {@code x}, {@code y}, {@code grid} and
   * {@code layers} = [first, end).
   */
  public record Region(int index, Attrs info, List<Kernel> kernels) {
    public Region {
      kernels = List.copyOf(kernels);
    }
  }

  /** One kernel of the region's layer program: algorithm, problem, grid, bytes, colours, cycles. */
  public record Kernel(String name, Attrs info) {}
}
